"""The store: couples, answers (with history), seasons and sessions.

SQLite in WAL mode through SQLAlchemy Core is the embedded default; a
``postgresql://`` URL can serve a group practice later. Every write is one
transaction (all of it or none of it) and is retried when another process holds
the lock, so two partners saving at once never see "database is locked". Reads
return tidy pandas frames.

Every saved answer records when it was saved and from where (``source``: which
form, or which import file).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

from . import config
from .exceptions import StoreError, UnknownCouple, UnknownSession, ValidationError
from .instruments import find_item
from .schema import (
    SCHEMA_VERSION,
    answers_table,
    couples_table,
    history_table,
    meta_table,
    metadata,
    seasons_table,
    sessions_table,
)
from .validation import (
    parse_bool,
    parse_couple_id,
    parse_date,
    parse_name,
    parse_partner,
    parse_text,
    parse_week,
    week_of,
)

SQLITE_HEADER = b"SQLite format 3\x00"
BUSY_TIMEOUT_MS = 30_000
WRITE_ATTEMPTS = 8

T = TypeVar("T")

SEASON_REASONS = ("work", "illness", "burnout", "caregiving", "children", "mental_health", "other")

ANSWER_COLUMNS = [
    "couple_id", "partner", "week", "item", "value", "value_num",
    "instrument", "saved_at", "source",
]  # fmt: skip
SEASON_COLUMNS = [
    "season_id", "couple_id", "partner", "reason", "start", "planned_end",
    "agreed", "note", "closed_on",
]  # fmt: skip
SESSION_COLUMNS = ["couple_id", "number", "date", "as_of", "notes", "agreements"]


def now_iso() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Answer:
    """One validated answer, ready to be written."""

    couple_id: str
    partner: str
    week: dt.date
    item: str
    value: str
    value_num: float | None
    instrument: str


@dataclass(frozen=True)
class Season:
    """One validated season, ready to be written."""

    couple_id: str
    partner: str
    reason: str
    start: dt.date
    planned_end: dt.date
    agreed: bool
    note: str = ""


def make_answer(couple_id: Any, partner: Any, week: Any, item: Any, value: Any) -> Answer:
    """Validate one answer from raw input (CSV cell, widget, API call)."""
    couple_id = parse_couple_id(couple_id)
    partner = parse_partner(partner)
    week = parse_week(week)
    instrument, spec = find_item("" if item is None else str(item).strip())
    text = spec.parse(value)
    return Answer(
        couple_id=couple_id,
        partner=partner,
        week=week,
        item=spec.id,
        value=text,
        value_num=float(text) if spec.is_numeric else None,
        instrument=instrument.id,
    )


def make_season(
    couple_id: Any,
    partner: Any,
    reason: Any,
    start: Any,
    planned_end: Any,
    agreed: Any,
    note: Any = "",
) -> Season:
    """Validate one season from raw input."""
    reason_text = "" if reason is None else str(reason).strip()
    if reason_text not in SEASON_REASONS:
        raise ValidationError(
            f"reason {reason_text[:30]!r} must be one of {', '.join(SEASON_REASONS)}"
        )
    start_day = parse_date(start, "start")
    end_day = parse_date(planned_end, "planned_end")
    if end_day < start_day:
        raise ValidationError(
            f"planned_end {end_day.isoformat()} is before start {start_day.isoformat()}"
        )
    return Season(
        couple_id=parse_couple_id(couple_id),
        partner=parse_partner(partner),
        reason=reason_text,
        start=start_day,
        planned_end=end_day,
        agreed=parse_bool(agreed, "agreed"),
        note=parse_text(note, "note", 1000),
    )


def _is_busy(exc: BaseException) -> bool:
    text = str(getattr(exc, "orig", exc)).lower()
    return "locked" in text or "busy" in text


def _retry_while_busy(attempt: Callable[[], T], errors: type[Exception], what: str) -> T:
    """Run ``attempt``, again after a growing, jittered pause while the store is locked.

    Any other error, or the lock outlasting :data:`WRITE_ATTEMPTS`, becomes a one-line
    :class:`StoreError` starting with ``what``.
    """
    for n in range(WRITE_ATTEMPTS):
        try:
            return attempt()
        except errors as exc:
            if not _is_busy(exc) or n == WRITE_ATTEMPTS - 1:
                raise StoreError(f"{what}: {getattr(exc, 'orig', exc)}") from None
            # Jitter: two partners retrying together do not collide again.
            time.sleep(0.05 * (2**n) * (0.5 + random.random()))
    raise AssertionError("unreachable")


def check_sqlite_file(path: Path) -> None:
    """Refuse a file that is not a Mutuality store, without changing it.

    Raises
    ------
    StoreError
        For a foreign, damaged or newer-version file.
    """
    if path.is_dir():
        raise StoreError(f"{path} is a folder, not a Mutuality store; left untouched")
    if not path.exists() or path.stat().st_size == 0:
        return
    try:
        with open(path, "rb") as fh:
            header = fh.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise StoreError(f"{path} cannot be read ({exc.strerror}); left untouched") from None
    if header != SQLITE_HEADER:
        raise StoreError(f"{path} is not a Mutuality store (not an SQLite file); left untouched")
    try:
        # Read-only and immutable-free: nothing here may change the file.
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_MS / 1000)
        try:
            tables = {
                r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            if not tables:
                # An empty database: another process is creating the store at this very
                # moment (its schema transaction is not committed yet). Ours to fill.
                return
            if "meta" not in tables or "answers" not in tables:
                raise StoreError(
                    f"{path} is an SQLite file but not a Mutuality store; left untouched"
                )
            row = con.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone()
            check = con.execute("PRAGMA quick_check").fetchone()
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is damaged ({exc}); left untouched") from None
    if check is None or check[0] != "ok":
        raise StoreError(
            f"{path} is damaged (integrity check: {check and check[0]}); left untouched"
        )
    if row is None or not str(row[0]).isdigit():
        raise StoreError(f"{path} has no valid schema version; left untouched")
    if int(row[0]) > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer Mutuality Workbook (schema {row[0]}); please upgrade"
        )


class Store:
    """Couples, answers, seasons and sessions of one data folder (or one database URL).

    Parameters
    ----------
    data
        The data folder (see :mod:`mutuality_helpers.config`). Ignored when ``url`` is given.
    url
        An SQLAlchemy URL, for a server database instead of the embedded SQLite file.
    create
        Create the store if the data folder has none (the default); with False, a missing
        store is a :class:`StoreError` and nothing is created.
    """

    def __init__(
        self, data: str | os.PathLike | None = None, url: str | None = None, create: bool = True
    ):
        self.data_dir = config.data_dir(data)
        if url is None:
            self.path: Path | None = config.store_path(self.data_dir)
            if not create and not self.path.exists():
                # A misspelt folder must not quietly grow an empty store.
                raise StoreError(
                    f"no Mutuality store in {self.data_dir} "
                    "(create one with `mutuality demo` or `mutuality import FILE`)"
                )
            check_sqlite_file(self.path)
            config.private_dir(self.data_dir)
            config.private_file(self.path)
            url = f"sqlite:///{self.path}"
        else:
            self.path = None
        self.url = url
        self.engine = self._make_engine(url, immediate=True)
        self._read_engine = self._make_engine(url, immediate=False)
        self._ensure_schema()

    # -- connection handling ---------------------------------------------------------

    @staticmethod
    def _make_engine(url: str, immediate: bool) -> Engine:
        if not url.startswith("sqlite"):
            return sa.create_engine(url, future=True)
        engine = sa.create_engine(url, poolclass=NullPool, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record):  # noqa: ANN001
            # Let SQLAlchemy's "begin" event below decide how transactions start.
            dbapi_connection.isolation_level = None
            cur = dbapi_connection.cursor()
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: a committed answer survives a power cut, not only a crash.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn):  # noqa: ANN001
            # Writers take the lock up front: no deadlock between two upgrading readers.
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

        return engine

    def write(self, work: Callable[[Connection], T]) -> T:
        """Run ``work`` in one write transaction, retrying while another process holds the lock."""

        def attempt() -> T:
            with self.engine.begin() as conn:
                return work(conn)

        return _retry_while_busy(attempt, sa.exc.OperationalError, "could not write to the store")

    def read(self, query: sa.Executable, params: Mapping[str, Any] | None = None) -> list[Any]:
        def attempt() -> list[Any]:
            with self._read_engine.connect() as conn:
                return list(conn.execute(query, params or {}))

        return _retry_while_busy(attempt, sa.exc.OperationalError, "could not read the store")

    def _ensure_schema(self) -> None:
        def create(conn: Connection) -> None:
            metadata.create_all(conn)
            version = conn.execute(
                sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version")
            ).scalar()
            if version is None:
                conn.execute(
                    meta_table.insert().values(key="schema_version", value=str(SCHEMA_VERSION))
                )

        self.write(create)

    def close(self) -> None:
        self.engine.dispose()
        self._read_engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def schema_version(self) -> int:
        rows = self.read(sa.select(meta_table.c.value).where(meta_table.c.key == "schema_version"))
        return int(rows[0][0])

    # -- couples -----------------------------------------------------------------------

    def add_couple(self, couple_id: str, name_a: str = "", name_b: str = "") -> bool:
        """Create a couple if it is new; set display names that are given. True if created."""
        couple_id = parse_couple_id(couple_id)
        name_a = parse_name(name_a, "name_a")
        name_b = parse_name(name_b, "name_b")
        return self.write(lambda conn: self._upsert_couple(conn, couple_id, name_a, name_b))

    @staticmethod
    def _upsert_couple(
        conn: Connection, couple_id: str, name_a: str = "", name_b: str = ""
    ) -> bool:
        exists = conn.execute(
            sa.select(couples_table.c.couple_id).where(couples_table.c.couple_id == couple_id)
        ).first()
        if exists is None:
            conn.execute(
                couples_table.insert().values(
                    couple_id=couple_id, name_a=name_a, name_b=name_b, created_at=now_iso()
                )
            )
            return True
        changes = {k: v for k, v in (("name_a", name_a), ("name_b", name_b)) if v}
        if changes:
            conn.execute(
                couples_table.update()
                .where(couples_table.c.couple_id == couple_id)
                .values(**changes)
            )
        return False

    def couple_ids(self) -> list[str]:
        return [r[0] for r in self.read(sa.select(couples_table.c.couple_id).order_by("couple_id"))]

    def get_couple(self, couple_id: str) -> dict[str, str]:
        """The couple's id and display names (``name_a``/``name_b`` fall back to A/B)."""
        rows = self.read(sa.select(couples_table).where(couples_table.c.couple_id == couple_id))
        if not rows:
            raise UnknownCouple(f"no couple {couple_id!r} in the store")
        row = rows[0]._mapping
        return {
            "couple_id": row["couple_id"],
            "name_a": row["name_a"] or "Partner A",
            "name_b": row["name_b"] or "Partner B",
        }

    def require_couple(self, couple_id: str) -> str:
        couple_id = parse_couple_id(couple_id)
        self.get_couple(couple_id)
        return couple_id

    def couples(self) -> pd.DataFrame:
        """Every couple: display names, weeks answered, last answered week."""
        c, a = couples_table, answers_table
        stats = (
            sa.select(
                a.c.couple_id,
                sa.func.count(sa.distinct(a.c.week)).label("weeks_answered"),
                sa.func.max(a.c.week).label("last_answer"),
            )
            .group_by(a.c.couple_id)
            .subquery()
        )
        query = (
            sa.select(
                c.c.couple_id,
                c.c.name_a,
                c.c.name_b,
                sa.func.coalesce(stats.c.weeks_answered, 0).label("weeks_answered"),
                stats.c.last_answer,
            )
            .select_from(c.outerjoin(stats, stats.c.couple_id == c.c.couple_id))
            .order_by(c.c.couple_id)
        )
        frame = pd.DataFrame(
            self.read(query),
            columns=["couple_id", "name_a", "name_b", "weeks_answered", "last_answer"],
        )
        frame["weeks_answered"] = frame["weeks_answered"].astype(int)
        frame["last_answer"] = pd.to_datetime(frame["last_answer"])
        return frame

    # -- answers -----------------------------------------------------------------------

    def save_answers(self, answers: Iterable[Answer], source: str) -> dict[str, int]:
        """Write validated answers in one transaction (latest wins; replaced values go to history).

        Returns
        -------
        dict
            ``{"added": n, "replaced": n, "unchanged": n, "couples_created": n}``
        """
        batch = list(answers)
        return self.write(lambda conn: self._write_answers(conn, batch, source))

    def _write_answers(self, conn: Connection, batch: list[Answer], source: str) -> dict[str, int]:
        counts = {"added": 0, "replaced": 0, "unchanged": 0, "couples_created": 0}
        for couple_id in sorted({a.couple_id for a in batch}):
            counts["couples_created"] += self._upsert_couple(conn, couple_id)
        if not batch:
            return counts
        stamp = now_iso()
        existing: dict[tuple[str, str, str, str], tuple[str, str, str]] = {}
        for couple_id in {a.couple_id for a in batch}:
            rows = conn.execute(
                sa.select(
                    answers_table.c.partner,
                    answers_table.c.week,
                    answers_table.c.item,
                    answers_table.c.value,
                    answers_table.c.saved_at,
                    answers_table.c.source,
                ).where(answers_table.c.couple_id == couple_id)
            )
            for partner, week, item, value, saved_at, old_source in rows:
                existing[(couple_id, partner, week, item)] = (value, saved_at, old_source)
        history, upserts = [], {}
        for a in batch:
            key = (a.couple_id, a.partner, a.week.isoformat(), a.item)
            old = existing.get(key)
            if old is not None and old[0] == a.value:
                counts["unchanged"] += 1
                continue
            if old is not None:
                counts["replaced"] += 1
                history.append(
                    dict(
                        couple_id=key[0],
                        partner=key[1],
                        week=key[2],
                        item=key[3],
                        value=old[0],
                        saved_at=old[1],
                        source=old[2],
                        replaced_at=stamp,
                    )  # fmt: skip
                )
            else:
                counts["added"] += 1
            # Within one batch the last row for a key wins, as it would row by row.
            existing[key] = (a.value, stamp, source)
            upserts[key] = dict(
                couple_id=key[0], partner=key[1], week=key[2], item=key[3], value=a.value,
                value_num=a.value_num, instrument=a.instrument, saved_at=stamp, source=source,
            )  # fmt: skip
        if history:
            conn.execute(history_table.insert(), history)
        if upserts:
            conn.execute(
                sa.text(
                    "INSERT INTO answers (couple_id, partner, week, item, value, value_num,"
                    " instrument, saved_at, source) VALUES (:couple_id, :partner, :week, :item,"
                    " :value, :value_num, :instrument, :saved_at, :source)"
                    " ON CONFLICT (couple_id, partner, week, item) DO UPDATE SET"
                    " value = excluded.value, value_num = excluded.value_num,"
                    " instrument = excluded.instrument, saved_at = excluded.saved_at,"
                    " source = excluded.source"
                ),
                list(upserts.values()),
            )
        return counts

    def answers(
        self,
        couple_ids: Iterable[str] | str | None = None,
        items: Iterable[str] | None = None,
        partner: str | None = None,
    ) -> pd.DataFrame:
        """Answers as a tidy frame, one row per answer.

        Columns: ``couple_id, partner, week`` (datetime64, the Monday), ``item, value``
        (text as stored), ``value_num`` (float for numeric items, else NaN),
        ``instrument, saved_at, source``.
        """
        a = answers_table
        query = sa.select(*[a.c[name] for name in ANSWER_COLUMNS])
        if isinstance(couple_ids, str):
            couple_ids = [couple_ids]
        if couple_ids is not None:
            query = query.where(a.c.couple_id.in_(list(couple_ids)))
        if items is not None:
            query = query.where(a.c.item.in_(list(items)))
        if partner is not None:
            query = query.where(a.c.partner == parse_partner(partner))
        query = query.order_by(a.c.couple_id, a.c.week, a.c.partner, a.c.item)
        frame = pd.DataFrame(self.read(query), columns=ANSWER_COLUMNS)
        frame["week"] = pd.to_datetime(frame["week"], format="%Y-%m-%d")
        frame["value_num"] = frame["value_num"].astype(float)
        return frame

    # Fast paths for judging a whole caseload: the DB-API cursor directly (SQLAlchemy
    # rows cost ~15 us each), only the columns judgement reads, only the weeks it needs.

    def _fetch(self, query: sa.Executable) -> list[tuple]:
        sql = str(query.compile(self._read_engine, compile_kwargs={"literal_binds": True}))

        def attempt() -> list[tuple]:
            raw = self._read_engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.execute(sql)
                return cursor.fetchall()
            finally:
                raw.close()

        # Exception: the raw driver's errors differ per database.
        return _retry_while_busy(attempt, Exception, "could not read the store")

    def answers_between(
        self,
        items: Iterable[str] | None,
        start: Any = None,
        end: Any = None,
        couple_ids: Iterable[str] | str | None = None,
    ) -> pd.DataFrame:
        """Answers (numbers only) of ``items`` (None: all) in weeks ``start`` to ``end``.

        Both ends are inclusive and optional; ``couple_ids`` narrows to some couples.
        Columns ``couple_id, partner, week`` (datetime64), ``item, value_num, instrument``.
        """
        a = answers_table
        query = sa.select(
            a.c.couple_id, a.c.partner, a.c.week, a.c.item, a.c.value_num, a.c.instrument
        )
        if items is not None:
            query = query.where(a.c.item.in_([str(i) for i in items]))
        if start is not None:
            query = query.where(a.c.week >= parse_date(start, "start").isoformat())
        if end is not None:
            query = query.where(a.c.week <= parse_date(end, "end").isoformat())
        if isinstance(couple_ids, str):
            couple_ids = [couple_ids]
        if couple_ids is not None:
            query = query.where(a.c.couple_id.in_([parse_couple_id(c) for c in couple_ids]))
        columns = ["couple_id", "partner", "week", "item", "value_num", "instrument"]
        frame = pd.DataFrame.from_records(self._fetch(query), columns=columns)
        frame["week"] = pd.to_datetime(frame["week"], format="%Y-%m-%d")
        frame["value_num"] = frame["value_num"].astype(float)
        return frame

    def answer_spans(self, items: Iterable[str] | None = None, until: Any = None) -> pd.DataFrame:
        """First and last answered week per couple and partner, over ``items`` (None: all).

        Only weeks up to ``until`` count when it is given. Reads the primary-key index only.
        """
        a = answers_table
        query = sa.select(
            a.c.couple_id, a.c.partner, sa.func.min(a.c.week), sa.func.max(a.c.week)
        ).group_by(a.c.couple_id, a.c.partner)
        if items is not None:
            query = query.where(a.c.item.in_([str(i) for i in items]))
        if until is not None:
            query = query.where(a.c.week <= parse_date(until, "until").isoformat())
        columns = ["couple_id", "partner", "first_week", "last_week"]
        frame = pd.DataFrame.from_records(self._fetch(query), columns=columns)
        for col in ("first_week", "last_week"):
            frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d")
        return frame

    def answer_history(self, couple_id: str) -> pd.DataFrame:
        """Every replaced value of a couple's answers, oldest first."""
        h = history_table
        query = sa.select(h).where(h.c.couple_id == couple_id).order_by(h.c.id)
        rows = self.read(query)
        return pd.DataFrame(rows, columns=[c.name for c in h.columns]).drop(columns="id")

    def answered_items(self, couple_id: str, partner: str, week: Any) -> dict[str, str]:
        """One partner's stored answers for one week, item -> value (for "already answered")."""
        a = answers_table
        query = sa.select(a.c.item, a.c.value).where(
            a.c.couple_id == couple_id,
            a.c.partner == parse_partner(partner),
            a.c.week == parse_week(week).isoformat(),
        )
        return {item: value for item, value in self.read(query)}

    # -- seasons -----------------------------------------------------------------------

    def save_seasons(self, seasons: Iterable[Season], source: str) -> dict[str, int]:
        """Add seasons, or update one with the same couple, partner, reason and start."""
        batch = list(seasons)
        return self.write(lambda conn: self._write_seasons(conn, batch, source))

    def _write_seasons(self, conn: Connection, batch: list[Season], source: str) -> dict[str, int]:
        counts = {"added": 0, "updated": 0, "couples_created": 0}
        for couple_id in sorted({s.couple_id for s in batch}):
            counts["couples_created"] += self._upsert_couple(conn, couple_id)
        s_t = seasons_table
        for s in batch:
            values = dict(
                planned_end=s.planned_end.isoformat(), agreed=s.agreed, note=s.note,
                saved_at=now_iso(), source=source,
            )  # fmt: skip
            key = (
                (s_t.c.couple_id == s.couple_id)
                & (s_t.c.partner == s.partner)
                & (s_t.c.reason == s.reason)
                & (s_t.c.start == s.start.isoformat())
            )
            if conn.execute(sa.select(s_t.c.season_id).where(key)).first() is None:
                conn.execute(
                    s_t.insert().values(
                        couple_id=s.couple_id,
                        partner=s.partner,
                        reason=s.reason,
                        start=s.start.isoformat(),
                        **values,
                    )  # fmt: skip
                )
                counts["added"] += 1
            else:
                conn.execute(s_t.update().where(key).values(**values))
                counts["updated"] += 1
        return counts

    def add_season(self, season: Season, source: str = "session workbook") -> int:
        """Declare a season; returns its id."""
        self.require_couple(season.couple_id)
        self.save_seasons([season], source)
        rows = self.read(
            sa.select(seasons_table.c.season_id).where(
                seasons_table.c.couple_id == season.couple_id,
                seasons_table.c.partner == season.partner,
                seasons_table.c.reason == season.reason,
                seasons_table.c.start == season.start.isoformat(),
            )
        )
        return int(rows[0][0])

    def update_season(self, season_id: int, **changes: Any) -> None:
        """Edit a season's planned end, agreement, note or closing date."""
        allowed = {"planned_end", "agreed", "note", "closed_on"}
        unknown = set(changes) - allowed
        if unknown:
            raise ValidationError(f"cannot change {', '.join(sorted(unknown))} of a season")
        current = self.seasons(season_id=season_id)
        if current.empty:
            raise ValidationError(f"no season {season_id}")
        row = current.iloc[0]
        merged = make_season(
            row.couple_id,
            row.partner,
            row.reason,
            row.start.date(),
            changes.get("planned_end", row.planned_end.date()),
            changes.get("agreed", bool(row.agreed)),
            changes.get("note", row.note),
        )
        values: dict[str, Any] = dict(
            planned_end=merged.planned_end.isoformat(), agreed=merged.agreed, note=merged.note,
            saved_at=now_iso(), source="session workbook",
        )  # fmt: skip
        if "closed_on" in changes:
            closed = changes["closed_on"]
            values["closed_on"] = (
                None if closed is None else parse_date(closed, "closed_on").isoformat()
            )
        self.write(
            lambda conn: conn.execute(
                seasons_table.update()
                .where(seasons_table.c.season_id == season_id)
                .values(**values)
            )
        )

    def close_season(self, season_id: int, on: Any) -> None:
        """End a season early (or on time): it covers no week after ``on``."""
        day = parse_date(on, "closed_on")
        self.update_season(season_id, closed_on=day)

    def seasons(
        self, couple_ids: Iterable[str] | str | None = None, season_id: int | None = None
    ) -> pd.DataFrame:
        """Seasons as a frame; ``start``, ``planned_end``, ``closed_on`` are datetime64."""
        s_t = seasons_table
        query = sa.select(*[s_t.c[name] for name in SEASON_COLUMNS])
        if isinstance(couple_ids, str):
            couple_ids = [couple_ids]
        if couple_ids is not None:
            query = query.where(s_t.c.couple_id.in_(list(couple_ids)))
        if season_id is not None:
            query = query.where(s_t.c.season_id == season_id)
        frame = pd.DataFrame(
            self.read(query.order_by(s_t.c.couple_id, s_t.c.start)), columns=SEASON_COLUMNS
        )
        for col in ("start", "planned_end", "closed_on"):
            frame[col] = pd.to_datetime(frame[col], format="%Y-%m-%d")
        frame["agreed"] = frame["agreed"].astype(bool)
        frame["season_id"] = frame["season_id"].astype(int)
        return frame

    # -- sessions ----------------------------------------------------------------------

    def add_session(self, couple_id: str, date: Any, notes: str = "", agreements: str = "") -> int:
        """Record the couple's next session; returns its number (1, 2, ...)."""
        couple_id = self.require_couple(couple_id)
        day = parse_date(date, "date")
        notes = parse_text(notes, "notes", 20_000)
        agreements = parse_text(agreements, "agreements", 20_000)

        def insert(conn: Connection) -> int:
            last = conn.execute(
                sa.select(sa.func.max(sessions_table.c.number)).where(
                    sessions_table.c.couple_id == couple_id
                )
            ).scalar()
            number = (last or 0) + 1
            conn.execute(
                sessions_table.insert().values(
                    couple_id=couple_id,
                    number=number,
                    date=day.isoformat(),
                    notes=notes,
                    agreements=agreements,
                    saved_at=now_iso(),
                )  # fmt: skip
            )
            return number

        return self.write(insert)

    def update_session(self, couple_id: str, number: int, **changes: Any) -> None:
        """Edit a session's notes or agreements."""
        unknown = set(changes) - {"notes", "agreements"}
        if unknown:
            raise ValidationError(f"cannot change {', '.join(sorted(unknown))} of a session")
        self.session(couple_id, number)
        values = {k: parse_text(v, k, 20_000) for k, v in changes.items()}
        values["saved_at"] = now_iso()
        self.write(
            lambda conn: conn.execute(
                sessions_table.update()
                .where(sessions_table.c.couple_id == couple_id, sessions_table.c.number == number)
                .values(**values)
            )
        )

    def sessions(self, couple_ids: Iterable[str] | str | None = None) -> pd.DataFrame:
        """Sessions as a frame; ``as_of`` is the Monday of the week holding the session date."""
        st = sessions_table
        query = sa.select(st.c.couple_id, st.c.number, st.c.date, st.c.notes, st.c.agreements)
        if isinstance(couple_ids, str):
            couple_ids = [couple_ids]
        if couple_ids is not None:
            query = query.where(st.c.couple_id.in_(list(couple_ids)))
        rows = self.read(query.order_by(st.c.couple_id, st.c.number))
        frame = pd.DataFrame(rows, columns=["couple_id", "number", "date", "notes", "agreements"])
        frame["number"] = frame["number"].astype(int)
        frame["date"] = pd.to_datetime(frame["date"], format="%Y-%m-%d")
        frame["as_of"] = frame["date"] - pd.to_timedelta(frame["date"].dt.day_of_week, unit="D")
        return frame[SESSION_COLUMNS]

    def session(self, couple_id: str, number: int) -> dict[str, Any]:
        """One session as a dict; raises :class:`UnknownSession`."""
        self.require_couple(couple_id)
        frame = self.sessions(couple_id)
        match = frame[frame["number"] == int(number)]
        if match.empty:
            raise UnknownSession(f"couple {couple_id} has no session {number}")
        return match.iloc[0].to_dict()


def session_week(date: Any) -> dt.date:
    """The week (its Monday) a session on ``date`` is judged as of."""
    return week_of(parse_date(date, "date"))
