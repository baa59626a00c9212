"""Benchmark: judge a whole caseload (1,000 couples x 104 weeks) and one couple alone.

Run: ``.venv/bin/python benchmarks/bench_judgement.py [--couples N] [--weeks N] [--quick]
[--store-dir DIR]`` (default 10,000 couples, about 17 M answers; ``--quick`` or
``BENCH_QUICK=1``: 1,000 couples, one run each; ``--store-dir``: keep the generated store in
``DIR/data`` and reuse it on later runs of the same size, so changes can be timed again
without the minutes of generating it)

A real store is generated in a temporary folder or ``--store-dir`` (bulk-inserted; generation is not
timed), then the script times, each as the best of a few runs:

- the baseline: reading every judged answer of every couple, all weeks
  (``Store.answers_between``);
- judging every couple at once from those frames (``caseload_table.caseload_frames``);
- ``caseload_table.caseload(store)``, read and judgement together (the store's fast path
  reads only the weeks the windows span);
- one couple alone: reading its frames, ``analysis.judge`` over them, the two together
  (the target), and the full ``summary.summarize(store, id)``, which also judges the
  previous session's window and scores the inventory;

and reports peak memory of the caseload judged in a fresh process (peak RSS, and
tracemalloc for Python allocations). Targets on the 2-core machine: caseload
< 5 s, < 2 GB, one couple < 50 ms. Figures are also printed as ratios against
the baseline of reading every judged answer from the store (measured in the same run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _targets import report_target  # noqa: E402

from mutuality_helpers import analysis, caseload_table, summary  # noqa: E402
from mutuality_helpers.instruments import SHARE_DOMAINS, get_instrument  # noqa: E402
from mutuality_helpers.store import Store  # noqa: E402
from mutuality_helpers.store_answers import now_iso  # noqa: E402

FIRST_WEEK = dt.date(2024, 12, 2)  # a Monday
TARGET_CASELOAD_S = 5.0
TARGET_MEMORY_MB = 2048
TARGET_ONE_MS = 50.0


#: Couples generated and inserted at a time (bounds the generator's memory at any size).
CHUNK = 500


def generate(store: Store, couples: int, weeks: int, seed: int = 7) -> int:
    """Bulk-insert a synthetic caseload straight into the store's tables; returns answer rows."""
    rng = np.random.default_rng(seed)
    all_ids = np.array([f"B{n:05d}" for n in range(couples)], dtype=object)
    week_days = pd.date_range(FIRST_WEEK, periods=weeks, freq="7D")
    stamp = now_iso()
    con = sqlite3.connect(store.path)
    total = 0
    try:
        con.execute("PRAGMA synchronous=OFF")
        con.execute("PRAGMA cache_size=-262144")  # 256 MB of pages while generating
        for lo in range(0, couples, CHUNK):
            ids = all_ids[lo : lo + CHUNK]
            rows, seasons, sessions = chunk(rng, ids, week_days, stamp)
            with con:
                insert(con, ids, rows, seasons, sessions, stamp)
            total += len(rows)
    finally:
        con.close()
    return total


