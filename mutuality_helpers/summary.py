"""Summaries: a judgement turned into the JSON-able summary, the caseload table and text.

:mod:`~mutuality_helpers.analysis` judges; this module only reads and presents what it
judged: :func:`summarize` (one couple, DESIGN.md's ``--json`` shape, with the change since
the last session and the inventory scores), :func:`caseload` (every couple, worst first)
and :func:`format_summary` (the plain-text table ``mutuality summary`` prints).
"""

from __future__ import annotations

import math
from dataclasses import asdict
from typing import Any

import pandas as pd

from .analysis import (
    CHECKIN,
    JUDGED_ITEMS,
    ONE_WEEK,
    Thresholds,
    as_week,
    judge,
    judge_domains,
    mutuality_index,
    personal_work,
    weekly_shares,
)
from .formatting import iso_day
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS, Instrument, get_instrument
from .scoring import inventory_scores, reliable_change
from .validation import parse_couple_id

#: Worst first, for sorting a caseload.
STATUS_SEVERITY: dict[str, int] = {
    "chronic": 4,
    "drifting": 3,
    "insufficient_data": 2,
    "seasonal": 1,
    "balanced": 0,
}
STATUS_LABELS: dict[str, str] = {
    "insufficient_data": "not enough answers",
    "chronic": "chronic",
    "drifting": "drifting",
    "seasonal": "seasonal (agreed)",
    "balanced": "balanced",
}

#: Figures keep six decimals: exact enough to check, free of float noise (0.30000000000000004).
#: Display code rounds for people (see format_summary, the report, the notebooks).
DIGITS = 6


def _num(value: Any, digits: int = DIGITS) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else round(f, digits)


