"""The couples' worksheets as a Voila app, and the partner links that open them.

``mutuality serve`` runs the form server (:mod:`.webapp`: Voila, bounded and
private) over a private folder holding *only* the two worksheet notebooks (never
the therapist's session workbook or caseload), with code and tracebacks hidden.
It binds 127.0.0.1; another address is refused unless a token is given too, so
the data is never on a network without a key. The token comes from a file or
``MUTUALITY_TOKEN``, never the command line (``ps`` shows that to every user).
For partners at home, a TLS reverse proxy (:mod:`.proxy`) stands in front.

A partner's link carries the couple and the partner as query parameters, plus a
signature (:mod:`~mutuality_helpers.links`). Voila hands the query string to the
kernel as ``QUERY_STRING``; the form checks the signature, so a partner who edits
``partner=A`` into ``partner=B`` gets an error message, not the other partner's form.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import config
from .exceptions import ServeError
from .links import link_key, partner_link
from .practice import urgent_help

#: The notebooks a couple may open through the app, and nothing else.
SERVED_NOTEBOOKS = ("weekly_checkin.ipynb", "mutuality_inventory.ipynb")
LOCALHOST = "127.0.0.1"
DEFAULT_PORT = 8866
#: Where the access token may come from besides a file (never the command line).
TOKEN_ENV = "MUTUALITY_TOKEN"
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


# -- the form server -------------------------------------------------------------------
# The running server is webapp.FormServer (Voila, bounded and private); this part
# checks what the therapist asked for and prepares the folder and environment.


#: The range each numeric option may take (the command line offers the same).
LIMITS = {
    "port": (1, 65535),
    "max_forms": (1, 1000),
    "pool": (0, 20),
    "idle_timeout": (2, 86400),
}


@dataclass(frozen=True)
class ServeOptions:
    """How the form server runs; the defaults suit a small practice.

    Attributes
    ----------
    port, address
        Where to listen; the address is 127.0.0.1 unless given together with a token.
    token
        The access token, read by :func:`read_token` (a file or ``MUTUALITY_TOKEN``),
        never taken from the command line, where ``ps`` shows it to every local user.
    public_url
        The address partners use, e.g. ``https://checkin.example.org`` behind the TLS
        proxy: announced links start with it, and its host name is allowed.
    max_forms
        Forms open at once; one more partner is asked to come back in a minute.
        Memory is bounded by ``max_forms`` plus the pool, about 115 MiB a kernel.
    pool
        Preheated check-in kernels kept ready (the inventory keeps one); 0 for none.
    idle_timeout
        Seconds without any activity after which a form's kernel is shut down.
    """

    port: int = DEFAULT_PORT
    address: str | None = None
    token: str | None = None
    public_url: str | None = None
    max_forms: int = 10
    pool: int = 2
    idle_timeout: int = 900

    def __post_init__(self) -> None:
        for name, (lo, hi) in LIMITS.items():
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
                raise ServeError(f"{name} must be a whole number from {lo} to {hi}, not {value!r}")
        if self.public_url is not None:
            object.__setattr__(self, "public_url", check_public_url(self.public_url))


def read_token(token_file: str | os.PathLike | None = None, environ: Any = None) -> str | None:
    """The access token: from ``token_file`` if given, else ``$MUTUALITY_TOKEN``, else none.

    Raises
    ------
    ServeError
        For a token file that is missing, empty, or readable by other users.
    """
    if token_file is None:
        return (os.environ if environ is None else environ).get(TOKEN_ENV) or None
    path = Path(token_file)
    try:
        mode = path.stat().st_mode
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ServeError(f"token file {path} cannot be read ({exc.strerror})") from None
    if mode & 0o077:
        raise ServeError(f"token file {path} is readable by other users: chmod 600 {path}")
    if not token:
        raise ServeError(f"token file {path} is empty")
    return token


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
            f"refusing to serve client data on {address} without a token: put one in a file "
            f"(--token-file FILE) or in {TOKEN_ENV} (or leave out --address to stay on "
            "127.0.0.1, e.g. behind the TLS proxy)"
        )
    if len(token) < 16:
        raise ServeError("the token must be at least 16 characters when serving beyond 127.0.0.1")
    return address


def check_public_url(url: str) -> str:
    """``url`` as partners' links start: ``http(s)://host[:port]``, no path.

    Raises
    ------
    ServeError
        For anything else.
    """
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ServeError(f"--public-url {url!r} must look like https://checkin.example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ServeError(f"--public-url {url!r} must be the server's address only, no path")
    return f"{parts.scheme}://{parts.netloc}"


def allowed_hosts(bind: str, public_url: str | None = None) -> set[str]:
    """The ``Host`` names the server answers to: loopback, the bound address, the public URL's.

    A DNS-rebinding page reaches the server under its *own* host name, which is not
    on this list, so its requests are refused before they reach a kernel.
    """
    hosts = set(_LOOPBACK_NAMES)
    if bind not in _LOOPBACK_NAMES and not ipaddress.ip_address(bind).is_unspecified:
        hosts.add(bind)
    public_host = urlsplit(public_url).hostname if public_url else None
    if public_host:
        hosts.add(public_host)
    return {h.lower() for h in hosts}


def kernel_server_ip(bind: str) -> str:
    """Where a preheated kernel reaches the server to wait for its request (VOILA_APP_IP)."""
    if bind in _LOOPBACK_NAMES or ipaddress.ip_address(bind).is_unspecified:
        return LOCALHOST
    return f"[{bind}]" if ":" in bind else bind


def prepare_app_dir(root: Path | None = None) -> Path:
    """Copy the worksheet notebooks (only those) into a private folder Voila serves."""
    root = Path(tempfile.mkdtemp(prefix="mutuality-app-")) if root is None else root
    config.private_dir(root)
    for name in SERVED_NOTEBOOKS:
        target = root / name
        shutil.copyfile(config.NOTEBOOKS_DIR / name, target)
        os.chmod(target, config.PRIVATE_FILE_MODE)
    return root


def voila_environment(data: Any = None, bind: str = LOCALHOST) -> dict[str, str]:
    """The server's (and so every kernel's) environment: the data folder is pinned."""
    env = dict(os.environ)
    env[config.DATA_ENV] = str(config.data_dir(data))
    # Keep the token out of the environment kernels inherit.
    env.pop("JUPYTER_TOKEN", None)
    env.pop(TOKEN_ENV, None)
    # Voila finds the project's page template (and its vendored assets) here.
    env["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(config.VOILA_SHARE_DIR), env.get("JUPYTER_PATH")) if p
    )
    env["VOILA_APP_IP"] = kernel_server_ip(bind)
    return env


def base_url(bind: str, options: ServeOptions) -> str:
    """The start of every announced link: the public URL, else the bound address."""
    if options.public_url:
        return options.public_url
    host = f"[{bind}]" if ":" in bind else bind
    return f"http://{host}:{options.port}"


def serve_command(data: Any, options: ServeOptions) -> list[str]:
    """``mutuality serve`` with these options, for a background process (no token in it)."""
    command = [
        sys.executable,
        "-m",
        "mutuality_helpers.cli",
        "serve",
        f"--data={config.data_dir(data)}",
        f"--port={options.port}",
        f"--max-forms={options.max_forms}",
        f"--pool={options.pool}",
        f"--idle-timeout={options.idle_timeout}",
    ]
    if options.address:
        command.append(f"--address={options.address}")
    if options.public_url:
        command.append(f"--public-url={options.public_url}")
    return command


def start(
    data: Any = None,
    options: ServeOptions | None = None,
    stdout: Any = None,
    stderr: Any = None,
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    """Start ``mutuality serve`` in the background; the token travels in its environment."""
    options = options or ServeOptions()
    check_bind(options.address, options.token)
    child_env = dict(os.environ if env is None else env)
    child_env.pop(TOKEN_ENV, None)
    if options.token:
        child_env[TOKEN_ENV] = options.token
    return subprocess.Popen(
        serve_command(data, options), env=child_env, stdout=stdout, stderr=stderr
    )


def run_app(app_dir: Path, data: Any, options: ServeOptions) -> int:
    """Run the form server over ``app_dir`` in this process until SIGTERM or Ctrl-C."""
    from . import webapp  # Voila and Tornado: only the server process needs them

    bind = check_bind(options.address, options.token)
    # Every form shows the practice's urgent-help line: a broken setting stops the server
    # here, with one line, rather than leaving partners with the default unnoticed.
    urgent_help(data)
    link_key(data)  # created by the server, before any kernel needs it
    # Voila hands kernels this process's environment: pin it before anything starts.
    environment = voila_environment(data, bind)
    os.environ.clear()
    os.environ.update(environment)
    hosts = allowed_hosts(bind, options.public_url)
    return webapp.run(app_dir, config.data_dir(data), bind, options, hosts)


def serve(
    data: Any = None,
    options: ServeOptions | None = None,
    announce: Any = print,
    links_for: Sequence[str] = (),
    link_days: int | None = None,
) -> int:
    """Run the form server in the foreground until SIGTERM or Ctrl-C; returns its exit code.

    ``links_for``: couples whose partners' links are announced first, working for
    ``link_days`` days (default :data:`~mutuality_helpers.links.DEFAULT_EXPIRY_DAYS`).
    """
    options = options or ServeOptions()
    bind = check_bind(options.address, options.token)
    base = base_url(bind, options)
    announce(f"serving the worksheets on {base}/ (Ctrl-C to stop)")
    for couple_id in links_for:
        for partner in ("A", "B"):
            for form, label in (
                ("weekly_checkin", "check-in"),
                ("mutuality_inventory", "inventory"),
            ):
                link = partner_link(
                    base, couple_id, partner, form, token=options.token, data=data,
                    expires=link_days,
                )  # fmt: skip
                announce(f"  {couple_id} partner {partner} {label}: {link}")
    # Until Voila installs its own handler, SIGTERM still cleans up (the finally below).
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    folder = prepare_app_dir()
    try:
        return run_app(folder, data, options)
    finally:
        signal.signal(signal.SIGTERM, previous)
        shutil.rmtree(folder, ignore_errors=True)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)
