"""The warm report worker: ``mutuality report COUPLE`` without paying for a cold start.

A cold ``mutuality report`` spends most of its time before the report: starting Python,
importing the store, papermill, nbconvert and WeasyPrint, and starting a Jupyter kernel
(``benchmarks/bench_stages.py``). So the command hands its request to a long-lived
*worker* process that has done all that once, through a Unix socket in the data folder,
and only starts one (detached) when none runs. The worker keeps one warm
:class:`~mutuality_helpers.render.Renderer` and runs each request through the very same
``mutuality report ... --no-worker`` command in its own process (:func:`.cli.main`), so its
output, its one-line errors and its exit codes are the command's own; the client
prints them and exits with that code. The kernel's namespace is reset before every report
(:mod:`~mutuality_helpers.engine`), so nothing of one couple reaches the next.

Who may use a worker:

- its socket is ``<data>/.workers/report-<user>-<digest>.sock``, owner-only (0600) in an
  owner-only folder (0700), never TCP; the worker also checks that each connecting process
  runs as the same account (``SO_PEERCRED``, Linux);
- ``<digest>`` covers everything a render depends on besides the data folder: the account,
  ``--as``/``MUTUALITY_AS``, ``JUPYTERHUB_USER``, the store URL, every other ``MUTUALITY_*``
  and ``PG*`` variable, the Python, the package and its version. A worker was started with
  the very same environment, so it renders with the caller's rights and no one else's; a
  change of any of those finds (or starts) another worker.

A command interrupted (Ctrl-C) while its report renders in the worker stops waiting; the
worker still finishes that report (it is written and recorded as usual).

How long it lives: until ``mutuality worker stop``, SIGTERM, or :data:`IDLE_ENV` seconds
(default :data:`DEFAULT_IDLE_S`) without a report. A worker that died leaves a socket
nobody answers: the next command starts a fresh one. A worker that dies *during* a report
(killed, crashed) drops the connection; the command then renders the report in its own
process after a one-line note. :data:`ENABLE_ENV` ``=off`` (or ``--no-worker``) renders
in-process, as the test suite does by default.

One request runs at a time (there is one kernel); ``status`` and ``stop`` are answered at
once, even mid-report. The protocol is one JSON line each way per connection.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import io
import json
import os
import queue
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import config
from .exceptions import ReportError
from .scratch import process_alive

#: ``off`` (or ``0``, ``no``, ``false``): ``mutuality report`` renders in its own process.
ENABLE_ENV = "MUTUALITY_WORKER"
#: Seconds without a report after which a worker exits.
IDLE_ENV = "MUTUALITY_WORKER_IDLE"
DEFAULT_IDLE_S = 600.0
FOLDER = ".workers"
#: How long a command waits for a worker it started to listen (it then renders itself).
START_TIMEOUT_S = 60.0
#: A report that takes longer than this in the worker is given up (a hung worker).
ANSWER_TIMEOUT_S = 1800.0
# Variables that say nothing about whose rights a render has, or what it shows.
_NOT_IDENTITY = frozenset({config.DATA_ENV, ENABLE_ENV, IDLE_ENV, "MUTUALITY_BENCH_TARGETS"})
# A Unix socket's path is limited to about 100 bytes: a longer one is reached through
# /proc/self/fd/N/ (Linux), N an open handle on its folder.
_MAX_ADDRESS = 100
_OFF = ("0", "off", "no", "false")


class WorkerError(ReportError):
    """The report worker could not be reached or answered nonsense (one line)."""


class WorkerLost(WorkerError):
    """The worker dropped a request unanswered: it stopped, was killed or crashed."""


def enabled() -> bool:
    """Whether ``mutuality report`` goes through a worker (not with ``MUTUALITY_WORKER=off``)."""
    if os.name != "posix" or not hasattr(socket, "AF_UNIX"):
        return False
    return os.environ.get(ENABLE_ENV, "").strip().lower() not in _OFF


def idle_timeout() -> float:
    """Seconds a worker waits for a report before it exits (:data:`IDLE_ENV`)."""
    raw = os.environ.get(IDLE_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_IDLE_S
    except ValueError:
        from .exceptions import SettingsError

        raise SettingsError(f"{IDLE_ENV} must be a number of seconds, got {raw!r}") from None
    return max(0.1, value)


def _identity() -> tuple[str, str]:
    """A readable user name for the socket, and a digest of everything a render depends on."""
    from .roles import AS_ENV, HUB_USER_ENV, login_name

    account = login_name()
    user = os.environ.get(AS_ENV) or os.environ.get(HUB_USER_ENV) or account or "local"
    env = sorted(
        (k, v)
        for k, v in os.environ.items()
        if (k.startswith("MUTUALITY_") and k not in _NOT_IDENTITY)
        or k == HUB_USER_ENV
        or k.startswith("PG")
    )
    from . import __version__

    # The installed version too: after an upgrade, reports come from the new code.
    seen = [os.getuid(), account, sys.executable, str(config.PACKAGE_DIR), __version__, env]
    digest = hashlib.sha256(json.dumps(seen).encode()).hexdigest()[:16]
    return re.sub(r"[^A-Za-z0-9._@-]", "_", user)[:32], digest


def socket_path(data: str | os.PathLike[str] | None = None) -> Path:
    """The socket of the worker for ``data`` and the caller's identity (see the docstring)."""
    user, digest = _identity()
    return config.data_dir(data) / FOLDER / f"report-{user}-{digest}.sock"


