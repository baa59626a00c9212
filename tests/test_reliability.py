"""Nothing lost: two partners saving at once, SIGKILL mid-write, damaged stores, backup/restore.

Every test here runs real processes (``tests/reliability_worker.py`` or the
``mutuality`` command) against a real SQLite store, and kills them with a real
SIGKILL where that is the point.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from reliability_worker import FIRST_WEEK, WEEK_ITEMS

from mutuality_helpers.backup import backup, restore
from mutuality_helpers.cli import main as cli_main
from mutuality_helpers.database import WRITE_LOCK_KEY
from mutuality_helpers.models import make_answer
from mutuality_helpers.store import Store

TESTS = Path(__file__).resolve().parent
WORKER = TESTS / "reliability_worker.py"
MUTUALITY = Path(sys.executable).with_name("mutuality")
SAVES_PER_PARTNER = 300
ITEMS_PER_WEEK = len(WEEK_ITEMS)


def worker(mode: str, data: Path, *args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(WORKER), mode, str(data), *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MUTUALITY), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def integrity(path: Path) -> str:
    con = sqlite3.connect(path)
    try:
        return con.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        con.close()


def server_url() -> str | None:
    """The PostgreSQL store's URL when this test runs on the server (``backend``), else None."""
    return os.environ.get("MUTUALITY_STORE") or None


def intact(data: Path) -> str:
    """``"ok"`` when the store is whole and takes writes again after a writer was killed.

    SQLite: ``PRAGMA integrity_check`` of the file. PostgreSQL (which keeps its own pages
    whole): no dead writer still holds the store's write lock, and a write transaction runs.
    """
    if server_url() is None:
        return integrity(data / "workbook.sqlite")
    wait_for(lambda: not write_lock_held(data), 30, "the killed writer's lock to be released")
    with Store(data) as store, store.atomic() as conn:
        conn.execute(sa.text("SELECT 1"))
    return "ok"


def count_answers(data: Path, couple_id: str | None = None) -> int:
    with Store(data) as store:
        return len(store.answers(couple_id))


def wait_for(predicate, timeout: float = 60.0, what: str = "condition") -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def write_lock_held(data: Path) -> bool:
    """True while some process holds the store's write lock (we cannot take it at once)."""
    url = server_url()
    if url is not None:
        import psycopg

        with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://")) as pg:
            held = pg.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND objid = %s",
                (WRITE_LOCK_KEY & 0xFFFFFFFF,),
            ).fetchone()
            return bool(held and held[0])
    con = sqlite3.connect(data / "workbook.sqlite", timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError:
        return True
    finally:
        if con.in_transaction:
            con.execute("ROLLBACK")
        con.close()
    return False


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    proc.stdout.close()
    proc.stderr.close()


def big_answer_csv(path: Path, couples: int = 25, weeks: int = 50) -> int:
    """An interchange file with couples x weeks x 2 partners x a check-in week's items rows."""
    rows = [
        [f"K{c}", p, (FIRST_WEEK + dt.timedelta(weeks=w)).isoformat(), item, value]
        for c in range(couples)
        for w in range(weeks)
        for p in "AB"
        for item, value in WEEK_ITEMS.items()
    ]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["couple_id", "partner", "week", "item", "value"])
        writer.writerows(rows)
    return len(rows)


# -- 1. concurrency --------------------------------------------------------------------------


@pytest.mark.usefixtures("backend")
def test_two_partners_saving_at_once_lose_nothing(data_dir: Path) -> None:
    # No store yet: the two processes also race to create it, as on a first evening.
    procs = [worker("save", data_dir, partner, SAVES_PER_PARTNER) for partner in "AB"]
    results = [p.communicate(timeout=180) for p in procs]
    for proc, (out, err) in zip(procs, results, strict=True):
        assert "locked" not in err.lower()
        assert err == ""
        assert proc.returncode == 0
        assert len(out.split()) == SAVES_PER_PARTNER
    with Store(data_dir) as store:
        frame = store.answers("C1")
    assert len(frame) == 2 * SAVES_PER_PARTNER
    for partner in "AB":
        mine = frame[frame["partner"] == partner].sort_values("week")
        assert len(mine) == SAVES_PER_PARTNER
        assert list(mine["value"]) == [str(i % 11) for i in range(SAVES_PER_PARTNER)]
        assert set(mine["source"]) == {f"form:{partner}"}
    assert intact(data_dir) == "ok"


