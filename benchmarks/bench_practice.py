"""Benchmark: a group practice on PostgreSQL (20 therapists, 2,000 couples, 104 weeks).

Run: ``.venv/bin/python benchmarks/bench_practice.py [--seconds 60] [--couples 2000]``

The script starts its own PostgreSQL server (``tests/servers.py``'s ``PostgresServer``:
Debian's ``postgresql`` package, ``initdb`` in a temporary folder, a free loopback port),
creates the store there (the package's migrations) and a ``users.yaml`` of 20 therapists
and a supervisor, and bulk-loads a synthetic practice with ``COPY``: every couple
belongs to one therapist, answers for every week (``bench_judgement.synthetic``), seasons
and sessions. Loading is not timed. Then it times, each as the best of a few runs:

- the baseline: reading every judged answer of one therapist's couples, all weeks, as that
  therapist (``Store.answers_between``), and the same for the whole practice as the
  supervisor;
- one therapist's caseload, as that therapist (``caseload_table.caseload``, narrowed to
  their couples by the store): target < 1 s;
- the whole practice judged, as the supervisor: target < 10 s;

and a sustained load of form saves: 50 partners (``--clients``), each saving one check-in
week (as the partner's form does: the answers and the audit entry in one transaction) once
a second for ``--seconds`` (60), spread over ``--processes`` worker processes, each client
on its own connection. A save counts as on time when it committed within 1 s of its slot;
the target is 50 on-time saves per second sustained, with none lost (every save's rows in
the store afterwards). Its baseline is one client saving back to back, as fast as it can,
for a few seconds. Each target is printed with its measured value, the ratio to its
baseline and met/missed (``_targets.report_target``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from _targets import report_target  # noqa: E402
from bench_judgement import FIRST_WEEK, best_of, synthetic  # noqa: E402

from mutuality_helpers import analysis, caseload_table, roles  # noqa: E402
from mutuality_helpers.models import make_answer  # noqa: E402
from mutuality_helpers.store import Store  # noqa: E402
from mutuality_helpers.store_answers import now_iso  # noqa: E402

TARGET_THERAPIST_S = 1.0
TARGET_PRACTICE_S = 10.0
TARGET_SAVES_PER_S = 50.0
ON_TIME_S = 1.0  # a save committed later than this after its slot is not keeping up
CHUNK = 100  # couples generated and copied at a time (bounded memory)
DATABASE = "practice"
BOSS = roles.Identity("boss", roles.SUPERVISOR)
CHECKIN = {
    "energy": 6, "teamwork": 4, "share_repair": 55, "share_connection": 45,
    "share_emotional_labour": 60, "share_practical_load": 50, "personal_work_self": 3,
    "personal_work_partner": 2,
}  # fmt: skip


def therapist(n: int) -> str:
    return f"t{n + 1:02d}"


def write_users(data: Path, therapists: int) -> None:
    data.mkdir(parents=True, exist_ok=True)
    lines = ["boss: supervisor"] + [f"{therapist(n)}: therapist" for n in range(therapists)]
    path = data / roles.USERS_FILE
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.chmod(path, 0o600)


def _copy(con: Any, table: str, columns: list[str], rows: Any) -> None:
    """``COPY table (columns) FROM STDIN`` of an iterable of tuples, as CSV (no NULLs)."""
    import csv

    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    with con.cursor().copy(
        f"COPY {table} ({', '.join(columns)}) FROM STDIN (FORMAT csv, NULL '\\N')"
    ) as copy:
        copy.write(buffer.getvalue())


def load(server: Any, couples: int, weeks: int, therapists: int) -> int:
    """Bulk-load the practice into the (migrated) database with COPY; returns answer rows."""
    stamp = now_iso()
    total = 0
    with server.connect(DATABASE) as con:
        for first in range(0, couples, CHUNK):
            n = min(CHUNK, couples - first)
            ids, rows, seasons, sessions = synthetic(n, weeks, seed=7 + first, first=first)
            with con.transaction():
                _copy(
                    con,
                    "couples",
                    ["couple_id", "name_a", "name_b", "created_at", "therapist"],
                    (
                        (c, "", "", stamp, therapist((first + i) % therapists))
                        for i, c in enumerate(ids)
                    ),
                )
                _copy(con, "answers", list(rows.columns), rows.itertuples(index=False, name=None))
                _copy(
                    con,
                    "seasons",
                    ["couple_id", "partner", "reason", "start", "planned_end", "agreed", "note",
                     "saved_at", "source"],
                    seasons,
                )  # fmt: skip
                _copy(
                    con,
                    "sessions",
                    ["couple_id", "number", "date", "notes", "agreements", "saved_at"],
                    sessions,
                )
            total += len(rows)
        con.execute("VACUUM ANALYZE")
    return total


# -- the sustained form-save load ------------------------------------------------------------


def save_week(store: Store, couple: str, partner: str, week: dt.date, source: str) -> None:
    """One partner's check-in week, as the form saves it: answers and audit entry together."""
    answers = [make_answer(couple, partner, week, item, v) for item, v in CHECKIN.items()]
    with store.atomic():
        store.save_answers(answers, source=source)
        store.record_access("form save", couple, f"{source} {week.isoformat()}")


