"""The store's couples and answers: saving with history, and reading tidy frames.

These are :class:`~mutuality_helpers.store.Store` methods (this class is one of its bases).
Every saved answer records when it was saved and from where (``source``: which form, or
which import file); a replaced value goes to ``answer_history``.

An erased couple's id is tombstoned (``erased_couples``, :func:`erased_digest`): creating a
couple with that id, which every save and import does for a couple it does not know, is
refused inside the same write transaction as the save (:class:`ErasedCouple`), so a save
that races the erasure, or comes from a form still open in a browser, cannot bring the
couple back. :meth:`CouplesAndAnswers.reuse_id` is the explicit way to use the id again.

Each couple keeps one link generation per partner (signed into that partner's links, see
:mod:`~mutuality_helpers.links`); :meth:`CouplesAndAnswers.revoke_links` raises it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .access import no_such_couple
from .alert_record import AlertRecord, raise_safety_alerts
from .changes import count_changes
from .exceptions import ErasedCouple, LinkError, UnknownCouple
from .formatting import display_names
from .instruments import CHECKIN, find_item
from .models import Answer, make_couple
from .roles import PARTNER
from .schema import answers_table, couples_table, erased_table, history_table
from .validation import (
    PARTNERS,
    parse_couple_id,
    parse_date,
    parse_partner,
    parse_week,
    week_of,
)

if TYPE_CHECKING:
    import pandas as pd

ANSWER_COLUMNS = [
    "couple_id", "partner", "week", "item", "value", "value_num",
    "instrument", "saved_at", "source",
]  # fmt: skip
FAST_COLUMNS = ["couple_id", "partner", "week", "item", "value_num", "instrument"]

# Within one statement, so that SQLite and PostgreSQL both replace an answer in place.
_UPSERT_ANSWER = sa.text(
    "INSERT INTO answers (couple_id, partner, week, item, value, value_num,"
    " instrument, saved_at, source) VALUES (:couple_id, :partner, :week, :item,"
    " :value, :value_num, :instrument, :saved_at, :source)"
    " ON CONFLICT (couple_id, partner, week, item) DO UPDATE SET"
    " value = excluded.value, value_num = excluded.value_num,"
    " instrument = excluded.instrument, saved_at = excluded.saved_at,"
    " source = excluded.source"
)


def now_iso() -> str:
    """The time now, UTC, as ISO text to the second (what ``saved_at`` holds)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def erased_digest(couple_id: str) -> str:
    """What the tombstone of an erased couple id holds: a SHA-256 digest, not the id."""
    return hashlib.sha256(f"mutuality-erased:{couple_id}".encode()).hexdigest()


#: The link generation columns of ``couples``, per partner.
GENERATION_COLUMNS = {"A": "link_generation_a", "B": "link_generation_b"}


def of_couples(
    query: sa.Select[Any], column: Any, couple_ids: Iterable[str] | str | None
) -> sa.Select[Any]:
    """``query`` narrowed to ``couple_ids``: one id, several, or None (every couple)."""
    if couple_ids is None:
        return query
    return query.where(column.in_([couple_ids] if isinstance(couple_ids, str) else couple_ids))


def by_key_prefix(query: sa.Select[Any], couple_ids: Iterable[str] | str | None) -> sa.Select[Any]:
    """``query`` on answers narrowed to ``couple_ids`` (None: every couple), as key seeks.

    The answers' primary key starts ``(couple_id, partner, week)``: naming the couples and
    both partners lets SQLite and PostgreSQL seek each couple's weeks in that index instead
    of scanning every answer of the store (17 M rows in a large practice) for a week range.
    """
    a = answers_table
    if couple_ids is None:
        every = sa.select(couples_table.c.couple_id).scalar_subquery()
        query = query.where(a.c.couple_id.in_(every))
    else:
        query = of_couples(query, a.c.couple_id, couple_ids)
    return query.where(a.c.partner.in_(PARTNERS))


