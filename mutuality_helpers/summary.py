"""The summary: one couple's judgement as the JSON-able dict ``mutuality summary --json`` prints.

:mod:`~mutuality_helpers.analysis` judges; this module reads the store and turns the
judgement into a :class:`Summary`, with the change since the last session and the
inventory scores. The TypedDicts below are that contract, field by field; the command
line, the session workbook, the charts and the PDF report all read it.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict, cast

import pandas as pd

from .alert_record import ActionAlert, safety_views, with_silence_states
from .analysis import judge, judge_domains, weekly_shares
from .formatting import display_names_of, iso_day
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS, Instrument
from .mutuality_index import mutuality_index, personal_work
from .scoring import ReliableChange, inventory_scores, reliable_change
from .thresholds import Thresholds
from .validation import parse_couple_id
from .weeks import as_week, window_start

if TYPE_CHECKING:
    from .store import Store

#: Figures keep six decimals: exact enough to check, free of float noise (0.30000000000000004).
#: Display code rounds for people (see :mod:`~mutuality_helpers.formatting`).
DIGITS = 6


class DomainSummary(TypedDict):
    """One share domain over the window."""

    status: str  # insufficient_data, chronic, drifting, seasonal or balanced
    carried_by: str | None  # "A"/"B": who carried more (chronic, drifting, seasonal)
    share_a: float | None  # A's consensus share over the window, percent
    perception_gap: float | None  # A's view of A's share minus B's, percentage points
    view_a: float | None  # A's share as A sees it, over the weeks both answered
    view_b: float | None  # A's share as B sees it, over the same weeks
    label: str
    weeks_answered: int
    both_answered_weeks: int
    one_sided_weeks: int
    imbalanced_weeks: int
    covered_weeks: int
    uncovered_weeks: dict[str, int]  # {"A": n, "B": n}: uncovered weeks each carried more


class Alert(TypedDict):
    """One alert, in plain language (``kind`` is one of :data:`alerts.ALERT_KINDS`).

    A ``silence`` alert needs action: it carries its ``key`` and, read through the store, its
    ``state`` (new, seen, resolved) and, once recorded, ``alert_id``, ``seen_by``... .
    """

    kind: str
    domain: str | None
    partner: str | None
    message: str
    domains: NotRequired[list[str]]
    weeks: NotRequired[int]
    season_id: NotRequired[int]
    key: NotRequired[str]
    state: NotRequired[str]
    alert_id: NotRequired[int]
    seen_by: NotRequired[str | None]
    seen_at: NotRequired[str | None]
    resolved_by: NotRequired[str | None]
    resolved_at: NotRequired[str | None]
    note: NotRequired[str]


class PartnerWork(TypedDict):
    """One partner's personal work (0-4) over the window."""

    self: float | None  # their own rating
    by_partner: float | None  # their partner's rating of them
    score: float | None  # the mean of the two that exist
    ratings: int


class PersonalWork(TypedDict):
    A: PartnerWork
    B: PartnerWork
    lower: float | None  # the lower partner's score: what the index counts


class InventoryScore(TypedDict):
    """A partner's latest inventory score (0-100) and its change (see :mod:`scoring`)."""

    score: float | None
    week: str
    previous_score: float | None
    previous_week: str | None
    change: float | None
    method: str | None  # "jacobson_truax", "raw", or None without an earlier score
    rci: float | None
    reliable: bool | None
    label: str


class DomainChange(TypedDict):
    status_then: str
    status_now: str
    share_a_then: float | None
    share_a_now: float | None
    share_a_change: float | None


class SessionChange(TypedDict):
    """The judgement now against the judgement as of the previous session's week."""

    session: int
    date: str
    as_of: str
    mutuality_index_then: float | None
    mutuality_index_now: float | None
    mutuality_index_change: float | None
    domains: dict[str, DomainChange]


