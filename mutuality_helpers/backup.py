"""Backup and restore of the store, safe while other programs keep writing.

``backup`` uses SQLite's online backup API: it copies a consistent snapshot of
the store while partners keep saving (in WAL mode a reader never blocks a
writer). The copy is a self-contained file (rollback journal, no ``-wal``
beside it) in ``<data>/backups/``, owner-only. It is written under a scratch
name (:mod:`~mutuality_helpers.scratch`), fully integrity-checked and flushed to
disk, and only then renamed ``workbook-<time>.sqlite``: a backup killed half-way
never leaves a file named like a good backup (its scratch file is swept later).

``restore`` refuses a file with no couples (``allow_empty`` to restore one anyway)
and :func:`describe` says what a file holds before anything is replaced.

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
and is read back; what a backup holds is shown before a restore; a restore keeps a backup
of the current store first and is one transaction).
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import config
from .exceptions import StoreError
from .scratch import scratch_prefix, sweep
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
    contents: StoreContents


@dataclass(frozen=True)
class StoreContents:
    """What a store file holds: how many couples and answers, and the last answered week."""

    couples: int
    answers: int
    last_answer: str | None

    def __str__(self) -> str:
        last = f", last answer {self.last_answer}" if self.last_answer else ""
        return f"{self.couples} couple(s), {self.answers} answer(s){last}"


def describe(path: str | os.PathLike) -> StoreContents:
    """Count what the store file ``path`` holds, reading it only (it is never changed)."""
    con = connect(Path(path), read_only=True)
    try:
        couples = con.execute("SELECT count(*) FROM couples").fetchone()[0]
        answers, last = con.execute("SELECT count(*), max(week) FROM answers").fetchone()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} cannot be read ({exc}); left untouched") from None
    finally:
        con.close()
    return StoreContents(int(couples), int(answers), last)


def _utc_stamp() -> str:
    """The time in file names: UTC, to the microsecond, sorting in time order."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S.%fZ")


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
    _flush(target)


def _flush(path: Path) -> None:
    """Force ``path``'s bytes (and its folder's entry) to disk before it is renamed."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _flush_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def scratch_file(folder: Path, stem: str) -> Path:
    """A new, empty, owner-only scratch file in ``folder`` (see :mod:`.scratch`)."""
    config.private_dir(folder)
    fd, name = tempfile.mkstemp(prefix=scratch_prefix(stem), suffix=f"{BACKUP_SUFFIX}.part",
                                dir=folder)  # fmt: skip
    os.fchmod(fd, config.PRIVATE_FILE_MODE)
    os.close(fd)
    return Path(name)


def _discard(path: Path) -> None:
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _publish(scratch: Path, folder: Path, stem: str) -> Path:
    """Give the complete, checked ``scratch`` file its backup name (never over another)."""
    stamp = _utc_stamp()
    for n in range(1000):
        path = folder / f"{stem}-{stamp}{'' if n == 0 else f'-{n}'}{BACKUP_SUFFIX}"
        try:
            os.link(scratch, path)  # fails if the name is taken: no backup is overwritten
        except FileExistsError:
            continue
        scratch.unlink()
        _flush_folder(folder)
        return path
    raise StoreError(f"could not find a free backup file name in {folder}")


def _new_dump_path(folder: Path, stem: str) -> Path:
    """A fresh owner-only ``<stem>-<time>.pgdump`` placeholder (never reused)."""
    config.private_dir(folder)
    stamp = _utc_stamp()
    for n in range(1000):
        path = folder / f"{stem}-{stamp}{'' if n == 0 else f'-{n}'}{DUMP_SUFFIX}"
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, config.PRIVATE_FILE_MODE)
        except FileExistsError:
            continue
        os.close(fd)
        return path
    raise StoreError(f"could not find a free backup file name in {folder}")


def backup(
    data: str | os.PathLike | None = None, stem: str = "workbook", url: str | None = None
) -> Path:
    """Copy the store of ``data`` into ``<data>/backups/`` while others may keep writing.

    ``url`` (else ``MUTUALITY_STORE``) names a PostgreSQL store: it is dumped with
    ``pg_dump`` into ``backups/<stem>-<time>.pgdump`` (see :mod:`.pgstore`).

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

        dump = _new_dump_path(config.backups_dir(data), stem)
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
    folder = config.backups_dir(data)
    sweep(config.data_dir(data))
    scratch = scratch_file(folder, stem)
    try:
        _copy_store(store, scratch)
        return _publish(scratch, folder, stem)
    except (sqlite3.Error, OSError, StoreError) as exc:
        _discard(scratch)
        if isinstance(exc, StoreError):
            raise
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise StoreError(f"backup of {store} failed: {reason}; no backup was written") from None
    except BaseException:
        _discard(scratch)
        raise


