"""Judgement: who does the relational lifting, and is an imbalance seasonal or chronic?

The rules are in ``docs/method.md`` ("How a domain is judged"), each threshold a field
of :class:`~mutuality_helpers.thresholds.Thresholds`. Here they are pure, vectorised
functions over the store's tidy frames (``Store.answers``, ``Store.seasons``): every couple
is judged at once, nothing loops per week or per answer.

- :func:`weekly_shares`: each couple's share domains week by week: A's share as each
  partner sees it, the consensus, and whether the week is **imbalanced**
  (``|consensus - 50| >= imbalance_points``) and **covered** by an agreed season;
- :func:`judge_domains`: the status per domain over the window (``insufficient_data``,
  ``chronic``, ``drifting``, ``seasonal``, ``balanced``, checked in that order), who
  carried more, A's share and the perception gap;
- :func:`judge`: all of it for a set of couples, with personal work and the mutuality
  index (:mod:`~mutuality_helpers.mutuality_index`) and the alerts
  (:mod:`~mutuality_helpers.alerts`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .alerts import build_alerts
from .instruments import CHECKIN, SHARE_DOMAINS, share_item
from .mutuality_index import PERSONAL_PARTNER, PERSONAL_SELF, mutuality_index, personal_work
from .thresholds import Thresholds
from .weeks import as_week, in_window, mondays, season_weeks, today

__all__ = [
    "CHECKIN",
    "JUDGED_ITEMS",
    "SHARE_ITEMS",
    "STATUSES",
    "WEEKLY_COLUMNS",
    "Judgement",
    "Thresholds",
    "checkin_spans",
    "judge",
    "judge_domains",
    "weekly_shares",
]

#: Statuses in the order their rules are checked.
STATUSES: tuple[str, ...] = ("insufficient_data", "chronic", "drifting", "seasonal", "balanced")
SHARE_ITEMS: dict[str, str] = {share_item(d): d for d in SHARE_DOMAINS}
_SHARE_CODE: dict[str, int] = {share_item(d): i for i, d in enumerate(SHARE_DOMAINS)}
# Days since the earliest week fit in 20 bits (2,800 years) of the weekly groupby key.
_DAY_BITS = 20
#: The items judgement reads (silence is judged from check-in spans, so no more are needed).
JUDGED_ITEMS: list[str] = [*SHARE_ITEMS, PERSONAL_SELF, PERSONAL_PARTNER]
WEEKLY_COLUMNS = [
    "couple_id", "domain", "week", "view_a", "view_b", "consensus",
    "one_sided", "imbalanced", "direction", "covered",
]  # fmt: skip


# -- evaluated weeks ----------------------------------------------------------------------


def _as_of_series(answers: pd.DataFrame, couple_ids: list[str], as_of: Any) -> pd.Series:
    """One evaluated week per couple: given, else the couple's latest answered week."""
    if isinstance(as_of, pd.Series):
        weeks = mondays(pd.to_datetime(as_of)).reindex(couple_ids)
    elif as_of is not None:
        weeks = pd.Series(as_week(as_of), index=pd.Index(couple_ids, dtype=object))
    else:
        latest = answers.groupby("couple_id")["week"].max()
        weeks = latest.reindex(couple_ids).fillna(as_week(today()))
    # One resolution whatever the source (the store's frames are microseconds).
    return weeks.astype("datetime64[us]").rename("as_of")


def checkin_spans(answers: pd.DataFrame, as_of: pd.Series) -> pd.DataFrame:
    """First and last week with a check-in answer per couple and partner, up to ``as_of``.

    The same frame as ``Store.answer_spans(check-in items, until)``, computed from answers.
    """
    rows = answers.loc[answers["instrument"] == CHECKIN, ["couple_id", "partner", "week"]]
    rows = rows.loc[(rows["week"] <= rows["couple_id"].map(as_of)).fillna(False).to_numpy(bool)]
    spans = rows.groupby(["couple_id", "partner"])["week"].agg(["min", "max"]).reset_index()
    return spans.rename(columns={"min": "first_week", "max": "last_week"})


