"""The caseload: every couple at a glance, the most in need of attention first.

Judged as of today unless a week is given: each couple as of
:func:`~mutuality_helpers.weeks.judged_week` of today (the current week once both
check-ins are in, else the last complete week), so a couple who stopped answering shows
its silence. Worst first: open urgent (safety) alerts, then chronic domains, drifting
domains, a partner fallen silent, the number of alerts still open, the lowest index.
Each row shows both partners' last check-in week.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .alert_record import OPEN_STATES
from .analysis import CHECKIN, JUDGED_ITEMS, checkin_spans, judge
from .formatting import display_names
from .instruments import SHARE_DOMAINS, get_instrument
from .summary import DIGITS
from .thresholds import Thresholds
from .weeks import as_week, window_start

if TYPE_CHECKING:
    from .store import Store

#: Worst first, for sorting a caseload.
STATUS_SEVERITY: dict[str, int] = {
    "chronic": 4,
    "drifting": 3,
    "insufficient_data": 2,
    "seasonal": 1,
    "balanced": 0,
}


def caseload_frames(
    answers: pd.DataFrame,
    seasons: pd.DataFrame,
    couples: pd.DataFrame,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    checkins: pd.DataFrame | None = None,
    records: list[dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """:func:`caseload` over frames already read (pure; arguments as for :func:`judge`).

    ``records`` is the record of alerts that need action (``Store.alert_records``): open
    safety alerts count as urgent, resolved silence alerts are not counted.
    """
    t = thresholds or Thresholds()
    ids = couples["couple_id"].tolist()
    names = {
        r.couple_id: display_names(r.name_a, r.name_b) for r in couples.itertuples(index=False)
    }
    j = judge(answers, seasons, ids, as_of, t, names, checkins)
    if checkins is None:
        checkins = checkin_spans(answers, j.as_of)
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
    records = records or []
    resolved = {r["key"] for r in records if r["kind"] == "silence" and r["state"] == "resolved"}
    still = j.alerts.loc[~j.alerts["key"].isin(resolved)] if len(j.alerts) else j.alerts
    urgent = pd.Series(
        [r["couple_id"] for r in records if r["kind"] == "safety" and r["state"] in OPEN_STATES],
        dtype=object,
    ).value_counts()
    frame["urgent"] = urgent.reindex(ids).fillna(0).astype(int).to_numpy()
    silent = still.loc[still["kind"] == "silence"] if len(still) else still
    counts = still.groupby("couple_id").size() if len(still) else pd.Series(dtype=int)
    # Only alerts still needing attention count: resolved ones stay in the record only.
    frame["alerts"] = counts.reindex(ids).fillna(0).astype(int).to_numpy() + frame["urgent"]
    frame["attention"] = attention_lists(ids, still, frame["urgent"])
    frame["silent"] = (
        silent.groupby("couple_id").size().reindex(ids).fillna(0).astype(int).to_numpy()
        if len(silent)
        else 0
    )
    for partner in ("A", "B"):
        mine = checkins.loc[checkins["partner"] == partner].set_index("couple_id")["last_week"]
        frame[f"last_checkin_{partner.lower()}"] = pd.to_datetime(mine.reindex(ids)).to_numpy()
    severity = status.apply(lambda col: col.map(STATUS_SEVERITY))
    frame["chronic"] = (status == "chronic").sum(axis=1).to_numpy()
    frame["drifting"] = (status == "drifting").sum(axis=1).to_numpy()
    frame["worst"] = severity.max(axis=1).map({v: k for k, v in STATUS_SEVERITY.items()}).to_numpy()
    # Worst first: urgent alerts, chronic domains, drifting, silence, open alerts, lowest index.
    frame = frame.sort_values(
        ["urgent", "chronic", "drifting", "silent", "alerts", "mutuality_index", "couple_id"],
        ascending=[False, False, False, False, False, True, True],
        na_position="first",
        kind="stable",
    )
    return frame.reset_index(drop=True)


def attention_lists(ids: list[str], alerts: pd.DataFrame, urgent: pd.Series) -> list[list[str]]:
    """What needs attention, couple by couple: one line per alert still open, urgent first.

    A private safety alert is named only as such (what was answered shows in the session
    workbook's private panel, opened when the couple cannot see the screen).
    """
    by_couple: dict[str, list[str]] = {c: [] for c in ids}
    for couple_id, n in zip(ids, urgent, strict=True):
        if n:
            answers = "answer needs" if n == 1 else "answers need"
            by_couple[couple_id].append(
                f"Private safety check: {n} {answers} your attention (in the workbook's "
                "private panel)."
            )
    for r in alerts.itertuples(index=False) if len(alerts) else ():
        if r.couple_id in by_couple:
            by_couple[r.couple_id].append(str(r.message))
    return [by_couple[c] for c in ids]


def caseload(
    store: Store, as_of: Any = None, thresholds: Thresholds | None = None, today: Any = None
) -> pd.DataFrame:
    """Every couple at a glance, worst first (see the module's docstring for the order).

    Parameters
    ----------
    as_of
        Judge every couple as of the week holding this date; None (the default) for
        today: each couple's :func:`~mutuality_helpers.weeks.judged_week` of ``today``.
    today
        The date taken as today (default :func:`~mutuality_helpers.weeks.today`).

    Returns
    -------
    pandas.DataFrame
        One row per couple: ``couple_id, name_a, name_b, as_of``, the status per share
        domain (one column per domain id), ``<domain>_carried_by``, ``personal_work``
        (the lower partner's, 0-4), ``mutuality_index``, ``urgent`` (open safety alerts),
        ``alerts`` (every alert still open, urgent ones included), ``attention`` (what each
        of those alerts says, one line each, urgent first), ``silent`` (partners
        fallen silent), ``last_checkin_a``/``last_checkin_b`` (each partner's last
        check-in week, NaT for none), ``chronic``/``drifting`` (domain counts) and
        ``worst`` (the worst status).
    """
    t = thresholds or Thresholds()
    couples = store.couple_names()
    ids = couples["couple_id"].tolist()
    until = None if as_of is None else as_week(as_of)
    # Read only what judgement needs: each couple's evaluated week and check-in spans
    # (index-only scans), then the answers of the weeks the windows span.
    checkins = store.answer_spans(items=get_instrument(CHECKIN).item_ids, until=until)
    if until is None:
        weeks = store.judged_weeks(ids, today)
        as_of_s = pd.Series(
            [pd.Timestamp(weeks[c]) for c in ids], index=pd.Index(ids, dtype=object)
        )
    else:
        as_of_s = pd.Series(until, index=pd.Index(ids, dtype=object))
    as_of_s = as_of_s.astype("datetime64[us]").rename("as_of")
    if len(as_of_s):
        start = window_start(as_of_s.min(), t.window_weeks)
        # A week range is read through the answers' key, couple by couple (see
        # Store.answers_between), not by a scan of every answer in the store.
        answers = store.answers_between(JUDGED_ITEMS, start, as_of_s.max())
    else:
        answers = store.answers_between(JUDGED_ITEMS, "1970-01-05", "1970-01-05")
    records = store.alert_records(ids)
    return caseload_frames(answers, store.seasons(), couples, as_of_s, t, checkins, records)
