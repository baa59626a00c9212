"""The store's transactions: ``with store.atomic():`` writes all of it or none of it."""

from __future__ import annotations

import pytest

from mutuality_helpers.models import make_answer, make_season
from mutuality_helpers.store import Store

# The store-facing tests run on SQLite and on a PostgreSQL server (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")

WEEK = "2026-09-07"


def test_everything_inside_atomic_lands_together(store):
    with store.atomic():
        store.add_couple("C001", "Ana", "Ben")
        store.save_answers([make_answer("C001", "A", WEEK, "energy", 4)], "test")
        # Reads inside the transaction see its writes.
        assert store.answers("C001")["value"].tolist() == ["4"]
        season = make_season("C001", "B", "illness", WEEK, "2026-10-05", True)
        assert store.add_season(season) == 1
    assert store.couple_ids() == ["C001"] and len(store.seasons("C001")) == 1


def test_an_error_inside_atomic_writes_nothing(store):
    with pytest.raises(RuntimeError, match="power cut"), store.atomic():
        store.add_couple("C001", "Ana", "Ben")
        store.save_answers([make_answer("C001", "A", WEEK, "energy", 4)], "test")
        raise RuntimeError("power cut")
    assert store.couple_ids() == [] and store.answers().empty


def test_others_see_nothing_until_the_transaction_commits(store, data_dir):
    with store.atomic():
        store.save_answers([make_answer("C001", "A", WEEK, "energy", 4)], "test")
        with Store(data_dir) as other:
            assert other.answers().empty
    with Store(data_dir) as other:
        assert len(other.answers()) == 1
