"""Backup and restore of the store, safe while other programs keep writing.

``backup`` uses SQLite's online backup API: it copies a consistent snapshot of
the store while partners keep saving (in WAL mode a reader never blocks a
writer). The copy is a self-contained file (rollback journal, no ``-wal``
beside it) in ``<data>/backups/``, owner-only, and is checked before it is
reported.

``restore`` first proves the file is a healthy Mutuality store, keeps a backup
of the current store, and then copies the file *into* the live store through
the same backup API, as one transaction: a program writing at that moment waits
for the lock (busy timeout) and then carries on on top of the restored content,
and a reader sees either the old store or the restored one, never a mixture.
A damaged store in the way is moved aside (its bytes kept as they were) rather
than written over.

A PostgreSQL store (``--store URL`` / ``MUTUALITY_STORE``) is backed up and restored with
the server's own ``pg_dump``/``pg_restore`` (:mod:`~mutuality_helpers.pgstore`): the same
commands, the same folder, the same checks (a backup is complete before it gets its name
and is read back; a restore keeps a backup of the current store first and is one
transaction).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from . import config
from .exceptions import StoreError
from .sqlitefile import check_store_file, connect, integrity

BACKUP_SUFFIX = ".sqlite"
#: A PostgreSQL store's backups (``pg_dump``'s custom format, which starts with PGDMP).
DUMP_SUFFIX = ".pgdump"
DUMP_MAGIC = b"PGDMP"


@dataclass(frozen=True)
class RestoreResult:
    """What :func:`restore` did: the file restored, the safety copy, a damaged store set aside."""

    restored_from: Path
    #: The SQLite file, or the PostgreSQL store's URL without its password.
    store: Path | str
    safety_backup: Path | None
    set_aside: Path | None


def _utc_stamp() -> str:
    """The time in file names: UTC, to the microsecond, sorting in time order."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


def _new_private_path(folder: Path, stem: str, suffix: str = BACKUP_SUFFIX) -> Path:
    """A fresh owner-only file in ``folder`` named after ``stem`` and the time (never reused)."""
    config.private_dir(folder)
    stamp = _utc_stamp()
    for n in range(1000):
        path = folder / f"{stem}-{stamp}{'' if n == 0 else f'-{n}'}{suffix}"
        try:
            # O_EXCL: two backups in the same microsecond never share a file.
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, config.PRIVATE_FILE_MODE)
        except FileExistsError:
            continue
        os.close(fd)
        os.chmod(path, config.PRIVATE_FILE_MODE)
        return path
    raise StoreError(f"could not find a free backup file name in {folder}")


def _copy(source: Path, target: Path, standalone: bool) -> str:
    """Copy the store ``source`` into ``target`` with SQLite's backup API; the check's answer.

    One step (pages=-1): one read transaction on the source, one write transaction on the
    target. ``standalone``: the copy is a new backup, made a single file (rollback journal;
    the copy of a WAL store is flagged WAL) and fully checked; else it is the live store,
    quickly checked.
    """
    src = connect(source, read_only=True)
    try:
        dst = connect(target)
        try:
            src.backup(dst)
            if standalone:
                dst.execute("PRAGMA journal_mode=DELETE")
            return integrity(dst, full=standalone)
        finally:
            dst.close()
    finally:
        src.close()


def _copy_store(source: Path, target: Path) -> None:
    """Copy the store at ``source`` into the new file ``target`` as a self-contained file."""
    check = _copy(source, target, standalone=True)
    if check != "ok":
        raise StoreError(f"the backup {target} failed its integrity check ({check})")


def backup(
    data: str | os.PathLike | None = None, stem: str = "workbook", url: str | None = None
) -> Path:
    """Copy the store of ``data`` into ``<data>/backups/`` while others may keep writing.

    ``url`` (else ``MUTUALITY_STORE``) names a PostgreSQL store: it is dumped with
    ``pg_dump`` into ``backups/<stem>-<time>.pgdump``.

    Returns
    -------
    Path
        The new backup file (owner-only).

    Raises
    ------
    StoreError
        When there is no store yet, or the store is damaged or foreign.
    """
    url = config.store_url(url)
    if config.is_server_store(url):
        assert url is not None
        from . import pgstore

        dump = _new_private_path(config.backups_dir(data), stem, pgstore.DUMP_SUFFIX)
        try:
            pgstore.dump(url, dump)
        except BaseException:
            dump.unlink(missing_ok=True)
            raise
        return dump
    store = config.store_path(data)
    if not store.exists() or store.stat().st_size == 0:
        raise StoreError(f"there is no store at {store} to back up")
    check_store_file(store)
    target = _new_private_path(config.backups_dir(data), stem)
    try:
        _copy_store(store, target)
    except (sqlite3.Error, StoreError) as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, StoreError):
            raise
        raise StoreError(f"backup of {store} failed: {exc}") from None
    return target


