"""SQLite files: how every connection is opened, and how a file is proved to be a healthy store.

One place for both, used by the store, backups and erasure alike:

- :func:`configure` sets the pragmas every connection gets (the busy timeout of
  :mod:`~mutuality_helpers.retry`, WAL, ``synchronous=FULL``, foreign keys);
- :func:`connect` opens a plain :mod:`sqlite3` connection (read-only when asked) with them;
- :func:`check_store_file` refuses a foreign, damaged or newer file *without changing it*;
- :func:`integrity` runs SQLite's quick or full integrity check.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from typing import Any

from . import migrate
from .exceptions import StoreError
from .retry import BUSY_TIMEOUT_S

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = int(BUSY_TIMEOUT_S * 1000)


def configure(con: Any, wal: bool = True) -> None:
    """Set the pragmas of a new connection (a :mod:`sqlite3` one, or SQLAlchemy's DB-API one).

    Transactions are left to the caller (``isolation_level = None``): the store begins its
    writes with ``BEGIN IMMEDIATE``, so the lock is taken up front or not at all.
    """
    con.isolation_level = None
    cur = con.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if wal:
        cur.execute("PRAGMA journal_mode=WAL")
        # FULL: a committed answer survives a power cut, not only a crash.
        cur.execute("PRAGMA synchronous=FULL")
        cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def connect(path: Path, read_only: bool = False) -> sqlite3.Connection:
    """A :mod:`sqlite3` connection to ``path`` with the busy timeout and no implicit transactions.

    Read-only connections (``mode=ro``) can never change the file; the journal mode of a
    writable one is left as the file has it (a backup stays a single file).
    """
    if read_only:
        # A URI for mode=ro; as_uri() percent-encodes a folder named "a#1" or "a?b".
        uri = f"{Path(path).absolute().as_uri()}?mode=ro"
        con = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    else:
        con = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    configure(con, wal=False)
    return con


def integrity(con: sqlite3.Connection, full: bool = False) -> str:
    """``"ok"``, or SQLite's first complaint (``integrity_check`` if ``full``, else quick)."""
    row = con.execute("PRAGMA integrity_check" if full else "PRAGMA quick_check").fetchone()
    return "no answer" if row is None else str(row[0])


def tables(con: sqlite3.Connection) -> set[str]:
    return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def being_created(con: sqlite3.Connection) -> bool:
    """Is this table-less database one the store is creating (WAL mode, no version set)?"""
    mode = str(con.execute("PRAGMA journal_mode").fetchone()[0]).lower()
    user_version = con.execute("PRAGMA user_version").fetchone()[0]
    application_id = con.execute("PRAGMA application_id").fetchone()[0]
    return mode == "wal" and user_version == 0 and application_id == 0


def check_store_file(path: Path, full: bool = False) -> str | None:
    """Refuse a file that is not a healthy Mutuality store, without changing it.

    Parameters
    ----------
    path
        Where the store is, or should be.
    full
        Run the full integrity check (a backup about to be restored), not the quick one.

    Returns
    -------
    str or None
        The schema revision the store records (see :func:`migrate.recorded_revision`), or
        None when there is nothing yet (no file, an empty file, or a database another
        process is creating at this very moment).

    Raises
    ------
    StoreError
        For a folder, an unreadable, foreign, damaged or newer-version file.
    """
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a Mutuality store; left untouched")
    if not path.exists() or path.stat().st_size == 0:
        return None
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"{path} cannot be read ({exc.strerror}); left untouched") from None
    if header != SQLITE_HEADER:
        raise StoreError(f"{path} is not a Mutuality store (not an SQLite file); left untouched")
    try:
        con = connect(path, read_only=True)
        try:
            found = tables(con)
            if not found:
                # An empty database is ours to fill only when it is what the store's
                # first connection makes (WAL, nothing else set): another process is
                # creating the store at this very moment. Any other is someone else's.
                if not being_created(con):
                    raise StoreError(
                        f"{path} is an SQLite file with no tables, not a Mutuality store; "
                        "left untouched"
                    )
                return None
            if not migrate.looks_like_a_store(found):
                raise StoreError(
                    f"{path} is an SQLite file but not a Mutuality store; left untouched"
                )
            check = integrity(con, full)
            if check != "ok":
                raise StoreError(f"{path} is damaged (integrity check: {check}); left untouched")
            revision = migrate.recorded_revision(
                found, lambda sql: con.execute(sql).fetchall(), f"{path}"
            )
        finally:
            con.close()
    except sqlite3.OperationalError as exc:
        # Not the file's fault: a folder that cannot be written, a full disk, a lock.
        if not os.access(path.parent, os.W_OK):
            raise StoreError(
                f"the data folder {path.parent} is read-only: the store cannot be opened "
                "there (SQLite keeps its lock files next to it); nothing was written"
            ) from None
        raise StoreError(f"{path} cannot be opened ({exc}); left untouched") from None
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is damaged ({exc}); left untouched") from None
    migrate.require_known(revision, f"{path}")
    return revision
