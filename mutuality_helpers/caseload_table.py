"""The caseload: every couple at a glance, the most in need of attention first."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from .analysis import CHECKIN, JUDGED_ITEMS, judge
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
) -> pd.DataFrame:
    """:func:`caseload` over frames already read (pure; arguments as for :func:`judge`)."""
    t = thresholds or Thresholds()
    ids = couples["couple_id"].tolist()
    names = {
        r.couple_id: display_names(r.name_a, r.name_b) for r in couples.itertuples(index=False)
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


def caseload(store: Store, as_of: Any = None, thresholds: Thresholds | None = None) -> pd.DataFrame:
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
        start = window_start(as_of_s.min(), t.window_weeks)
        answers = store.answers_between(JUDGED_ITEMS, start, as_of_s.max())
    else:
        answers = store.answers_between(JUDGED_ITEMS, "1970-01-05", "1970-01-05")
    return caseload_frames(answers, store.seasons(), couples, as_of_s, t, checkins)
