"""The store's connection: opening it safely, one transaction per change, reads.

:class:`Database` is the part of :class:`~mutuality_helpers.store.Store` that knows no
tables: it proves the SQLite file is a healthy store before touching it
(:func:`~mutuality_helpers.sqlitefile.check_store_file`), brings its schema to the newest
revision (:mod:`~mutuality_helpers.migrate`), and runs every change in one transaction
(:meth:`Database.atomic`). Taking the write lock is retried by the one policy of
:mod:`~mutuality_helpers.retry`; reads are too.

SQLite in WAL mode through SQLAlchemy Core is the embedded default. A PostgreSQL server
serves a group practice (``--store URL`` / ``MUTUALITY_STORE``, see
:func:`config.store_url`) with the same guarantees: a write transaction first takes the
store's one write lock (a transaction-level advisory lock, :data:`WRITE_LOCK_KEY`, waited
for at most :data:`~mutuality_helpers.retry.BUSY_TIMEOUT_S` per attempt), exactly as
SQLite's ``BEGIN IMMEDIATE`` does; so saves never interleave, history never misses a
replaced value, and a lock timeout, serialization failure or deadlock is retried by the
same policy. Reads never wait for the lock.
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
from .retry import BUSY_TIMEOUT_S, one_line, while_busy
from .schema import SCHEMA_REVISION

WRITE_FAILED = "could not write to the store"
READ_FAILED = "could not read the store"


#: The PostgreSQL advisory lock every write transaction takes first ("mutu" in ASCII).
WRITE_LOCK_KEY = 0x6D757475
#: Connections a process keeps to a server store (more are opened, and closed, under load).
PG_POOL_SIZE = 5
PG_POOL_OVERFLOW = 45


def _make_engine(url: str, immediate: bool) -> Engine:
    if config.is_server_store(url):
        return sa.create_engine(
            url,
            pool_size=PG_POOL_SIZE,
            max_overflow=PG_POOL_OVERFLOW,
            pool_pre_ping=True,
            connect_args={"connect_timeout": int(BUSY_TIMEOUT_S)},
        )
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
        url = config.store_url(url)
        self.server = config.is_server_store(url)
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
        # A server needs no second engine: its reads never take the write lock.
        self._read_engine = _make_engine(url, immediate=False) if not self.server else self.engine
        if self.server:
            found = self._server_revision(create)
        if found != SCHEMA_REVISION:
            with self.atomic() as conn:
                migrate.upgrade(conn, self.where)

    @property
    def where(self) -> str:
        """The store for messages: its file, or its URL without the password."""
        if self.path is not None:
            return str(self.path)
        return sa.engine.make_url(self.url).render_as_string(hide_password=True)

    def _server_revision(self, create: bool) -> str | None:
        """The revision a server database records (None when empty), without the lock."""

        def attempt() -> str | None:
            with self.engine.connect() as conn:
                tables = sa.inspect(conn).get_table_names()
                if not tables:
                    if not create:
                        raise StoreError(
                            f"no Mutuality store in {self.where} (create one with "
                            "`mutuality demo` or `mutuality import FILE`)"
                        )
                    return None
                if not migrate.looks_like_a_store(tables):
                    raise StoreError(
                        f"{self.where} holds other tables, not a Mutuality store; left untouched"
                    )
                return migrate.recorded_revision(
                    tables, lambda sql: list(conn.exec_driver_sql(sql).fetchall()), self.where
                )

        try:
            found = while_busy(attempt, READ_FAILED, sa.exc.OperationalError)
        except BaseException:
            self.engine.dispose()
            raise
        migrate.require_known(found, self.where)
        return found

    # -- transactions ----------------------------------------------------------------------

    def _current(self) -> Connection | None:
        """The connection of the write transaction this thread is inside, if any."""
        return getattr(self._local, "connection", None)

    def _begin(self) -> Connection:
        conn = self.engine.connect()
        try:
            conn.begin()  # BEGIN IMMEDIATE (see _make_engine): the write lock, or "busy"
            if self.server:
                # The same one-writer lock on a server, waited for as long as SQLite would.
                wait_ms = int(BUSY_TIMEOUT_S * 1000)
                conn.exec_driver_sql(f"SET LOCAL lock_timeout = {wait_ms}")
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({WRITE_LOCK_KEY})")
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
            raise StoreError(f"{WRITE_FAILED}: {one_line(exc.orig)}") from None
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
