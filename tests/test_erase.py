"""Erased ids are tombstoned: a late save is refused, and reusing the id is an explicit step."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from mutuality_helpers.backup import backup
from mutuality_helpers.cli import main as cli_main
from mutuality_helpers.erase import erase_couple
from mutuality_helpers.exceptions import ErasedCouple, UnknownCouple
from mutuality_helpers.forms import InstrumentForm
from mutuality_helpers.models import make_answer, make_season
from mutuality_helpers.schema import erased_table, metadata
from mutuality_helpers.store import Store
from mutuality_helpers.store_answers import erased_digest

WEEK = dt.date(2026, 11, 23)
CHECKIN = {
    "energy": 4, "teamwork": 2, "share_repair": 70, "share_connection": 35,
    "share_emotional_labour": 80, "share_practical_load": 55, "personal_work_self": 3,
    "personal_work_partner": 1,
}  # fmt: skip


def answers(couple: str, partner: str = "A", week: dt.date = WEEK) -> list:
    return [make_answer(couple, partner, week, item, v) for item, v in CHECKIN.items()]


pytestmark = pytest.mark.usefixtures("backend")


def counts(data: Path) -> dict[str, int]:
    """Rows of C007 in every table with a couple id, whatever the user may see."""
    with Store(data) as store:
        return {
            t.name: len(store.read(sa.select(t).where(t.c.couple_id == "C007")))
            for t in metadata.sorted_tables
            if "couple_id" in t.c
        }


@pytest.fixture
def c007(data_dir: Path) -> Path:
    with Store(data_dir) as store:
        store.add_couple("C007", "Ana", "Bo")
        store.save_answers(answers("C007"), "form:weekly_checkin")
        store.add_session("C007", WEEK, notes="first")
    return data_dir


def test_a_save_after_erase_is_refused_in_one_line_and_writes_nothing(c007: Path, capsys):
    with Store(c007) as store:
        erase_couple(store, "C007")
    with Store(c007) as store:
        assert store.is_erased("C007")
        for attempt in (
            lambda: store.save_answers(answers("C007", "B"), "form:weekly_checkin"),
            lambda: store.add_couple("C007"),
            lambda: store.save_seasons(
                [make_season("C007", "A", "work", WEEK, WEEK + dt.timedelta(weeks=2), True)], "x"
            ),
            lambda: store.add_session("C007", WEEK),
        ):
            with pytest.raises(ErasedCouple, match=r"C007 was erased on 2026-.*reuse C007"):
                attempt()
        # An import holding the erased couple among others writes nothing at all.
        with pytest.raises(ErasedCouple):
            store.save_answers(answers("C008") + answers("C007"), "import:week.csv")
        assert store.couple_ids() == []
    assert sum(counts(c007).values()) == 0


def test_an_import_for_an_erased_couple_is_refused_by_the_command_line(c007: Path, capsys):
    assert cli_main(["erase", "C007", "--yes", "--data", str(c007)]) == 0
    csv = c007.parent / "late.csv"
    rows = ["couple_id,partner,week,item,value"] + [
        f"C007,A,{WEEK},{item},{v}" for item, v in CHECKIN.items()
    ]
    csv.write_text("\n".join(rows) + "\n", encoding="utf-8")
    capsys.readouterr()
    assert cli_main(["import", str(csv), "--data", str(c007)]) == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "C007 was erased" in err and "mutuality reuse C007" in err
    assert sum(counts(c007).values()) == 0


def test_a_form_left_open_in_a_browser_cannot_bring_an_erased_couple_back(c007: Path):
    with Store(c007) as store:
        form = InstrumentForm(store, "weekly_checkin", "C007", "B", WEEK, today=WEEK)
        form.set_values(CHECKIN)
        erase_couple(Store(c007), "C007")
        form._on_save()
        assert form.status == "error"
        assert "not saved" in form.message and "C007" not in form.message
        assert store.couple_ids() == []
    assert sum(counts(c007).values()) == 0


@pytest.mark.sqlite_only  # holds SQLite's write lock by hand
@pytest.mark.parametrize("save_first", [True, False])
def test_a_save_racing_the_erase_is_either_erased_or_refused(c007: Path, save_first: bool):
    """Both wait for one write lock; whichever order they get it in, the couple stays gone."""
    holder = sqlite3.connect(c007 / "workbook.sqlite", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # the lock both will queue for
    outcome: dict[str, object] = {}

    def save() -> None:
        with Store(c007) as store:
            try:
                outcome["save"] = store.save_answers(answers("C007", "B"), "form:weekly_checkin")
            except ErasedCouple as exc:
                outcome["save"] = exc

    def erase() -> None:
        with Store(c007) as store:
            outcome["erase"] = erase_couple(store, "C007")

    first, second = (save, erase) if save_first else (erase, save)
    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    threads[0].start()
    threading.Event().wait(0.5)  # the first is waiting for the lock
    threads[1].start()
    threading.Event().wait(0.5)
    holder.execute("ROLLBACK")
    holder.close()
    for t in threads:
        t.join(60)
    assert sum(counts(c007).values()) == 0
    result = outcome["erase"]
    if isinstance(outcome["save"], ErasedCouple):
        assert "C007 was erased" in str(outcome["save"])
    else:  # the save landed first: erase took its rows too
        assert result.rows["answers"] == 2 * len(CHECKIN)  # type: ignore[attr-defined]
    with Store(c007) as store:
        assert store.is_erased("C007") and store.couple_ids() == []


def test_the_tombstone_holds_no_content_and_not_even_the_id(c007: Path, backend: str):
    with Store(c007) as store:
        erase_couple(store, "C007")
        e_t = erased_table
        tombs = store.read(sa.select(e_t.c.id_digest, e_t.c.link_generation))
        assert [tuple(t) for t in tombs] == [(erased_digest("C007"), 1)]
    if backend == "sqlite":
        raw = (c007 / "workbook.sqlite").read_bytes()
        assert b"C007" not in raw and erased_digest("C007").encode() in raw


@pytest.mark.sqlite_only  # a pg_dump cannot be cleaned in place (erase names it instead)
def test_backups_get_the_tombstone_too(c007: Path):
    made = backup(c007)
    with Store(c007) as store:
        erase_couple(store, "C007")
    con = sqlite3.connect(made)
    assert con.execute("SELECT count(*) FROM couples").fetchone() == (0,)
    assert con.execute("SELECT id_digest FROM erased_couples").fetchall() == [
        (erased_digest("C007"),)
    ]
    con.close()


def test_reuse_is_the_explicit_step_and_starts_above_the_old_links(c007: Path, capsys):
    with Store(c007) as store:
        assert store.revoke_links("C007", "B") == {"A": 1, "B": 2}
        erase_couple(store, "C007")
    capsys.readouterr()
    assert cli_main(["reuse", "C007", "--name-a", "Cy", "--data", str(c007)]) == 0
    assert "C007" in capsys.readouterr().out
    with Store(c007) as store:
        assert not store.is_erased("C007")
        assert store.get_couple("C007")["name_a"] == "Cy"
        assert store.link_generations("C007") == {"A": 3, "B": 3}
        assert store.answers("C007").empty  # a new couple: nothing of the erased one
        store.save_answers(answers("C007"), "form:weekly_checkin")  # and saves land again
        # Reusing an id that is in use (or never was erased) is refused.
        with pytest.raises(UnknownCouple, match="not an erased couple id"):
            store.reuse_id("C007")
        with pytest.raises(UnknownCouple, match="not an erased couple id"):
            store.reuse_id("C999")


def test_erasing_an_unknown_id_tombstones_nothing(data_dir: Path):
    with Store(data_dir) as store:
        store.add_couple("C001")
        with pytest.raises(UnknownCouple):
            erase_couple(store, "C404")
        assert not store.is_erased("C404")
        store.add_couple("C404")  # never used, so free to use
