"""The couples' worksheets as a Voila app, and the partner links that open them.

``mutuality serve`` runs Voila over a private folder holding *only* the two
worksheet notebooks (never the therapist's session workbook or caseload), with
code and tracebacks hidden. It binds 127.0.0.1; another address is refused
unless a token is given too, so the data is never on a network without a key.

A partner's link carries the couple and the partner as query parameters, plus a
signature (:mod:`~mutuality_helpers.links`). Voila hands the query string to the
kernel as ``QUERY_STRING``; the form checks the signature, so a partner who edits
``partner=A`` into ``partner=B`` gets an error message, not the other partner's form.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import config

# Links and their errors live in links.py and exceptions.py; the names stay importable from
# here too (the form server is being rewritten on another branch).
from .exceptions import LinkError as LinkError
from .exceptions import ServeError
from .links import link_key, partner_link
from .links import link_query as link_query
from .links import link_signature as link_signature
from .links import parse_link_query as parse_link_query
from .practice import urgent_help

#: The notebooks a couple may open through the app, and nothing else.
SERVED_NOTEBOOKS = ("weekly_checkin.ipynb", "mutuality_inventory.ipynb")
LOCALHOST = "127.0.0.1"
DEFAULT_PORT = 8866
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


# -- the Voila app ---------------------------------------------------------------------


def check_bind(address: str | None, token: str | None) -> str:
    """The address to bind: 127.0.0.1 unless another is given *together with* a token.

    Raises
    ------
    ServeError
        For a non-loopback address without a token, or an address that is not an IP.
    """
    if not address:
        return LOCALHOST
    address = address.strip()
    if address in _LOOPBACK_NAMES:
        return address
    try:
        ipaddress.ip_address(address)
    except ValueError:
        raise ServeError(f"--address {address!r} is not an IP address") from None
    if not token:
        raise ServeError(
            f"refusing to serve client data on {address} without a token: add --token SECRET "
            "(or leave out --address to stay on 127.0.0.1)"
        )
    if len(token) < 16:
        raise ServeError("--token must be at least 16 characters when serving beyond 127.0.0.1")
    return address


def prepare_app_dir(root: Path | None = None) -> Path:
    """Copy the worksheet notebooks (only those) into a private folder Voila serves."""
    root = Path(tempfile.mkdtemp(prefix="mutuality-app-")) if root is None else root
    config.private_dir(root)
    for name in SERVED_NOTEBOOKS:
        target = root / name
        shutil.copyfile(config.NOTEBOOKS_DIR / name, target)
        os.chmod(target, config.PRIVATE_FILE_MODE)
    return root


def voila_command(app_dir: Path, port: int, address: str, token: str | None = None) -> list[str]:
    """The Voila command line: code and tracebacks hidden, no browser, one address."""
    command = [
        sys.executable,
        "-m",
        "voila",
        str(app_dir),
        "--no-browser",
        "--strip_sources=True",
        "--show_tracebacks=False",
        f"--port={int(port)}",
        "--Voila.port_retries=0",
        f"--Voila.ip={address}",
        # Kernels start per request, so each one sees its own link's QUERY_STRING.
        "--preheat_kernel=False",
    ]
    # Without a token Voila asks for none: acceptable on loopback only (check_bind).
    command.append(f"--token={token or ''}")
    return command


def voila_environment(data: Any = None) -> dict[str, str]:
    """The server's (and so every kernel's) environment: the data folder is pinned."""
    env = dict(os.environ)
    env[config.DATA_ENV] = str(config.data_dir(data))
    # Keep the token out of the environment kernels inherit.
    env.pop("JUPYTER_TOKEN", None)
    return env


def start(
    data: Any = None,
    port: int = DEFAULT_PORT,
    address: str | None = None,
    token: str | None = None,
    app_dir: Path | None = None,
    stdout: Any = None,
    stderr: Any = None,
) -> tuple[subprocess.Popen, Path]:
    """Start Voila in the background; returns the process and the served folder."""
    bind = check_bind(address, token)
    # Every form shows the practice's urgent-help line: a broken setting stops the server
    # here, with one line, rather than leaving partners with the default unnoticed.
    urgent_help(data)
    folder = prepare_app_dir(app_dir)
    link_key(data)  # created by the server, before any kernel needs it
    proc = subprocess.Popen(
        voila_command(folder, port, bind, token),
        env=voila_environment(data),
        cwd=folder,
        stdout=stdout,
        stderr=stderr,
    )
    return proc, folder


def serve(
    data: Any = None,
    port: int = DEFAULT_PORT,
    address: str | None = None,
    token: str | None = None,
    announce: Any = print,
    links_for: Sequence[str] = (),
) -> int:
    """Run the app in the foreground until interrupted; returns Voila's exit code."""
    bind = check_bind(address, token)
    host = f"[{bind}]" if ":" in bind else bind
    base = f"http://{host}:{port}"
    announce(f"serving the worksheets on {base}/ (Ctrl-C to stop)")
    for couple_id in links_for:
        for partner in ("A", "B"):
            for form, label in (
                ("weekly_checkin", "check-in"),
                ("mutuality_inventory", "inventory"),
            ):
                link = partner_link(base, couple_id, partner, form, token=token, data=data)
                announce(f"  {couple_id} partner {partner} {label}: {link}")
    proc, folder = start(data, port, bind, token)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        proc.terminate()
        try:
            return proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()
    finally:
        shutil.rmtree(folder, ignore_errors=True)
