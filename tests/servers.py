"""Server plumbing shared by the tests that start servers on 127.0.0.1 (and always stop them).

Voila or JupyterLab, the form server (``mutuality serve``) and nginx in front of it."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest


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


# -- the form server and its TLS proxy ----------------------------------------------------

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"


def need_system_tool(path: str, package: str, require_env: str) -> None:
    """Skip (with the reason) when a Debian tool is missing, unless ``require_env=1`` (CI)."""
    if Path(path).exists():
        return
    problem = f"{path} not found (Debian package '{package}', installed by `make system-deps`)"
    if os.environ.get(require_env) == "1":
        pytest.fail(f"{require_env}=1 but {problem}")
    pytest.skip(problem)


class FormServer:
    """``mutuality serve`` started by a test on a free loopback port, and its log."""

    def __init__(self, data: Path, log: Path, **options):
        from mutuality_helpers.serve import ServeOptions, start

        self.port = options.pop("port", None) or free_port()
        self.options = ServeOptions(port=self.port, **options)
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 -- closed in close()
        self.proc = start(data, self.options, self._log_file, subprocess.STDOUT)
        self.data = data

    def wait(self, warm: int = 0, timeout: float = 120) -> dict:
        """Until the server answers /health with at least ``warm`` preheated kernels."""
        deadline = time.monotonic() + timeout
        while True:
            body = wait_for_http(self.base + "/health", self.proc, self.log, timeout=timeout)
            health = json.loads(body)
            if health["warm"] >= warm or time.monotonic() > deadline:
                return health
            time.sleep(0.2)

    def health(self) -> dict:
        with urllib.request.urlopen(self.base + "/health", timeout=30) as response:
            return json.loads(response.read())

    def link(self, couple: str, partner: str, base: str | None = None, **kwargs) -> str:
        from mutuality_helpers.links import partner_link

        return partner_link(base or self.base, couple, partner, data=self.data, **kwargs)

    def close(self) -> None:
        stop(self.proc)
        self._log_file.close()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (valid two days) and its key, made with openssl."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],  # fmt: skip
        check=True,
        capture_output=True,
    )
    return cert, key


class TlsProxy:
    """Debian's nginx on loopback with the project's site in front of a form server."""

    def __init__(self, folder: Path, upstream_port: int):
        from mutuality_helpers.proxy import nginx_site

        folder.mkdir(parents=True, exist_ok=True)
        self.cert, key = self_signed_certificate(folder)
        self.https_port, self.http_port = free_port(), free_port()
        self.base = f"https://127.0.0.1:{self.https_port}"
        site = nginx_site(
            "127.0.0.1",
            self.cert,
            key,
            upstream_port,
            https_listen=f"127.0.0.1:{self.https_port}",
            http_listen=f"127.0.0.1:{self.http_port}",
        )
        (folder / "site.conf").write_text(site, encoding="utf-8")
        # The test's own main configuration: one process in the foreground, everything
        # in the test's folder; the site is the project's, included as Debian does.
        temp_paths = ""
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
            (folder / name).mkdir(exist_ok=True)
            temp_paths += f"    {name}_temp_path {folder / name};\n"
        main_config = (
            "daemon off;\nmaster_process off;\nworker_processes 1;\n"
            f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log warn;\n"
            "events { worker_connections 256; }\n"
            f"http {{\n{temp_paths}    include {folder}/site.conf;\n}}\n"
        )
        (folder / "nginx.conf").write_text(main_config, encoding="utf-8")
        self.log = folder / "error.log"
        self._out = open(folder / "nginx.out", "wb")  # noqa: SIM115 -- closed in close()
        self.proc = subprocess.Popen(
            [NGINX, "-p", str(folder), "-e", str(self.log), "-c", str(folder / "nginx.conf")],
            stdout=self._out,
            stderr=subprocess.STDOUT,
        )
        self.ssl = ssl.create_default_context(cafile=str(self.cert))
        opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=self.ssl))
        wait_for_http(self.base + "/health", self.proc, folder / "nginx.out", opener=opener)

    def open(self, url: str, headers: dict | None = None, timeout: float = 60):
        request = urllib.request.Request(url, headers=headers or {})
        return urllib.request.urlopen(request, timeout=timeout, context=self.ssl)

    def close(self) -> None:
        stop(self.proc)
        self._out.close()


# -- PostgreSQL ---------------------------------------------------------------------------

#: Debian's postgresql package puts its server programs here (one folder per major version).
PG_ROOT = Path("/usr/lib/postgresql")
#: The system user Debian's package creates; the server never runs as root.
PG_SYSTEM_USER = "postgres"


def pg_bin() -> Path | None:
    """The newest installed PostgreSQL's bin folder (with initdb and pg_ctl), or None."""
    found = sorted(
        (p for p in PG_ROOT.glob("*/bin") if (p / "initdb").exists() and p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
    )
    return found[-1] if found else None


class PostgresServer:
    """A throwaway PostgreSQL cluster: initdb in a private temporary folder, a free loopback
    port, password login, started with pg_ctl as a non-root user; :meth:`close` stops it and
    removes the folder.

    As root (CI, ``make``), the cluster belongs to Debian's ``postgres`` system user and the
    server programs run as it (``runuser``); otherwise as the user running the tests.
    """

    USER = "mutuality"

    def __init__(self, bin_dir: Path) -> None:
        import secrets
        import tempfile

        self.bin = bin_dir
        self.password = secrets.token_hex(16)
        self.port = free_port()
        # Not under pytest's tmp_path: the server's user must be able to enter the folder.
        self.root = Path(tempfile.mkdtemp(prefix="mutuality-pg-"))
        self.data = self.root / "cluster"
        self._as: list[str] = []
        if os.geteuid() == 0:
            import pwd

            account = pwd.getpwnam(PG_SYSTEM_USER)
            os.chown(self.root, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", PG_SYSTEM_USER, "--"]
        os.chmod(self.root, 0o700)
        pwfile = self.root / "pwfile"
        pwfile.write_text(self.password + "\n")
        if self._as:
            os.chown(pwfile, account.pw_uid, account.pw_gid)
        self.log = self.root / "server.log"
        try:
            self._run(
                "initdb", "-D", str(self.data), "-U", self.USER, f"--pwfile={pwfile}",
                "--auth=scram-sha-256", "--encoding=UTF8", "--locale=C.UTF-8",
                "--no-sync",
            )  # fmt: skip
            pwfile.unlink()
            options = (
                f"-c listen_addresses=127.0.0.1 -c port={self.port} "
                f"-c unix_socket_directories='{self.root}' -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
            )
            self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w",
                "-t", "60", "start",
            )  # fmt: skip
        except BaseException:
            self.close()
            raise

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run(
            [*self._as, str(self.bin / program), *args],
            capture_output=True,
            text=True,
            cwd=self.root,
        )
        if done.returncode != 0:
            tail = self.log.read_text(errors="replace")[-1500:] if self.log.exists() else ""
            raise RuntimeError(f"{program} failed: {done.stderr.strip()[-1500:]} {tail}")

    def url(self, database: str = "postgres") -> str:
        """The store URL (``postgresql+psycopg://``) of ``database`` on this server."""
        return f"postgresql+psycopg://{self.USER}:{self.password}@127.0.0.1:{self.port}/{database}"

    def connect(self, database: str = "postgres"):
        """A psycopg connection (autocommit) to ``database``, as the cluster's superuser."""
        import psycopg

        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.USER,
            password=self.password,
            dbname=database,
            autocommit=True,
        )

    def admin(self, *statements: str) -> None:
        """Run statements on the ``postgres`` database outside a transaction (CREATE DATABASE)."""
        with self.connect() as con:
            for sql in statements:
                con.execute(sql)

    def close(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(
                [*self._as, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast",
                 "-w", "stop"],
                capture_output=True,
            )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)