def weekly_rows(items: list[str]) -> sa.Select[Any]:
    """Answers of ``items`` read a week to a row: per item, whether answered and its number.

    A caseload's window is about a million answers; read one to a row, the driver makes
    five strings for each (couple, partner, week, item, instrument), most of the read's
    time. Grouped by couple, partner and week in the store, the same answers come as about
    a sixth of the rows (:func:`unfold_weekly_rows` turns them back; an item's instrument
    is the one that defines it).
    """
    a = answers_table
    columns: list[Any] = []
    for item in items:
        # FILTER, not CASE: each aggregate steps only over its own item's rows (a fifth less
        # of the caseload's read in SQLite, benchmarks/bench_judgement.py).
        mine = a.c.item == item
        columns.append(sa.func.count().filter(mine))
        columns.append(sa.func.max(a.c.value_num).filter(mine))
    return sa.select(a.c.couple_id, a.c.partner, a.c.week, *columns)


def unfold_weekly_rows(rows: Sequence[Any], items: list[str]) -> pd.DataFrame:
    """:func:`weekly_rows`' rows as one row per answer (``FAST_COLUMNS``), items in order."""
    import numpy as np
    import pandas as pd

    head = frame([r[:3] for r in rows], ["couple_id", "partner", "week"], days=["week"])
    k = len(items)
    # Per row and item: (answered count, number); NULL (no answer, or no number) is NaN.
    cells = np.array([r[3:] for r in rows], dtype=float).reshape(len(rows), k, 2)
    answered = cells[:, :, 0].ravel() > 0
    row = np.repeat(np.arange(len(rows)), k)[answered]
    item = np.tile(np.arange(k), len(rows))[answered]
    instrument = np.array([find_item(i)[0].id for i in items], dtype=object)
    return pd.DataFrame(
        {
            "couple_id": head["couple_id"].to_numpy()[row],
            "partner": head["partner"].to_numpy()[row],
            "week": head["week"].to_numpy()[row],
            "item": np.array(items, dtype=object)[item],
            "value_num": cells[:, :, 1].ravel()[answered],
            "instrument": instrument[item],
        }
    )


def frame(
    rows: Sequence[Any],
    columns: list[str],
    days: Sequence[str] = (),
    floats: Sequence[str] = (),
    ints: Sequence[str] = (),
    flags: Sequence[str] = (),
) -> pd.DataFrame:
    """Rows read from the store as a frame, with ``days`` (ISO text) as datetime64.

    pandas is imported here, when a frame is first made: opening a store and listing the
    couples on the command line need none of it (``benchmarks/bench_cli.py``).
    """
    import pandas as pd

    out = pd.DataFrame.from_records(rows, columns=columns)
    for col in days:
        out[col] = pd.to_datetime(out[col], format="%Y-%m-%d")
    for col, kind in [*((c, float) for c in floats), *((c, int) for c in ints)]:
        out[col] = out[col].astype(kind)
    for col in flags:
        out[col] = out[col].astype(bool)
    return out