def client(
    store: Store, couple: str, partner: str, slots: list[float], first_week: dt.date,
    out: list[dict[str, Any]],
) -> None:  # fmt: skip
    """Save one week at each slot (a ``time.time()``); record when each started and committed."""
    for k, slot in enumerate(slots):
        delay = slot - time.time()
        if delay > 0:
            time.sleep(delay)
        started = time.time()
        week = first_week + dt.timedelta(weeks=k)
        try:
            save_week(store, couple, partner, week, "form:bench")
            out.append({"slot": slot, "start": started, "commit": time.time(), "ok": True})
        except Exception as exc:  # noqa: BLE001 -- a lost save is a figure, not a crash
            out.append({"slot": slot, "start": started, "commit": time.time(),
                        "ok": False, "error": str(exc)[:200]})  # fmt: skip


def worker(argv: list[str]) -> int:
    """``--worker DATA URL SECONDS FIRST_WEEK COUPLE:PARTNER:OFFSET ...``: one process.

    Opens every client's store (its own connection, warmed by a read), prints ``ready``,
    reads the start time from stdin, then runs the clients' saves on threads.
    """
    data, url, seconds, first_week, *clients = argv
    stores = {}
    for spec in clients:
        couple, partner, _ = spec.split(":")
        store = Store(Path(data), url=url, user=roles.partner_identity(couple, partner))
        store.get_couple(couple)
        stores[spec] = store
    print("ready", flush=True)
    start = float(sys.stdin.readline())
    results: dict[str, list[dict[str, Any]]] = {}
    threads = []
    for spec in clients:
        couple, partner, offset = spec.split(":")
        slots = [start + float(offset) + k for k in range(int(seconds))]
        results[spec] = []
        t = threading.Thread(
            target=client,
            args=(stores[spec], couple, partner, slots, dt.date.fromisoformat(first_week),
                  results[spec]),
        )  # fmt: skip
        threads.append(t)
        t.start()
    for t in threads:
        t.join()
    for store in stores.values():
        store.close()
    print(json.dumps(results))
    return 0


def sustained_saves(
    data: Path, url: str, couple_ids: list[str], clients: int, processes: int, seconds: int,
    first_week: dt.date,
) -> dict[str, Any]:  # fmt: skip
    """Run the load; returns the saves (slot, start, commit, ok) of every client."""
    specs = [
        f"{couple_ids[(c // 2) * 7 % len(couple_ids)]}:{'AB'[c % 2]}:{c / clients:.4f}"
        for c in range(clients)
    ]
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--worker",
                str(data),
                url,
                str(seconds),
                first_week.isoformat(),
                *specs[p::processes],
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )  # fmt: skip
        for p in range(processes)
    ]
    for proc in procs:  # every process and connection is up before the first slot
        assert proc.stdout is not None and proc.stdin is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("a save worker did not start")
    start = time.time() + 1.0
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(f"{start}\n")
        proc.stdin.close()
    merged: dict[str, list[dict[str, Any]]] = {}
    for proc in procs:
        assert proc.stdout is not None
        out = proc.stdout.read()
        if proc.wait(timeout=seconds + 300) != 0:
            raise RuntimeError(f"a save worker failed (exit {proc.returncode})")
        merged.update(json.loads(out))
    return {"start": start, "specs": specs, "saves": merged}


def serial_saves_per_second(data: Path, url: str, couple: str, seconds: float) -> float:
    """The baseline: one client saving back to back for ``seconds``; saves per second."""
    week = FIRST_WEEK - dt.timedelta(weeks=600)  # weeks no other save uses
    done = 0
    with Store(data, url=url, user=roles.partner_identity(couple, "A")) as store:
        began = time.perf_counter()
        while time.perf_counter() - began < seconds:
            save_week(store, couple, "A", week + dt.timedelta(weeks=done), "form:serial")
            done += 1
        return done / (time.perf_counter() - began)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker(argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--therapists", type=int, default=20)
    parser.add_argument("--couples", type=int, default=2000)
    parser.add_argument("--weeks", type=int, default=104)
    parser.add_argument("--seconds", type=int, default=60, help="length of the save load")
    parser.add_argument("--clients", type=int, default=50, help="partners saving once a second")
    parser.add_argument("--processes", type=int, default=5, help="worker processes for them")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)

    from servers import PostgresServer, pg_bin

    bin_dir = pg_bin()
    if bin_dir is None:
        print("bench_practice: PostgreSQL is not installed (Debian: apt-get install postgresql)")
        return 1
    server = PostgresServer(bin_dir)
    try:
        server.admin(f"CREATE DATABASE {DATABASE}")
        url = server.url(DATABASE)
        with tempfile.TemporaryDirectory() as tmp:
            data = Path(tmp) / "data"
            write_users(data, args.therapists)
            Store(data, url=url, user=BOSS).close()  # the tables, by the migrations
            began = time.perf_counter()
            n_rows = load(server, args.couples, args.weeks, args.therapists)
            print(
                f"PostgreSQL {bin_dir.parent.name} on 127.0.0.1:{server.port}; loaded "
                f"{args.couples} couples x {args.weeks} weeks for {args.therapists} therapists: "
                f"{n_rows:,} answers in {time.perf_counter() - began:.1f} s (not timed)"
            )
            return measure(args, data, url)
    finally:
        server.close()


