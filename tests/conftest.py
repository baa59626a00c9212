"""Shared fixtures: a fresh store per test, and a demo-seeded store copied from one template.

The store-facing suites run on both backends: a test that uses the ``backend`` fixture
(``pytestmark = pytest.mark.usefixtures("backend")`` in those modules) runs once on SQLite
and once on a PostgreSQL server this test session starts itself (:class:`servers.
PostgresServer`), each test in a fresh database copied from a migrated template (and
from a demo-seeded one when it uses the demo fixtures). ``@pytest.mark.sqlite_only`` keeps
a test about the SQLite file to that backend. Without PostgreSQL installed the server runs
are skipped, unless ``MUTUALITY_REQUIRE_PG=1`` (CI), which makes that a failure.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from mutuality_helpers.demo import load_demo
from mutuality_helpers.store import Store

#: The date every test takes as today (the demo couples' story runs up to the week before).
TODAY = "2026-12-02"


def listed_font_folders(config: Path) -> list[str]:
    """The font folders a fontconfig file of :mod:`~mutuality_helpers.chartfonts` lists."""
    return re.findall(r"<dir>(.*)</dir>", config.read_text())


def reachable_fonts(config: Path) -> list[str]:
    """Every font file vl-convert finds through such a file (links resolved), sorted."""
    found = []
    for folder in listed_font_folders(config):
        for where, _dirs, names in os.walk(folder):
            fonts = [name for name in names if name.endswith((".ttf", ".ttc"))]
            found += [os.path.realpath(os.path.join(where, name)) for name in fonts]
    return sorted(found)


def live_children(pid: int, running: str = "") -> list:
    """A process's descendants (psutil) still running, whose command line holds ``running``.

    A child that has exited but is not yet reaped (a zombie), or is gone, is left out: its
    command line can no longer be read, and it is no longer running.
    """
    import psutil

    found = []
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if running in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:  # ZombieProcess is one
            continue
    return found


def pdf_text(path: Path) -> str:
    """A PDF's text, read back page by page (pypdf), the pages joined by newlines."""
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)


BACKENDS = ("sqlite", "postgresql")
PG_REQUIRE_ENV = "MUTUALITY_REQUIRE_PG"
#: The tests' database on the session's server, emptied before each test that uses it.
PG_DATABASE = "mutuality_tests"
PG_DEMO = "mutuality_demo"


#: A test using none of these opens no store: once (on SQLite) is enough.
STORE_FIXTURES = {"store", "demo_store", "data_dir", "demo_data_dir", "tmp_path"}


def pytest_generate_tests(metafunc):
    if "backend" in metafunc.fixturenames:
        only = metafunc.definition.get_closest_marker("sqlite_only") or not (
            STORE_FIXTURES & set(metafunc.fixturenames)
        )
        metafunc.parametrize("backend", BACKENDS[:1] if only else BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch):
    # Tests never touch the checkout's data/ (or a practice's server) by accident. Set
    # first, so that whatever a test's CLI call puts there is undone after it.
    monkeypatch.delenv("MUTUALITY_DATA", raising=False)
    monkeypatch.setenv("MUTUALITY_STORE", "")
    monkeypatch.delenv("MUTUALITY_STORE")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """A PostgreSQL server for the whole session (stopped at its end).

    It holds the tests' database (:data:`PG_DATABASE`, migrated once) and, in memory,
    the demo couples' rows (``COPY`` data) that :func:`backend` loads for the demo tests.
    """
    from servers import PostgresServer, pg_bin

    bin_dir = pg_bin()
    if bin_dir is None:
        problem = (
            "PostgreSQL's initdb not found under /usr/lib/postgresql (Debian package "
            "'postgresql', installed by `make system-deps`)"
        )
        if os.environ.get(PG_REQUIRE_ENV) == "1":
            pytest.fail(f"{PG_REQUIRE_ENV}=1 but {problem}")
        pytest.skip(problem)
    server = PostgresServer(bin_dir)
    try:
        server.admin(f"CREATE DATABASE {PG_DATABASE}", f"CREATE DATABASE {PG_DEMO}")
        Store(tmp_path_factory.mktemp("pg-tests"), url=server.url(PG_DATABASE)).close()
        with Store(tmp_path_factory.mktemp("pg-demo"), url=server.url(PG_DEMO)) as s:
            load_demo(s)
        with server.connect(PG_DEMO) as con:
            server.demo_rows = {table: _copy_out(con, table) for table in _store_tables(con)}
        server.admin(f"DROP DATABASE {PG_DEMO}")
        yield server
    finally:
        server.close()


def _store_tables(con) -> list[str]:
    rows = con.execute(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        " AND tablename <> 'alembic_version' ORDER BY tablename"
    )
    return [r[0] for r in rows]


def _copy_out(con, table: str) -> bytes:
    out = bytearray()
    with con.cursor().copy(f'COPY "{table}" TO STDOUT') as copy:
        for chunk in copy:
            out += chunk
    return bytes(out)


