"""Alerts: what a therapist should look at, in plain language (``docs/method.md``, "Alerts").

- a **chronic** or **drifting** domain;
- an agreed season past its planned end while its domain is still imbalanced
  (**season_overstayed**);
- an **unagreed_season** touching the window (it explains nothing until both agree);
- **one_sided** weeks, resting on one partner's view;
- **silence**: no check-in from a partner for ``silence_weeks`` or more (its ``key`` names
  the partner's last check-in week; a therapist marks it seen or resolved,
  :mod:`~mutuality_helpers.alert_record`).

The urgent ``safety`` alerts are not judged here: they are recorded as the answers are
saved (:mod:`~mutuality_helpers.alert_record`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .alert_record import silence_key
from .formatting import iso_day, partner_name
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS
from .thresholds import Thresholds
from .weeks import ONE_WEEK, in_window, season_weeks, window_start

#: Alert kinds, most serious first.
ALERT_KINDS: tuple[str, ...] = (
    "chronic",
    "drifting",
    "season_overstayed",
    "unagreed_season",
    "one_sided",
    "silence",
)
ALERT_COLUMNS = [
    "couple_id",
    "kind",
    "domain",
    "domains",
    "partner",
    "weeks",
    "season_id",
    "message",
    "key",
]


def _alert(
    couple_id: str,
    kind: str,
    partner: str | None,
    message: str,
    domain: str | None = None,
    domains: list[str] | None = None,
    weeks: int | None = None,
    season_id: int | None = None,
    key: str | None = None,
) -> dict[str, Any]:
    """One alert record (a row of :func:`build_alerts`' frame)."""
    record: dict[str, Any] = dict(
        couple_id=couple_id, kind=kind, domain=domain, partner=partner, weeks=weeks,
        season_id=season_id, message=message, key=key,
    )  # fmt: skip
    if domains is not None:
        record["domains"] = domains
    return record


def _name(names: dict[str, dict[str, str]], couple_id: str, partner: str | None) -> str:
    if partner is None:
        return "neither partner"
    return partner_name(names.get(couple_id), partner)


def build_alerts(
    weekly: pd.DataFrame,
    domains: pd.DataFrame,
    seasons: pd.DataFrame,
    as_of: pd.Series,
    checkins: pd.DataFrame | None,
    names: dict[str, dict[str, str]] | None = None,
    thresholds: Thresholds | None = None,
    windowed: bool = False,
) -> pd.DataFrame:
    """Every alert for every couple, as a frame (``couple_id, kind, domain, partner, message``
    plus ``weeks`` and ``season_id`` where they apply), most serious kind first."""
    t = thresholds or Thresholds()
    names = names or {}
    records: list[dict[str, Any]] = []
    window = t.window_weeks

    # Chronic and drifting domains (one row per flagged domain, not per week).
    flagged = domains.loc[domains["status"].isin(["chronic", "drifting"])].reset_index()
    for r in flagged.itertuples(index=False):
        n = max(r.uncovered_a, r.uncovered_b)
        label = DOMAIN_LABELS[r.domain]
        if r.carried_by is None:
            who = (
                f"the load swung one way and the other ({r.uncovered_a} weeks "
                f"{_name(names, r.couple_id, 'A')}, {r.uncovered_b} weeks "
                f"{_name(names, r.couple_id, 'B')})"
            )
        else:
            carrier = _name(names, r.couple_id, r.carried_by)
            who = f"{carrier} carried more in {n} of the last {window} weeks"
        tail = (
            "with no agreed season to explain it: this has become the norm."
            if r.status == "chronic"
            else "with no agreed season to explain it: this is drifting towards chronic."
        )
        records.append(
            _alert(r.couple_id, r.status, r.carried_by, f"{label}: {who}, {tail}",
                   domain=r.domain, weeks=int(n))
        )  # fmt: skip

    in_window_weeks = weekly if windowed else in_window(weekly, as_of, t.window_weeks)
    if len(seasons):
        spans = season_weeks(seasons.loc[seasons["couple_id"].isin(as_of.index)])
        spans["as_of"] = spans["couple_id"].map(as_of)
        spans["window_start"] = window_start(spans["as_of"], window)
        # Agreed, still open, past its planned end, while the supported partner still
        # carries less in the latest answered week after that end.
        over = spans.loc[
            spans["agreed"] & spans["closed_on"].isna() & (spans["active_to"] < spans["as_of"])
        ]
        if not over.empty:
            after = in_window_weeks.merge(
                over[["season_id", "couple_id", "partner", "active_to"]], on="couple_id"
            )
            after = after.loc[after["week"] > after["active_to"]]
            latest = after.sort_values("week").groupby(["season_id", "domain"]).tail(1)
            still = latest.loc[
                latest["imbalanced"]
                & ~latest["covered"]
                & (latest["direction"] != latest["partner"])
            ]
            hit = still.groupby("season_id")["domain"].agg(
                lambda d: [x for x in SHARE_DOMAINS if x in set(d)]
            )
            for s in over.loc[over["season_id"].isin(hit.index)].itertuples(index=False):
                doms = hit[s.season_id]
                other = "B" if s.partner == "A" else "A"
                labels = ", ".join(DOMAIN_LABELS[d].lower() for d in doms)
                message = (
                    f"{_name(names, s.couple_id, s.partner)}'s "
                    f"{s.reason.replace('_', ' ')} season was planned to end on "
                    f"{iso_day(s.planned_end)}, but {_name(names, s.couple_id, other)} "
                    f"is still carrying more ({labels}): time to talk about it again."
                )
                records.append(
                    _alert(s.couple_id, "season_overstayed", s.partner, message,
                           domain=doms[0] if len(doms) == 1 else None, domains=doms,
                           season_id=int(s.season_id))
                )  # fmt: skip
        # Unagreed seasons that touch the window: they explain nothing until both agree.
        unagreed = spans.loc[
            ~spans["agreed"]
            & (spans["active_from"] <= spans["as_of"] + pd.Timedelta(days=6))
            & (spans["active_to"] >= spans["window_start"])
        ]
        for s in unagreed.itertuples(index=False):
            message = (
                f"{_name(names, s.couple_id, s.partner)}'s {s.reason.replace('_', ' ')} "
                f"season ({iso_day(s.start)} to {iso_day(s.planned_end)}) is not agreed by "
                "both partners, so it does not explain any imbalance."
            )
            records.append(
                _alert(s.couple_id, "unagreed_season", s.partner, message,
                       season_id=int(s.season_id))
            )  # fmt: skip

    # One-sided weeks: a share answer from one partner only.
    one = in_window_weeks.loc[in_window_weeks["one_sided"]]
    if not one.empty:
        missing = np.where(one["view_a"].isna(), "A", "B")
        counts = (
            pd.DataFrame({"couple_id": one["couple_id"].to_numpy(), "partner": missing,
                          "week": one["week"].to_numpy()})
            .groupby(["couple_id", "partner"])["week"].nunique()
        )  # fmt: skip
        for (couple_id, partner), n in counts.items():
            other = "B" if partner == "A" else "A"
            message = (
                f"{n} of the last {window} weeks rest on {_name(names, couple_id, other)}'s "
                f"view alone: {_name(names, couple_id, partner)}'s check-in is missing."
            )
            records.append(_alert(couple_id, "one_sided", partner, message, weeks=int(n)))

    # Silence: no check-in from a partner for silence_weeks or more, up to as_of.
    spans = checkins.loc[checkins["couple_id"].isin(as_of.index)] if checkins is not None else None
    if spans is not None and not spans.empty:
        first = spans.groupby("couple_id")["first_week"].min()
        last = spans.set_index(["couple_id", "partner"])["last_week"].unstack("partner")
        last = last.reindex(columns=["A", "B"])
        end = as_of.reindex(last.index)
        for partner in ("A", "B"):
            lw = pd.to_datetime(last[partner])  # all-NaN when a partner never answered
            silent = ((end - lw) / ONE_WEEK).where(lw.notna(), (end - first) / ONE_WEEK + 1)
            for couple_id, n in silent.loc[silent >= t.silence_weeks].items():
                since = (
                    f"last one for the week of {iso_day(lw[couple_id])}"
                    if pd.notna(lw[couple_id])
                    else "none at all so far"
                )
                message = (
                    f"No check-in from {_name(names, couple_id, partner)} for "
                    f"{int(n)} weeks ({since})."
                )
                # Names the last check-in: the record of this alert (alert_record.py) holds
                # until the partner checks in again.
                key = silence_key(
                    couple_id, partner, iso_day(lw[couple_id]) if pd.notna(lw[couple_id]) else None
                )
                records.append(
                    _alert(couple_id, "silence", partner, message, weeks=int(n), key=key)
                )

    # Most serious kind first, then domain order; a plain sort (alerts are few, even for a
    # whole caseload, and pandas would cost more per call than the sorting itself).
    kind_order = {k: i for i, k in enumerate(ALERT_KINDS)}
    domain_order = {d: i for i, d in enumerate(SHARE_DOMAINS)}
    records.sort(
        key=lambda r: (
            r["couple_id"],
            kind_order[r["kind"]],
            domain_order.get(r["domain"], len(SHARE_DOMAINS)),
            r["partner"] or "~",
            -1 if r["season_id"] is None else r["season_id"],
        )
    )
    return pd.DataFrame.from_records(records, columns=ALERT_COLUMNS)