class Summary(TypedDict):
    """One couple's judgement (the ``--json`` shape)."""

    couple_id: str
    as_of: str  # the evaluated week (its Monday), YYYY-MM-DD
    window_weeks: int
    window_start: str
    names: dict[str, str]  # display names, {"A": ..., "B": ...}
    domains: dict[str, DomainSummary]
    mutuality_index: float | None  # 0-100, higher is more mutual
    personal_work: PersonalWork
    alerts: list[Alert]
    # Urgent, private safety alerts (therapist only; never in anything a couple sees).
    urgent: list[ActionAlert]
    thresholds: dict[str, float]
    change_since_last_session: SessionChange | None
    inventory: dict[str, InventoryScore | None]


def _num(value: Any, digits: int = DIGITS) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else round(f, digits)


def _alert_dicts(alerts: pd.DataFrame, couple_id: str) -> list[Alert]:
    if alerts.empty:
        return []
    rows = alerts.loc[alerts["couple_id"] == couple_id]
    out: list[Alert] = []
    for r in rows.to_dict(orient="records"):
        item: Alert = {
            "kind": r["kind"],
            "domain": r["domain"] if isinstance(r["domain"], str) else None,
            "partner": r["partner"] if isinstance(r["partner"], str) else None,
            "message": r["message"],
        }
        if isinstance(r.get("domains"), list):
            item["domains"] = r["domains"]
        if r.get("weeks") is not None and not pd.isna(r["weeks"]):
            item["weeks"] = int(r["weeks"])
        if r.get("season_id") is not None and not pd.isna(r["season_id"]):
            item["season_id"] = int(r["season_id"])
        if isinstance(r.get("key"), str):
            item["key"] = r["key"]
        out.append(item)
    return out


def _domain_dicts(domains: pd.DataFrame, couple_id: str) -> dict[str, DomainSummary]:
    out: dict[str, DomainSummary] = {}
    # Plain dicts once, rather than one pandas lookup per field.
    rows = domains.xs(couple_id, level="couple_id").to_dict(orient="index")
    for domain in SHARE_DOMAINS:
        r = rows[domain]
        out[domain] = {
            "status": str(r["status"]),
            "carried_by": r["carried_by"] if isinstance(r["carried_by"], str) else None,
            "share_a": _num(r["share_a"]),
            "perception_gap": _num(r["perception_gap"]),
            # A's share as each partner sees it, over the weeks both answered.
            "view_a": _num(r["view_a"]),
            "view_b": _num(r["view_b"]),
            "label": DOMAIN_LABELS[domain],
            "weeks_answered": int(r["weeks_answered"]),
            "both_answered_weeks": int(r["both_answered_weeks"]),
            "one_sided_weeks": int(r["one_sided_weeks"]),
            "imbalanced_weeks": int(r["imbalanced_weeks"]),
            "covered_weeks": int(r["covered_weeks"]),
            "uncovered_weeks": {"A": int(r["uncovered_a"]), "B": int(r["uncovered_b"])},
        }
    return out


def _personal_dict(personal: pd.DataFrame, couple_id: str) -> PersonalWork:
    rows = personal.xs(couple_id, level="couple_id").to_dict(orient="index")
    work: dict[str, PartnerWork] = {
        partner: {
            "self": _num(rows[partner]["self"]),
            "by_partner": _num(rows[partner]["by_partner"]),
            "score": _num(rows[partner]["score"]),
            "ratings": int(rows[partner]["ratings"]),
        }
        for partner in ("A", "B")
    }
    a, b = work["A"]["score"], work["B"]["score"]
    return {"A": work["A"], "B": work["B"], "lower": None if a is None or b is None else min(a, b)}


