"""Shared fixtures: a fresh store per test, and a demo-seeded store copied from one template."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from mutuality_helpers.demo import load_demo
from mutuality_helpers.store import Store

#: The date every test takes as today (the demo couples' story runs up to the week before).
TODAY = "2026-12-02"


@pytest.fixture(autouse=True)
def _no_env_data_dir(monkeypatch):
    # Tests never touch the checkout's data/ by accident.
    monkeypatch.delenv("MUTUALITY_DATA", raising=False)


@pytest.fixture(autouse=True)
def _no_env_identity(monkeypatch):
    # Nobody is logged in to a hub or acting as someone unless a test says so. Set first so
    # that whatever a test (or `mutuality --as`) sets is undone after it.
    for name in ("JUPYTERHUB_USER", "MUTUALITY_AS"):
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)


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
