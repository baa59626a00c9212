"""The practice's JupyterHub (deploy/jupyterhub_config.py), started for real on 127.0.0.1.

A therapist logs in over HTTP and starts their server; the server's own environment (read
from the process) carries their hub login, and the workbook run with it shows their couples.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from conftest import live_children

from mutuality_helpers import config
from mutuality_helpers.store import Store

ROOT = Path(__file__).resolve().parents[1]
PROXY_BIN = ROOT / "node_modules" / ".bin"
HUB_CONFIG = config.DEPLOY_DIR / "jupyterhub_config.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_shipped_hub_config_reads_the_users_file(demo_data_dir, monkeypatch):
    (demo_data_dir / "users.yaml").write_text("anna: supervisor\nben: therapist\n")
    os.chmod(demo_data_dir / "users.yaml", 0o600)
    monkeypatch.setenv("MUTUALITY_DATA", str(demo_data_dir))
    monkeypatch.setenv("MUTUALITY_STORE", "postgresql://hub@127.0.0.1/practice")
    from traitlets.config import Config

    c = Config()
    exec(compile(HUB_CONFIG.read_text(), str(HUB_CONFIG), "exec"), {"get_config": lambda: c})
    assert c.Authenticator.allowed_users == {"anna", "ben"}
    assert c.Authenticator.admin_users == {"anna"}
    assert c.Spawner.environment["MUTUALITY_STORE"] == "postgresql://hub@127.0.0.1/practice"
    assert c.Spawner.environment["MUTUALITY_DATA"] == str(demo_data_dir)
    assert "MUTUALITY_AS" not in c.Spawner.env_keep
    assert c.JupyterHub.bind_url == "http://127.0.0.1:8000"
    assert "authenticator_class" not in c.JupyterHub  # PAM: the practice's own accounts


def test_a_therapist_logs_in_and_their_server_shows_only_their_couples(demo_data_dir, tmp_path):
    if not (PROXY_BIN / "configurable-http-proxy").exists() or shutil.which("node") is None:
        pytest.skip("configurable-http-proxy not installed (make test installs it with npm)")
    (demo_data_dir / "users.yaml").write_text("anna: supervisor\nben: therapist\n")
    os.chmod(demo_data_dir / "users.yaml", 0o600)
    with Store(demo_data_dir, user="anna") as store:
        store.assign("D001", "ben")
        store.assign("D002", "ben")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "MUTUALITY_DATA": str(demo_data_dir),
        "MUTUALITY_HUB_URL": url,
        "MUTUALITY_HUB_DIR": str(tmp_path / "hub"),
        "MUTUALITY_HUB_TEST_PASSWORD": "test-password",
        "PATH": f"{PROXY_BIN}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}"
        + os.environ["PATH"],
    }
    log = open(tmp_path / "hub.log", "w")
    hub = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", str(HUB_CONFIG),
         "--ConfigurableHTTPProxy.api_url", f"http://127.0.0.1:{free_port()}",
         f"--JupyterHub.hub_port={free_port()}"],
        cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        http = requests.Session()
        deadline = time.monotonic() + 90
        while True:
            try:
                page = http.get(f"{url}/hub/login", timeout=5)
                if page.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert hub.poll() is None and time.monotonic() < deadline, (
                tmp_path / "hub.log"
            ).read_text()
            time.sleep(0.5)
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text)
        form = {"username": "ben", "password": "test-password"}
        if xsrf:
            form["_xsrf"] = xsrf.group(1)
        wrong = http.post(f"{url}/hub/login", data={**form, "password": "x"}, timeout=10)
        assert "Invalid username or password" in wrong.text
        http.post(f"{url}/hub/login", data=form, timeout=60)
        http.get(f"{url}/hub/spawn", timeout=60)
        while True:
            status = http.get(f"{url}/user/ben/api", timeout=10)  # up: it answers without a login
            if status.status_code == 200:
                break
            assert time.monotonic() < deadline + 60, (tmp_path / "hub.log").read_text()
            time.sleep(1)
        servers = live_children(hub.pid, "jupyterhub.singleuser")
        assert len(servers) == 1
        spawned = servers[0].environ()
        assert spawned["JUPYTERHUB_USER"] == "ben"
        assert spawned["MUTUALITY_DATA"] == str(demo_data_dir)
        shown = subprocess.run(
            [str(Path(sys.executable).parent / "mutuality"), "couples", "--json"],
            env=spawned, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert [r["couple_id"] for r in json.loads(shown.stdout)] == ["D001", "D002"]
    finally:
        hub.terminate()
        try:
            hub.wait(30)
        except subprocess.TimeoutExpired:
            hub.kill()
        for leftover in ("configurable-http-proxy", "singleuser"):
            for child in live_children(os.getpid(), leftover):
                child.kill()
        log.close()