def _inventory_dict(
    answers: pd.DataFrame,
    couple_id: str,
    as_of: pd.Timestamp,
    previous_as_of: pd.Timestamp | None,
    instrument: Instrument | None,
) -> dict[str, InventoryScore | None]:
    scores = inventory_scores(answers.loc[answers["couple_id"] == couple_id], instrument)
    # A handful of administrations: plain records (sorted by partner, week) from here on.
    records = scores.loc[scores["week"] <= as_of].to_dict(orient="records")
    out: dict[str, InventoryScore | None] = {}
    for partner in ("A", "B"):
        mine = [r for r in records if r["partner"] == partner]
        if not mine:
            out[partner] = None
            continue
        latest = mine[-1]
        if previous_as_of is not None:
            earlier = [r for r in mine if r["week"] <= previous_as_of]
        else:
            earlier = mine[:-1]
        before = earlier[-1] if earlier else None
        change: ReliableChange
        if before is not None and before["week"] == latest["week"]:
            change = {"change": None, "method": None, "rci": None, "reliable": None,
                      "label": "no new inventory since the last session"}  # fmt: skip
        else:
            change = reliable_change(
                None if before is None else float(before["score"]),
                float(latest["score"]),
                instrument,
            )
        out[partner] = {
            "score": _num(latest["score"]),
            "week": iso_day(latest["week"]),
            "previous_score": None if before is None else _num(before["score"]),
            "previous_week": None if before is None else iso_day(before["week"]),
            "change": change["change"],
            "method": change["method"],
            "rci": change["rci"],
            "reliable": change["reliable"],
            "label": change["label"],
        }
    return out


def summarize_frames(
    answers: pd.DataFrame,
    seasons: pd.DataFrame,
    couple_id: str,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    names: dict[str, str] | None = None,
    sessions: pd.DataFrame | None = None,
    instrument: Instrument | None = None,
    weekly: pd.DataFrame | None = None,
) -> Summary:
    """:func:`summarize` over frames already read (pure; see :func:`summarize`).

    ``as_of`` None here means the couple's latest answered week (a pure function knows no
    today); the views pass the week :func:`view_week` picks. ``urgent`` is left empty:
    :func:`with_record` adds the record of alerts from the store.

    ``weekly`` is the couple's :func:`~mutuality_helpers.analysis.weekly_shares` under the
    same thresholds, when the caller needs it too (the charts do): it is computed once.
    """
    t = thresholds or Thresholds()
    answers = answers.loc[answers["couple_id"] == couple_id]
    seasons = seasons.loc[seasons["couple_id"] == couple_id] if len(seasons) else seasons
    names = display_names_of(names)
    if weekly is None:
        weekly = weekly_shares(answers, seasons, t)
    j = judge(answers, seasons, [couple_id], as_of, t, {couple_id: names}, weekly=weekly)
    week = j.as_of[couple_id]
    summary: Summary = {
        "couple_id": couple_id,
        "as_of": iso_day(week),
        "window_weeks": t.window_weeks,
        "window_start": iso_day(window_start(week, t.window_weeks)),
        "names": dict(names),
        "domains": _domain_dicts(j.domains, couple_id),
        "mutuality_index": _num(j.index.get(couple_id)),
        "personal_work": _personal_dict(j.personal, couple_id),
        "alerts": _alert_dicts(j.alerts, couple_id),
        "urgent": [],
        "thresholds": asdict(t),
        "change_since_last_session": None,
        "inventory": {},
    }
    previous = None
    if sessions is not None and len(sessions):
        mine = sessions.loc[(sessions["couple_id"] == couple_id) & (sessions["as_of"] < week)]
        if len(mine):
            previous = mine.sort_values("as_of").iloc[-1]
    summary["change_since_last_session"] = _change(answers, weekly, couple_id, summary, previous, t)
    summary["inventory"] = _inventory_dict(
        answers, couple_id, week, None if previous is None else previous["as_of"], instrument
    )
    return summary


def _change(
    answers: pd.DataFrame,
    weekly: pd.DataFrame,
    couple_id: str,
    now: Summary,
    previous: pd.Series | None,
    t: Thresholds,
) -> SessionChange | None:
    """Judgement now against the judgement as of the previous session's week."""
    if previous is None:
        return None
    # The weekly shares do not depend on as_of: judge the earlier window from the same rows.
    then_as_of = pd.Series([previous["as_of"]], index=pd.Index([couple_id], dtype=object))
    then_domains_frame = judge_domains(weekly, then_as_of, t)
    then_personal = personal_work(answers, then_as_of, t)
    then_domains = _domain_dicts(then_domains_frame, couple_id)
    then_index = _num(mutuality_index(then_domains_frame, then_personal, t).get(couple_id))
    now_index = now["mutuality_index"]
    domains: dict[str, DomainChange] = {}
    for d in SHARE_DOMAINS:
        a, b = then_domains[d]["share_a"], now["domains"][d]["share_a"]
        domains[d] = {
            "status_then": then_domains[d]["status"],
            "status_now": now["domains"][d]["status"],
            "share_a_then": a,
            "share_a_now": b,
            "share_a_change": None if a is None or b is None else round(b - a, DIGITS),
        }
    return {
        "session": int(previous["number"]),
        "date": iso_day(previous["date"]),
        "as_of": iso_day(previous["as_of"]),
        "mutuality_index_then": then_index,
        "mutuality_index_now": now_index,
        "mutuality_index_change": (
            None
            if then_index is None or now_index is None
            else round(now_index - then_index, DIGITS)
        ),
        "domains": domains,
    }


