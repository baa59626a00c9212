"""The per-couple change counter, and which session reports it leaves current.

Every write that changes a couple's clinical record (answers added or replaced, seasons
declared or edited, sessions recorded, edited or deleted, alerts raised or marked, display
names changed; imports go through the same writes) calls :func:`count_changes` on its own
connection, inside its ``store.atomic()`` transaction. So the count moves exactly when the
record does: a write rolled back moves nothing, and a write that changes nothing (an import
of the same file again) moves nothing either. Writes hold the store's one write lock, on
SQLite and PostgreSQL alike, so two increments never interleave.

A session report remembers the count read when its render *started*
(:func:`report_changes`), with the file it wrote (``reports`` table, :func:`record_report`).
It is current while the couple's count is still that one and the file is still that file
(same size and modification time): a change that lands while the report renders, a PDF
replaced by hand, or a store restored from a backup leaves it due. File times alone
decide nothing.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import couples_table, reports_table

if TYPE_CHECKING:
    from .report import ReportRequest


def count_changes(conn: Connection, couple_ids: Iterable[str]) -> None:
    """Raise the change count of each couple of ``couple_ids`` by one (inside the write)."""
    ids = sorted(set(couple_ids))
    if not ids:
        return
    c = couples_table
    conn.execute(c.update().where(c.c.couple_id.in_(ids)).values(change_count=c.c.change_count + 1))


def file_identity(path: Path) -> str | None:
    """What tells one written file from another at ``path``: ``size:mtime_ns``, or None."""
    try:
        info = os.stat(path)
    except OSError:
        return None
    return f"{info.st_size}:{info.st_mtime_ns}"


def report_changes(request: ReportRequest) -> int:
    """The couple's change count now: read when a render starts, before any data is read."""
    from .store import Store

    with Store(request.data_dir, create=False) as store:
        return store.change_count(request.couple_id)


def record_report(request: ReportRequest, changes: int, path: Path) -> None:
    """Record that ``request``'s report was written to ``path`` from the record at ``changes``.

    Only a report written to the couple's own report path is recorded (a copy rendered
    elsewhere with ``--out`` says nothing about that one).
    """
    from .store import Store

    if Path(path).resolve() != request.output.resolve():
        return
    with Store(request.data_dir, create=False) as store:
        store.record_report(request.couple_id, request.session, changes, path)


def recorded_reports(rows: Iterable[Any]) -> dict[tuple[str, int], tuple[int, str]]:
    """``(couple_id, number) -> (change_count, file)`` from rows of the ``reports`` table."""
    return {(str(r[0]), int(r[1])): (int(r[2]), str(r[3])) for r in rows}


REPORT_COLUMNS = (
    reports_table.c.couple_id,
    reports_table.c.number,
    reports_table.c.change_count,
    reports_table.c.file,
)


def report_query(couple_ids: list[str] | None = None) -> sa.Select[Any]:
    """The recorded reports (of ``couple_ids``, else of every couple)."""
    query = sa.select(*REPORT_COLUMNS)
    if couple_ids is not None:
        query = query.where(reports_table.c.couple_id.in_(couple_ids))
    return query
