"""The one retry policy: busy stores are tried again a bounded number of times, nothing else."""

from __future__ import annotations

import sqlite3

import pytest
import sqlalchemy as sa

from mutuality_helpers import retry
from mutuality_helpers.exceptions import StoreError


def locked() -> sa.exc.OperationalError:
    return sa.exc.OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("locked"))


def test_the_worst_case_is_bounded_and_documented():
    assert retry.WORST_CASE_S == (
        retry.ATTEMPTS * retry.BUSY_TIMEOUT_S + (retry.ATTEMPTS - 1) * retry.MAX_PAUSE_S
    )
    assert retry.WORST_CASE_S == 32
    assert "32 seconds" in retry.__doc__


def test_a_lock_that_outlasts_every_attempt_is_one_store_error():
    calls, pauses = [], []

    def attempt() -> None:
        calls.append(1)
        raise locked()

    with pytest.raises(StoreError, match="^could not write to the store: locked$"):
        retry.while_busy(
            attempt, "could not write to the store", sa.exc.OperationalError, pauses.append
        )
    assert len(calls) == retry.ATTEMPTS
    assert len(pauses) == retry.ATTEMPTS - 1
    assert all(0 <= p <= retry.MAX_PAUSE_S for p in pauses)


def test_a_lock_released_in_time_is_waited_for():
    outcomes = [locked(), locked(), "done"]

    def attempt() -> str:
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert retry.while_busy(attempt, "x", sa.exc.OperationalError, lambda _: None) == "done"


def test_other_errors_are_not_retried():
    calls = []

    def attempt() -> None:
        calls.append(1)
        raise sa.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("disk I/O error"))

    with pytest.raises(StoreError, match="disk I/O error"):
        retry.while_busy(attempt, "could not write", sa.exc.OperationalError, lambda _: None)
    assert calls == [1]
