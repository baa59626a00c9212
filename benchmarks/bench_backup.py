"""Benchmark: backup, restore and erase on a practice-sized store.

Run: ``.venv/bin/python benchmarks/bench_backup.py [--couples N] [--weeks N]``

A store is generated in a temporary folder (not timed): N couples x W weeks x both
partners x 9 check-in items. Then, each the best of a few runs:

- the baseline: copying the store file byte for byte (``shutil.copyfile``), the least
  any backup can cost;
- ``backup``: SQLite's online backup into ``backups/`` plus its integrity check;
- ``restore``: the file checked, the current store backed up, the copy written into
  the live store;
- ``erase_couple``: one couple deleted with secure_delete, the file rebuilt (VACUUM)
  and the WAL truncated; the cost grows with the whole store, not with the couple.

Figures are printed in seconds and as ratios against the baseline of the same run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mutuality_helpers.backup import backup, list_backups, restore  # noqa: E402
from mutuality_helpers.erase import erase_couple  # noqa: E402
from mutuality_helpers.models import make_answer  # noqa: E402
from mutuality_helpers.store import Store  # noqa: E402

ITEMS = {
    "energy": 6, "teamwork": 4, "share_repair": 55, "share_connection": 45,
    "share_emotional_labour": 60, "share_practical_load": 50, "personal_work_self": 3,
    "personal_work_partner": 2, "reflection": "We talked on Sunday; that helped a lot.",
}  # fmt: skip
FIRST = dt.date(2025, 1, 6)


def build(data: Path, couples: int, weeks: int) -> int:
    with Store(data) as store:
        for c in range(couples):
            answers = [
                make_answer(f"B{c:04d}", p, FIRST + dt.timedelta(weeks=w), item, value)
                for w in range(weeks)
                for p in "AB"
                for item, value in ITEMS.items()
            ]
            store.save_answers(answers, "import:bench.csv")
        return len(store.answers())


def best_of(runs: int, setup: Callable[[], object], work: Callable[[object], object]) -> float:
    times = []
    for _ in range(runs):
        arg = setup()
        start = time.perf_counter()
        work(arg)
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--couples", type=int, default=100)
    parser.add_argument("--weeks", type=int, default=52)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        answers = build(data, args.couples, args.weeks)
        store_file = data / "workbook.sqlite"
        size = store_file.stat().st_size
        print(f"store: {args.couples} couples, {answers} answers, {size / 1e6:.1f} MB")

        baseline = best_of(
            args.runs, lambda: Path(tmp) / "copy.sqlite", lambda t: shutil.copyfile(store_file, t)
        )
        t_backup = best_of(args.runs, lambda: None, lambda _: backup(data))
        saved = list_backups(data)[0]
        t_restore = best_of(args.runs, lambda: None, lambda _: restore(saved, data))

        victims = iter(f"B{c:04d}" for c in range(args.couples))

        def erase_one(couple: object) -> None:
            with Store(data) as store:
                erase_couple(store, str(couple))

        # Backups would be cleaned too; keep this to the store itself.
        for path in list_backups(data):
            path.unlink()
        t_erase = best_of(args.runs, lambda: next(victims), erase_one)

    rows = [
        ("baseline: copy the store file", baseline),
        ("backup (online API + integrity check)", t_backup),
        ("restore (check + safety backup + copy in)", t_restore),
        ("erase one couple (delete + VACUUM + WAL truncate)", t_erase),
    ]
    for name, seconds in rows:
        print(f"{name:<52} {seconds * 1000:9.1f} ms  {seconds / baseline:7.1f}x baseline")


if __name__ == "__main__":
    main()
