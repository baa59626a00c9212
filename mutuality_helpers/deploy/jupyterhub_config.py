# JupyterHub for a practice: each therapist logs in to their own JupyterLab on the shared store.
#
#   jupyterhub -f "$DEPLOY/jupyterhub_config.py"   (DEPLOY: mutuality_helpers.config.DEPLOY_DIR)
#
# Read by JupyterHub itself (`c` is its config object); settings come from the environment:
#
#   MUTUALITY_DATA      the practice's data folder (users.yaml, reports, the SQLite store); required
#   MUTUALITY_STORE     a database URL for the shared store (else the data folder's SQLite file)
#   MUTUALITY_HUB_URL   where the hub listens (default http://127.0.0.1:8000: put TLS in front)
#   MUTUALITY_HUB_DIR   the hub's own state: its database, cookie secret (default <data>/hub)
#   MUTUALITY_NOTEBOOKS the folder each JupyterLab opens (default: the package's notebooks)
#
# Who may log in is users.yaml's list (therapists and supervisors); supervisors are the hub's
# admins. Each user's server and kernels get JUPYTERHUB_USER from the hub, which is who the
# workbook takes them to be (mutuality_helpers.roles): a therapist sees only their couples.
#
# Logins: the system's accounts (PAM, JupyterHub's default) and one system account per user,
# spawned with the hub's LocalProcessSpawner (run the hub as root, or use sudospawner). For
# the project's own test only, MUTUALITY_HUB_TEST_PASSWORD switches to JupyterHub's
# DummyAuthenticator with that shared password and SimpleLocalProcessSpawner (every server
# as the hub's own account): never set it for a practice.
# ruff: noqa: F821  (c is defined by JupyterHub when it reads this file)
from __future__ import annotations

import os
import sys
from pathlib import Path

from mutuality_helpers import config as mutuality_config
from mutuality_helpers import roles

data_env = os.environ.get(mutuality_config.DATA_ENV)
if not data_env:
    sys.exit("jupyterhub_config.py: set MUTUALITY_DATA to the practice's data folder")
data = mutuality_config.data_dir(data_env)
users = roles.read_users(data)  # SettingsError for a broken or readable-by-others file
if not users:
    sys.exit(f"jupyterhub_config.py: list the practice's users in {roles.users_path(data)}")

c = get_config()  # type: ignore[name-defined]  # noqa: F821
hub_dir = Path(os.environ.get("MUTUALITY_HUB_DIR") or data / "hub")
mutuality_config.private_dir(hub_dir)

c.JupyterHub.bind_url = os.environ.get("MUTUALITY_HUB_URL", "http://127.0.0.1:8000")
c.JupyterHub.db_url = f"sqlite:///{hub_dir / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(hub_dir / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(hub_dir / "jupyterhub-proxy.pid")

c.Authenticator.allowed_users = set(users)
c.Authenticator.admin_users = {name for name, role in users.items() if role == roles.SUPERVISOR}

# Each user's JupyterLab works on the shared store, as its user (JUPYTERHUB_USER, set by the hub).
passed = {mutuality_config.DATA_ENV: str(data)}
for name in ("MUTUALITY_STORE", "MUTUALITY_URGENT_HELP", "MUTUALITY_TODAY"):
    if os.environ.get(name):
        passed[name] = os.environ[name]
c.Spawner.environment = passed
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = os.environ.get("MUTUALITY_NOTEBOOKS") or str(
    mutuality_config.NOTEBOOKS_DIR
)
# Nobody may choose to be someone else inside their own server.
c.Spawner.env_keep = ["PATH", "PYTHONPATH", "VIRTUAL_ENV", "LANG", "LC_ALL"]
c.Spawner.cmd = [sys.executable, "-m", "jupyterhub.singleuser"]

test_password = os.environ.get("MUTUALITY_HUB_TEST_PASSWORD")
if test_password:
    c.JupyterHub.authenticator_class = "dummy"
    c.DummyAuthenticator.password = test_password
    c.JupyterHub.spawner_class = "simple"
    if os.getuid() == 0:  # a CI container runs as root; Jupyter refuses that unless told
        c.Spawner.args = ["--allow-root"]