@contextlib.contextmanager
def _address(path: Path) -> Iterator[str]:
    """``path`` as a socket address, short enough for ``bind``/``connect``."""
    if len(os.fsencode(path)) <= _MAX_ADDRESS:
        yield str(path)
        return
    fd = os.open(path.parent, getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY)
    try:
        yield f"/proc/self/fd/{fd}/{path.name}"
    finally:
        os.close(fd)


# -- the client ------------------------------------------------------------------------------


def _send(path: Path, message: dict[str, Any], timeout: float) -> dict[str, Any]:
    """One request and its answer.

    Raises
    ------
    FileNotFoundError, ConnectionRefusedError
        No worker listens on ``path`` (none started, or a stale socket).
    WorkerLost
        The worker took the request and closed the connection without an answer.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        with _address(path) as address:
            sock.connect(address)
        try:
            sock.sendall(json.dumps(message).encode() + b"\n")
            with sock.makefile("rb") as answer:
                line = answer.readline()
        except TimeoutError:
            raise WorkerError(
                f"the report worker did not answer in {timeout:.0f} s (mutuality worker stop)"
            ) from None
        except (ConnectionResetError, BrokenPipeError):
            line = b""
    if not line:
        raise WorkerLost("the report worker stopped before answering")
    try:
        reply = json.loads(line)
    except ValueError:
        raise WorkerError("the report worker answered nonsense") from None
    if not isinstance(reply, dict):
        raise WorkerError("the report worker answered nonsense")
    return reply


def _ask(data: Path, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any] | None:
    """The worker's answer, or None when no worker runs for ``data`` and this identity."""
    try:
        return _send(socket_path(data), message, timeout)
    except (FileNotFoundError, ConnectionRefusedError, NotADirectoryError):
        return None


