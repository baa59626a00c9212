"""The store: couples, answers (with history), seasons, sessions, and which reports are due.

:class:`Store` is the one way in and out of the data. Where its parts live:

- :mod:`~mutuality_helpers.database`: opening (a damaged or foreign file is refused and
  never modified; the schema is migrated), ``with store.atomic():`` transactions, reads;
- :mod:`~mutuality_helpers.store_answers`: couples and answers;
- this module: seasons, sessions, and staleness (is a session's PDF report current? the
  change counter of :mod:`~mutuality_helpers.changes`).

Every change is one transaction (all of it or none of it), so two partners saving at once
both land and a crash mid-save leaves the store as it was. Reads return tidy pandas frames.
The records written are validated first, in :mod:`~mutuality_helpers.models`.
"""

from __future__ import annotations

import datetime as dt
import numbers
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import config
from .changes import count_changes, file_identity, recorded_reports, report_query
from .exceptions import (
    DuplicateSession,
    ReportError,
    UnknownSeason,
    UnknownSession,
    ValidationError,
)
from .models import Season, make_season
from .schema import (
    couples_table,
    reports_table,
    seasons_table,
    session_drafts_table,
    session_history_table,
    sessions_table,
)
from .store_answers import CouplesAndAnswers, frame, now_iso, of_couples
from .validation import parse_date, parse_text, week_of

if TYPE_CHECKING:
    import pandas as pd

SEASON_COLUMNS = [
    "season_id", "couple_id", "partner", "reason", "start", "planned_end",
    "agreed", "note", "closed_on",
]  # fmt: skip
SESSION_COLUMNS = ["couple_id", "number", "date", "as_of", "notes", "agreements"]
HISTORY_COLUMNS = [
    "couple_id", "number", "date", "notes", "agreements", "saved_at", "change", "changed_at",
    "source",
]  # fmt: skip
#: Free text of a session (notes, agreements): at most this many characters.
SESSION_TEXT_LIMIT = 20_000


