"""Server plumbing shared by the tests that start Voila or JupyterLab on 127.0.0.1."""

from __future__ import annotations

import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(
    url: str,
    proc: subprocess.Popen,
    log: Path,
    timeout: float = 60,
    opener: urllib.request.OpenerDirector | None = None,
    accept_http_error: bool = False,
) -> bytes:
    """Wait until ``url`` answers (any HTTP status too, if accepted); return the body."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = log.read_text(errors="replace")[-1500:]
            raise RuntimeError(f"server exited early with code {proc.returncode}: {tail}")
        try:
            with (opener or urllib.request.build_opener()).open(url, timeout=60) as response:
                return response.read()
        except urllib.error.HTTPError:
            if accept_http_error:
                return b""  # answering (e.g. a redirect to a login page): it is up
            time.sleep(0.2)
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"server did not answer at {url}")


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