def list_backups(data: str | os.PathLike | None = None) -> list[Path]:
    """The backup files of ``data``, oldest first."""
    folder = config.backups_dir(data)
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in (BACKUP_SUFFIX, DUMP_SUFFIX) and not p.name.startswith(".") and p.is_file()
    )


def is_dump(path: Path) -> bool:
    """Is ``path`` a ``pg_dump`` archive (custom format) rather than an SQLite backup?"""
    try:
        with open(path, "rb") as fh:
            return fh.read(len(DUMP_MAGIC)) == DUMP_MAGIC
    except OSError:
        return False


def unfinished(path: Path) -> str | None:
    """The journal beside ``path`` when there is one: the file was left mid-write."""
    # A backup is a rollback-journal file: a journal left beside it is a write cut short.
    beside = Path(f"{path}-journal")
    return beside.name if beside.exists() else None


def check_backup_file(path: str | os.PathLike, allow_empty: bool = False) -> StoreContents:
    """Prove ``path`` is a healthy Mutuality store (full integrity check), without changing it.

    Returns
    -------
    StoreContents
        What it holds (:func:`describe`).

    Raises
    ------
    StoreError
        For a missing, empty, foreign, damaged or unfinished file (a journal beside it),
        one with no tables, or one with no couples unless ``allow_empty``.
    """
    path = Path(path)
    if not path.is_file():
        raise StoreError(f"{path} does not exist or is not a file")
    if path.stat().st_size == 0:
        raise StoreError(f"{path} is empty, not a Mutuality store")
    if is_dump(path):
        from . import migrate
        from .pgstore import describe_dump

        dumped = describe_dump(path)
        migrate.require_known(dumped.revision, str(path))
        if dumped.couples == 0 and not allow_empty:
            raise StoreError(
                f"{path} holds no couples; restoring it would empty the caseload "
                "(--allow-empty to restore it anyway)"
            )
        return StoreContents(dumped.couples, dumped.answers, None)
    journal = unfinished(path)
    if journal is not None:
        raise StoreError(
            f"{path} is not a finished backup ({journal} lies beside it: it was interrupted "
            "mid-write); left untouched"
        )
    # Header, tables, the full integrity check and the schema version. An SQLite file
    # without tables passes check_store_file (a store being created) but is no backup.
    if check_store_file(path, full=True) is None:
        raise StoreError(f"{path} is an SQLite file with no tables, not a Mutuality store")
    contents = describe(path)
    if contents.couples == 0 and not allow_empty:
        raise StoreError(
            f"{path} holds no couples; restoring it would empty the caseload "
            "(--allow-empty to restore it anyway)"
        )
    return contents


def _store_is_healthy(store: Path) -> bool:
    try:
        check_store_file(store)
    except StoreError:
        return False
    return True


def restore(
    source: str | os.PathLike,
    data: str | os.PathLike | None = None,
    allow_empty: bool = False,
    url: str | None = None,
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
    source = Path(source).expanduser().resolve()
    contents = check_backup_file(source, allow_empty)
    url = config.store_url(url)
    if config.is_server_store(url):
        assert url is not None
        return _restore_server(source, data, url, contents)
    if is_dump(source):
        raise StoreError(
            f"{source} is a PostgreSQL backup; restore it into a PostgreSQL store (--store URL)"
        )
    store = config.store_path(data)
    if source == store.resolve():
        raise StoreError(f"{source} is the store itself; pick a backup file to restore")
    config.private_dir(store.parent)
    sweep(store.parent)
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
            fresh = scratch_file(store.parent, "restoring")
            try:
                _copy_store(source, fresh)
                os.replace(fresh, store)
            finally:
                _discard(fresh)
    except sqlite3.Error as exc:
        raise StoreError(f"restore into {store} failed: {exc}") from None
    return RestoreResult(
        restored_from=source, store=store, safety_backup=safety, set_aside=set_aside,
        contents=contents,
    )  # fmt: skip


def _restore_server(
    source: Path, data: str | os.PathLike | None, url: str, contents: StoreContents
) -> RestoreResult:
    import sqlalchemy as sa

    from . import pgstore
    from .store import Store

    where = sa.engine.make_url(url).render_as_string(hide_password=True)
    if not is_dump(source):
        raise StoreError(
            f"{source} is an SQLite backup, but the store is the PostgreSQL database {where}; "
            "move its couples with `mutuality export` and `mutuality import` instead"
        )
    # The current store must be one (a foreign database is not written over), then kept.
    Store(data, url=url).close()
    safety = backup(data, stem="before-restore", url=url)
    pgstore.restore(url, source)
    # A dump of an older revision is brought up to date at once.
    Store(data, url=url).close()
    return RestoreResult(
        restored_from=source, store=where, safety_backup=safety, set_aside=None,
        contents=contents,
    )  # fmt: skip