# -- 2. crash safety -------------------------------------------------------------------------


@pytest.mark.usefixtures("backend")
def test_sigkill_in_the_middle_of_an_import_writes_none_of_it(data_dir: Path, tmp_path: Path):
    big = tmp_path / "big.csv"
    rows = big_answer_csv(big)
    marker = tmp_path / "marker"
    proc = worker("stall-import", data_dir, big, marker)
    wait_for(marker.exists, what="the import to be mid-transaction")
    kill(proc)
    assert intact(data_dir) == "ok"
    with Store(data_dir) as store:
        assert len(store.answers()) == 0
        assert store.couple_ids() == []  # couples are created in the same transaction
    # The same file imported to the end: all of it.
    proc = worker("import", data_dir, big)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert count_answers(data_dir) == rows
    assert intact(data_dir) == "ok"


@pytest.mark.usefixtures("backend")
def test_sigkill_in_the_middle_of_a_save_writes_none_of_it(data_dir: Path, tmp_path: Path):
    with Store(data_dir) as store:
        store.save_answers([make_answer("C1", "B", FIRST_WEEK, "energy", 7)], "form:B")
    marker = tmp_path / "marker"
    proc = worker("stall-save", data_dir, marker)
    wait_for(marker.exists, what="the save to be mid-transaction")
    kill(proc)
    assert intact(data_dir) == "ok"
    with Store(data_dir) as store:
        frame = store.answers("C1")
        rows = list(zip(frame["partner"], frame["item"], frame["value"], strict=True))
        assert rows == [("B", "energy", "7")]
        # The store takes new writes after the crash (the dead writer's lock is gone).
        store.save_answers([make_answer("C1", "A", FIRST_WEEK, "energy", 3)], "form:A")
        assert len(store.answers("C1")) == 2


