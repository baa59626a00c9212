"""Where things live. Every path the package uses comes from here.

All client data lives inside one *data folder*: ``--data DIR`` on the command
line, else the ``MUTUALITY_DATA`` environment variable, else the default: the
checkout's ``data/`` when the package runs from a checkout (an editable install
or ``make``), otherwise the platform's user data folder for the application
(``~/.local/share/mutuality-workbook`` on Linux, from :mod:`platformdirs`).
Inside it:

- ``workbook.sqlite``: the store
- ``reports/<couple_id>/session-<n>.pdf``
- ``worksheets/``: personalised worksheet notebooks
- ``backups/``
- ``link.key``: the key that signs partner links
- ``practice.yaml``: the practice's settings (optional)
- ``demo/``: the committed, synthetic demo couples (CSV; checkout only)

These are the program's own (:func:`owned_path`): no command writes a file the user
named (``export --out``...) over any of them, nor over the store's ``-wal``/``-journal``
companions, a store set aside, or a scratch file (a name starting with ``.``).

What ships with the package (instrument definitions, the report template, the
notebooks and the demo couples) is found with :mod:`importlib.resources`. In a
checkout the notebooks and the demo couples are the checkout's own ``notebooks/``
and ``data/demo/`` (the folders therapists open and git tracks); a built wheel
carries copies of them as package data (``mutuality_helpers/notebooks``,
``mutuality_helpers/demo_data``: see ``force-include`` in pyproject.toml).

The folder constants below (``NOTEBOOKS_DIR``, ``DEFINITIONS_DIR``,
``TEMPLATES_DIR``, ``VOILA_SHARE_DIR``, ``DEPLOY_DIR``, ``DEMO_DIR``,
``DEFAULT_DATA_DIR``) are resolved on first use,
so importing this module (which every command does) stays cheap.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

#: The distribution name (pyproject.toml), for metadata and the user data folder.
DISTRIBUTION = "mutuality-workbook"
PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = PACKAGE_DIR.parent
#: True when the package runs from its source checkout (editable install), not a wheel.
IN_CHECKOUT = (PROJECT_DIR / "pyproject.toml").is_file() and (
    PROJECT_DIR / "notebooks" / "session_report.ipynb"
).is_file()

STORE_NAME = "workbook.sqlite"
LINK_KEY_NAME = "link.key"
PRACTICE_NAME = "practice.yaml"
#: Folders of the data folder that are the program's, with everything inside them.
OWNED_FOLDERS = ("backups", "reports", "worksheets", "demo")
DATA_ENV = "MUTUALITY_DATA"
#: A PostgreSQL server's URL for the store (``--store URL``), instead of the SQLite file.
STORE_ENV = "MUTUALITY_STORE"
#: The driver the store speaks to PostgreSQL through (psycopg 3).
PG_DRIVER = "postgresql+psycopg"

# Client data is readable by its owner only, whatever the umask.
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700


def packaged(name: str, checkout_folder: str | None = None) -> Path:
    """A folder shipped with the package, as a file-system path.

    Parameters
    ----------
    name
        Its name inside the package (``definitions``, ``templates``, ``notebooks``...).
    checkout_folder
        Where it lives in a checkout when that is not inside the package (``notebooks``
        for ``notebooks``): the checkout's own folder is used there.
    """
    if checkout_folder is not None and IN_CHECKOUT:
        return PROJECT_DIR / checkout_folder
    from importlib.resources import files

    folder = files(__package__).joinpath(name)
    # Notebooks, templates and PDFs are handed to tools that want real paths; pip and uv
    # always install into a folder, so a resource elsewhere (a zip) means a broken install.
    if not isinstance(folder, Path) or not folder.is_dir():
        raise FileNotFoundError(
            f"{folder} is missing from the installed package: reinstall mutuality-workbook"
        )
    return folder


def default_data_dir() -> Path:
    """The data folder when none is given: the checkout's ``data/``, else the user data folder."""
    if IN_CHECKOUT:
        return PROJECT_DIR / "data"
    from platformdirs import user_data_path

    return user_data_path(DISTRIBUTION, appauthor=False)


_LAZY_PATHS = {
    "NOTEBOOKS_DIR": lambda: packaged("notebooks", "notebooks"),
    "DEMO_DIR": lambda: packaged("demo_data", "data/demo"),
    "DEFINITIONS_DIR": lambda: packaged("definitions"),
    "TEMPLATES_DIR": lambda: packaged("templates"),
    # A Jupyter data folder (on the form server's JUPYTER_PATH): the Voila page template.
    "VOILA_SHARE_DIR": lambda: packaged("share"),
    # What a practice installs around the form server: the nginx site, the systemd unit.
    "DEPLOY_DIR": lambda: packaged("deploy"),
    "DEFAULT_DATA_DIR": default_data_dir,
}