def _alert_dicts(alerts: pd.DataFrame, couple_id: str) -> list[dict[str, Any]]:
    if alerts.empty:
        return []
    rows = alerts.loc[alerts["couple_id"] == couple_id]
    out = []
    for r in rows.to_dict(orient="records"):
        item = {
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
        out.append(item)
    return out


def _domain_dicts(domains: pd.DataFrame, couple_id: str) -> dict[str, dict[str, Any]]:
    out = {}
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


def _personal_dict(personal: pd.DataFrame, couple_id: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    rows = personal.xs(couple_id, level="couple_id").to_dict(orient="index")
    for partner in ("A", "B"):
        r = rows[partner]
        out[partner] = {
            "self": _num(r["self"]),
            "by_partner": _num(r["by_partner"]),
            "score": _num(r["score"]),
            "ratings": int(r["ratings"]),
        }
    scores = [out[p]["score"] for p in ("A", "B")]
    out["lower"] = None if None in scores else min(scores)
    return out


def _inventory_dict(
    answers: pd.DataFrame,
    couple_id: str,
    as_of: pd.Timestamp,
    previous_as_of: pd.Timestamp | None,
    instrument: Instrument | None,
) -> dict[str, Any]:
    scores = inventory_scores(answers.loc[answers["couple_id"] == couple_id], instrument)
    # A handful of administrations: plain records (sorted by partner, week) from here on.
    records = scores.loc[scores["week"] <= as_of].to_dict(orient="records")
    out: dict[str, Any] = {}
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
            **change,
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
) -> dict[str, Any]:
    """:func:`summarize` over frames already read (pure; see :func:`summarize`).

    ``weekly`` is the couple's :func:`~mutuality_helpers.analysis.weekly_shares` under the
    same thresholds, when the caller needs it too (the charts do): it is computed once.
    """
    t = thresholds or Thresholds()
    answers = answers.loc[answers["couple_id"] == couple_id]
    seasons = seasons.loc[seasons["couple_id"] == couple_id] if len(seasons) else seasons
    names = names or {"A": "Partner A", "B": "Partner B"}
    if weekly is None:
        weekly = weekly_shares(answers, seasons, t)
    j = judge(answers, seasons, [couple_id], as_of, t, {couple_id: names}, weekly=weekly)
    week = j.as_of[couple_id]
    summary: dict[str, Any] = {
        "couple_id": couple_id,
        "as_of": iso_day(week),
        "window_weeks": t.window_weeks,
        "window_start": iso_day(week - (t.window_weeks - 1) * ONE_WEEK),
        "names": dict(names),
        "domains": _domain_dicts(j.domains, couple_id),
        "mutuality_index": _num(j.index.get(couple_id)),
        "personal_work": _personal_dict(j.personal, couple_id),
        "alerts": _alert_dicts(j.alerts, couple_id),
        "thresholds": asdict(t),
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
    now: dict[str, Any],
    previous: pd.Series | None,
    t: Thresholds,
) -> dict[str, Any] | None:
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
    domains = {}
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


def summarize(
    store: Any,
    couple_id: str,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """The judgement of one couple as a JSON-serialisable dict (DESIGN.md's ``--json`` shape).

    Parameters
    ----------
    store
        An open :class:`~mutuality_helpers.store.Store`.
    couple_id
        The couple; :class:`~mutuality_helpers.exceptions.UnknownCouple` if absent.
    as_of
        Any date in the evaluated week; None for the couple's latest answered week.

    Returns
    -------
    dict
        ``couple_id, as_of, window_weeks, domains {id: {status, carried_by, share_a,
        perception_gap, ...}}, mutuality_index, alerts [{kind, domain, partner, message,
        ...}]`` plus ``window_start, names, personal_work, change_since_last_session,
        inventory, thresholds``.
    """
    couple = store.get_couple(parse_couple_id(couple_id))  # UnknownCouple if absent
    couple_id = couple["couple_id"]
    week = None if as_of is None else as_week(as_of)
    return summarize_frames(
        store.answers_between(None, couple_ids=couple_id),
        store.seasons(couple_id),
        couple_id,
        week,
        thresholds,
        names={"A": couple["name_a"], "B": couple["name_b"]},
        sessions=store.sessions(couple_id),
    )


def caseload_frames(
    answers: pd.DataFrame,
    seasons: pd.DataFrame,
    couples: pd.DataFrame,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    checkins: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """:func:`caseload` over frames already read (pure; arguments as for :func:`judge`)."""
    t = thresholds or Thresholds()
    ids = couples["couple_id"].tolist()
    names = {
        r.couple_id: {"A": r.name_a or "Partner A", "B": r.name_b or "Partner B"}
        for r in couples.itertuples(index=False)
    }
    j = judge(answers, seasons, ids, as_of, t, names, checkins)
    status = j.domains["status"].unstack("domain").reindex(index=ids, columns=list(SHARE_DOMAINS))
    carried = (
        j.domains["carried_by"].unstack("domain").reindex(index=ids, columns=list(SHARE_DOMAINS))
    )
    frame = pd.DataFrame({"couple_id": ids})
    frame["name_a"] = [names[c]["A"] for c in ids]
    frame["name_b"] = [names[c]["B"] for c in ids]
    frame["as_of"] = j.as_of.reindex(ids).to_numpy()
    for d in SHARE_DOMAINS:
        frame[d] = status[d].to_numpy()
    for d in SHARE_DOMAINS:
        frame[f"{d}_carried_by"] = carried[d].to_numpy()
    lower = j.personal["score"].groupby(level="couple_id").min(skipna=False)
    frame["personal_work"] = lower.reindex(ids).round(DIGITS).to_numpy()
    frame["mutuality_index"] = j.index.reindex(ids).round(DIGITS).to_numpy()
    alert_counts = j.alerts.groupby("couple_id").size() if len(j.alerts) else pd.Series(dtype=int)
    frame["alerts"] = alert_counts.reindex(ids).fillna(0).astype(int).to_numpy()
    severity = status.apply(lambda col: col.map(STATUS_SEVERITY))
    frame["chronic"] = (status == "chronic").sum(axis=1).to_numpy()
    frame["drifting"] = (status == "drifting").sum(axis=1).to_numpy()
    frame["worst"] = severity.max(axis=1).map({v: k for k, v in STATUS_SEVERITY.items()}).to_numpy()
    # Worst first: chronic domains, then drifting, then alerts, then the lowest index.
    frame = frame.sort_values(
        ["chronic", "drifting", "alerts", "mutuality_index", "couple_id"],
        ascending=[False, False, False, True, True],
        na_position="first",
        kind="stable",
    )
    return frame.reset_index(drop=True)


def caseload(store: Any, as_of: Any = None, thresholds: Thresholds | None = None) -> pd.DataFrame:
    """Every couple at a glance, worst first.

    Returns
    -------
    pandas.DataFrame
        One row per couple: ``couple_id, name_a, name_b, as_of``, the status per share
        domain (one column per domain id), ``<domain>_carried_by``, ``personal_work``
        (the lower partner's, 0-4), ``mutuality_index``, ``alerts`` (count),
        ``chronic``/``drifting`` (domain counts) and ``worst`` (the worst status).
    """
    t = thresholds or Thresholds()
    couples = store.couples()
    ids = couples["couple_id"].tolist()
    until = None if as_of is None else as_week(as_of)
    # Read only what judgement needs: each couple's evaluated week and check-in spans
    # (index-only scans), then the answers of the weeks the windows span.
    checkins = store.answer_spans(items=get_instrument(CHECKIN).item_ids, until=until)
    if until is None:
        latest = store.answer_spans().groupby("couple_id")["last_week"].max()
        as_of_s = latest.reindex(ids).fillna(as_week(pd.Timestamp.today()))
    else:
        as_of_s = pd.Series(until, index=pd.Index(ids, dtype=object))
    as_of_s = as_of_s.rename("as_of")
    if len(as_of_s):
        start = as_of_s.min() - (t.window_weeks - 1) * ONE_WEEK
        answers = store.answers_between(JUDGED_ITEMS, start, as_of_s.max())
    else:
        answers = store.answers_between(JUDGED_ITEMS, "1970-01-05", "1970-01-05")
    return caseload_frames(answers, store.seasons(), couples, as_of_s, t, checkins)


def format_summary(summary: dict[str, Any]) -> str:
    """A :func:`summarize` result as a plain-text table (what ``mutuality summary`` prints)."""
    names = summary.get("names") or {"A": "Partner A", "B": "Partner B"}
    a, b = names["A"], names["B"]
    index = summary["mutuality_index"]
    lines = [
        f"{summary['couple_id']} ({a} & {b}): as of the week of {summary['as_of']}, "
        f"window of {summary['window_weeks']} weeks from {summary['window_start']}",
        f"mutuality index: {'-' if index is None else f'{index:.1f}'} / 100",
        "",
        f"{'domain':<24} {'status':<19} {'carried by':<12} {a + ' share':>12} "
        f"{'perception gap':>15}",
    ]
    for domain, d in summary["domains"].items():
        share = "-" if d["share_a"] is None else f"{d['share_a']:.0f}%"
        gap = "-" if d["perception_gap"] is None else f"{d['perception_gap']:+.1f}"
        carrier = names.get(d["carried_by"], "-") if d["carried_by"] else "-"
        lines.append(
            f"{DOMAIN_LABELS[domain]:<24} {STATUS_LABELS[d['status']]:<19} {carrier:<12} "
            f"{share:>12} {gap:>15}"
        )
    pw = summary.get("personal_work") or {}
    if pw:
        shown = ", ".join(
            f"{names[p]} {'-' if pw[p]['score'] is None else format(pw[p]['score'], '.1f')}"
            for p in ("A", "B")
        )
        lines += ["", f"personal work (0-4, self and partner's view): {shown}"]
    change = summary.get("change_since_last_session")
    if change and change["mutuality_index_change"] is not None:
        lines.append(
            f"since session {change['session']} ({change['date']}): index "
            f"{change['mutuality_index_change']:+.1f}"
        )
    inventory = summary.get("inventory") or {}
    for p in ("A", "B"):
        inv = inventory.get(p)
        if inv:
            lines.append(
                f"inventory {names[p]}: {inv['score']:.0f}/100 ({inv['week']}); {inv['label']}"
            )
    alerts = summary["alerts"]
    lines += ["", f"alerts: {len(alerts) or 'none'}"]
    lines += [f"  - {alert['message']}" for alert in alerts]
    return "\n".join(lines)