class Store(CouplesAndAnswers):
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

    Raises
    ------
    StoreError
        For a damaged, foreign or newer-version store (left untouched).
    """

    # -- seasons -----------------------------------------------------------------------

    def save_seasons(self, seasons: Iterable[Season], source: str) -> dict[str, int]:
        """Add seasons, or update one with the same couple, partner, reason and start."""
        batch = list(seasons)
        counts = {"added": 0, "updated": 0}
        s_t = seasons_table
        with self.atomic() as conn:
            created = self._create_missing(s.couple_id for s in batch)
            changed: set[str] = set()
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
                found = conn.execute(
                    sa.select(s_t.c.planned_end, s_t.c.agreed, s_t.c.note).where(key)
                ).first()
                if found is None:
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
                    changed.add(s.couple_id)
                else:
                    conn.execute(s_t.update().where(key).values(**values))
                    counts["updated"] += 1
                    as_was = (found.planned_end, bool(found.agreed), found.note)
                    if as_was != (values["planned_end"], s.agreed, s.note):
                        changed.add(s.couple_id)
            count_changes(conn, changed)
        return {**counts, "couples_created": created}

    def add_season(self, season: Season, source: str = "session workbook") -> int:
        """Declare a season for a couple in the store; returns its id."""
        s_t = seasons_table
        with self.atomic():
            self.require_couple(season.couple_id)
            self.save_seasons([season], source)
            rows = self.read(
                sa.select(s_t.c.season_id).where(
                    s_t.c.couple_id == season.couple_id,
                    s_t.c.partner == season.partner,
                    s_t.c.reason == season.reason,
                    s_t.c.start == season.start.isoformat(),
                )
            )
        return int(rows[0][0])

    def update_season(self, season_id: int, **changes: Any) -> None:
        """Edit a season's planned end, agreement, note or closing date.

        Raises
        ------
        UnknownSeason
            When there is no season ``season_id``.
        ValidationError
            For a change that is not allowed or not valid (nothing is changed then).
        """
        unknown = set(changes) - {"planned_end", "agreed", "note", "closed_on"}
        if unknown:
            raise ValidationError(f"cannot change {', '.join(sorted(unknown))} of a season")
        with self.atomic() as conn:
            current = self.seasons(season_id=season_id)
            if current.empty:
                raise UnknownSeason(f"no season {season_id}")
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
                planned_end=merged.planned_end.isoformat(), agreed=merged.agreed,
                note=merged.note, saved_at=now_iso(), source="session workbook",
            )  # fmt: skip
            if "closed_on" in changes:
                closed = changes["closed_on"]
                values["closed_on"] = (
                    None if closed is None else parse_date(closed, "closed_on").isoformat()
                )
            conn.execute(
                seasons_table.update()
                .where(seasons_table.c.season_id == season_id)
                .values(**values)
            )
            count_changes(conn, [row.couple_id])

    def close_season(self, season_id: int, on: Any) -> None:
        """End a season early (or on time): it covers no week after ``on``."""
        self.update_season(season_id, closed_on=parse_date(on, "closed_on"))

    def seasons(
        self, couple_ids: Iterable[str] | str | None = None, season_id: int | None = None
    ) -> pd.DataFrame:
        """Seasons as a frame; ``start``, ``planned_end``, ``closed_on`` are datetime64."""
        s_t = seasons_table
        query = of_couples(
            sa.select(*[s_t.c[name] for name in SEASON_COLUMNS]), s_t.c.couple_id, couple_ids
        )
        if season_id is not None:
            query = query.where(s_t.c.season_id == season_id)
        query = self.scoped(query, s_t.c.couple_id)
        return frame(
            self.read(query.order_by(s_t.c.couple_id, s_t.c.start)),
            SEASON_COLUMNS,
            days=["start", "planned_end", "closed_on"],
            ints=["season_id"],
            flags=["agreed"],
        )

    # -- sessions ----------------------------------------------------------------------

    def add_session(
        self,
        couple_id: str,
        date: Any,
        notes: str = "",
        agreements: str = "",
        same_day: bool = False,
    ) -> int:
        """Record the couple's next session; returns its number (1, 2, ...).

        Numbers are never reused: after a deletion the next session takes a new number, so
        a report file or a note that names "session 3" always means the same session.

        Raises
        ------
        DuplicateSession
            When the couple already has a session on that date and ``same_day`` is not set
            (a second session the same day is recorded only when asked for).
        """
        couple_id = self.require_couple(couple_id)
        day = parse_date(date, "date")
        notes = parse_text(notes, "notes", SESSION_TEXT_LIMIT)
        agreements = parse_text(agreements, "agreements", SESSION_TEXT_LIMIT)
        st, ht = sessions_table, session_history_table
        with self.atomic() as conn:
            # Checked again inside the write: an erasure that committed a moment ago wins.
            self.require_couple(couple_id)
            if not same_day:
                self._refuse_same_day(conn, couple_id, day)
            numbers = [
                conn.execute(
                    sa.select(sa.func.max(t.c.number)).where(t.c.couple_id == couple_id)
                ).scalar()
                or 0
                for t in (st, ht)
            ]
            number = max(numbers) + 1
            conn.execute(
                st.insert().values(
                    couple_id=couple_id,
                    number=number,
                    date=day.isoformat(),
                    notes=notes,
                    agreements=agreements,
                    saved_at=now_iso(),
                )  # fmt: skip
            )
            self.record_access("session recorded", couple_id, f"session {number}")
            count_changes(conn, [couple_id])
        return int(number)

    @staticmethod
    def _refuse_same_day(
        conn: Any, couple_id: str, day: dt.date, other_than: int | None = None
    ) -> None:
        st = sessions_table
        query = sa.select(st.c.number).where(
            st.c.couple_id == couple_id, st.c.date == day.isoformat()
        )
        if other_than is not None:
            query = query.where(st.c.number != other_than)
        taken = conn.execute(query.order_by(st.c.number)).scalars().all()
        if taken:
            raise DuplicateSession(
                f"couple {couple_id} already has session {taken[0]} on {day.isoformat()}",
                couple_id,
                int(taken[0]),
                day,
            )

    def update_session(self, couple_id: str, number: int, **changes: Any) -> bool:
        """Edit a session's notes or agreements (see :meth:`edit_session`)."""
        unknown = set(changes) - {"notes", "agreements"}
        if unknown:
            raise ValidationError(f"cannot change {', '.join(sorted(unknown))} of a session")
        return self.edit_session(couple_id, number, **changes)

    def edit_session(
        self,
        couple_id: str,
        number: int,
        date: Any = None,
        notes: str | None = None,
        agreements: str | None = None,
        same_day: bool = False,
        source: str = "session workbook",
    ) -> bool:
        """Change a session's date, notes or agreements; the version it replaces is kept.

        The session as it was goes to ``session_history`` (``change = "edited"``). A change
        that changes nothing writes nothing. Returns True when something changed.

        Raises
        ------
        UnknownSession
            When the couple has no session ``number``.
        DuplicateSession
            When the new date is another session's and ``same_day`` is not set.
        ValidationError
            For a bad date or text (nothing is changed then).
        """
        values: dict[str, Any] = {}
        if date is not None:
            values["date"] = parse_date(date, "date").isoformat()
        for name, text in (("notes", notes), ("agreements", agreements)):
            if text is not None:
                values[name] = parse_text(text, name, SESSION_TEXT_LIMIT)
        with self.atomic() as conn:
            old = self._session_row(conn, couple_id, number)
            changed = {k: v for k, v in values.items() if old[k] != v}
            if not changed:
                return False
            if "date" in changed and not same_day:
                self._refuse_same_day(
                    conn, old["couple_id"], parse_date(changed["date"], "date"), number
                )
            self._keep_version(conn, old, "edited", source)
            st = sessions_table
            conn.execute(
                st.update()
                .where(st.c.couple_id == old["couple_id"], st.c.number == number)
                .values(**changed, saved_at=now_iso())
            )
            self.record_access(
                "session edited",
                old["couple_id"],
                f"session {number}: {', '.join(sorted(changed))}",
            )
            count_changes(conn, [old["couple_id"]])
        return True

    def delete_session(
        self, couple_id: str, number: int, source: str = "session workbook"
    ) -> dict[str, Any]:
        """Delete a session; it is kept in ``session_history`` (``change = "deleted"``).

        Its number is not given to a later session. Returns the session as it was
        (``couple_id, number, date, notes, agreements, saved_at``; dates as ISO text).
        """
        with self.atomic() as conn:
            old = self._session_row(conn, couple_id, number)
            self._keep_version(conn, old, "deleted", source)
            st, dr = sessions_table, session_drafts_table
            conn.execute(
                st.delete().where(st.c.couple_id == old["couple_id"], st.c.number == number)
            )
            conn.execute(
                dr.delete().where(dr.c.couple_id == old["couple_id"], dr.c.number == number)
            )
            self.record_access("session deleted", old["couple_id"], f"session {number}")
            count_changes(conn, [old["couple_id"]])
        return old

    def _session_row(self, conn: Any, couple_id: str, number: Any) -> dict[str, Any]:
        couple_id = self.require_couple(couple_id)
        if isinstance(number, bool) or not isinstance(number, numbers.Integral):
            raise ValidationError(f"session number {number!r} must be a whole number")
        number = int(number)
        st = sessions_table
        row = conn.execute(
            sa.select(st).where(st.c.couple_id == couple_id, st.c.number == number)
        ).first()
        if row is None:
            raise UnknownSession(f"couple {couple_id} has no session {number}")
        return dict(row._mapping)

    @staticmethod
    def _keep_version(conn: Any, old: dict[str, Any], change: str, source: str) -> None:
        conn.execute(
            session_history_table.insert().values(
                couple_id=old["couple_id"],
                number=old["number"],
                date=old["date"],
                notes=old["notes"],
                agreements=old["agreements"],
                saved_at=old["saved_at"],
                change=change,
                changed_at=now_iso(),
                source=source,
            )
        )

    def session_history(self, couple_id: str, number: int | None = None) -> pd.DataFrame:
        """The couple's earlier session versions and deleted sessions, oldest change first.

        Columns: ``couple_id, number, date`` (datetime64), ``notes, agreements, saved_at``
        (when that version was saved), ``change`` (``edited`` or ``deleted``), ``changed_at``
        (when it stopped being current, ISO UTC) and ``source``.
        """
        couple_id = self.require_couple(couple_id)
        ht = session_history_table
        query = sa.select(*[ht.c[name] for name in HISTORY_COLUMNS]).where(
            ht.c.couple_id == couple_id
        )
        if number is not None:
            query = query.where(ht.c.number == int(number))
        rows = self.read(self.scoped(query, ht.c.couple_id).order_by(ht.c.id))
        return frame(rows, HISTORY_COLUMNS, days=["date"], ints=["number"])

    # -- drafts: notes typed in the workbook, not saved into their session yet -------------

    def save_draft(self, couple_id: str, number: int, notes: str, agreements: str) -> None:
        """Keep what was typed for session ``number`` (0: the session not recorded yet)."""
        couple_id = self.require_couple(couple_id)
        values = dict(
            notes=parse_text(notes, "notes", SESSION_TEXT_LIMIT),
            agreements=parse_text(agreements, "agreements", SESSION_TEXT_LIMIT),
            saved_at=now_iso(),
        )
        dr = session_drafts_table
        key = (dr.c.couple_id == couple_id) & (dr.c.number == int(number))
        with self.atomic() as conn:
            if conn.execute(sa.select(dr.c.number).where(key)).first() is None:
                conn.execute(dr.insert().values(couple_id=couple_id, number=int(number), **values))
            else:
                conn.execute(dr.update().where(key).values(**values))
            self.record_access("session draft", couple_id, f"session {int(number) or 'next'}")

    def draft(self, couple_id: str, number: int) -> dict[str, str] | None:
        """The unsaved notes of session ``number`` (``notes, agreements, saved_at``), or None."""
        dr = session_drafts_table
        query = sa.select(dr.c.notes, dr.c.agreements, dr.c.saved_at).where(
            dr.c.couple_id == couple_id, dr.c.number == int(number)
        )
        rows = self.read(self.scoped(query, dr.c.couple_id))
        return dict(rows[0]._mapping) if rows else None

    def clear_draft(self, couple_id: str, number: int) -> None:
        """Forget the unsaved notes of session ``number`` (they were saved, or discarded)."""
        dr = session_drafts_table
        with self.atomic() as conn:
            couple_id = self.require_couple(couple_id)
            conn.execute(dr.delete().where(dr.c.couple_id == couple_id, dr.c.number == int(number)))

    def session_week(self, couple_id: str, date: Any) -> dt.date:
        """The week (its Monday) the couple's session on ``date`` is judged as of.

        :func:`~mutuality_helpers.weeks.judged_week`: the week holding the date once both
        check-ins for it are in, else the last complete week before it.
        """
        return self.judged_weeks([couple_id], date)[couple_id]

    def sessions(self, couple_ids: Iterable[str] | str | None = None) -> pd.DataFrame:
        """Sessions as a frame; ``as_of`` is the week each is judged as of.

        That week is :func:`~mutuality_helpers.weeks.judged_week` of the session's date:
        the week holding it when both partners' check-ins for it are in, else the last
        complete week before it.
        """
        import pandas as pd

        from .weeks import judged_week  # pandas: not needed to open a store

        st = sessions_table
        query = of_couples(
            sa.select(st.c.couple_id, st.c.number, st.c.date, st.c.notes, st.c.agreements),
            st.c.couple_id,
            couple_ids,
        )
        rows = self.read(self.scoped(query, st.c.couple_id).order_by(st.c.couple_id, st.c.number))
        columns = ["couple_id", "number", "date", "notes", "agreements"]
        sessions = frame(rows, columns, days=["date"], ints=["number"])
        days = [d.date() for d in sessions["date"]]
        partners = self.checkin_partners(
            sorted(set(sessions["couple_id"])), [week_of(d) for d in days]
        )
        sessions["as_of"] = pd.to_datetime(
            [
                judged_week(day, partners.get((couple_id, week_of(day)), set()))
                for couple_id, day in zip(sessions["couple_id"], days, strict=True)
            ]
        ).astype(sessions["date"].dtype)
        return sessions[SESSION_COLUMNS]

    def session(self, couple_id: str, number: int) -> dict[str, Any]:
        """One session as a dict; raises :class:`UnknownSession`."""
        self.require_couple(couple_id)
        frame = self.sessions(couple_id)
        match = frame[frame["number"] == int(number)]
        if match.empty:
            raise UnknownSession(f"couple {couple_id} has no session {number}")
        return dict(match.iloc[0].to_dict())

    # -- staleness: which session reports are due (see :mod:`~mutuality_helpers.changes`) ------

    def change_count(self, couple_id: str) -> int:
        """The couple's change count: raised by every write that changes its record.

        Raises
        ------
        UnknownCouple
            When there is no such couple.
        """
        couple_id = self.require_couple(couple_id)
        c = couples_table
        rows = self.read(sa.select(c.c.change_count).where(c.c.couple_id == couple_id))
        return int(rows[0][0])

    def record_report(
        self, couple_id: str, session: int, changes: int, path: str | os.PathLike[str]
    ) -> None:
        """Record the report of ``session`` written to ``path`` from the record at ``changes``.

        ``changes`` is :meth:`change_count` read when the render started. Not a change to
        the couple's record: the count stays as it is.
        """
        identity = file_identity(Path(path))
        if identity is None:
            raise ReportError(f"{couple_id} session {session}: no report at {path} to record")
        r = reports_table
        key = (r.c.couple_id == couple_id) & (r.c.number == int(session))
        values = dict(change_count=int(changes), file=identity, rendered_at=now_iso())
        with self.atomic() as conn:
            self.require_couple(couple_id)  # erased meanwhile: nothing to record
            if conn.execute(sa.select(r.c.number).where(key)).first() is None:
                conn.execute(r.insert().values(couple_id=couple_id, number=int(session), **values))
            else:
                conn.execute(r.update().where(key).values(**values))

    def report_is_current(self, couple_id: str, session: int) -> bool:
        """True when the session's PDF is the one last rendered and nothing changed since.

        That is: the report was recorded (:meth:`record_report`) at the couple's change
        count of now, and the file at its path is still the file that render wrote.
        """
        return self._report_states([couple_id], [int(session)]) == {(couple_id, int(session)): True}

    def due_sessions(
        self, couple_ids: Sequence[str] | None = None, force: bool = False
    ) -> list[tuple[str, int]]:
        """``(couple_id, session)`` of every recorded session without a current report.

        With ``force``, every recorded session (of ``couple_ids``, else of every couple).
        """
        states = self._report_states(couple_ids, None, force)
        return [key for key, current in states.items() if not current]

    def _report_states(
        self,
        couple_ids: Sequence[str] | None,
        only: Sequence[int] | None = None,
        force: bool = False,
    ) -> dict[tuple[str, int], bool]:
        """Whether each recorded session's report is current, in couple and session order.

        ``only`` narrows to those session numbers; with ``force``, none counts as current.
        """
        ids = list(couple_ids) if couple_ids is not None else None
        st, c = sessions_table, couples_table
        query = of_couples(
            sa.select(st.c.couple_id, st.c.number, c.c.change_count).join(
                c, c.c.couple_id == st.c.couple_id
            ),
            st.c.couple_id,
            ids,
        )
        if only is not None:
            query = query.where(st.c.number.in_([int(n) for n in only]))
        query = self.scoped(query, st.c.couple_id)  # report --all: the user's couples only
        rows = self.read(query.order_by(st.c.couple_id, st.c.number))
        recorded = recorded_reports(self.read(report_query(ids))) if not force else {}
        states = {}
        for couple_id, number, count in rows:
            key = (str(couple_id), int(number))
            report = recorded.get(key)
            states[key] = (
                report is not None
                and report[0] == int(count)
                and file_identity(config.report_path(key[0], key[1], self.data_dir)) == report[1]
            )
        return states