def list_backups(data: str | os.PathLike | None = None) -> list[Path]:
    """The backup files of ``data``, oldest first."""
    folder = config.backups_dir(data)
    if not folder.is_dir():
        return []
    suffixes = (BACKUP_SUFFIX, DUMP_SUFFIX)
    return sorted(p for p in folder.iterdir() if p.suffix in suffixes and p.is_file())


def is_dump(path: Path) -> bool:
    """Is ``path`` a ``pg_dump`` archive (custom format) rather than an SQLite backup?"""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(DUMP_MAGIC)) == DUMP_MAGIC
    except OSError:
        return False


def describe_backup(path: str | os.PathLike) -> str:
    """One line saying what a backup file holds (checked first, see :func:`check_backup_file`)."""
    path = check_backup_file(path)
    if is_dump(path):
        from .pgstore import describe_dump

        return str(describe_dump(path))
    con = connect(path, read_only=True)
    try:
        couples = con.execute("SELECT count(*) FROM couples").fetchone()[0]
        answers = con.execute("SELECT count(*) FROM answers").fetchone()[0]
    finally:
        con.close()
    stamp = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).isoformat(timespec="seconds")
    return f"{path}: SQLite backup made {stamp}, {couples} couple(s), {answers} answer(s)"


def check_backup_file(path: str | os.PathLike) -> Path:
    """Prove ``path`` is a healthy Mutuality store (full integrity check), without changing it.

    Raises
    ------
    StoreError
        For a missing, empty, foreign or damaged file.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise StoreError(f"{path} is empty, not a Mutuality store")
    if is_dump(path):
        from . import migrate
        from .pgstore import describe_dump

        migrate.require_known(describe_dump(path).revision, str(path))
        return path
    # Header, tables, the full integrity check and the schema version.
    check_store_file(path, full=True)
    return path


def _store_is_healthy(store: Path) -> bool:
    try:
        check_store_file(store)
    except StoreError:
        return False
    return True


def restore(
    source: str | os.PathLike, data: str | os.PathLike | None = None, url: str | None = None
) -> RestoreResult:
    """Replace the store of ``data`` with the backup ``source``, safely under concurrent use.

    ``url`` (else ``MUTUALITY_STORE``) names a PostgreSQL store, restored from a
    ``.pgdump`` with ``pg_restore`` (see :mod:`~mutuality_helpers.pgstore`).

    The current store is backed up first (``backups/before-restore-*.sqlite``). A
    damaged or foreign file where the store should be is renamed
    ``workbook.sqlite.damaged-<time>`` (left byte for byte as it was) and a fresh
    store is written in its place.

    Raises
    ------
    StoreError
        When ``source`` is not a healthy Mutuality store; nothing is changed then.
    """
    source = check_backup_file(Path(source).expanduser().resolve())
    url = config.store_url(url)
    if config.is_server_store(url):
        assert url is not None
        return _restore_server(source, data, url)
    if is_dump(source):
        raise StoreError(
            f"{source} is a PostgreSQL backup; restore it into a PostgreSQL store (--store URL)"
        )
    store = config.store_path(data)
    if source == store.resolve():
        raise StoreError(f"{source} is the store itself; pick a backup file to restore")
    config.private_dir(store.parent)
    safety: Path | None = None
    set_aside: Path | None = None
    try:
        if store.exists() and store.stat().st_size > 0 and _store_is_healthy(store):
            safety = backup(data, stem="before-restore")
            # Into the live store, in one transaction: writers wait on the lock and readers
            # see the old or the new content, never a mixture.
            check = _copy(source, store, standalone=False)
            if check != "ok":
                raise StoreError(f"{store} failed its check after the restore ({check})")
        else:
            if store.exists():
                set_aside = store.with_name(f"{store.name}.damaged-{_utc_stamp()}")
                for suffix in ("", "-wal", "-shm"):
                    part = Path(f"{store}{suffix}")
                    if part.exists():
                        part.rename(Path(f"{set_aside}{suffix}"))
            fresh = _new_private_path(store.parent, ".restoring")
            try:
                _copy_store(source, fresh)
                os.replace(fresh, store)
            finally:
                fresh.unlink(missing_ok=True)
    except sqlite3.Error as exc:
        raise StoreError(f"restore into {store} failed: {exc}") from None
    return RestoreResult(
        restored_from=source, store=store, safety_backup=safety, set_aside=set_aside
    )


def _restore_server(source: Path, data: str | os.PathLike | None, url: str) -> RestoreResult:
    import sqlalchemy as sa

    from . import pgstore

    where = sa.engine.make_url(url).render_as_string(hide_password=True)
    if not is_dump(source):
        raise StoreError(
            f"{source} is an SQLite backup, but the store is the PostgreSQL database {where}; "
            "import its couples with `mutuality export` and `mutuality import` instead"
        )
    from .store import Store

    # The current store must be one (a foreign database is not written over), then kept.
    Store(data, url=url).close()
    safety = backup(data, stem="before-restore", url=url)
    pgstore.restore(url, source)
    # A dump of an older revision is brought up to date at once.
    Store(data, url=url).close()
    return RestoreResult(restored_from=source, store=where, safety_backup=safety, set_aside=None)