def view_week(store: Store, couple_id: str, as_of: Any = None, today: Any = None) -> pd.Timestamp:
    """The week a view of one couple judges: the week holding ``as_of`` when given, else
    :func:`~mutuality_helpers.weeks.judged_week` of today (default
    :func:`~mutuality_helpers.weeks.today`)."""
    if as_of is not None:
        return as_week(as_of)
    return pd.Timestamp(store.judged_weeks([couple_id], today)[couple_id])


def with_record(
    summary: Summary,
    records: list[dict[str, Any]],
    until: Any = None,
) -> Summary:
    """``summary`` with the record of its alerts that need action (see :mod:`.alert_record`).

    Silence alerts get their state. ``urgent`` gets the couple's safety alerts: as of today
    (``until`` None) every one not yet resolved; as of a past week (a report, ``--as-of``)
    those given for weeks up to ``until``, open ones and those of the window, with their
    state now.
    """
    names = {summary["couple_id"]: summary["names"]}
    summary["alerts"] = cast(list[Alert], with_silence_states(summary["alerts"], records))
    safety = safety_views(records, names)
    if until is None:
        summary["urgent"] = [a for a in safety if a["state"] != "resolved"]
    else:
        end, start = iso_day(until), summary["window_start"]
        summary["urgent"] = [
            a
            for a in safety
            if (a["week"] or "") <= end and (a["state"] != "resolved" or (a["week"] or "") >= start)
        ]
    return summary


def summarize(
    store: Store,
    couple_id: str,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    today: Any = None,
) -> Summary:
    """The judgement of one couple as a JSON-serialisable dict (the ``--json`` shape).

    Parameters
    ----------
    store
        An open :class:`~mutuality_helpers.store.Store`.
    couple_id
        The couple; :class:`~mutuality_helpers.exceptions.UnknownCouple` if absent.
    as_of
        Any date in the evaluated week; None for today: the week holding today once both
        check-ins are in, else the last complete week (:func:`~.weeks.judged_week`).
    today
        The date taken as today (default :func:`~mutuality_helpers.weeks.today`).

    Returns
    -------
    Summary
        ``couple_id, as_of, window_weeks, domains {id: {status, carried_by, share_a,
        perception_gap, ...}}, mutuality_index, alerts [{kind, domain, partner, message,
        ...}]`` plus ``urgent`` (the private safety alerts), ``window_start, names,
        personal_work, change_since_last_session, inventory, thresholds`` (field by field:
        :class:`Summary`).
    """
    couple = store.get_couple(parse_couple_id(couple_id))  # UnknownCouple if absent
    couple_id = couple["couple_id"]
    answers = store.answers_between(None, couple_ids=couple_id)
    return summarize_read(
        store, couple, answers, store.seasons(couple_id), as_of, thresholds, today
    )


def summarize_read(
    store: Store,
    couple: dict[str, str],
    answers: pd.DataFrame,
    seasons: pd.DataFrame,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    today: Any = None,
    weekly: pd.DataFrame | None = None,
) -> Summary:
    """:func:`summarize` of frames the caller has read already (``couple``: ``get_couple``)."""
    couple_id = couple["couple_id"]
    week = view_week(store, couple_id, as_of, today)
    summary = summarize_frames(
        answers, seasons, couple_id, week, thresholds,
        names={"A": couple["name_a"], "B": couple["name_b"]},
        sessions=store.sessions(couple_id), weekly=weekly,
    )  # fmt: skip
    return with_record(summary, store.alert_records(couple_id), None if as_of is None else week)
