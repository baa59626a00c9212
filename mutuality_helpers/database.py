"""The store's connection: opening it safely, one transaction per change, reads.

:class:`Database` is the part of :class:`~mutuality_helpers.store.Store` that knows no
tables: it proves the SQLite file is a healthy store before touching it
(:func:`~mutuality_helpers.sqlitefile.check_store_file`), brings its schema to the newest
revision (:mod:`~mutuality_helpers.migrate`), and runs every change in one transaction
(:meth:`Database.atomic`). Taking the write lock is retried by the one policy of
:mod:`~mutuality_helpers.retry`; reads are too.

SQLite in WAL mode through SQLAlchemy Core is the embedded default; a ``postgresql://`` URL
can serve a group practice later.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from . import config, migrate, sqlitefile
from .exceptions import StoreError
from .retry import BUSY_TIMEOUT_S, while_busy
from .schema import SCHEMA_REVISION

WRITE_FAILED = "could not write to the store"
READ_FAILED = "could not read the store"


def _make_engine(url: str, immediate: bool) -> Engine:
    if not url.startswith("sqlite"):
        return sa.create_engine(url)
    engine = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": BUSY_TIMEOUT_S})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        sqlitefile.configure(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the lock up front: no deadlock between two upgrading readers.
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


class Database:
    """A store's connection (see :class:`~mutuality_helpers.store.Store` for the parameters)."""

    def __init__(
        self,
        data: str | os.PathLike[str] | None = None,
        url: str | None = None,
        create: bool = True,
    ) -> None:
        self.data_dir = config.data_dir(data)
        self._local = threading.local()
        found: str | None = None
        if url is None:
            self.path: Path | None = config.store_path(self.data_dir)
            if not create and not self.path.exists():
                # A misspelt folder must not quietly grow an empty store.
                raise StoreError(
                    f"no Mutuality store in {self.data_dir} "
                    "(create one with `mutuality demo` or `mutuality import FILE`)"
                )
            found = sqlitefile.check_store_file(self.path)
            if found is None and not create and self.path.stat().st_size > 0:
                # Only the commands that bring data in may fill a store being created.
                raise StoreError(f"{self.path} holds no tables yet; left untouched")
            config.private_dir(self.data_dir)
            config.private_file(self.path)
            url = f"sqlite:///{self.path}"
        else:
            self.path = None
        self.url = url
        self.engine = _make_engine(url, immediate=True)
        self._read_engine = _make_engine(url, immediate=False)
        if found != SCHEMA_REVISION:
            with self.atomic() as conn:
                migrate.upgrade(conn, str(self.path or url))

    # -- transactions ----------------------------------------------------------------------

    def _current(self) -> Connection | None:
        """The connection of the write transaction this thread is inside, if any."""
        return getattr(self._local, "connection", None)

    def _begin(self) -> Connection:
        conn = self.engine.connect()
        try:
            conn.begin()  # BEGIN IMMEDIATE (see _make_engine): the write lock, or "busy"
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def atomic(self) -> Iterator[Connection]:
        """One write transaction: everything inside it is written, or nothing is.

        ::

            with store.atomic():
                store.save_answers(answers, "import:week-37.csv")
                store.save_seasons(seasons, "import:week-37.csv")

        The write lock is taken on entry (retried while another program holds it, see
        :mod:`~mutuality_helpers.retry`), so the work inside never runs twice. Store methods
        called inside join the transaction, and so do nested ``atomic()`` blocks. Any
        error rolls everything back; a database error becomes a one-line
        :class:`StoreError`.

        Yields
        ------
        sqlalchemy.engine.Connection
            The transaction's connection, for statements of your own.
        """
        current = self._current()
        if current is not None:
            yield current
            return
        conn = while_busy(self._begin, WRITE_FAILED, sa.exc.OperationalError)
        self._local.connection = conn
        try:
            try:
                yield conn
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
        except sa.exc.OperationalError as exc:
            raise StoreError(f"{WRITE_FAILED}: {exc.orig}") from None
        finally:
            self._local.connection = None
            conn.close()

    def read(self, query: sa.Executable, params: Mapping[str, Any] | None = None) -> list[Any]:
        """The rows of ``query`` (inside :meth:`atomic`, on its connection: its writes show)."""
        current = self._current()
        if current is not None:
            return list(current.execute(query, params or {}))

        def attempt() -> list[Any]:
            with self._read_engine.connect() as conn:
                return list(conn.execute(query, params or {}))

        return while_busy(attempt, READ_FAILED, sa.exc.OperationalError)

    def fetch(self, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
        """Rows of ``query`` as plain tuples, through the driver's cursor (no row objects).

        For reads of many rows (a caseload's answers): SQLAlchemy rows cost about 15 us each.
        """
        sql = str(query.compile(self._read_engine, compile_kwargs={"literal_binds": True}))
        current = self._current()
        if current is not None:
            return [tuple(r) for r in current.exec_driver_sql(sql)]

        def attempt() -> list[tuple[Any, ...]]:
            raw = self._read_engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(sql)
                return [tuple(r) for r in cursor.fetchall()]
            finally:
                raw.close()

        # Exception: the raw driver's errors differ per database.
        return while_busy(attempt, READ_FAILED, Exception)

    @property
    def schema_revision(self) -> str:
        """The store's schema revision (Alembic's ``alembic_version``)."""
        rows = self.read(sa.text("SELECT version_num FROM alembic_version"))
        return str(rows[0][0])

    def close(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
