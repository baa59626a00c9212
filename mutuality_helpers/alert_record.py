"""Alerts that need action, and their record: new, seen (by whom, when), resolved (with a note).

Two kinds of alert ask a therapist to act, not only to read (``docs/method.md``, "Alerts
that need action"):

- ``safety`` (urgent): a private safety answer that signals risk (one of an item's ``risk``
  choices in ``definitions/*.yaml``). It is recorded when the answer is saved, in the same
  transaction (:func:`raise_safety_alerts`), so it stays in the record even if the answer is
  replaced later: one alert per save that gives a risk answer, naming the private answers
  given in it, with the time they were given.
- ``silence``: no check-in from a partner for ``silence_weeks`` (:mod:`.alerts`). The
  judgement finds it; it is recorded here when a therapist first marks it. Its key names the
  partner's last check-in week, so one who checks in again and later falls silent again
  raises a new one.

An alert is named by its number once recorded (``12`` or ``#12``), and a silence alert not
yet recorded by its key (``silence:C001:B:2026-10-26``). States go ``new`` -> ``seen`` ->
``resolved``; resolving needs a note, and seeing may be skipped. Nothing is deleted: the
record keeps every alert and its state (only erasing the couple removes them).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .access import Access
from .changes import count_changes
from .exceptions import UnknownAlert, ValidationError
from .formatting import long_day, long_time, partner_name
from .instruments import find_item, get_instrument
from .schema import alerts_table
from .validation import parse_couple_id, parse_partner, parse_text, parse_week, shown

if TYPE_CHECKING:
    from .models import Answer
    from .store import Store

KINDS: tuple[str, ...] = ("safety", "silence")
STATES: tuple[str, ...] = ("new", "seen", "resolved")
#: States that still need action: what the caseload counts.
OPEN_STATES: tuple[str, ...] = ("new", "seen")
#: Notes are free text for the clinical record; names are short.
NOTE_LIMIT = 4000
BY_LIMIT = 80
RECORD_COLUMNS = [c.name for c in alerts_table.columns]


class ActionAlert(TypedDict):
    """One alert that needs action, as every view shows it (``mutuality alerts --json``)."""

    ref: str  # how to name it: "12" once recorded, else its key
    alert_id: int | None
    key: str
    couple_id: str
    kind: str  # "safety" (urgent) or "silence"
    urgent: bool
    partner: str | None
    week: str | None  # safety: the week answered; silence: the last check-in week
    instrument: str
    raised_at: str  # when the answer was given (ISO UTC), or the alert first recorded
    state: str  # new, seen or resolved
    seen_by: str | None
    seen_at: str | None
    resolved_by: str | None
    resolved_at: str | None
    note: str
    message: str
    answers: NotRequired[list[dict[str, str]]]  # safety: [{item, label, value, answer}]


# -- keys --------------------------------------------------------------------------------------


def safety_key(couple_id: str, partner: str, week: str, instrument: str) -> str:
    return f"safety:{couple_id}:{partner}:{week}:{instrument}"


def silence_key(couple_id: str, partner: str, last_week: str | None) -> str:
    """The key of a silence alert: the partner and their last check-in week (or "never")."""
    return f"silence:{couple_id}:{partner}:{last_week or 'never'}"


def parse_silence_key(key: str) -> dict[str, Any]:
    """``silence:COUPLE:PARTNER:WEEK`` into its parts; ValidationError if it is not one."""
    parts = str(key).strip().split(":")
    if len(parts) != 4 or parts[0] != "silence":
        raise ValidationError(
            f"alert {shown(key)} is neither an alert number nor a silence alert's key "
            "(silence:COUPLE:PARTNER:WEEK)"
        )
    week = None if parts[3] == "never" else parse_week(parts[3]).isoformat()
    return {
        "couple_id": parse_couple_id(parts[1]),
        "partner": parse_partner(parts[2]),
        "week": week,
    }


def parse_ref(ref: Any) -> int | str:
    """An alert reference: its number (``12``, ``#12``) or a silence alert's key."""
    text = str(ref).strip()
    number = text[1:] if text.startswith("#") else text
    if number.isdigit():
        return int(number)
    parse_silence_key(text)
    return text


# -- safety alerts: raised as the answers are saved ------------------------------------------


def raise_safety_alerts(conn: Connection, written: Sequence[Answer], stamp: str) -> int:
    """Record a ``safety`` alert for every partner's week whose saved answers signal risk.

    Called by the store inside the transaction that writes ``written`` (the answers added
    or changed, never the unchanged ones), so an answer and its alert land together or not
    at all. One alert per partner, week and instrument in this save, naming the private
    answers given in it; an open alert saying exactly the same is not raised twice.

    Returns
    -------
    int
        How many alerts were raised.
    """
    groups: dict[tuple[str, str, str, str], list[Answer]] = {}
    risky: set[tuple[str, str, str, str]] = set()
    for a in written:
        item = find_item(a.item)[1]
        if not item.private or a.value == "":
            continue
        key = (a.couple_id, a.partner, a.week.isoformat(), a.instrument)
        groups.setdefault(key, []).append(a)
        if item.signals_risk(a.value):
            risky.add(key)
    raised = 0
    t = alerts_table
    for couple_id, partner, week, instrument in sorted(risky):
        answers = ";".join(
            f"{a.item}={a.value}" for a in groups[(couple_id, partner, week, instrument)]
        )
        alert_key = safety_key(couple_id, partner, week, instrument)
        same = conn.execute(
            sa.select(t.c.alert_id).where(
                t.c.key == alert_key, t.c.answers == answers, t.c.state.in_(OPEN_STATES)
            )
        ).first()
        if same is not None:
            continue
        conn.execute(
            t.insert().values(
                key=alert_key,
                couple_id=couple_id,
                kind="safety",
                partner=partner,
                week=week,
                instrument=instrument,
                answers=answers,
                raised_at=stamp,
                state="new",
                note="",
            )  # fmt: skip
        )
        raised += 1
    return raised


def safety_answers(record: dict[str, Any]) -> list[dict[str, str]]:
    """A safety alert's answers for people: ``[{item, label, value, answer}]``."""
    out = []
    for pair in str(record.get("answers") or "").split(";"):
        if "=" not in pair:
            continue
        item_id, value = pair.split("=", 1)
        try:
            item = find_item(item_id)[1]
        except ValidationError:  # an item a practice has since removed
            out.append({"item": item_id, "label": item_id, "value": value, "answer": value})
            continue
        out.append(
            {
                "item": item_id,
                "label": item.label or item.wording,
                "value": value,
                "answer": item.choice_label(value),
            }
        )
    return out


def safety_message(record: dict[str, Any], names: dict[str, str] | None) -> str:
    """What a safety alert says to the therapist (never shown to a couple)."""
    try:
        form = get_instrument(record["instrument"]).title.lower()
    except Exception:  # noqa: BLE001 -- an instrument a practice has since removed
        form = str(record["instrument"])
    given = "; ".join(f"{a['label']} \u201c{a['answer']}\u201d" for a in safety_answers(record))
    return (
        f"Private safety check from {partner_name(names, record['partner'])} ({form}, week of "
        f"{long_day(record['week'])}), given {long_time(record['raised_at'])}: {given}."
    )


# -- the record ----------------------------------------------------------------------------------


def _by(raw: Any) -> str:
    text = parse_text(raw, "by", BY_LIMIT).strip()
    if not text:
        raise ValidationError("say who marks the alert (by: a name or initials)")
    if any(ch in text for ch in "\r\n\t"):
        raise ValidationError("by must be one line")
    return text


class AlertRecord(Access):
    """The record of alerts that need action (methods of :class:`~.store.Store`)."""

    def alert_records(
        self,
        couple_ids: Iterable[str] | str | None = None,
        open_only: bool = False,
        kinds: Iterable[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Recorded alerts as plain dicts (the columns of the ``alerts`` table), oldest first."""
        t = alerts_table
        query = sa.select(t)
        if couple_ids is not None:
            ids = [couple_ids] if isinstance(couple_ids, str) else list(couple_ids)
            query = query.where(t.c.couple_id.in_(ids))
        if open_only:
            query = query.where(t.c.state.in_(OPEN_STATES))
        if kinds is not None:
            query = query.where(t.c.kind.in_(list(kinds)))
        query = self.scoped(query, t.c.couple_id)
        return [dict(r._mapping) for r in self.read(query.order_by(t.c.alert_id))]

    def alert_record(self, alert_id: int) -> dict[str, Any]:
        """One recorded alert; :class:`UnknownAlert` when there is none with that number."""
        t = alerts_table
        query = self.scoped(sa.select(t).where(t.c.alert_id == int(alert_id)), t.c.couple_id)
        rows = self.read(query)
        if not rows:
            raise UnknownAlert(f"no alert #{alert_id} in the record")
        return dict(rows[0]._mapping)

    def mark_alert(
        self, ref: Any, state: str, by: Any, note: Any = "", at: str | None = None
    ) -> dict[str, Any]:
        """Mark an alert ``seen`` or ``resolved`` (with a note); returns its record.

        ``ref`` is an alert number, or a silence alert's key (recorded now if it is not yet).
        Seeing an alert already seen keeps who saw it first; a resolved alert stays resolved.

        Raises
        ------
        UnknownAlert
            For a number not in the record.
        ValidationError
            For a bad state, name, note or key, resolving without a note, or an alert
            already resolved.
        """
        from .store_answers import now_iso

        if state not in ("seen", "resolved"):
            raise ValidationError(f"an alert is marked seen or resolved, not {shown(state)}")
        who = _by(by)
        text = parse_text(note, "note", NOTE_LIMIT).strip()
        if state == "resolved" and not text:
            raise ValidationError("resolving an alert needs a note: what was done")
        stamp = at or now_iso()
        t = alerts_table
        parsed = parse_ref(ref)
        with self.atomic() as conn:
            if isinstance(parsed, int):
                record = self.alert_record(parsed)
            else:
                record = self._silence_record(conn, parsed, stamp)
            if record["state"] == "resolved":
                raise ValidationError(
                    f"alert #{record['alert_id']} was already resolved by {record['resolved_by']} "
                    f"on {long_time(record['resolved_at'])}"
                )
            values: dict[str, Any] = {}
            if record["seen_at"] is None:
                values.update(seen_by=who, seen_at=stamp)
            if state == "resolved":
                values.update(state="resolved", resolved_by=who, resolved_at=stamp, note=text)
            else:
                values["state"] = "seen"
                if text:
                    values["note"] = text
            conn.execute(t.update().where(t.c.alert_id == record["alert_id"]).values(**values))
            self.record_access(
                f"alert {state}", record["couple_id"], f"alert #{record['alert_id']}"
            )
            count_changes(conn, [record["couple_id"]])  # the report's urgent section changed
            return self.alert_record(record["alert_id"])

    def _silence_record(self, conn: Connection, key: str, stamp: str) -> dict[str, Any]:
        """The record of a silence alert by its key, made (state ``new``) if there is none."""
        t = alerts_table
        parts = parse_silence_key(key)
        self.require_couple(parts["couple_id"])  # type: ignore[attr-defined]
        found = conn.execute(
            sa.select(t.c.alert_id).where(t.c.key == key).order_by(t.c.alert_id.desc())
        ).first()
        if found is not None:
            return self.alert_record(found[0])
        result = conn.execute(
            t.insert().values(
                key=key,
                couple_id=parts["couple_id"],
                kind="silence",
                partner=parts["partner"],
                week=parts["week"],
                instrument="",
                answers="",
                raised_at=stamp,
                state="new",
                note="",
            )  # fmt: skip
        )
        inserted = result.inserted_primary_key
        assert inserted is not None  # an INSERT always has one
        return self.alert_record(int(inserted[0]))


# -- what needs action now -------------------------------------------------------------------------


def _view(record: dict[str, Any], message: str) -> ActionAlert:
    alert: ActionAlert = {
        "ref": str(record["alert_id"]) if record.get("alert_id") is not None else record["key"],
        "alert_id": record.get("alert_id"),
        "key": record["key"],
        "couple_id": record["couple_id"],
        "kind": record["kind"],
        "urgent": record["kind"] == "safety",
        "partner": record.get("partner"),
        "week": record.get("week"),
        "instrument": record.get("instrument") or "",
        "raised_at": record.get("raised_at") or "",
        "state": record.get("state") or "new",
        "seen_by": record.get("seen_by"),
        "seen_at": record.get("seen_at"),
        "resolved_by": record.get("resolved_by"),
        "resolved_at": record.get("resolved_at"),
        "note": record.get("note") or "",
        "message": message,
    }
    if record["kind"] == "safety":
        alert["answers"] = safety_answers(record)
    return alert


def safety_views(
    records: Iterable[dict[str, Any]], names: dict[str, dict[str, str]] | None = None
) -> list[ActionAlert]:
    """Recorded safety alerts as :class:`ActionAlert`, newest given first."""
    names = names or {}
    out = [
        _view(r, safety_message(r, names.get(r["couple_id"])))
        for r in records
        if r["kind"] == "safety"
    ]
    return sorted(out, key=lambda a: (a["raised_at"], a["alert_id"] or 0), reverse=True)


def with_silence_states(
    alerts: Sequence[Mapping[str, Any]], records: Iterable[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Judgement alerts with each silence alert's recorded state (``state``, ``alert_id``...)."""
    by_key: dict[str, dict[str, Any]] = {}
    for r in records:
        if r["kind"] == "silence":
            by_key[r["key"]] = r  # the newest record of a key wins (records come oldest first)
    out = []
    for given in alerts:
        alert = dict(given)
        key = alert.get("key")
        if alert.get("kind") == "silence" and isinstance(key, str):
            found = by_key.get(key)
            alert["state"] = found["state"] if found else "new"
            if found:
                alert.update(
                    alert_id=found["alert_id"], seen_by=found["seen_by"],
                    seen_at=found["seen_at"], resolved_by=found["resolved_by"],
                    resolved_at=found["resolved_at"], note=found["note"],
                )  # fmt: skip
        out.append(alert)
    return out


def silence_views(couple_id: str, alerts: Iterable[Mapping[str, Any]]) -> list[ActionAlert]:
    """The silence alerts of a summary (:func:`with_silence_states` applied) as
    :class:`ActionAlert`: what the workbook offers to mark."""
    out = []
    for a in alerts:
        if a.get("kind") != "silence" or not isinstance(a.get("key"), str):
            continue
        week = a["key"].rsplit(":", 1)[1]
        record = {
            "alert_id": a.get("alert_id"), "key": a["key"], "couple_id": couple_id,
            "kind": "silence", "partner": a.get("partner"),
            "week": None if week == "never" else week, "raised_at": "",
            "state": a.get("state", "new"), "seen_by": a.get("seen_by"),
            "seen_at": a.get("seen_at"), "resolved_by": a.get("resolved_by"),
            "resolved_at": a.get("resolved_at"), "note": a.get("note", ""),
        }  # fmt: skip
        out.append(_view(record, a["message"]))
    return out


def needing_action(
    store: Store,
    couple_ids: Sequence[str] | None = None,
    include_resolved: bool = False,
    today: Any = None,
) -> list[ActionAlert]:
    """Every alert that needs action, urgent first: recorded safety alerts, then silence
    alerts as judged today (with their recorded state).

    With ``include_resolved``, resolved ones too (the whole record of those couples).
    """
    from .analysis import judge
    from .formatting import display_names

    couples = store.couples()
    ids = list(couple_ids) if couple_ids is not None else couples["couple_id"].tolist()
    names = {
        r.couple_id: display_names(r.name_a, r.name_b)
        for r in couples.itertuples(index=False)
        if r.couple_id in set(ids)
    }
    records = store.alert_records(ids, open_only=not include_resolved)
    safety = safety_views(records, names)
    silence: list[ActionAlert] = []
    if ids:
        weeks = store.judged_weeks(ids, today)
        import pandas as pd

        as_of = pd.Series({c: pd.Timestamp(w) for c, w in weeks.items()})
        answers = store.answers_between(None, couple_ids=ids)
        j = judge(answers, store.seasons(ids), ids, as_of, names=names)
        found = j.alerts.loc[j.alerts["kind"] == "silence"] if len(j.alerts) else j.alerts
        every = store.alert_records(ids, kinds=["silence"])
        for couple_id in ids:
            mine = found.loc[found["couple_id"] == couple_id].to_dict(orient="records")
            for a in silence_views(couple_id, with_silence_states(mine, every)):
                if a["state"] != "resolved" or include_resolved:
                    silence.append(a)
        if include_resolved:
            current = {a["key"] for a in silence}
            silence += [
                _view(r, f"No check-in from {partner_name(names.get(r['couple_id']), r['partner'])}"
                      f" (last one for the week of {long_day(r['week'])}).")
                for r in every
                if r["key"] not in current
            ]  # fmt: skip
    return safety + silence
