"""Erasure: every trace of one couple leaves the data folder.

A deleted row can linger in SQLite's free pages and in the write-ahead log, so
deleting is not enough. :func:`erase_couple` deletes the couple's rows from
every table that has a ``couple_id`` column (answers, history, seasons,
sessions, the couple itself, and any table added later) with
``secure_delete`` on, rebuilds the file (``VACUUM``), and empties the WAL
(``wal_checkpoint(TRUNCATE)``). It does the same inside every backup in
``<data>/backups/`` without ever opening a backup for writing: a backup that holds the
couple is copied (read-only) to a scratch file, cleaned and checked there, and renamed
over the backup; one with a journal beside it (an interrupted write) is named, not
touched. Scratch files of killed runs are swept first. It removes the couple's
reports (``reports/<id>/``) and worksheets (``worksheets/<id>*``). Finally it scans
the data folder (except the committed synthetic ``demo/`` set) for the couple id and
reports any file that still mentions it.

In the same write transaction as the deletion, the id is tombstoned (``erased_couples``:
a digest of the id, the time, the couple's highest link generation; in every backup that
has the table too): a save that was waiting for the lock, or comes later from a form
still open in a browser, is then refused instead of bringing the couple back, and the id
is used again only through ``mutuality reuse``.

On a PostgreSQL store (``--store URL``) the rows are deleted in one transaction and the
tables they were in are vacuumed (:func:`~mutuality_helpers.pgstore.erase_rows`): no row
and no dead tuple is left (no tombstone is written there yet). Its backups are ``pg_dump``
files, which cannot be edited in place: the scan names each one that still holds the couple.
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from . import config
from .access import no_such_couple
from .backup import _copy, _discard, _flush, is_dump, list_backups, scratch_file, unfinished
from .exceptions import StoreError, UnknownCouple
from .scratch import sweep
from .sqlitefile import SQLITE_HEADER, connect, integrity
from .store import Store
from .store_answers import erased_digest, now_iso
from .validation import parse_couple_id

# Characters a couple id may contain: a file named "<id><one of these>..." may belong
# to a longer id, so file ownership is decided by the longest matching known id.
_ID_CHAR = re.compile(r"[A-Za-z0-9_-]")
# Files larger than this are not scanned for leftovers (they are not ours).
SCAN_LIMIT_BYTES = 256 * 1024 * 1024


@dataclass
class EraseResult:
    """What :func:`erase_couple` removed, and anything that may still mention the couple."""

    couple_id: str
    rows: dict[str, int] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    backups_cleaned: list[Path] = field(default_factory=list)
    leftovers: list[Path] = field(default_factory=list)

    @property
    def found(self) -> bool:
        return bool(sum(self.rows.values()) or self.files or self.backups_cleaned)


def _couple_tables(con: sqlite3.Connection) -> list[str]:
    tables = [
        r[0]
        for r in con.execute(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
        )
    ]
    return [
        t
        for t in tables
        if any(col[1] == "couple_id" for col in con.execute(f'PRAGMA table_info("{t}")'))
    ]


def _tombstone(con: sqlite3.Connection, couple_id: str, generation: int) -> int:
    """Record ``couple_id`` as erased in this file (inside its write transaction).

    Only where the couple is known (a row of it, or a tombstone already): erasing an id
    never used tombstones nothing. Returns the link generation recorded (the highest seen).
    """
    has_table = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name='erased_couples'"
    ).fetchone()
    if not has_table:
        return generation
    digest = erased_digest(couple_id)
    row = con.execute(
        "SELECT max(link_generation_a, link_generation_b) FROM couples WHERE couple_id = ?",
        (couple_id,),
    ).fetchone()
    old = con.execute(
        "SELECT link_generation FROM erased_couples WHERE id_digest = ?", (digest,)
    ).fetchone()
    if row is None and old is None and generation == 0:
        return generation
    generation = max(generation, row[0] if row else 0, old[0] if old else 0)
    con.execute(
        "INSERT INTO erased_couples (id_digest, erased_at, link_generation) VALUES (?, ?, ?)"
        " ON CONFLICT (id_digest) DO UPDATE SET link_generation = excluded.link_generation",
        (digest, now_iso(), generation),
    )
    return generation


def _erase_in_file(
    path: Path, couple_id: str, wal: bool, always_compact: bool, generation: int = 0
) -> tuple[dict[str, int], int]:
    """Delete the couple from the SQLite file ``path`` and leave no freed bytes behind.

    The file is rebuilt when rows were deleted, or always with ``always_compact`` (the
    store: a second run after a busy WAL must still finish the job). In the same
    transaction the id is tombstoned (:func:`_tombstone`); returns the deleted row counts
    and the link generation the tombstone holds (0: none).

    Raises
    ------
    StoreError
        When the WAL could not be emptied because another program holds it open.
    """
    con = connect(path)
    try:
        # Deleted content is overwritten with zeros, not only unlinked from the b-tree.
        con.execute("PRAGMA secure_delete=ON")
        counts: dict[str, int] = {}
        con.execute("BEGIN IMMEDIATE")
        try:
            # Before the rows go: the tombstone keeps the couple's highest link generation.
            generation = _tombstone(con, couple_id, generation)
            for table in _couple_tables(con):
                cur = con.execute(f'DELETE FROM "{table}" WHERE couple_id = ?', (couple_id,))
                counts[table] = cur.rowcount
            con.execute("COMMIT")
        except BaseException:
            # A failed COMMIT (a full disk) has rolled back already.
            if con.in_transaction:
                con.execute("ROLLBACK")
            raise
        if not always_compact and sum(counts.values()) == 0:
            return counts, generation
        # Rebuild the file: no free page keeps an old copy of a deleted row.
        con.execute("VACUUM")
        if wal:
            busy, _log, _done = con.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if busy:
                raise StoreError(
                    f"{couple_id} was deleted, but another program has the workbook open, so "
                    "old copies may remain in its write-ahead log; close it and run "
                    f"'mutuality erase {couple_id} --yes' again"
                )
        return counts, generation
    finally:
        con.close()


def _rows_of(path: Path, couple_id: str) -> int:
    """How many rows of ``couple_id`` the SQLite file holds, read without changing it."""
    con = connect(path, read_only=True)
    try:
        counts = [
            con.execute(f'SELECT count(*) FROM "{t}" WHERE couple_id = ?', (couple_id,))
            for t in _couple_tables(con)
        ]
        return sum(int(c.fetchone()[0]) for c in counts)
    finally:
        con.close()


def _clean_backup(path: Path, couple_id: str, generation: int) -> None:
    """Erase ``couple_id`` from the backup ``path`` on a copy, renamed over it when checked.

    The backup itself is only ever read: a crash at any point leaves it as it was (or,
    after the rename, the cleaned copy); SQLite never rolls anything back inside it.
    """
    scratch = scratch_file(path.parent, "erase")
    try:
        check = _copy(path, scratch, standalone=True)
        if check != "ok":
            raise StoreError(f"{path} failed its integrity check ({check}); left untouched")
        _erase_in_file(scratch, couple_id, False, True, generation)
        con = connect(scratch, read_only=True)
        try:
            check = integrity(con, full=True)
        finally:
            con.close()
        if check != "ok":
            raise StoreError(f"the cleaned copy of {path} failed its check ({check})")
        _flush(scratch)
        os.replace(scratch, path)
    finally:
        _discard(scratch)


def _owner_of(name: str, known_ids: list[str]) -> str | None:
    """The couple a file or folder name belongs to: the longest id it starts with."""
    owners = [
        cid
        for cid in known_ids
        if name == cid
        or (name.startswith(cid) and (name[len(cid)] in "-_" or not _ID_CHAR.match(name[len(cid)])))
    ]
    return max(owners, key=len) if owners else None


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def _mentions(path: Path, couple_id: str, others: list[str]) -> bool:
    """Does the file still hold ``couple_id``?

    In an SQLite file an id sits packed against its neighbours, so any occurrence counts
    (unless another couple's id contains it: then the bytes cannot tell). Elsewhere only
    the whole id counts, not the same letters inside a longer id or a hex key.
    """
    try:
        if path.stat().st_size > SCAN_LIMIT_BYTES:
            return False
        raw = path.read_bytes()
    except OSError:
        return False
    needle = couple_id.encode()
    if raw.startswith(SQLITE_HEADER):
        return not others and needle in raw
    pattern = rb"(?<![A-Za-z0-9_-])" + re.escape(needle) + rb"(?![A-Za-z0-9_-])"
    return re.search(pattern, raw) is not None


def erase_couple(store: Store, couple_id: str) -> EraseResult:
    """Delete every trace of ``couple_id`` from the store, its backups, reports and worksheets.

    Raises
    ------
    UnknownCouple
        When nothing of the couple was found (the store is still compacted, so running
        erase again after a busy store finishes the job).
    StoreError
        For a store that is not a local SQLite file, or a WAL held open by another program.
    """
    couple_id = parse_couple_id(couple_id)
    data = store.data_dir
    if not store.identity.sees_all and not store.may_see(couple_id):
        raise no_such_couple(couple_id)
    # Every couple's id, the user's or not: a file is another couple's by the longest id.
    known_ids = sorted(set(store.all_couple_ids()) | {couple_id})
    result = EraseResult(couple_id=couple_id)
    sweep(data)  # a killed backup's scratch file may hold the couple too
    try:
        if store.path is None:
            from .pgstore import erase_rows

            erased, generation = erase_rows(store, couple_id)
        else:
            # Connections from this process must not hold the WAL open during the checkpoint.
            store.close()
            erased, generation = _erase_in_file(
                store.path, couple_id, wal=True, always_compact=True
            )
    except sqlite3.OperationalError as exc:
        raise StoreError(
            f"erase of {couple_id} failed: {exc}; the store is as it was before, or the couple "
            f"is deleted but the file not yet rebuilt: free space and run 'mutuality erase "
            f"{couple_id} --yes' again"
        ) from None
    result.rows = {t: n for t, n in erased.items() if n}

    reports = config.reports_dir(data) / couple_id
    if reports.exists():
        _remove(reports)
        result.files.append(reports)
    # Worksheets, and link handouts (reports/handouts/<id>-<partner>-<form>.pdf).
    for folder in (config.worksheets_dir(data), config.reports_dir(data) / "handouts"):
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if _owner_of(entry.name, known_ids) == couple_id:
                _remove(entry)
                result.files.append(entry)

    # Every backup is read (a byte search could miss an id packed into an SQLite record),
    # and one that holds the couple, in a row or in its bytes, is cleaned on a copy.
    others = [c for c in known_ids if c != couple_id and couple_id in c]
    for path in list_backups(data):
        if is_dump(path):
            # A pg_dump cannot be edited in place: the scan below names it if it holds the couple.
            continue
        if unfinished(path) is not None:
            result.leftovers.append(path)  # interrupted mid-write: named, not touched
            continue
        try:
            held = _rows_of(path, couple_id)
            # Cleaned (and tombstoned, see _tombstone) on a copy; the backup is only read.
            _clean_backup(path, couple_id, generation)
        except (sqlite3.DatabaseError, StoreError, OSError):
            result.leftovers.append(path)  # not a readable store: named, not touched
            continue
        if held:
            result.backups_cleaned.append(path)

    # Anything else in the data folder that still names the couple is reported, not
    # deleted: it is not ours to judge (the committed synthetic demo set is skipped).
    demo = data / "demo"
    for root, dirs, files in os.walk(data):
        dirs[:] = [d for d in dirs if Path(root, d) != demo]
        for name in files:
            path = Path(root, name)
            if path in result.leftovers:
                continue
            if _mentions(path, couple_id, others):
                result.leftovers.append(path)
    if result.found:
        # The trail keeps that an erasure happened, by whom and when; not whose it was.
        store.record_access("erase", None, f"a couple erased: {sum(result.rows.values())} row(s)")
    if not result.found:
        also = ""
        if result.leftovers:
            shown = ", ".join(str(p) for p in result.leftovers[:5])
            also = f" (but these files mention {couple_id!r}: {shown})"
        raise UnknownCouple(
            f"no trace of couple {couple_id!r} in the store, its backups, reports or "
            f"worksheets; nothing erased{also}"
        )
    return result