def measure(args: argparse.Namespace, data: Path, url: str) -> int:
    first, last = FIRST_WEEK, FIRST_WEEK + dt.timedelta(weeks=args.weeks)
    one = roles.Identity(therapist(0), roles.THERAPIST)
    with Store(data, url=url, user=one) as store:
        mine_read_s, mine = best_of(
            args.runs, lambda: store.answers_between(analysis.JUDGED_ITEMS, first, last)
        )
        mine_s, mine_frame = best_of(args.runs, lambda: caseload_table.caseload(store))
    with Store(data, url=url, user=BOSS) as store:
        all_read_s, everything = best_of(
            args.runs, lambda: store.answers_between(analysis.JUDGED_ITEMS, first, last)
        )
        all_s, all_frame = best_of(args.runs, lambda: caseload_table.caseload(store))
        couple_ids = store.couple_ids()
    expected_mine = len(range(0, args.couples, args.therapists))
    assert len(mine_frame) == expected_mine, (len(mine_frame), expected_mine)
    assert len(all_frame) == args.couples
    print(f"{therapist(0)}: {len(mine_frame)} couples, {len(mine):,} judged answers; "
          f"practice: {len(all_frame)} couples, {len(everything):,} judged answers")  # fmt: skip

    serial = serial_saves_per_second(data, url, couple_ids[-1], min(5.0, args.seconds))
    first_week = FIRST_WEEK + dt.timedelta(weeks=args.weeks + 1)
    load_run = sustained_saves(
        data, url, couple_ids, args.clients, args.processes, args.seconds, first_week
    )
    saves = [s for per in load_run["saves"].values() for s in per]
    made = len(saves)
    failed = [s for s in saves if not s["ok"]]
    on_time = [s for s in saves if s["ok"] and s["commit"] - s["slot"] <= ON_TIME_S]
    lags = sorted(s["commit"] - s["slot"] for s in saves if s["ok"])
    # None lost: every committed save's rows are in the store, and each week exactly once.
    with Store(data, url=url, user=BOSS) as store:
        stored = store.answers(items=list(CHECKIN))
    stored = stored[stored["source"] == "form:bench"]
    weeks_stored = len(stored.groupby(["couple_id", "partner", "week"]))
    committed = made - len(failed)
    lost = committed - weeks_stored + len(failed)
    rate = len(on_time) / args.seconds
    p99 = lags[int(0.99 * (len(lags) - 1))] if lags else float("nan")

    print()
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'measure':<58}{'value':>12}")
    figures = [
        (f"baseline: read {therapist(0)}'s judged answers (all weeks)", f"{mine_read_s:.3f} s"),
        (f"caseload as {therapist(0)} (their {len(mine_frame)} couples)", f"{mine_s:.3f} s"),
        ("baseline: read the practice's judged answers (all weeks)", f"{all_read_s:.3f} s"),
        (f"whole practice judged, as the supervisor ({args.couples} couples)", f"{all_s:.3f} s"),
        ("baseline: one client saving back to back", f"{serial:.1f} /s"),
        (f"form saves: {args.clients} clients x 1/s for {args.seconds} s, made", f"{made}"),
        ("  committed within 1 s of their slot", f"{len(on_time)} of {made}"),
        ("  the same, per second of the load", f"{rate:.2f} /s"),
        ("  failed (refused or errored)", f"{len(failed)}"),
        ("  commit lag after the slot: median / p99 / max",
         f"{lags[len(lags) // 2] * 1000:.0f}/{p99 * 1000:.0f}/{lags[-1] * 1000:.0f} ms"
         if lags else "-"),
        ("  saves lost (committed, not in the store) or failed", f"{lost}"),
    ]  # fmt: skip
    for name, value in figures:
        print(f"{name:<58}{value:>12}")
    for s in failed[:3]:
        print(f"  failed save: {s.get('error')}")
    print()
    ok = [
        report_target(
            "one therapist's caseload (PostgreSQL)", mine_s, TARGET_THERAPIST_S, "s",
            baseline_name="reading their answers", baseline=mine_read_s,
        ),
        report_target(
            "whole practice judged (PostgreSQL)", all_s, TARGET_PRACTICE_S, "s",
            baseline_name="reading the practice's answers", baseline=all_read_s,
        ),
        report_target(
            f"form saves sustained for {args.seconds} s (PostgreSQL)", rate, TARGET_SAVES_PER_S,
            "saves/s", baseline_name="one client back to back", baseline=serial,
            higher_is_better=True,
        ),
        report_target(
            "form saves lost (PostgreSQL)", lost, 1, "saves",
            baseline_name=f"of {made} saves made", baseline=made,
        ),
    ]  # fmt: skip
    print("targets met" if all(ok) else "TARGETS MISSED")
    return 0


if __name__ == "__main__":
    sys.exit(main())