def __getattr__(name: str) -> Any:
    # PEP 562: the folder constants are computed once, when first asked for.
    if name in _LAZY_PATHS:
        value = _LAZY_PATHS[name]()
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def data_dir(explicit: str | os.PathLike | None = None) -> Path:
    """Resolve the data folder: explicit argument, then ``MUTUALITY_DATA``, then the default.

    The default is the checkout's ``data/`` in a checkout, else the user data folder
    (:func:`default_data_dir`).
    """
    if explicit:
        return Path(explicit).expanduser().resolve()
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser().resolve()
    return default_data_dir()


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


def owned_path(path: str | os.PathLike, data: str | os.PathLike | None = None) -> str | None:
    """What ``path`` is to the program when it is one of its own files in ``data``, else None.

    The one rule of which paths the program owns (see the module docstring): the store and
    every file named after it (``-wal``, ``-shm``, ``-journal``, ``.damaged-<time>``), the link
    key, ``practice.yaml``, scratch files (names starting with ``.``), and everything under
    ``backups/``, ``reports/``, ``worksheets/`` and ``demo/``. Symbolic links are followed, and
    an existing file that is the same file as one of those (a hard link) counts too.
    """
    folder = data_dir(data)
    target = Path(path).expanduser()
    target = (target if target.is_absolute() else Path.cwd() / target).resolve()
    for base in {folder, folder.resolve()}:
        try:
            parts = target.relative_to(base).parts
        except ValueError:
            continue
        if not parts:
            return "the data folder itself"
        top = parts[0]
        if top in OWNED_FOLDERS:
            return f"inside its {top}/ folder"
        if len(parts) == 1:
            if top.startswith(STORE_NAME):
                return "its store"
            if top == LINK_KEY_NAME:
                return "its link key"
            if top == PRACTICE_NAME:
                return "its practice settings"
            if top.startswith("."):
                return "one of its scratch files"
    if target.is_file():
        same = target.stat()
        for own in _existing_owned_files(folder):
            try:
                theirs = own.stat()
            except OSError:
                continue
            if (theirs.st_dev, theirs.st_ino) == (same.st_dev, same.st_ino):
                return owned_path(own, folder) or "its store"
    return None


def _existing_owned_files(folder: Path) -> list[Path]:
    """The program's files at the top of ``folder`` and in its backups (for the hard-link test)."""
    found = [p for p in folder.glob(f"{STORE_NAME}*") if p.is_file()]
    found += [folder / LINK_KEY_NAME, folder / PRACTICE_NAME]
    backups = folder / "backups"
    if backups.is_dir():
        found += [p for p in backups.iterdir() if p.is_file()]
    return found


def refuse_owned(path: str | os.PathLike, data: str | os.PathLike | None = None) -> Path:
    """``path`` as given, unless writing it would overwrite one of the program's own files.

    Every command that writes a file the user names (``export --out``) asks this first.

    Raises
    ------
    OutputRefused
        When ``path`` is an owned path (:func:`owned_path`), or an existing SQLite file
        (another data folder's store or backup).
    """
    from .exceptions import OutputRefused

    what = owned_path(path, data)
    if what is not None:
        raise OutputRefused(
            f"refusing to write {path}: it is {what} in the data folder {data_dir(data)}; "
            "write to a file outside the store, backups/, reports/ and worksheets/"
        )
    target = Path(path).expanduser()
    try:
        with open(target, "rb") as fh:
            head = fh.read(16)
    except OSError:
        head = b""
    if head == b"SQLite format 3\x00":
        raise OutputRefused(
            f"refusing to write {path}: it is an SQLite database (a store or a backup?); "
            "pick a new file name"
        )
    return Path(path)


def store_path(data: str | os.PathLike | None = None) -> Path:
    return data_dir(data) / STORE_NAME


def store_url(explicit: str | None = None) -> str | None:
    """The PostgreSQL store's URL: ``explicit``, else ``MUTUALITY_STORE``, else None (SQLite).

    ``postgresql://`` and ``postgresql+psycopg://`` are accepted (both speak psycopg 3);
    ``sqlite:///PATH`` names an SQLite file directly. Anything else is refused in one line.
    """
    url = explicit or os.environ.get(STORE_ENV) or None
    if url is None:
        return None
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme in ("postgresql", "postgres", PG_DRIVER):
        return f"{PG_DRIVER}://{url.split('://', 1)[1]}"
    if scheme.startswith("sqlite"):
        return url
    from .exceptions import StoreError

    raise StoreError(
        f"the store must be a postgresql://USER@HOST/DATABASE URL (from --store or "
        f"${STORE_ENV}), got {scheme or 'no URL'}"
    )


def is_server_store(url: str | None) -> bool:
    """Is ``url`` (from :func:`store_url`) a PostgreSQL server rather than an SQLite file?"""
    return url is not None and url.startswith("postgresql")


def reports_dir(data: str | os.PathLike | None = None) -> Path:
    return data_dir(data) / "reports"


def report_path(couple_id: str, session: int, data: str | os.PathLike | None = None) -> Path:
    return reports_dir(data) / couple_id / f"session-{session}.pdf"


def worksheets_dir(data: str | os.PathLike | None = None) -> Path:
    return data_dir(data) / "worksheets"


def backups_dir(data: str | os.PathLike | None = None) -> Path:
    return data_dir(data) / "backups"