def _reset_pg_database(server, demo: bool) -> None:
    """Empty the tests' database (or fill it with the demo couples) for the next test.

    Sessions a previous test left behind are ended first (as DROP DATABASE ... FORCE
    would); a table emptied by TRUNCATE takes far less than copying a database.
    """
    with server.connect(PG_DATABASE) as con:
        con.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        tables = _store_tables(con)
        con.execute(
            f"TRUNCATE {', '.join(f'{chr(34)}{t}{chr(34)}' for t in tables)} RESTART IDENTITY"
        )
        if not demo:
            return
        for table, rows in server.demo_rows.items():
            with con.cursor().copy(f'COPY "{table}" FROM STDIN') as copy:
                copy.write(rows)
        serials = con.execute(
            "SELECT table_name, column_name FROM information_schema.columns"
            " WHERE table_schema = 'public' AND column_default LIKE 'nextval(%%'"
        ).fetchall()
        for table, column in serials:
            con.execute(
                f"SELECT setval(pg_get_serial_sequence('\"{table}\"', '{column}'),"
                f' coalesce(max("{column}"), 0) + 1, false) FROM "{table}"'
            )


@pytest.fixture
def backend(request, monkeypatch):
    """``"sqlite"`` or ``"postgresql"``: where this test's store is (``MUTUALITY_STORE``)."""
    if request.param == "sqlite":
        yield "sqlite"
        return
    server = request.getfixturevalue("pg_server")
    uses_demo = bool({"demo_data_dir", "demo_store"} & set(request.fixturenames))
    _reset_pg_database(server, demo=uses_demo)
    monkeypatch.setenv("MUTUALITY_STORE", server.url(PG_DATABASE))
    yield "postgresql"


@pytest.fixture(autouse=True)
def _no_env_identity(monkeypatch):
    # Nobody is logged in to a hub or acting as someone unless a test says so. Set first so
    # that whatever a test (or `mutuality --as`) sets is undone after it.
    for name in ("JUPYTERHUB_USER", "MUTUALITY_AS"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


@pytest.fixture(scope="session", autouse=True)
def _no_report_worker():
    # `mutuality report` renders in-process in tests, from the first fixture on (module-scoped
    # ones too: the installed wheel's environment): no test leaves a warm report worker
    # behind. tests/test_render_worker.py turns it on per test and stops every one it starts.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MUTUALITY_WORKER", "off")
        patch.delenv("MUTUALITY_WORKER_IDLE", raising=False)
        yield


@pytest.fixture(autouse=True)
def _fixed_today(monkeypatch):
    # "Today" is fixed for every test, and for the servers and kernels tests start (they
    # inherit the environment): no test depends on the real date.
    monkeypatch.setenv("MUTUALITY_TODAY", TODAY)
    monkeypatch.delenv("MUTUALITY_URGENT_HELP", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def store(data_dir: Path):
    with Store(data_dir) as s:
        yield s


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("demo-template") / "data"
    with Store(folder) as s:
        load_demo(s)
    return folder


@pytest.fixture
def demo_data_dir(_demo_template: Path, tmp_path: Path) -> Path:
    """A data folder holding the demo couples (a private copy per test)."""
    folder = tmp_path / "demo-data"
    shutil.copytree(_demo_template, folder)
    return folder


@pytest.fixture
def demo_store(demo_data_dir: Path):
    with Store(demo_data_dir) as s:
        yield s


@pytest.fixture
def form_server(data_dir: Path, tmp_path: Path):
    """Start ``mutuality serve`` (a free port, couple C001 in the store); stopped after the test.

    Call it with the server's options; it returns a :class:`servers.FormServer` once up.
    """
    from servers import FormServer

    started: list[FormServer] = []

    def start(**options) -> FormServer:
        with Store(data_dir) as s:
            if "C001" not in set(s.couples()["couple_id"]):
                s.add_couple("C001", "Sam", "Alex")
        server = FormServer(data_dir, tmp_path / f"serve-{len(started)}.log", **options)
        started.append(server)
        pool = options.get("pool", 2)
        server.wait(warm=pool + min(pool, 1))  # the check-in's pool and the inventory's one
        return server

    yield start
    for server in started:
        server.close()


@pytest.fixture
def tls_proxy(tmp_path: Path):
    """Start Debian's nginx with the project's site in front of a form server's port."""
    from servers import NGINX, TlsProxy, need_system_tool

    need_system_tool(NGINX, "nginx", "MUTUALITY_REQUIRE_PROXY")
    started: list[TlsProxy] = []

    def start(upstream_port: int) -> TlsProxy:
        proxy = TlsProxy(tmp_path / f"nginx-{len(started)}", upstream_port)
        started.append(proxy)
        return proxy

    yield start
    for proxy in started:
        proxy.close()