def synthetic(
    couples: int, weeks: int, seed: int = 7, first: int = 0
) -> tuple[list[str], pd.DataFrame, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """A synthetic caseload: couple ids ``B<first>``..., answer rows, seasons and sessions.

    One :func:`chunk` on its own generator (``bench_practice.py`` loads a practice with it).
    """
    rng = np.random.default_rng(seed)
    ids = np.array([f"B{n:05d}" for n in range(first, first + couples)], dtype=object)
    week_days = pd.date_range(FIRST_WEEK, periods=weeks, freq="7D")
    rows, seasons, sessions = chunk(rng, ids, week_days, now_iso())
    return list(ids), rows, seasons, sessions


def chunk(
    rng: np.random.Generator, ids: np.ndarray, week_days: pd.DatetimeIndex, stamp: str
) -> tuple[pd.DataFrame, list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """One block of couples: their answers, seasons and sessions."""
    couples, weeks = len(ids), len(week_days)
    # Each couple leans one way by a stable amount, plus a seasonal bump for some.
    lean = rng.normal(0, 18, size=(couples, len(SHARE_DOMAINS)))
    couple_idx, week_idx, partner_idx = np.meshgrid(
        np.arange(couples), np.arange(weeks), np.arange(2), indexing="ij"
    )
    couple_idx, week_idx, partner_idx = couple_idx.ravel(), week_idx.ravel(), partner_idx.ravel()
    # About 5% of check-ins are missing (one-sided weeks and silences).
    present = rng.random(couple_idx.size) > 0.05
    couple_idx, week_idx, partner_idx = couple_idx[present], week_idx[present], partner_idx[present]
    n = couple_idx.size
    partner = np.where(partner_idx == 0, "A", "B")
    columns: dict[str, np.ndarray] = {
        "energy": np.clip(rng.normal(6, 2, n).round(), 0, 10),
        "teamwork": np.clip(rng.normal(3.5, 1, n).round(), 1, 5),
        "personal_work_self": np.clip(rng.normal(2.5, 1, n).round(), 0, 4),
        "personal_work_partner": np.clip(rng.normal(2.3, 1, n).round(), 0, 4),
    }
    for d, domain in enumerate(SHARE_DOMAINS):
        true_a = 50 + lean[couple_idx, d]
        mine = np.where(partner_idx == 0, true_a, 100 - true_a)
        columns[f"share_{domain}"] = np.clip(rng.normal(mine + 3, 5).round(), 0, 100)
    frames = []
    for item, values in columns.items():
        frames.append(
            pd.DataFrame(
                {
                    "couple_id": ids[couple_idx],
                    "partner": partner,
                    "week": week_days[week_idx].strftime("%Y-%m-%d"),
                    "item": item,
                    "value": values.astype(int).astype(str),
                    "value_num": values.astype(float),
                    "instrument": "weekly_checkin",
                }
            )
        )
    # The inventory every 26 weeks, for every partner.
    inventory = [it for it in get_instrument("mutuality_inventory").items if it.type == "int"]
    inv_weeks = np.arange(0, weeks, 26)
    ci, wi, pi, ii = np.meshgrid(
        np.arange(couples), inv_weeks, np.arange(2), np.arange(len(inventory)), indexing="ij"
    )
    ci, wi, pi, ii = ci.ravel(), wi.ravel(), pi.ravel(), ii.ravel()
    inv_values = rng.integers(1, 6, ci.size)
    frames.append(
        pd.DataFrame(
            {
                "couple_id": ids[ci],
                "partner": np.where(pi == 0, "A", "B"),
                "week": week_days[wi].strftime("%Y-%m-%d"),
                "item": np.array([it.id for it in inventory], dtype=object)[ii],
                "value": inv_values.astype(str),
                "value_num": inv_values.astype(float),
                "instrument": "mutuality_inventory",
            }
        )
    )
    # In primary-key order, so the inserts append to the key's B-tree instead of seeking.
    rows = pd.concat(frames, ignore_index=True).sort_values(
        ["couple_id", "partner", "week", "item"], kind="stable", ignore_index=True
    )
    rows["saved_at"] = stamp
    rows["source"] = "benchmark"
    # Seasons: a third of the couples declare one (most agreed), some sessions.
    season_couples = rng.choice(couples, size=couples // 3, replace=False)
    starts = rng.integers(0, max(1, weeks - 12), size=season_couples.size)
    seasons = [
        (ids[c], "AB"[int(rng.integers(0, 2))], "work", week_days[s].strftime("%Y-%m-%d"),
         week_days[min(weeks - 1, s + int(rng.integers(4, 16)))].strftime("%Y-%m-%d"),
         bool(rng.random() < 0.8), "", stamp, "benchmark")
        for c, s in zip(season_couples, starts, strict=True)
    ]  # fmt: skip
    sessions = [
        (ids[c], k + 1, (week_days[w] + pd.Timedelta(days=3)).strftime("%Y-%m-%d"), "", "", stamp)
        for c in range(couples)
        for k, w in enumerate(range(4, weeks, 13))
    ]
    return rows, seasons, sessions


def insert(
    con: sqlite3.Connection,
    ids: np.ndarray,
    rows: pd.DataFrame,
    seasons: list[tuple[Any, ...]],
    sessions: list[tuple[Any, ...]],
    stamp: str,
) -> None:
    """Insert one block straight into the store's tables."""
    con.executemany(
        "INSERT INTO couples (couple_id, name_a, name_b, created_at) VALUES (?, ?, ?, ?)",
        [(c, "", "", stamp) for c in ids],
    )
    con.executemany(
        "INSERT INTO answers (couple_id, partner, week, item, value, value_num,"
        " instrument, saved_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows.itertuples(index=False, name=None),
    )
    con.executemany(
        "INSERT INTO seasons (couple_id, partner, reason, start, planned_end, agreed,"
        " note, saved_at, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        seasons,
    )
    con.executemany(
        "INSERT INTO sessions (couple_id, number, date, notes, agreements, saved_at)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        sessions,
    )


CPU: dict[str, float] = {}


def best_of(runs: int, work: Callable[[], Any], name: str = "") -> tuple[float, Any]:
    """Best wall-clock time of ``runs`` runs (seconds) and the last result.

    The best CPU time of this process is kept in ``CPU[name]``: on a shared machine the
    wall clock also counts other people's work, the CPU time does not.
    """
    best, best_cpu, result = float("inf"), float("inf"), None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        result = work()
        best = min(best, time.perf_counter() - start)
        best_cpu = min(best_cpu, time.process_time() - start_cpu)
    CPU[name] = best_cpu
    return best, result


def child_peak(data: Path, today: dt.date) -> tuple[float, float, float]:
    """Judge the caseload in a fresh process: (seconds, peak RSS MB, peak traced MB)."""
    code = (
        "import resource, sys, time, tracemalloc\n"
        "from mutuality_helpers import caseload_table\n"
        "from mutuality_helpers.store import Store\n"
        "with Store(sys.argv[1]) as store:\n"
        "    today = sys.argv[2]\n"
        "    t = time.perf_counter(); caseload_table.caseload(store, today=today)\n"
        "    t = time.perf_counter() - t\n"
        "    tracemalloc.start(); caseload_table.caseload(store, today=today)\n"
        "    peak = tracemalloc.get_traced_memory()[1]\n"
        "print(t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, peak / 2**20)\n"
    )
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run(
        [sys.executable, "-c", code, str(data), today.isoformat()],
        capture_output=True, text=True, check=True, cwd=root,
    )  # fmt: skip
    seconds, rss, traced = (float(x) for x in out.stdout.split())
    return seconds, rss, traced


def reuse(data: Path, couples: int, weeks: int) -> int:
    """The answer count of a store kept by ``--store-dir``, refusing one of another size."""
    kept_couples, kept_weeks, n_rows = (int(x) for x in (data / "READY").read_text().split())
    if (kept_couples, kept_weeks) != (couples, weeks):
        raise SystemExit(
            f"{data} holds {kept_couples} couples x {kept_weeks} weeks, not {couples} x {weeks}"
        )
    return n_rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--couples", type=int, default=None, help="default 10000 (quick: 1000)")
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--runs", type=int, default=None, help="default 3 (quick: 1)")
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    parser.add_argument(
        "--store-dir",
        type=Path,
        default=None,
        help="keep the generated store in DIR/data and reuse it when DIR already holds one "
        "(generating 10,000 couples takes minutes; the couples and weeks must match)",
    )
    args = parser.parse_args(argv)
    if args.couples is None:
        args.couples = 1000 if args.quick else 10_000
    if args.runs is None:
        args.runs = 1 if args.quick else 3

    with tempfile.TemporaryDirectory() as tmp:
        if args.store_dir is not None:
            args.store_dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # owner-only data
        data = (args.store_dir or Path(tmp)) / "data"
        if args.store_dir is not None and (data / "READY").exists():
            n_rows = reuse(data, args.couples, args.weeks)
            print(f"reused {args.couples} couples x {args.weeks} weeks in {data}: "
                  f"{n_rows:,} answers")  # fmt: skip
        else:
            with Store(data) as store:
                start = time.perf_counter()
                n_rows = generate(store, args.couples, args.weeks)
            # Marks a complete store: an interrupted generation is not reused.
            (data / "READY").touch(mode=0o600)
            (data / "READY").write_text(f"{args.couples} {args.weeks} {n_rows}\n")
            print(f"generated {args.couples} couples x {args.weeks} weeks: {n_rows:,} answers "
                  f"in {time.perf_counter() - start:.1f} s (not part of the figures)")  # fmt: skip

        # Memory first, in a fresh process, so nothing else in this one inflates it.
        # "Today" is the Sunday after the last generated week, whatever the clock says.
        last_week = FIRST_WEEK + dt.timedelta(weeks=args.weeks - 1)
        today = last_week + dt.timedelta(days=6)
        child_s, rss_mb, traced_mb = child_peak(data, today)
        with Store(data) as store:
            first, last = FIRST_WEEK, FIRST_WEEK + dt.timedelta(weeks=args.weeks)

            def read_all() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
                answers = store.answers_between(analysis.JUDGED_ITEMS, first, last)
                return answers, store.seasons(), store.couples()

            read_s, (answers, seasons, couples) = best_of(args.runs, read_all, "read")
            judge_s, frame = best_of(
                args.runs,
                lambda: caseload_table.caseload_frames(answers, seasons, couples, last_week),
                "judge",
            )
            whole_s, _ = best_of(
                args.runs, lambda: caseload_table.caseload(store, today=today), "caseload"
            )
            whole = caseload_table.caseload(store, as_of=last_week)
            assert (
                whole.set_index("couple_id")
                .sort_index()
                .equals(frame.set_index("couple_id").sort_index())
            ), "the store's fast path and the frames path disagree"
            one_id = couples["couple_id"].iloc[len(couples) // 2]

            def read_one() -> tuple[pd.DataFrame, pd.DataFrame]:
                return store.answers_between(None, couple_ids=one_id), store.seasons(one_id)

            def read_and_judge_one() -> analysis.Judgement:
                return analysis.judge(*read_one(), [one_id])

            one_read_s, (mine, my_seasons) = best_of(20, read_one, "one_read")
            one_judge_s, _ = best_of(20, lambda: analysis.judge(mine, my_seasons, [one_id]), "one")
            one_total_s, _ = best_of(20, read_and_judge_one, "one_total")
            one_summary_s, _ = best_of(20, lambda: summary.summarize(store, one_id), "summary")

        statuses = frame[list(SHARE_DOMAINS)].stack().value_counts().to_dict()
        print(f"judged {len(frame):,} couples; statuses: {statuses}")
        print()
        print(
            f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
        )
        print(f"{'measure':<50}{'wall':>10}{'cpu':>10}{'target':>11}{'vs read':>9}")
        rows = [
            ("baseline: read every judged answer (all weeks)", read_s, "read", "", 1.0),
            ("judge all couples from those frames", judge_s, "judge", "", judge_s / read_s),
            ("caseload(store): read + judge, windows only", whole_s, "caseload",
             f"< {TARGET_CASELOAD_S:g} s", whole_s / read_s),
            ("  same, first run in a fresh process", child_s, None, "", child_s / read_s),
            ("one couple: read its frames", one_read_s, "one_read", "", one_read_s / read_s),
            ("one couple: judge(frames)", one_judge_s, "one", "", one_judge_s / read_s),
            ("one couple: read + judge", one_total_s, "one_total", f"< {TARGET_ONE_MS:g} ms",
             one_total_s / read_s),
            ("one couple: summarize(store, id) (+ change since", one_summary_s, "summary", "",
             one_summary_s / read_s),
            ("  last session, inventory and reliable change)", None, None, "", None),
        ]  # fmt: skip
        for name, wall, cpu_key, target, ratio in rows:
            if wall is None:
                print(name)
                continue
            unit, scale = ("ms", 1000) if wall < 1 else ("s", 1)
            cpu = (
                ""
                if cpu_key is None
                else f"{CPU[cpu_key] * scale:.{1 if scale > 1 else 2}f} {unit}"
            )
            shown = f"{wall * scale:.{1 if scale > 1 else 2}f} {unit}"
            print(f"{name:<50}{shown:>10}{cpu:>10}{target:>11}{ratio:>8.3f}x")
        print(
            f"{'peak RSS, caseload in a fresh process':<50}{rss_mb:>7.0f} MB{'':>10}"
            f"{'< ' + str(TARGET_MEMORY_MB) + ' MB':>11}"
        )
        print(f"{'peak Python allocations, caseload (tracemalloc)':<50}{traced_mb:>7.0f} MB")
        couple_weeks = args.couples * args.weeks
        print()
        print(f"per couple-week: judge {judge_s / couple_weeks * 1e6:.1f} us, "
              f"read {read_s / couple_weeks * 1e6:.1f} us")  # fmt: skip
        ok = (
            whole_s < TARGET_CASELOAD_S
            and rss_mb < TARGET_MEMORY_MB
            and one_total_s * 1000 < TARGET_ONE_MS
        )
        print("targets met" if ok else "TARGETS MISSED")
        size = f"{args.couples:,} couples x {args.weeks} weeks"
        base = f"reading every judged answer ({read_s:.2f} s)"
        report_target(f"caseload judged, {size}", whole_s, TARGET_CASELOAD_S, "s",
                      baseline_name=base, baseline=read_s)  # fmt: skip
        report_target(f"caseload peak RSS in a fresh process, {size}", rss_mb, TARGET_MEMORY_MB,
                      "MB", baseline_name="the same, tracemalloc's Python allocations (MB)",
                      baseline=traced_mb)  # fmt: skip
        report_target(f"one couple read + judged, {size}", one_total_s * 1000, TARGET_ONE_MS,
                      "ms", baseline_name=base, baseline=read_s * 1000)  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