# -- weekly shares ----------------------------------------------------------------------


def weekly_shares(
    answers: pd.DataFrame, seasons: pd.DataFrame, thresholds: Thresholds | None = None
) -> pd.DataFrame:
    """Every couple's share domains week by week.

    Parameters
    ----------
    answers
        Tidy answers (``Store.answers``); only ``share_*`` items are used, by ``value_num``.
    seasons
        Seasons (``Store.seasons``); only agreed ones cover a week.
    thresholds
        Judgement parameters (defaults when None).

    Returns
    -------
    pandas.DataFrame
        One row per couple, domain and week with any answer: ``view_a`` (A's view of A's
        share), ``view_b`` (B's view of A's share, ``100 - B's answer``), ``consensus``,
        ``one_sided``, ``imbalanced``, ``direction`` (``"A"``/``"B"`` who carried more, or
        None) and ``covered``. Sorted by couple, domain, week.
    """
    t = thresholds or Thresholds()
    rows = answers.loc[
        answers["item"].isin(list(SHARE_ITEMS)) & answers["value_num"].notna(),
        ["couple_id", "partner", "week", "item", "value_num"],
    ]
    is_a = (rows["partner"] == "A").to_numpy()
    value = rows["value_num"].to_numpy(dtype=float)
    a_share = np.where(is_a, value, 100.0 - value)
    # One integer key per couple, domain and week: a single fast groupby instead of a
    # four-level groupby + unstack (this runs over every share answer of a caseload).
    codes, couples = pd.factorize(rows["couple_id"], sort=True)
    # Each distinct item looked up once (a map over the strings is a Python loop per answer).
    item_codes, item_names = pd.factorize(rows["item"])
    domain_code = np.array([_SHARE_CODE[i] for i in item_names], dtype=np.int64)[item_codes]
    day = rows["week"].to_numpy().astype("datetime64[D]").astype(np.int64)
    first_day = int(day.min()) if len(day) else 0
    key = ((codes.astype(np.int64) * len(SHARE_DOMAINS) + domain_code) << _DAY_BITS) | (
        day - first_day
    )
    wide = (
        pd.DataFrame(
            {
                "key": key,
                "view_a": np.where(is_a, a_share, np.nan),
                "view_b": np.where(is_a, np.nan, a_share),
            }
        )  # fmt: skip
        .groupby("key", sort=True)
        .mean()
    )
    key = wide.index.to_numpy()
    group = key >> _DAY_BITS
    out = pd.DataFrame(
        {
            "couple_id": np.asarray(couples, dtype=object)[group // len(SHARE_DOMAINS)],
            "domain": np.asarray(SHARE_DOMAINS, dtype=object)[group % len(SHARE_DOMAINS)],
            "week": ((key & ((1 << _DAY_BITS) - 1)) + first_day).astype("datetime64[D]"),
            "view_a": wide["view_a"].to_numpy(),
            "view_b": wide["view_b"].to_numpy(),
        }
    )
    out["week"] = out["week"].astype(answers["week"].dtype if len(answers) else "datetime64[ns]")
    out["consensus"] = out[["view_a", "view_b"]].mean(axis=1)
    out["one_sided"] = out["view_a"].isna() | out["view_b"].isna()
    lean = out["consensus"] - 50.0
    out["imbalanced"] = lean.abs() >= t.imbalance_points
    out["direction"] = pd.Series(
        np.where(out["imbalanced"], np.where(lean > 0, "A", "B"), None), dtype=object
    )
    out["covered"] = _covered(out, seasons)
    return out[WEEKLY_COLUMNS]


def _covered(weekly: pd.DataFrame, seasons: pd.DataFrame) -> np.ndarray:
    """True for imbalanced weeks an agreed season explains (its partner carried less)."""
    covered = np.zeros(len(weekly), dtype=bool)
    agreed = seasons.loc[seasons["agreed"].astype(bool)] if len(seasons) else seasons
    if agreed.empty or not weekly["imbalanced"].any():
        return covered
    spans = season_weeks(agreed)[["couple_id", "partner", "active_from", "active_to"]]
    imb = weekly.loc[weekly["imbalanced"], ["couple_id", "week", "direction"]]
    imb = imb.assign(row=np.flatnonzero(weekly["imbalanced"].to_numpy()))
    pairs = imb.merge(spans, on="couple_id")
    hit = pairs.loc[
        (pairs["week"] >= pairs["active_from"])
        & (pairs["week"] <= pairs["active_to"])
        & (pairs["partner"] != pairs["direction"]),
        "row",
    ]
    covered[hit.to_numpy()] = True
    return covered


# -- domains over the window ----------------------------------------------------------------


def judge_domains(
    weekly: pd.DataFrame,
    as_of: pd.Series,
    thresholds: Thresholds | None = None,
    windowed: bool = False,
) -> pd.DataFrame:
    """Status, carrier, share and perception gap per couple and share domain.

    Parameters
    ----------
    weekly
        :func:`weekly_shares` output.
    as_of
        The evaluated week (a Monday) per couple, indexed by ``couple_id``; every couple
        in it gets a row per share domain, with or without answers.

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(couple_id, domain)``: ``status, carried_by, share_a,
        perception_gap, weeks_answered, both_answered_weeks, one_sided_weeks,
        imbalanced_weeks, covered_weeks, uncovered_a, uncovered_b, covered_a, covered_b,
        uncovered_excess, view_a, view_b`` (the last two: A's share as A and as B see it,
        over the weeks both answered).
    """
    t = thresholds or Thresholds()
    w = weekly if windowed else in_window(weekly, as_of, t.window_weeks)
    imbalanced = w["imbalanced"].to_numpy(dtype=bool)
    is_covered = w["covered"].to_numpy(dtype=bool)
    uncovered = imbalanced & ~is_covered
    covered = imbalanced & is_covered
    direction = w["direction"].to_numpy()
    to_a, to_b = direction == "A", direction == "B"
    view_a, view_b = w["view_a"].to_numpy(), w["view_b"].to_numpy()
    consensus = w["consensus"].to_numpy()
    both = ~np.isnan(view_a) & ~np.isnan(view_b)
    # Every figure is a sum over the window's weeks: one groupby-sum does them all,
    # and means are sums over counts (a week always has a consensus).
    sums = pd.DataFrame(
        {
            "weeks_answered": np.ones(len(w), dtype=np.int64),
            "both_answered_weeks": both,
            "one_sided_weeks": w["one_sided"].to_numpy(dtype=bool),
            "imbalanced_weeks": imbalanced,
            "covered_weeks": covered,
            "uncovered_a": uncovered & to_a,
            "uncovered_b": uncovered & to_b,
            "covered_a": covered & to_a,
            "covered_b": covered & to_b,
            "consensus_sum": consensus,
            "view_a_sum": np.where(both, view_a, 0.0),
            "view_b_sum": np.where(both, view_b, 0.0),
            "uncovered_excess": np.where(uncovered, np.abs(consensus - 50.0), 0.0),
        }
    )
    g = sums.groupby([w["couple_id"].to_numpy(), w["domain"].to_numpy()]).sum()
    full = pd.MultiIndex.from_product(
        [as_of.index.astype(object), list(SHARE_DOMAINS)], names=["couple_id", "domain"]
    )
    g = g.reindex(full, fill_value=0)
    # From here on plain numpy columns, and one frame built at the end (pandas costs per
    # operation, and this runs for every couple of a caseload at once).
    col = {name: g[name].to_numpy() for name in g.columns}
    counts = {
        name: col[name].astype(np.int64)
        for name in (
            "weeks_answered", "both_answered_weeks", "one_sided_weeks", "imbalanced_weeks",
            "covered_weeks", "uncovered_a", "uncovered_b", "covered_a", "covered_b",
        )
    }  # fmt: skip
    with np.errstate(invalid="ignore", divide="ignore"):
        answered = np.where(counts["weeks_answered"] > 0, counts["weeks_answered"], np.nan)
        both_n = np.where(counts["both_answered_weeks"] > 0, counts["both_answered_weeks"], np.nan)
        share_a = col["consensus_sum"] / answered
        view_a_mean = col["view_a_sum"] / both_n
        view_b_mean = col["view_b_sum"] / both_n
    unc_a, unc_b = counts["uncovered_a"], counts["uncovered_b"]
    cov_a, cov_b = counts["covered_a"], counts["covered_b"]
    most = np.maximum(unc_a, unc_b)
    status = np.select(
        [
            counts["weeks_answered"] < t.min_answered_weeks,
            most >= t.chronic_weeks,
            most >= t.drifting_weeks,
            counts["covered_weeks"] >= 1,
        ],
        ["insufficient_data", "chronic", "drifting", "seasonal"],
        default="balanced",
    ).astype(object)
    unc_side = np.where(unc_a > unc_b, "A", np.where(unc_b > unc_a, "B", None))
    cov_side = np.where(cov_a > cov_b, "A", np.where(cov_b > cov_a, "B", None))
    carried_by = np.select(
        [(status == "chronic") | (status == "drifting"), status == "seasonal"],
        [unc_side, cov_side],
        default=None,
    ).astype(object)
    return pd.DataFrame(
        {
            **counts,
            "uncovered_excess": col["uncovered_excess"].astype(float),
            "share_a": share_a,
            "view_a": view_a_mean,
            "view_b": view_b_mean,
            "perception_gap": view_a_mean - view_b_mean,
            "status": status,
            "carried_by": carried_by,
        },
        index=full,
    )


# -- judging couples -------------------------------------------------------------------


@dataclass
class Judgement:
    """Everything judged for a set of couples at their evaluated weeks."""

    thresholds: Thresholds
    as_of: pd.Series
    weekly: pd.DataFrame
    domains: pd.DataFrame
    personal: pd.DataFrame
    index: pd.Series
    alerts: pd.DataFrame


def judge(
    answers: pd.DataFrame,
    seasons: pd.DataFrame,
    couple_ids: list[str] | None = None,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
    names: dict[str, dict[str, str]] | None = None,
    checkins: pd.DataFrame | None = None,
    weekly: pd.DataFrame | None = None,
) -> Judgement:
    """Judge every couple at once (pure: frames in, frames out).

    Parameters
    ----------
    answers, seasons
        The store's frames (any subset of couples, any row order).
    couple_ids
        Couples to judge (default: every couple in ``answers``).
    as_of
        None (each couple's latest answered week: a pure function knows no today; the
        views pass :func:`~mutuality_helpers.weeks.judged_week` of today instead), one
        date for all, or a Series of dates indexed by couple id.
    names
        ``{couple_id: {"A": name, "B": name}}`` for the alert messages.
    checkins
        :func:`checkin_spans` (or ``Store.answer_spans``) up to ``as_of``, when ``answers``
        holds only the window's weeks; computed from ``answers`` otherwise.
    weekly
        :func:`weekly_shares` already computed from the same frames (saves the work).

    Returns
    -------
    Judgement
        ``weekly`` holds the windows' weeks only.
    """
    t = thresholds or Thresholds()
    if couple_ids is None:
        couple_ids = sorted(answers["couple_id"].unique().tolist())
    as_of_s = _as_of_series(answers, list(couple_ids), as_of)
    if checkins is None:
        checkins = checkin_spans(answers, as_of_s)
    # Only the windows' weeks are judged: filter once, before the heavier work.
    judged = answers.loc[answers["item"].isin(JUDGED_ITEMS)]
    judged = in_window(judged, as_of_s, t.window_weeks)
    if weekly is None:
        weekly = weekly_shares(judged, seasons, t)
    weekly = in_window(weekly, as_of_s, t.window_weeks)
    # Both are windowed already (windowed=True skips doing it again).
    domains = judge_domains(weekly, as_of_s, t, windowed=True)
    personal = personal_work(judged, as_of_s, t, windowed=True)
    index = mutuality_index(domains, personal, t)
    alerts = build_alerts(weekly, domains, seasons, as_of_s, checkins, names, t, windowed=True)
    return Judgement(t, as_of_s, weekly, domains, personal, index, alerts)
