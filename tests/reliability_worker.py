"""A separate process for the reliability tests: it saves, imports, or stops mid-transaction.

Run as ``python tests/reliability_worker.py MODE DATA [ARGS...]``. Each mode prints one
line per committed write (flushed) so the test knows what reached the store, and any
error as one line on stderr with exit code 1. Modes:

``save DATA PARTNER N``
    N saves of one answer each (energy, one week after another) for couple ``C1``.
``weeks DATA START N``
    N saves of a whole check-in week (8 items, one transaction each), weeks START...
``log DATA N``
    Like ``save`` for partner A, printing ``<i> <monotonic time>`` after each commit.
``import DATA FILE``
    Import FILE through the package (the CLI's code path).
``stall-import DATA FILE MARKER`` / ``stall-save DATA MARKER``
    Do all the writing of an import / a week's save, then, *before the commit*, touch
    MARKER and sleep: the test kills the process there.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
import time
from pathlib import Path

from mutuality_helpers.exceptions import MutualityError
from mutuality_helpers.interchange import import_files
from mutuality_helpers.models import make_answer
from mutuality_helpers.store import Store

FIRST_WEEK = dt.date(2020, 1, 6)  # a Monday
WEEK_ITEMS = {
    "energy": 5,
    "teamwork": 3,
    "share_repair": 60,
    "share_connection": 40,
    "share_emotional_labour": 55,
    "share_practical_load": 45,
    "personal_work_self": 2,
    "personal_work_partner": 3,
}


def week(i: int) -> dt.date:
    return FIRST_WEEK + dt.timedelta(weeks=i)


def week_answers(i: int, partner: str = "A") -> list:
    return [make_answer("C1", partner, week(i), item, v) for item, v in WEEK_ITEMS.items()]


def stall(marker: Path) -> None:
    marker.write_text("in the middle of the transaction")
    time.sleep(600)


def stalling_write(store: Store, marker: Path) -> None:
    """Make the store's transactions pause after the work is done and before the commit."""
    original = store.atomic
    depth = 0

    @contextlib.contextmanager
    def atomic():  # noqa: ANN202
        nonlocal depth
        depth += 1
        try:
            with original() as conn:
                yield conn
                if depth == 1:  # the outermost block: all the work is done, nothing committed
                    stall(marker)
        finally:
            depth -= 1

    store.atomic = atomic  # type: ignore[method-assign]


def main(argv: list[str]) -> int:
    mode, data, *args = argv
    with Store(data) as store:
        if mode == "save":
            partner, n = args[0], int(args[1])
            for i in range(n):
                store.save_answers(
                    [make_answer("C1", partner, week(i), "energy", i % 11)], f"form:{partner}"
                )
                print(i, flush=True)
        elif mode == "weeks":
            start, n = int(args[0]), int(args[1])
            for i in range(start, start + n):
                store.save_answers(week_answers(i), "form:weekly_checkin")
                print(i, flush=True)
        elif mode == "log":
            # Writes until told to stop (the stop file), so a slow restore on a loaded
            # machine still has saves after it; the count is only a safety bound.
            limit, stop = int(args[0]), Path(args[1])
            for i in range(limit):
                if stop.exists():
                    break
                store.save_answers([make_answer("C1", "A", week(i), "energy", i % 11)], "form:A")
                print(i, time.monotonic(), flush=True)
        elif mode == "import":
            result = import_files(store, [args[0]])
            print(result.counts, flush=True)
        elif mode == "stall-import":
            stalling_write(store, Path(args[1]))
            import_files(store, [args[0]])
        elif mode == "stall-save":
            stalling_write(store, Path(args[0]))
            store.save_answers(week_answers(0), "form:weekly_checkin")
        else:
            raise SystemExit(f"unknown mode {mode}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except MutualityError as exc:
        print(f"error: {exc}".replace("\n", " "), file=sys.stderr)
        sys.exit(1)
