"""Where things live. Every path the package uses comes from here.

All client data lives inside one *data folder*: ``--data DIR`` on the command
line, else the ``MUTUALITY_DATA`` environment variable, else the checkout's
``data/``. Inside it:

- ``workbook.sqlite``: the store
- ``reports/<couple_id>/session-<n>.pdf``
- ``worksheets/``: personalised worksheet notebooks
- ``backups/``
- ``demo/``: the committed, synthetic demo couples (CSV)
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
NOTEBOOKS_DIR = PROJECT_DIR / "notebooks"
DEFINITIONS_DIR = PACKAGE_DIR / "definitions"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
#: A Jupyter data folder (on the form server's JUPYTER_PATH): the Voila page template.
VOILA_SHARE_DIR = PACKAGE_DIR / "share"
#: What a practice installs around the form server: the nginx site, the systemd unit.
DEPLOY_DIR = PACKAGE_DIR / "deploy"
DEFAULT_DATA_DIR = PROJECT_DIR / "data"
DEMO_DIR = DEFAULT_DATA_DIR / "demo"

STORE_NAME = "workbook.sqlite"
DATA_ENV = "MUTUALITY_DATA"

# Client data is readable by its owner only, whatever the umask.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the data folder: explicit argument, then ``MUTUALITY_DATA``, then ``data/``."""
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return DEFAULT_DATA_DIR


def private_dir(path: str | os.PathLike) -> Path:
    """Create ``path`` (and parents below it) as an owner-only folder and return it."""
    path = Path(path)
    # mkdir(parents=True) gives new parents the umask's mode (0777 under umask 0), so
    # each missing level is created and locked down here, outermost first.
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for level in reversed(missing):
        level.mkdir(mode=PRIVATE_DIR_MODE, exist_ok=True)
        os.chmod(level, PRIVATE_DIR_MODE)
    if not path.is_dir():
        raise FileExistsError(f"{path} exists and is not a folder")
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def private_file(path: str | os.PathLike) -> Path:
    """Make sure ``path`` exists as an owner-only file (created empty if missing).

    A missing parent folder is created owner-only; an existing one is left as it is
    (an export to ``/tmp/x.csv`` must not lock down ``/tmp``).
    """
    path = Path(path)
    if not path.parent.is_dir():
        private_dir(path.parent)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_FILE_MODE)
    os.close(fd)
    os.chmod(path, PRIVATE_FILE_MODE)
    return path


def store_path(data: str | os.PathLike | None = None) -> Path:
    return data_dir(data) / STORE_NAME


def reports_dir(data: str | os.PathLike | None = None) -> Path:
    return data_dir(data) / "reports"


def report_path(couple_id: str, session: int, data: str | os.PathLike | None = None) -> Path:
    return reports_dir(data) / couple_id / f"session-{session}.pdf"


def worksheets_dir(data: str | os.PathLike | None = None) -> Path:
    return data_dir(data) / "worksheets"


def backups_dir(data: str | os.PathLike | None = None) -> Path:
    return data_dir(data) / "backups"