@pytest.mark.usefixtures("backend")
def test_sigkill_while_the_real_cli_import_holds_the_write_lock(data_dir: Path, tmp_path: Path):
    """No hooks: kill ``mutuality import`` once it has held the write lock for a moment."""
    big = tmp_path / "big.csv"
    rows = big_answer_csv(big)
    Store(data_dir).close()
    proc = subprocess.Popen(
        [str(MUTUALITY), "import", str(big), "--data", str(data_dir)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    held_since = None
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        if write_lock_held(data_dir):
            held_since = held_since or time.monotonic()
            if time.monotonic() - held_since > 0.05:
                break
        else:
            held_since = None
        time.sleep(0.005)
    assert proc.poll() is None, "the import finished before it could be killed"
    kill(proc)
    assert intact(data_dir) == "ok"
    assert count_answers(data_dir) in (0, rows)


@pytest.mark.usefixtures("backend")
def test_sigkill_during_a_stream_of_saves_keeps_every_committed_week_whole(data_dir: Path):
    Store(data_dir).close()
    committed: set[int] = set()
    for round_, delay in enumerate((0.2, 0.45, 0.7)):
        # 1,000 weeks a round (far more than 0.7 s can save) keep every week within the
        # dates the store accepts (1900-2199).
        proc = worker("weeks", data_dir, round_ * 1_000, 1_000)
        first = proc.stdout.readline()
        assert first.strip(), proc.stderr.read()
        time.sleep(delay)
        kill_started = time.monotonic()
        proc.send_signal(signal.SIGKILL)
        out = first + proc.stdout.read()
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        assert time.monotonic() - kill_started < 30
        proc.stdout.close()
        proc.stderr.close()
        # A week printed by the worker was committed before the kill: it must be there.
        committed |= {int(line) for line in out.split()}
    assert intact(data_dir) == "ok"
    with Store(data_dir) as store:
        frame = store.answers("C1")
    per_week = frame.groupby("week").size()
    assert (per_week == ITEMS_PER_WEEK).all(), "a week was saved in part"
    stored = {(w.date() - FIRST_WEEK).days // 7 for w in per_week.index}
    assert committed <= stored
    # At most one save per round can be committed but not yet printed when the kill lands.
    assert len(stored - committed) <= 3


# -- 3. damaged store ------------------------------------------------------------------------


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _healthy_store(data: Path) -> Path:
    with Store(data) as store:
        answers = [
            make_answer("C1", p, FIRST_WEEK + dt.timedelta(weeks=w), "reflection", f"week {w}" * 40)
            for w in range(60)
            for p in "AB"
        ]
        store.save_answers(answers, "form:test")
    path = data / "workbook.sqlite"
    con = sqlite3.connect(path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.execute("PRAGMA journal_mode=DELETE")
    con.close()
    return path


def _damage(kind: str, data: Path) -> Path:
    path = data / "workbook.sqlite"
    data.mkdir(parents=True, exist_ok=True)
    if kind == "text file":
        path.write_text("couple_id,partner,week,item,value\nC1,A,2026-09-07,energy,5\n")
    elif kind == "foreign sqlite":
        con = sqlite3.connect(path)
        con.execute("CREATE TABLE recipes (name TEXT, steps TEXT)")
        con.execute("INSERT INTO recipes VALUES ('bread', 'knead')")
        con.commit()
        con.close()
    elif kind == "foreign sqlite in WAL mode":
        con = sqlite3.connect(path)
        con.execute("PRAGMA journal_mode=WAL")
        con.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        con.commit()
        con.close()
    elif kind == "corrupt pages":
        _healthy_store(data)
        raw = bytearray(path.read_bytes())
        # Overwrite the second half of the file (table and index pages) with noise.
        noise = hashlib.sha256(b"noise").digest() * (len(raw) // 64 + 1)
        half = len(raw) // 2
        raw[half:] = noise[: len(raw) - half]
        path.write_bytes(bytes(raw))
    elif kind == "truncated":
        _healthy_store(data)
        raw = path.read_bytes()
        path.write_bytes(raw[: len(raw) // 3])
    elif kind == "newer schema":
        _healthy_store(data)
        con = sqlite3.connect(path)
        # A revision this release has no migration for: written by a newer release.
        con.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
        con.commit()
        con.close()
    else:
        raise ValueError(kind)
    return path


DAMAGE = [
    "text file",
    "foreign sqlite",
    "foreign sqlite in WAL mode",
    "corrupt pages",
    "truncated",
    "newer schema",
]


@pytest.mark.parametrize("kind", DAMAGE)
def test_a_damaged_or_foreign_store_is_refused_in_one_line_and_left_untouched(
    kind: str, data_dir: Path, tmp_path: Path, capsys
) -> None:
    path = _damage(kind, data_dir)
    before = _sha(path)
    mode = path.stat().st_mode
    answers = tmp_path / "answers.csv"
    answers.write_text("couple_id,partner,week,item,value\nC2,A,2026-09-07,energy,5\n")
    # A writer, a reader of the whole file, and erase: through the CLI's entry point
    # in-process (fast), and once as a real process (exit code, no traceback).
    for args in (["import", answers], ["backup"], ["erase", "C1", "--yes"]):
        code = cli_main([*map(str, args), "--data", str(data_dir)])
        err = capsys.readouterr().err
        assert code == 1, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mutuality: "), err
        assert "internal error" not in err
        assert str(path) in err or "newer" in err
        assert _sha(path) == before, f"{args[0]} changed the file"
        assert path.stat().st_mode == mode
    if kind == DAMAGE[0]:
        result = cli("import", answers, "--data", data_dir)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        assert result.stderr.startswith("mutuality: ") and result.stderr.count("\n") == 1
        assert _sha(path) == before
    assert not (data_dir / "backups").exists() or not any((data_dir / "backups").iterdir())


@pytest.mark.parametrize("kind", ["text file", "foreign sqlite", "corrupt pages", "truncated"])
def test_restore_refuses_a_bad_backup_and_changes_nothing(
    kind: str, data_dir: Path, tmp_path: Path
) -> None:
    bad = _damage(kind, tmp_path / "elsewhere")
    bad_before = _sha(bad)
    store_file = _healthy_store(data_dir)
    store_before = _sha(store_file)
    result = cli("restore", bad, "--yes", "--data", data_dir)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr
    assert str(bad) in result.stderr
    assert _sha(bad) == bad_before
    assert _sha(store_file) == store_before


def test_restore_over_a_damaged_store_sets_it_aside_unchanged(data_dir: Path, tmp_path: Path):
    good = tmp_path / "good"
    _healthy_store(good)
    saved = backup(good)
    damaged = _damage("corrupt pages", data_dir)
    damaged_bytes = damaged.read_bytes()
    result = cli("restore", saved, "--yes", "--data", data_dir)
    assert result.returncode == 0, result.stderr
    aside = [p for p in data_dir.iterdir() if ".damaged-" in p.name]
    assert len(aside) == 1 and aside[0].read_bytes() == damaged_bytes
    assert count_answers(data_dir, "C1") == 120
    assert integrity(damaged) == "ok"


# -- 3b. backup and restore while another process writes --------------------------------------


def test_backup_and_restore_while_another_process_writes(data_dir: Path) -> None:
    Store(data_dir).close()
    total = 3000  # a bound only: the writer stops when told
    stop = data_dir.parent / "stop-writing"
    proc = worker("log", data_dir, total, stop)
    commits: dict[int, float] = {}

    def record(line: str) -> None:
        i, when = line.split()
        commits[int(i)] = float(when)

    def read_until(done) -> None:  # noqa: ANN001
        while not done():
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            record(line)

    read_until(lambda: len(commits) >= 60)
    snapshot = backup(data_dir)
    assert integrity(snapshot) == "ok"
    with sqlite3.connect(snapshot) as con:
        in_backup = {
            (dt.date.fromisoformat(w) - FIRST_WEEK).days // 7
            for (w,) in con.execute("SELECT week FROM answers")
        }
    con.close()
    # A consistent snapshot of a sequential writer is a prefix of its saves.
    k = len(in_backup)
    assert k >= 60 and in_backup == set(range(k))

    read_until(lambda: len(commits) >= k + 100)
    started = time.monotonic()
    restore(snapshot, data_dir)
    finished = time.monotonic()
    # The writer goes on until 50 of its saves have committed after the restore.
    read_until(lambda: sum(when > finished for when in commits.values()) >= 50)
    stop.touch()
    out, err = proc.communicate(timeout=120)
    for line in out.splitlines():
        record(line)
    assert proc.returncode == 0 and err == "", err

    store_file = data_dir / "workbook.sqlite"
    assert integrity(store_file) == "ok"
    with Store(data_dir) as store:
        stored = {(w.date() - FIRST_WEEK).days // 7 for w in store.answers("C1")["week"]}
    assert in_backup <= stored
    after = {i for i, when in commits.items() if when > finished}
    assert after and after <= stored, "a save made after the restore was lost"
    replaced = {i for i, when in commits.items() if when < started and i >= k}
    assert replaced and not (replaced & stored), "the restore did not replace the store"
    # The backup is untouched by the restore and by the writer.
    assert integrity(snapshot) == "ok"


def test_a_folder_where_the_store_should_be_is_a_one_line_error(data_dir: Path) -> None:
    (data_dir / "workbook.sqlite").mkdir(parents=True)
    result = cli("couples", "--data", data_dir)
    assert result.returncode == 1
    assert result.stderr.startswith("mutuality: ") and result.stderr.count("\n") == 1
    assert "internal error" not in result.stderr and "is a folder" in result.stderr


def test_an_empty_database_being_created_by_another_process_is_not_refused(data_dir: Path):
    # What a second process sees while the first is between "file created, WAL on" and
    # "schema committed": a valid SQLite file without tables. (Found by the race above.)
    data_dir.mkdir(parents=True)
    con = sqlite3.connect(data_dir / "workbook.sqlite")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    assert (data_dir / "workbook.sqlite").stat().st_size > 0
    with Store(data_dir) as store:
        store.save_answers([make_answer("C1", "A", FIRST_WEEK, "energy", 1)], "form:A")
        assert len(store.answers()) == 1


def test_backup_and_restore_from_the_command_line(data_dir: Path) -> None:
    with Store(data_dir) as store:
        store.save_answers([make_answer("C1", "A", FIRST_WEEK, "energy", 4)], "form:A")
    made = cli("backup", "--data", data_dir)
    assert made.returncode == 0, made.stderr
    saved = Path(made.stdout.strip())
    assert saved.parent == data_dir / "backups" and integrity(saved) == "ok"
    with Store(data_dir) as store:
        store.save_answers([make_answer("C1", "A", FIRST_WEEK, "energy", 9)], "form:A")
    # Without --yes and nobody to answer: nothing happens.
    asked = subprocess.run(
        [str(MUTUALITY), "restore", str(saved), "--data", str(data_dir)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert asked.returncode == 1 and asked.stderr.strip().endswith("mutuality: aborted")
    with Store(data_dir) as store:
        assert store.answers("C1")["value"].tolist() == ["9"]
    done = cli("restore", saved, "--yes", "--data", data_dir)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("restored ") and "kept in" in done.stderr
    with Store(data_dir) as store:
        assert store.answers("C1")["value"].tolist() == ["4"]