def status(data: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The running worker's state (``pid``, ``idle_s``, ``served``, ``kernels``...), or None."""
    return _ask(config.data_dir(data), {"op": "status"})


def stop(data: str | os.PathLike[str] | None = None, wait_s: float = 60.0) -> dict[str, Any] | None:
    """Stop the worker (after the report it is rendering); its last status, or None."""
    folder = config.data_dir(data)
    last = _ask(folder, {"op": "stop"})
    if last is None:
        return None
    deadline = time.monotonic() + wait_s
    while process_alive(int(last["pid"])) and time.monotonic() < deadline:
        time.sleep(0.02)
    return last


def start(
    data: str | os.PathLike[str] | None = None, idle_s: float | None = None
) -> dict[str, Any]:
    """Start a worker for ``data`` unless one runs; its status once it answers."""
    folder = config.data_dir(data)
    if not _has_store(folder):
        raise WorkerError(f"no Mutuality store in {folder}")
    if _ask(folder, {"op": "status"}) is None:
        _spawn(folder, idle_s)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        reply = _ask(folder, {"op": "status"})
        if reply is None:
            break
        if reply.get("ready"):
            return reply
        time.sleep(0.05)
    raise WorkerError("the report worker did not start (mutuality report --no-worker works)")


@dataclass(frozen=True)
class Answer:
    """What ``mutuality report`` printed in the worker, and its exit code."""

    code: int
    out: str
    err: str


def render(data: Path, report: dict[str, Any]) -> Answer | None:
    """Have the worker render one report (starting a worker if none runs).

    ``report`` holds the report command's options (``couple``, ``session``, ``as_of``,
    ``include_reflections``, ``paper``). None means: render in this process (no store in
    ``data`` for a worker to open, no worker could start, or the worker was lost mid-report;
    the last two print a one-line note).
    """
    if not _has_store(data):
        return None  # the in-process command says what is wrong, and creates nothing
    message = {"op": "report", "report": report}
    try:
        try:
            reply = _send(socket_path(data), message, ANSWER_TIMEOUT_S)
        except (FileNotFoundError, ConnectionRefusedError):
            _spawn(data, None)
            reply = _send(socket_path(data), message, ANSWER_TIMEOUT_S)
    except (WorkerLost, FileNotFoundError, ConnectionRefusedError) as exc:
        reason = exc if isinstance(exc, WorkerLost) else "the report worker did not start"
        print(f"mutuality: note: {reason}; rendering in this process", file=sys.stderr)
        return None
    try:
        return Answer(int(reply["code"]), str(reply["out"]), str(reply["err"]))
    except (KeyError, TypeError, ValueError):
        raise WorkerError(f"the report worker refused the request: {reply.get('error')}") from None


def _has_store(data: Path) -> bool:
    """Is there a store for a worker to open (a worker creates nothing where there is none)?"""
    return data.is_dir() and (config.store_url() is not None or config.store_path(data).is_file())


def _spawn(data: Path, idle_s: float | None) -> None:
    """Start a detached worker and wait until it listens (or has given up)."""
    config.private_dir(data / FOLDER)
    command = [sys.executable, "-m", __name__, str(data)]
    if idle_s is not None:
        command += ["--idle", str(idle_s)]
    # A new session: the worker outlives this command and never gets its terminal's Ctrl-C.
    # The process started forks the worker and exits once it listens (see _detach).
    with subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    ) as launcher:
        try:
            launcher.wait(timeout=START_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            launcher.kill()


# -- the worker ------------------------------------------------------------------------------


@dataclass
class _Job:
    report: dict[str, Any]
    done: threading.Event
    answer: dict[str, Any] | None = None


class Worker:
    """The server: renders queued reports on this (main) thread, answers the rest at once.

    Parameters
    ----------
    data
        The data folder it serves; its socket is :func:`socket_path` of it.
    idle_s
        Exit after this many seconds without a report.
    """

    def __init__(self, data: Path, idle_s: float) -> None:
        self.data = data
        self.idle_s = idle_s
        self.path = socket_path(data)
        self.started = time.time()
        self.last = time.monotonic()
        self.served = 0
        self.kernels = 0
        self.busy = False
        self.ready = False  # renderer warm, kernel preloaded
        self.jobs: queue.Queue[_Job | None] = queue.Queue()
        self._listener: socket.socket | None = None
        self._lock_fd: int | None = None
        self.renderer: Any = None

    # -- life cycle ----------------------------------------------------------------------------

    def claim(self) -> bool:
        """Take the worker's lock and bind its socket; False when another worker holds it."""
        import fcntl

        folder = config.private_dir(self.path.parent)
        fd = os.open(folder / f"{self.path.stem}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._lock_fd = fd  # held for the worker's life; the system lets go if it is killed
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()  # a dead worker's socket (its lock was free)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with _address(self.path) as address:
            listener.bind(address)
        os.chmod(self.path, config.PRIVATE_FILE_MODE)
        listener.listen(16)
        self._listener = listener
        # Answered from now on: status and stop at once, reports once the renderer is warm.
        threading.Thread(target=self._accept, name="worker-accept", daemon=True).start()
        return True

    def warm_up(self) -> None:
        """Start the renderer (kernel first) and import what a request needs."""
        from . import render
        from .render import Renderer

        self.renderer = Renderer()
        self.kernels = 1
        render.use_renderer(self.renderer)
        from . import cli, report, store  # noqa: F401 -- imported while the kernel starts

        self.renderer.kernel.wait_ready()
        self.renderer.printer.wait_warm()  # WeasyPrint imported and its fonts loaded
        # Imports live as long as the worker: out of the collector's reach, a full
        # collection (about one report in four) does not walk them again.
        gc.freeze()
        self.ready = True
        self.last = time.monotonic()  # idle from now: a slow start is not idle time

    def run(self) -> None:
        """Answer requests until stopped or idle; then remove the socket and the kernel."""
        try:
            while True:
                remaining = self.idle_s - (time.monotonic() - self.last)
                try:
                    job = self.jobs.get(timeout=max(remaining, 0.0))
                except queue.Empty:
                    break  # idle for idle_s
                if job is None:
                    break
                job.answer = self._render(job.report)
                job.done.set()
        finally:
            self.close()

    def close(self) -> None:
        from . import render

        if self._listener is not None:
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            self._listener.close()
            self._listener = None
        # Requests still queued are dropped: their commands render them themselves.
        while not self.jobs.empty():
            job = self.jobs.get_nowait()
            if job is not None:
                job.done.set()
        render.use_renderer(None)
        if self.renderer is not None:
            self.renderer.close()
            self.renderer = None
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- requests -----------------------------------------------------------------------------

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            if not _same_account(conn):
                return
            conn.settimeout(30)
            try:
                with conn.makefile("rb") as fh:
                    request = json.loads(fh.readline() or b"null")
                answer = self._answer(request)
                if answer is not None:
                    conn.sendall(json.dumps(answer).encode() + b"\n")
            except (OSError, ValueError):
                return  # the caller went away, or sent nonsense: nothing to answer

    def _answer(self, request: Any) -> dict[str, Any] | None:
        op = request.get("op") if isinstance(request, dict) else None
        if op == "status":
            return self.status()
        if op == "stop":
            self.jobs.put(None)
            return self.status()
        if op == "report" and isinstance(request.get("report"), dict):
            job = _Job(request["report"], threading.Event())
            self.jobs.put(job)
            job.done.wait()
            return job.answer  # None (dropped unanswered) when the worker stopped first
        return {"error": f"unknown request {op!r}"}

    def status(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "data": str(self.data),
            "socket": str(self.path),
            "started": self.started,
            "idle_s": 0.0 if self.busy else time.monotonic() - self.last,
            "idle_timeout_s": self.idle_s,
            "served": self.served,
            "kernels": self.kernels,
            "busy": self.busy,
            "ready": self.ready,
        }

    def _render(self, report: dict[str, Any]) -> dict[str, Any]:
        """Run ``mutuality report ... --no-worker`` here, on the warm renderer."""
        from .cli import main

        self.busy = True
        try:
            if self.renderer.revive():  # died since the last report
                self.kernels += 1
            out, err = io.StringIO(), io.StringIO()
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = main(report_argv(self.data, report))
            if self.renderer.revive():  # died in this report (it said so)
                self.kernels += 1
            return {"code": code, "out": out.getvalue(), "err": err.getvalue()}
        finally:
            self.served += 1
            self.busy = False
            self.last = time.monotonic()


def report_argv(data: Path, report: dict[str, Any]) -> list[str]:
    """The ``mutuality report`` command line for a request (only the report's own options).

    Built here from named values, never taken from the caller: the worker's data folder,
    store and identity are its own, whatever a request says.
    """
    argv = ["report"]
    if report.get("couple") is not None:
        argv.append(str(report["couple"]))
    if report.get("session") is not None:
        argv += ["--session", str(report["session"])]
    if report.get("as_of"):
        argv += ["--as-of", str(report["as_of"])]
    if report.get("include_reflections") is True:
        argv.append("--include-reflections")
    if report.get("paper"):
        argv += ["--paper", str(report["paper"])]
    return [*argv, "--no-worker", "--data", str(data)]


def _same_account(conn: socket.socket) -> bool:
    """Whether the process at the other end runs as this account (Linux: ``SO_PEERCRED``)."""
    peercred = getattr(socket, "SO_PEERCRED", None)
    if peercred is None:
        return True  # the socket's 0600 in a 0700 folder is the guard there
    _pid, uid, _gid = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, peercred, 12))
    return uid == os.getuid()


