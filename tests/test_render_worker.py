"""The warm report worker: real worker processes, real PDFs read back.

The suite renders in-process by default (``MUTUALITY_WORKER=off`` in conftest.py); every
test here turns the worker on for its own copy of the demo data folder, and the
``workers`` fixture stops every worker started for that folder (and checks none is left).
"""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import pdf_text

from mutuality_helpers import config, roles, worker
from mutuality_helpers.cli import main
from mutuality_helpers.store import Store

pytestmark = pytest.mark.slow

A, B = "D004", "D001"  # two couples, nobody in common
A_TRACES = ("D004", "Morgan", "Riley", "Pattern unchanged", "keeping the peace")


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def _worker_pids(data: Path) -> list[int]:
    """This folder's worker processes (their command line names the folder)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"mutuality_helpers.worker" in args and os.fsencode(data.resolve()) in args:
            pids.append(int(entry.name))
    return pids


def _wait_gone(pid: int, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not worker.process_alive(pid):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def workers(demo_data_dir: Path, monkeypatch) -> Path:
    """The demo data folder with the report worker on; every worker of it stopped after."""
    monkeypatch.setenv(worker.ENABLE_ENV, "on")
    yield demo_data_dir
    worker.stop(demo_data_dir)
    left = _worker_pids(demo_data_dir)
    for pid in left:  # another identity's worker, or one a test left: end it too
        os.kill(pid, signal.SIGTERM)
    assert all(_wait_gone(pid) for pid in left)


def test_the_first_report_starts_a_worker_and_the_next_reuses_its_kernel(workers, capsys):
    assert worker.status(workers) is None
    code, out, err = run(capsys, "report", A, "--session", "2", "--data", str(workers))
    assert (code, err) == (0, "")
    assert Path(out.strip()) == config.report_path(A, 2, workers)
    first = worker.status(workers)
    assert first is not None and (first["served"], first["kernels"]) == (1, 1)

    code, out, err = run(capsys, "report", B, "--session", "2", "--data", str(workers))
    assert (code, err) == (0, "")
    again = worker.status(workers)
    assert again["pid"] == first["pid"]
    assert (again["served"], again["kernels"]) == (2, 1)  # no second kernel started
    assert "Sam" in pdf_text(Path(out.strip()))
    with Store(workers) as store:  # rendered through the worker, and recorded as current
        assert store.report_is_current(B, 2)


def test_nothing_of_one_couple_reaches_the_next_couples_report(workers, capsys):
    both = ("--include-reflections", "--data", str(workers))
    code, out, _ = run(capsys, "report", A, "--session", "2", *both)
    assert code == 0
    a_text = pdf_text(Path(out.strip()))
    assert all(trace in a_text for trace in A_TRACES)  # what B must not show is really in A
    code, out, _ = run(capsys, "report", B, "--session", "2", *both)
    assert code == 0
    b_text = pdf_text(Path(out.strip()))
    assert "Sam" in b_text and "Alex" in b_text
    assert [trace for trace in A_TRACES if trace in b_text] == []
    assert worker.status(workers)["served"] == 2  # one worker rendered both


def test_worker_status_start_and_stop(workers, capsys):
    code, out, _ = run(capsys, "worker", "status", "--data", str(workers))
    assert code == 0 and out.startswith("no report worker runs for")
    code, out, _ = run(capsys, "worker", "start", "--data", str(workers))
    assert code == 0 and "ready" in out
    code, out, _ = run(capsys, "worker", "status", "--json", "--data", str(workers))
    state = json.loads(out)
    assert state["running"] and state["ready"] and state["served"] == 0
    assert f"pid {state['pid']}" in run(capsys, "worker", "status", "--data", str(workers))[1]

    code, out, _ = run(capsys, "worker", "stop", "--data", str(workers))
    assert code == 0 and out == f"report worker (pid {state['pid']}) stopped after 0 report(s)\n"
    assert not worker.process_alive(state["pid"])
    assert not Path(state["socket"]).exists()
    assert run(capsys, "worker", "stop", "--data", str(workers))[1].startswith("no report worker")


def test_socket_is_owner_only_in_an_owner_only_folder_and_names_the_user(workers, monkeypatch):
    state = worker.start(workers)
    sock = Path(state["socket"])
    assert sock.parent == workers / worker.FOLDER
    assert stat.S_ISSOCK(sock.stat().st_mode)
    assert stat.S_IMODE(sock.stat().st_mode) == 0o600
    assert stat.S_IMODE(sock.parent.stat().st_mode) == 0o700
    assert sock.name.startswith(f"report-{roles.login_name() or 'local'}-")
    # Another identity, another store: another worker (never this one's rights).
    monkeypatch.setenv(roles.AS_ENV, "ben")
    assert worker.socket_path(workers).name.startswith("report-ben-")
    assert worker.socket_path(workers) != sock
    monkeypatch.delenv(roles.AS_ENV)
    monkeypatch.setenv(config.STORE_ENV, "postgresql://therapist@db.example/practice")
    assert worker.socket_path(workers) != sock


def test_an_idle_worker_exits_by_itself(workers, monkeypatch):
    monkeypatch.setenv(worker.IDLE_ENV, "1")
    state = worker.start(workers)
    assert state["idle_timeout_s"] == 1
    assert _wait_gone(state["pid"], timeout=30)
    assert not Path(state["socket"]).exists()
    assert worker.status(workers) is None


def test_a_stale_socket_gets_a_fresh_worker(workers, capsys):
    state = worker.start(workers)
    os.kill(state["pid"], signal.SIGKILL)
    assert _wait_gone(state["pid"])
    assert Path(state["socket"]).exists()  # left behind: nobody answers it
    code, out, err = run(capsys, "report", A, "--session", "2", "--data", str(workers))
    assert (code, err) == (0, "")
    assert "Morgan" in pdf_text(Path(out.strip()))
    fresh = worker.status(workers)
    assert fresh["pid"] != state["pid"] and fresh["served"] == 1


def test_a_worker_killed_mid_report_leaves_the_report_to_the_command(workers):
    state = worker.start(workers)
    out = config.report_path(A, 2, workers)
    command = [sys.executable, "-m", "mutuality_helpers.cli", "report", A, "--session", "2"]
    client = subprocess.Popen(
        [*command, "--data", str(workers)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (worker.status(workers) or {}).get("busy"):
            assert time.monotonic() < deadline, "the worker never took the report"
            time.sleep(0.02)
        os.kill(state["pid"], signal.SIGKILL)
        stdout, stderr = client.communicate(timeout=300)
    finally:
        client.kill()
    assert client.returncode == 0, stderr
    assert stdout.strip() == str(out)
    assert stderr == (
        "mutuality: note: the report worker stopped before answering; rendering in this process\n"
    )
    assert "Morgan" in pdf_text(out)
    assert worker.status(workers) is None  # rendered in-process: no worker started for it


def test_no_worker_renders_in_process_and_starts_none(workers, capsys):
    code, out, err = run(
        capsys, "report", A, "--session", "2", "--no-worker", "--data", str(workers)
    )
    assert (code, err) == (0, "")
    assert "Morgan" in pdf_text(Path(out.strip()))
    assert worker.status(workers) is None
    assert not (workers / worker.FOLDER).exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([A, "--session", "9"], f"mutuality: couple {A} has no session 9\n"),
        (["D999", "--session", "1"], "mutuality: no couple 'D999' in the store\n"),
    ],
)
def test_a_request_failing_in_the_worker_says_why_in_one_line(workers, capsys, args, message):
    in_process = run(capsys, "report", *args, "--no-worker", "--data", str(workers))
    through_worker = run(capsys, "report", *args, "--data", str(workers))
    assert through_worker == in_process
    code, out, err = through_worker
    assert (code, out, err) == (1, "", message)
    assert worker.status(workers)["served"] == 1  # the worker answered it
    assert not config.reports_dir(workers).exists() or not any(
        config.reports_dir(workers).rglob("*.pdf")
    )


def test_each_user_has_their_own_worker_with_their_own_rights(workers, capsys, monkeypatch):
    (workers / roles.USERS_FILE).write_text("anna: supervisor\nben: therapist\nchloe: therapist\n")
    os.chmod(workers / roles.USERS_FILE, 0o600)
    with Store(workers, user="anna") as store:
        store.assign(A, "chloe")  # in a users.yaml practice, an unassigned couple is nobody's
    code, out, err = run(capsys, "--as", "chloe", "report", A, "--data", str(workers))
    assert (code, err) == (0, "")
    monkeypatch.setenv(roles.AS_ENV, "chloe")
    chloes = worker.status(workers)
    monkeypatch.delenv(roles.AS_ENV)
    assert chloes is not None and chloes["served"] == 1
    # ben asks for chloe's couple: his own worker answers, with his rights.
    code, out, err = run(capsys, "--as", "ben", "report", A, "--data", str(workers))
    assert (code, out, err) == (1, "", f"mutuality: no couple '{A}' in the store\n")
    monkeypatch.setenv(roles.AS_ENV, "ben")
    bens = worker.status(workers)
    assert bens is not None and bens["pid"] != chloes["pid"] and bens["served"] == 1


def test_the_session_workbook_prints_its_report_through_the_worker(workers):
    import datetime as dt

    from mutuality_helpers.session_ui import SessionWorkbook

    with Store(workers) as store:
        book = SessionWorkbook(store, A, today=dt.date(2026, 11, 28))  # starts the worker
        session = book.session_number
        book.report_button.button.click()
        path = config.report_path(A, session, workers)
        assert book.message == f"Report printed: {path}"
        assert f"Session report: {A}, session {session}" in pdf_text(path)
        assert worker.status(workers)["served"] == 1
        book.report_button.button.click()  # warm: the same worker, a second report
        assert worker.status(workers)["served"] == 2