class CouplesAndAnswers(AlertRecord):
    """Couples and their answers (methods of :class:`~mutuality_helpers.store.Store`)."""

    # -- couples -----------------------------------------------------------------------

    def add_couple(self, couple_id: str, name_a: str = "", name_b: str = "") -> bool:
        """Create a couple if it is new; set display names that are given. True if created.

        A couple a therapist creates is theirs. Another therapist's couple is refused as
        :class:`UnknownCouple` (exactly as if it did not exist), and a partner's form
        creates none.
        """
        couple = make_couple(couple_id, name_a, name_b)
        with self.atomic() as conn:
            exists = conn.execute(
                sa.select(couples_table.c.couple_id).where(
                    couples_table.c.couple_id == couple.couple_id
                )
            ).first()
            if exists is None:
                self._refuse_erased(couple.couple_id)
                if self.identity.role == PARTNER:
                    raise no_such_couple(couple.couple_id)
                conn.execute(
                    couples_table.insert().values(
                        couple_id=couple.couple_id,
                        name_a=couple.name_a,
                        name_b=couple.name_b,
                        created_at=now_iso(),
                        therapist=self.owner_for_new_couples(),
                    )  # fmt: skip
                )
                return True
            if not self.may_see(couple.couple_id):
                raise no_such_couple(couple.couple_id)
            changes = {k: v for k, v in (("name_a", couple.name_a), ("name_b", couple.name_b)) if v}
            if changes:
                result = conn.execute(
                    couples_table.update()
                    .where(
                        couples_table.c.couple_id == couple.couple_id,
                        sa.or_(*(couples_table.c[k] != v for k, v in changes.items())),
                    )
                    .values(**changes)
                )
                if result.rowcount:  # the names printed on the reports changed
                    count_changes(conn, [couple.couple_id])
            return False

    def _tombstone(self, couple_id: str) -> Any:
        """The tombstone row of ``couple_id`` (inside a transaction: its view), or None."""
        e_t = erased_table
        rows = self.read(
            sa.select(e_t.c.erased_at, e_t.c.link_generation).where(
                e_t.c.id_digest == erased_digest(couple_id)
            )
        )
        return rows[0] if rows else None

    def _refuse_erased(self, couple_id: str) -> None:
        """Raise :class:`ErasedCouple` when ``couple_id`` was erased (call inside the write)."""
        tomb = self._tombstone(couple_id)
        if tomb is not None:
            raise ErasedCouple(
                f"couple {couple_id} was erased on {str(tomb.erased_at)[:10]}: nothing is "
                f"written for it (to use the id for a new couple: `mutuality reuse {couple_id}`)"
            )

    def is_erased(self, couple_id: str) -> bool:
        """True when ``couple_id`` was erased and not reused since."""
        return self._tombstone(parse_couple_id(couple_id)) is not None

    def reuse_id(self, couple_id: str, name_a: str = "", name_b: str = "") -> dict[str, int]:
        """Create a new, empty couple under an erased id (the explicit step erasure asks for).

        Its link generations start above the erased couple's, so no link handed out to the
        erased couple opens the new couple's forms. Returns the new generations.

        Raises
        ------
        UnknownCouple
            When the id was not erased (a couple with it exists, or it was never used).
        """
        couple = make_couple(couple_id, name_a, name_b)
        with self.atomic() as conn:
            tomb = self._tombstone(couple.couple_id)
            if tomb is None or self.identity.role == PARTNER:
                raise UnknownCouple(
                    f"{couple.couple_id} is not an erased couple id; nothing to reuse"
                )
            generation = int(tomb.link_generation) + 1
            conn.execute(
                erased_table.delete().where(
                    erased_table.c.id_digest == erased_digest(couple.couple_id)
                )
            )
            conn.execute(
                couples_table.insert().values(
                    couple_id=couple.couple_id,
                    name_a=couple.name_a,
                    name_b=couple.name_b,
                    created_at=now_iso(),
                    therapist=self.owner_for_new_couples(),
                    **{column: generation for column in GENERATION_COLUMNS.values()},
                )  # fmt: skip
            )
            self.record_access("reuse", couple.couple_id, "an erased id, a new empty couple")
        return {"A": generation, "B": generation}

    # -- link generations ----------------------------------------------------------------

    def link_generations(self, couple_id: str) -> dict[str, int]:
        """Each partner's current link generation, ``{"A": n, "B": m}``.

        Raises
        ------
        UnknownCouple
            When there is no such couple (an erased one included).
        """
        couple_id = parse_couple_id(couple_id)
        c = couples_table
        query = sa.select(c.c.link_generation_a, c.c.link_generation_b).where(
            c.c.couple_id == couple_id
        )
        rows = self.read(self.scoped(query, c.c.couple_id))
        if not rows:
            raise no_such_couple(couple_id)
        return {"A": int(rows[0][0]), "B": int(rows[0][1])}

    def revoke_links(self, couple_id: str, partner: str | None = None) -> dict[str, int]:
        """Retire every link handed out so far to ``partner`` (A or B; None: both).

        Raises the partner's link generation; links made from now on carry the new one.
        Returns the generations after the change.
        """
        partners = ["A", "B"] if partner is None else [parse_partner(partner)]
        with self.atomic() as conn:
            couple_id = self.require_couple(couple_id)
            c = couples_table
            conn.execute(
                c.update()
                .where(c.c.couple_id == couple_id)
                .values({GENERATION_COLUMNS[p]: c.c[GENERATION_COLUMNS[p]] + 1 for p in partners})
            )
            return self.link_generations(couple_id)

    def check_link_live(self, link: dict[str, Any]) -> None:
        """Raise :class:`LinkError` unless the parsed partner ``link`` still opens a form.

        Inside a write transaction (a form's save) this reads that transaction's view, so a
        save through a link revoked or erased a moment before is refused, not written.
        """
        from .weeks import today

        expires = link.get("expires")
        if expires is not None and expires < today():
            raise LinkError("it has expired")
        try:
            current = self.link_generations(link["couple_id"])[link["partner"]]
        except UnknownCouple:
            raise LinkError("it is no longer in use") from None
        if current != link.get("generation"):
            raise LinkError("it is no longer in use")

    def _create_missing(self, couple_ids: Iterable[str]) -> int:
        """Create every couple of ``couple_ids`` not in the store yet; how many were new."""
        return sum(self.add_couple(couple_id) for couple_id in sorted(set(couple_ids)))

    def couple_ids(self) -> list[str]:
        """The ids of the couples this store's user may see (a supervisor: every couple)."""
        c = couples_table
        query = self.scoped(sa.select(c.c.couple_id), c.c.couple_id).order_by(c.c.couple_id)
        return [r[0] for r in self.read(query)]

    def all_couple_ids(self) -> list[str]:
        """Every couple's id, whoever's (for telling files apart: never shown to a user)."""
        c = couples_table
        return [r[0] for r in self.read(sa.select(c.c.couple_id).order_by(c.c.couple_id))]

    def get_couple(self, couple_id: str) -> dict[str, str]:
        """The couple's id and display names (a name not given shows as "Partner A" / "B").

        Raises
        ------
        UnknownCouple
            When there is no such couple.
        """
        c = couples_table
        query = self.scoped(sa.select(c).where(c.c.couple_id == couple_id), c.c.couple_id)
        rows = self.read(query)
        if not rows:
            self._refuse_erased(couple_id)
            raise no_such_couple(couple_id)
        row = rows[0]._mapping
        names = display_names(row["name_a"], row["name_b"])
        return {"couple_id": row["couple_id"], "name_a": names["A"], "name_b": names["B"]}

    def require_couple(self, couple_id: str) -> str:
        """``couple_id`` checked and known; raises ValidationError or UnknownCouple."""
        couple_id = parse_couple_id(couple_id)
        self.get_couple(couple_id)
        return couple_id

    def couple_rows(self) -> list[dict[str, Any]]:
        """Every couple this store's user may see, as plain values: ``couple_id, name_a,
        name_b`` (as stored), ``weeks_answered``, ``last_answer`` (ISO text, or None) and
        ``therapist`` (None: nobody's yet)."""
        c, a = couples_table, answers_table
        # Scoped inside too: a therapist's counts read their couples' answers only.
        counted = sa.select(
            a.c.couple_id,
            sa.func.count(sa.distinct(a.c.week)).label("weeks_answered"),
            sa.func.max(a.c.week).label("last_answer"),
        )
        stats = self.scoped(counted, a.c.couple_id).group_by(a.c.couple_id).subquery()
        query = (
            sa.select(
                c.c.couple_id,
                c.c.name_a,
                c.c.name_b,
                sa.func.coalesce(stats.c.weeks_answered, 0).label("weeks_answered"),
                stats.c.last_answer,
                c.c.therapist,
            )
            .select_from(c.outerjoin(stats, stats.c.couple_id == c.c.couple_id))
            .order_by(c.c.couple_id)
        )
        return [dict(row._mapping) for row in self.read(self.scoped(query, c.c.couple_id))]

    def couple_names(self) -> pd.DataFrame:
        """Every couple's ``couple_id, name_a, name_b`` (as stored), by id; no answer is read."""
        c = couples_table
        query: sa.Select[Any] = sa.select(c.c.couple_id, c.c.name_a, c.c.name_b).order_by(
            c.c.couple_id
        )
        query = self.scoped(query, c.c.couple_id)
        return frame(self.fetch(query), ["couple_id", "name_a", "name_b"])

    def couples(self) -> pd.DataFrame:
        """Every couple: display names as stored, weeks answered, last answered week."""
        columns = ["couple_id", "name_a", "name_b", "weeks_answered", "last_answer"]
        rows = [[r[c] for c in columns] for r in self.couple_rows()]
        return frame(rows, columns, days=["last_answer"], ints=["weeks_answered"])

    # -- saving answers ------------------------------------------------------------------

    def save_answers(
        self, answers: Iterable[Answer], source: str, link: dict[str, Any] | None = None
    ) -> dict[str, int]:
        """Write validated answers in one transaction (latest wins; replaced values go to history).

        ``link`` is the parsed partner link a form was opened with: the save is refused
        (:class:`LinkError`, nothing written) when that link expired or was revoked, or its
        couple erased, since the form opened. A save for an erased couple is refused
        (:class:`ErasedCouple`) with or without a link.

        Returns
        -------
        dict
            ``{"added": n, "replaced": n, "unchanged": n, "couples_created": n}``
        """
        batch = list(answers)
        with self.atomic() as conn:
            counts = {"added": 0, "replaced": 0, "unchanged": 0}
            if link is not None:
                for couple_id in {a.couple_id for a in batch}:
                    self._refuse_erased(couple_id)
                self.check_link_live(link)
            created = self._create_missing(a.couple_id for a in batch)
            if batch:
                counts = self._write_answers(conn, batch, source)
            return {**counts, "couples_created": created}

    @staticmethod
    def _write_answers(conn: Connection, batch: list[Answer], source: str) -> dict[str, int]:
        counts = {"added": 0, "replaced": 0, "unchanged": 0}
        stamp = now_iso()
        a_t = answers_table
        existing: dict[tuple[str, str, str, str], tuple[str, str, str]] = {}
        weeks: dict[str, set[str]] = {}
        for a in batch:
            weeks.setdefault(a.couple_id, set()).add(a.week.isoformat())
        for couple_id, its_weeks in weeks.items():
            # Only the weeks being written: a save holds the write lock while it reads, and a
            # couple's whole history is thousands of rows a one-week save never needs.
            rows = conn.execute(
                sa.select(
                    a_t.c.partner, a_t.c.week, a_t.c.item, a_t.c.value, a_t.c.saved_at, a_t.c.source
                ).where(a_t.c.couple_id == couple_id, a_t.c.week.in_(sorted(its_weeks)))
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
            conn.execute(_UPSERT_ANSWER, list(upserts.values()))
            # A private answer that signals risk raises its urgent alert in this transaction.
            written = {(a.couple_id, a.partner, a.week.isoformat(), a.item): a for a in batch}
            raise_safety_alerts(conn, [written[k] for k in upserts], stamp)
            count_changes(conn, {key[0] for key in upserts})
        return counts

    # -- reading answers -----------------------------------------------------------------

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
        query = of_couples(
            sa.select(*[a.c[name] for name in ANSWER_COLUMNS]), a.c.couple_id, couple_ids
        )
        if items is not None:
            query = query.where(a.c.item.in_(list(items)))
        if partner is not None:
            query = query.where(a.c.partner == parse_partner(partner))
        query = self.scoped(query, a.c.couple_id)
        query = query.order_by(a.c.couple_id, a.c.week, a.c.partner, a.c.item)
        return frame(self.read(query), ANSWER_COLUMNS, days=["week"], floats=["value_num"])

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
        The fast read path for judging a whole caseload (see :meth:`fetch`).
        """
        a = answers_table
        wanted = None if items is None else sorted({str(i) for i in items})
        if wanted is None:
            query = sa.select(*[a.c[name] for name in FAST_COLUMNS])
        else:
            query = weekly_rows(wanted).where(a.c.item.in_(wanted))
        if start is not None:
            query = query.where(a.c.week >= parse_date(start, "start").isoformat())
        if end is not None:
            query = query.where(a.c.week <= parse_date(end, "end").isoformat())
        if couple_ids is not None:
            ids = [couple_ids] if isinstance(couple_ids, str) else couple_ids
            query = by_key_prefix(query, [parse_couple_id(c) for c in ids])
        elif start is not None or end is not None:
            query = by_key_prefix(query, None)
        query = self.scoped(query, a.c.couple_id)
        if wanted is None:
            return frame(self.fetch(query), FAST_COLUMNS, days=["week"], floats=["value_num"])
        # The key's order: SQLite groups as it walks the index, with no sort.
        group = [a.c.couple_id, a.c.partner, a.c.week]
        return unfold_weekly_rows(self.fetch(query.group_by(*group).order_by(*group)), wanted)

    def answer_spans(
        self,
        items: Iterable[str] | None = None,
        until: Any = None,
        couple_ids: Iterable[str] | None = None,
    ) -> pd.DataFrame:
        """First and last answered week per couple and partner, over ``items`` (None: all).

        Only weeks up to ``until`` count when it is given, only ``couple_ids`` when given.
        Two seeks per couple and partner in the primary-key index (the first and the last
        matching key), however many weeks each has answered: a grouped ``min``/``max`` would
        read every answer in the store.
        """
        a = answers_table
        couple = couples_table.c.couple_id
        partner = sa.union_all(
            *(sa.select(sa.literal(p).label("partner")) for p in PARTNERS)
        ).subquery("partners")

        def end_week(order: Any) -> Any:
            found = sa.select(a.c.week).where(
                a.c.couple_id == couple, a.c.partner == partner.c.partner
            )
            if items is not None:
                found = found.where(a.c.item.in_([str(i) for i in items]))
            if until is not None:
                found = found.where(a.c.week <= parse_date(until, "until").isoformat())
            return found.order_by(order(a.c.week)).limit(1).scalar_subquery()

        ends = sa.select(
            couple.label("couple_id"),
            partner.c.partner,
            end_week(sa.asc).label("first_week"),
            end_week(sa.desc).label("last_week"),
        )
        spans = self.scoped(of_couples(ends, couple, couple_ids), couple).subquery("spans")
        query = (
            sa.select(spans)
            .where(spans.c.first_week.is_not(None))
            .order_by(spans.c.couple_id, spans.c.partner)
        )
        columns = ["couple_id", "partner", "first_week", "last_week"]
        return frame(self.fetch(query), columns, days=["first_week", "last_week"])

    def checkin_partners(
        self, couple_ids: Iterable[str] | str | None, weeks: Iterable[Any]
    ) -> dict[tuple[str, dt.date], set[str]]:
        """The partners with a weekly check-in answer, per ``(couple_id, week)`` asked about.

        What :func:`~mutuality_helpers.weeks.judged_week` needs: are a week's check-ins in?
        Only weeks with at least one check-in appear.
        """
        a = answers_table
        wanted = sorted({parse_date(w, "week").isoformat() for w in weeks})
        if not wanted:
            return {}
        query = by_key_prefix(
            sa.select(a.c.couple_id, a.c.week, a.c.partner)
            .distinct()
            .where(a.c.instrument == CHECKIN, a.c.week.in_(wanted)),
            couple_ids,
        )
        query = self.scoped(query, a.c.couple_id)
        out: dict[tuple[str, dt.date], set[str]] = {}
        for couple_id, week, partner in self.fetch(query):
            out.setdefault((couple_id, dt.date.fromisoformat(week)), set()).add(partner)
        return out

    def judged_weeks(self, couple_ids: Sequence[str], day: Any = None) -> dict[str, dt.date]:
        """The week each couple is judged as of on ``day`` (default: today).

        :func:`~mutuality_helpers.weeks.judged_week` per couple: the week holding ``day``
        once both check-ins for it are in, else the last complete week before it.
        """
        from .weeks import judged_week, today

        day = today() if day is None else parse_date(day, "date")
        week = week_of(day)
        partners = self.checkin_partners(list(couple_ids), [week])
        return {c: judged_week(day, partners.get((c, week), set())) for c in couple_ids}

    def answer_history(self, couple_id: str) -> pd.DataFrame:
        """Every replaced value of a couple's answers, oldest first."""
        h = history_table
        query = self.scoped(sa.select(h).where(h.c.couple_id == couple_id), h.c.couple_id)
        query = query.order_by(h.c.id)
        return frame(self.read(query), [c.name for c in h.columns]).drop(columns="id")

    def answered_items(self, couple_id: str, partner: str, week: Any) -> dict[str, str]:
        """One partner's stored answers for one week, item -> value (for "already answered")."""
        a = answers_table
        query = sa.select(a.c.item, a.c.value).where(
            a.c.couple_id == couple_id,
            a.c.partner == parse_partner(partner),
            a.c.week == parse_week(week).isoformat(),
        )
        return {item: value for item, value in self.read(self.scoped(query, a.c.couple_id))}