def _detach() -> None:
    """Fork the worker off; this process exits once it listens (or could not)."""
    read, write = os.pipe()
    if os.fork() > 0:
        os.close(write)
        with os.fdopen(read, "rb") as ready:
            os._exit(0 if ready.read(1) else 1)
    os.close(read)
    os.environ["_MUTUALITY_WORKER_READY_FD"] = str(write)


def _ready() -> None:
    fd = os.environ.pop("_MUTUALITY_WORKER_READY_FD", None)
    if fd is not None:
        with contextlib.suppress(OSError):
            os.write(int(fd), b"1")
        os.close(int(fd))


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str] | None = None) -> int:
    """``python -m mutuality_helpers.worker DATA [--idle SECONDS]`` (started by ``_spawn``)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mutuality_helpers.worker")
    parser.add_argument("data", type=Path)
    parser.add_argument("--idle", type=float, default=None)
    args = parser.parse_args(argv)
    _detach()
    os.umask(0o077)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    worker = Worker(args.data.resolve(), args.idle if args.idle is not None else idle_timeout())
    try:
        if not worker.claim():
            return 0  # another worker serves this folder and identity
        _ready()  # listening: a request waits in the queue while the kernel starts
        worker.warm_up()
        worker.run()
    finally:
        _ready()
        worker.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
