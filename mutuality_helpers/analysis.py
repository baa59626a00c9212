"""Judgement: who does the relational lifting, and is an imbalance seasonal or chronic?

Pure, vectorised functions over the store's tidy frames (``Store.answers``,
``Store.seasons``, ``Store.sessions``). Every couple is judged at once; nothing
loops per week or per answer. The rules are DESIGN.md's "How a domain is judged",
each threshold a field of :class:`Thresholds`.

For a share domain in a week:

- each view is turned into **A's share** (A's answer as given, B's as ``100 - value``);
  the **consensus** is the mean of the views present; a week with one view is *one-sided*;
- the week is **imbalanced** when ``|consensus - 50| >= imbalance_points``, and its
  **direction** is the partner who carried more;
- an imbalanced week is **covered** when an *agreed* season is active that week whose
  supported partner is the one who carried *less*. A season is active in a week (named
  by its Monday) when ``start <= week <= planned_end``, so a season starting mid-week
  covers from the next Monday; a closed season covers no week after ``closed_on``.

Over the window of ``window_weeks`` weeks ending at the evaluated week (``as_of``),
the status is the first that applies of ``insufficient_data``, ``chronic``,
``drifting``, ``seasonal``, ``balanced`` (see :class:`Thresholds`).

**Mutuality index** (0-100, higher is more mutual)::

    balance  = 1 - mean over the share domains of
                   sum(|consensus - 50| over the window's uncovered imbalanced weeks)
                   / (50 * window_weeks)
    personal = min(personal work of A, personal work of B) / 4
    index    = 100 * (0.75 * balance + 0.25 * personal)     (100 * balance without
                                                             personal-work answers)

``balance`` is 1 when no week is an uncovered imbalance and 0 when every week of
the window is an uncovered 100/0 split in every domain. The denominator is the
fixed window length, so adding or deepening an uncovered imbalance can only lower
the index (it is monotone); covered (agreed) imbalance costs nothing. A partner's
personal work is the mean of how they rated their own work and how their partner
rated it (0-4); the *lower* of the two partners counts, because both have to stretch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ParameterError
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS, Instrument, get_instrument, share_item
from .scoring import inventory_scores, reliable_change
from .validation import parse_couple_id, parse_date, week_of

#: Statuses in the order their rules are checked.
STATUSES: tuple[str, ...] = ("insufficient_data", "chronic", "drifting", "seasonal", "balanced")
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
]
SHARE_ITEMS: dict[str, str] = {share_item(d): d for d in SHARE_DOMAINS}
_SHARE_CODE: dict[str, int] = {share_item(d): i for i, d in enumerate(SHARE_DOMAINS)}
# Days since the earliest week fit in 20 bits (2,800 years) of the weekly groupby key.
_DAY_BITS = 20
PERSONAL_SELF = "personal_work_self"
PERSONAL_PARTNER = "personal_work_partner"
PERSONAL_MAX = 4.0
CHECKIN = "weekly_checkin"
#: The items judgement reads (silence is judged from check-in spans, so no more are needed).
JUDGED_ITEMS: list[str] = [*SHARE_ITEMS, PERSONAL_SELF, PERSONAL_PARTNER]
#: Weight of the share-domain balance in the mutuality index (personal work has the rest).
BALANCE_WEIGHT = 0.75
WEEKLY_COLUMNS = [
    "couple_id", "domain", "week", "view_a", "view_b", "consensus",
    "one_sided", "imbalanced", "direction", "covered",
]  # fmt: skip
ONE_WEEK = pd.Timedelta(weeks=1)


@dataclass(frozen=True)
class Thresholds:
    """The named parameters of the judgement (defaults from DESIGN.md).

    Attributes
    ----------
    window_weeks
        Length of the trailing window, in weeks, ending at the evaluated week.
    imbalance_points
        A week is imbalanced when its consensus share is at least this many
        percentage points away from 50/50.
    min_answered_weeks
        Fewer weeks than this with any answer for a domain in the window:
        ``insufficient_data``.
    chronic_weeks
        At least this many uncovered imbalanced weeks in the same direction: ``chronic``.
    drifting_weeks
        At least this many (and fewer than ``chronic_weeks``): ``drifting``.
    silence_weeks
        A partner with no check-in for this many weeks or more raises an alert.
    """

    window_weeks: int = 8
    imbalance_points: float = 20
    min_answered_weeks: int = 4
    chronic_weeks: int = 6
    drifting_weeks: int = 3
    silence_weeks: int = 2

    def __post_init__(self) -> None:
        for name, value in asdict(self).items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ParameterError(f"threshold {name} must be a positive number, got {value!r}")
        if not 0 < self.imbalance_points <= 50:
            raise ParameterError("threshold imbalance_points must be between 0 and 50")
        if not self.drifting_weeks < self.chronic_weeks <= self.window_weeks:
            raise ParameterError(
                "thresholds must satisfy drifting_weeks < chronic_weeks <= window_weeks"
            )
        if self.min_answered_weeks > self.window_weeks:
            raise ParameterError("threshold min_answered_weeks cannot exceed window_weeks")


# -- weeks ------------------------------------------------------------------------------


def as_week(value: Any) -> pd.Timestamp:
    """The Monday of the week holding ``value`` (a date, datetime or ``YYYY-MM-DD``)."""
    return pd.Timestamp(week_of(parse_date(value, "as_of")))


def _monday(series: pd.Series) -> pd.Series:
    return series - pd.to_timedelta(series.dt.day_of_week, unit="D")


def _as_of_series(answers: pd.DataFrame, couple_ids: list[str], as_of: Any) -> pd.Series:
    """One evaluated week per couple: given, else the couple's latest answered week."""
    if isinstance(as_of, pd.Series):
        weeks = _monday(pd.to_datetime(as_of)).reindex(couple_ids)
    elif as_of is not None:
        weeks = pd.Series(as_week(as_of), index=pd.Index(couple_ids, dtype=object))
    else:
        latest = answers.groupby("couple_id")["week"].max()
        weeks = latest.reindex(couple_ids).fillna(as_week(pd.Timestamp.today()))
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


def _season_weeks(seasons: pd.DataFrame) -> pd.DataFrame:
    """Seasons with the days bounding the weeks they cover: ``active_from``, ``active_to``.

    A week (named by its Monday) is in a season when ``start <= week <= planned_end``
    (DESIGN.md, literally); a closed season covers no week after ``closed_on``.
    """
    s = seasons.copy()
    end = s["planned_end"]
    closed = s["closed_on"]
    s["active_from"] = s["start"]
    s["active_to"] = end.where(closed.isna() | (end <= closed), closed)
    return s


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
    domain_code = rows["item"].map(_SHARE_CODE).to_numpy(dtype=np.int64)
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
    spans = _season_weeks(agreed)[["couple_id", "partner", "active_from", "active_to"]]
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


# -- the window -------------------------------------------------------------------------


def _in_window(frame: pd.DataFrame, as_of: pd.Series, t: Thresholds) -> pd.DataFrame:
    """Rows of ``frame`` (with ``couple_id`` and ``week``) in each couple's window."""
    end = frame["couple_id"].map(as_of)
    start = end - (t.window_weeks - 1) * ONE_WEEK
    keep = (frame["week"] >= start) & (frame["week"] <= end)
    return frame.loc[keep.fillna(False).to_numpy(dtype=bool)]


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
    w = weekly if windowed else _in_window(weekly, as_of, t)
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


# -- personal work ----------------------------------------------------------------------


def personal_work(
    answers: pd.DataFrame,
    as_of: pd.Series,
    thresholds: Thresholds | None = None,
    windowed: bool = False,
) -> pd.DataFrame:
    """Each partner's own work over the window (0-4).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``(couple_id, partner)``: ``self`` (their own rating), ``by_partner``
        (their partner's rating of them), ``score`` (mean of the two that exist) and
        ``ratings`` (how many ratings of them the window holds).
    """
    t = thresholds or Thresholds()
    rows = answers.loc[
        answers["item"].isin([PERSONAL_SELF, PERSONAL_PARTNER]) & answers["value_num"].notna(),
        ["couple_id", "partner", "week", "item", "value_num"],
    ]
    rows = rows if windowed else _in_window(rows, as_of, t)
    own = (rows["item"] == PERSONAL_SELF).to_numpy()
    other = np.where(rows["partner"] == "A", "B", "A")
    value = rows["value_num"].to_numpy(dtype=float)
    sums = pd.DataFrame(
        {
            "self_sum": np.where(own, value, 0.0),
            "self_n": own.astype(np.int64),
            "partner_sum": np.where(own, 0.0, value),
            "partner_n": (~own).astype(np.int64),
        }
    )
    subject = np.where(own, rows["partner"].to_numpy(), other)
    g = sums.groupby([rows["couple_id"].to_numpy(), subject]).sum()
    full = pd.MultiIndex.from_product(
        [as_of.index.astype(object), ["A", "B"]], names=["couple_id", "partner"]
    )
    g = g.reindex(full, fill_value=0)
    self_n, partner_n = g["self_n"].to_numpy(), g["partner_n"].to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        own_mean = g["self_sum"].to_numpy() / np.where(self_n > 0, self_n, np.nan)
        by_partner = g["partner_sum"].to_numpy() / np.where(partner_n > 0, partner_n, np.nan)
    # The mean of the two ratings that exist (one alone when the other is missing).
    score = np.where(
        np.isnan(own_mean),
        by_partner,
        np.where(np.isnan(by_partner), own_mean, (own_mean + by_partner) / 2),
    )
    return pd.DataFrame(
        {"self": own_mean, "by_partner": by_partner, "score": score,
         "ratings": (self_n + partner_n).astype(np.int64)},
        index=full,
    )  # fmt: skip


# -- mutuality index ---------------------------------------------------------------------


def explain_index(thresholds: Thresholds | None = None) -> str:
    """The mutuality index's formula in plain words, for reports and notebooks."""
    t = thresholds or Thresholds()
    return (
        "The mutuality index runs from 0 to 100; higher is more mutual. Three quarters of it "
        "is balance: it starts full and loses points for every week of the last "
        f"{t.window_weeks} in which one partner carried clearly more (at least "
        f"{t.imbalance_points:g} points past 50/50) with no agreed season to explain it, the "
        "more the further from 50/50, averaged over the four shared domains. An agreed "
        "season costs nothing. The last quarter is personal work: the lower of the two "
        "partners' scores (0-4: their own rating and their partner's rating of them, "
        "averaged), because both have to stretch. Without personal-work answers the index "
        "is the balance alone."
    )


def mutuality_index(
    domains: pd.DataFrame, personal: pd.DataFrame, thresholds: Thresholds | None = None
) -> pd.Series:
    """The mutuality index per couple (0-100; formula in the module docstring).

    None (NaN) for a couple with no share answers in the window.
    """
    t = thresholds or Thresholds()
    n = len(SHARE_DOMAINS)
    couples = domains.index.get_level_values("couple_id")[::n]
    if (
        len(domains) == n * len(couples)
        and len(personal) == 2 * len(couples)
        and (personal.index.get_level_values("couple_id")[::2].equals(couples))
    ):
        # The frames of judge_domains and personal_work: full products in couple order,
        # so per-couple figures are plain reshapes (no groupby).
        excess = domains["uncovered_excess"].to_numpy().reshape(-1, n).mean(axis=1)
        answered = domains["weeks_answered"].to_numpy().reshape(-1, n).sum(axis=1)
        lower = personal["score"].to_numpy().reshape(-1, 2).min(axis=1)  # NaN if either is
    else:
        excess = domains["uncovered_excess"].groupby(level="couple_id", sort=False).mean()
        couples = excess.index
        answered = domains["weeks_answered"].groupby(level="couple_id", sort=False).sum()
        lower = personal["score"].groupby(level="couple_id", sort=False).min(skipna=False)
        lower = lower.reindex(couples).to_numpy()
        excess, answered = excess.to_numpy(), answered.reindex(couples).to_numpy()
    balance = np.clip(1.0 - excess / (50.0 * t.window_weeks), 0.0, 1.0)
    pw = np.clip(lower / PERSONAL_MAX, 0.0, 1.0)
    index = np.where(
        np.isnan(pw),
        100.0 * balance,
        100.0 * (BALANCE_WEIGHT * balance + (1 - BALANCE_WEIGHT) * pw),
    )
    index = np.where(answered > 0, index, np.nan)
    return pd.Series(index, index=pd.Index(couples, name="couple_id"), name="mutuality_index")


# -- alerts -------------------------------------------------------------------------------


def _name(names: dict[str, dict[str, str]], couple_id: str, partner: str | None) -> str:
    if partner is None:
        return "neither partner"
    return names.get(couple_id, {}).get(partner) or f"Partner {partner}"


def _day(ts: pd.Timestamp) -> str:
    return pd.Timestamp(ts).strftime("%Y-%m-%d")


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
            dict(couple_id=r.couple_id, kind=r.status, domain=r.domain, partner=r.carried_by,
                 weeks=int(n), season_id=None, message=f"{label}: {who}, {tail}")
        )  # fmt: skip

    in_window = weekly if windowed else _in_window(weekly, as_of, t)
    if len(seasons):
        spans = _season_weeks(seasons.loc[seasons["couple_id"].isin(as_of.index)])
        spans["as_of"] = spans["couple_id"].map(as_of)
        spans["window_start"] = spans["as_of"] - (window - 1) * ONE_WEEK
        # Agreed, still open, past its planned end, while the supported partner still
        # carries less in the latest answered week after that end.
        over = spans.loc[
            spans["agreed"] & spans["closed_on"].isna() & (spans["active_to"] < spans["as_of"])
        ]
        if not over.empty:
            after = in_window.merge(
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
                records.append(
                    dict(couple_id=s.couple_id, kind="season_overstayed",
                         domain=doms[0] if len(doms) == 1 else None, domains=doms,
                         partner=s.partner, weeks=None, season_id=int(s.season_id),
                         message=(
                             f"{_name(names, s.couple_id, s.partner)}'s "
                             f"{s.reason.replace('_', ' ')} season was planned to end on "
                             f"{_day(s.planned_end)}, but {_name(names, s.couple_id, other)} "
                             f"is still carrying more ({labels}): time to talk about it again."
                         ))
                )  # fmt: skip
        # Unagreed seasons that touch the window: they explain nothing until both agree.
        unagreed = spans.loc[
            ~spans["agreed"]
            & (spans["active_from"] <= spans["as_of"] + pd.Timedelta(days=6))
            & (spans["active_to"] >= spans["window_start"])
        ]
        for s in unagreed.itertuples(index=False):
            records.append(
                dict(couple_id=s.couple_id, kind="unagreed_season", domain=None,
                     partner=s.partner, weeks=None, season_id=int(s.season_id),
                     message=(
                         f"{_name(names, s.couple_id, s.partner)}'s {s.reason.replace('_', ' ')} "
                         f"season ({_day(s.start)} to {_day(s.planned_end)}) is not agreed by "
                         "both partners, so it does not explain any imbalance."
                     ))
            )  # fmt: skip

    # One-sided weeks: a share answer from one partner only.
    one = in_window.loc[in_window["one_sided"]]
    if not one.empty:
        missing = np.where(one["view_a"].isna(), "A", "B")
        counts = (
            pd.DataFrame({"couple_id": one["couple_id"].to_numpy(), "partner": missing,
                          "week": one["week"].to_numpy()})
            .groupby(["couple_id", "partner"])["week"].nunique()
        )  # fmt: skip
        for (couple_id, partner), n in counts.items():
            other = "B" if partner == "A" else "A"
            records.append(
                dict(couple_id=couple_id, kind="one_sided", domain=None, partner=partner,
                     weeks=int(n), season_id=None,
                     message=(
                         f"{n} of the last {window} weeks rest on "
                         f"{_name(names, couple_id, other)}'s view alone: "
                         f"{_name(names, couple_id, partner)}'s check-in is missing."
                     ))
            )  # fmt: skip

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
                    f"last one for the week of {_day(lw[couple_id])}"
                    if pd.notna(lw[couple_id])
                    else "none at all so far"
                )
                records.append(
                    dict(couple_id=couple_id, kind="silence", domain=None, partner=partner,
                         weeks=int(n), season_id=None,
                         message=(
                             f"No check-in from {_name(names, couple_id, partner)} for "
                             f"{int(n)} weeks ({since})."
                         ))
                )  # fmt: skip

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
        None (each couple's latest answered week), one date for all, or a Series of
        dates indexed by couple id.
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
    judged = _in_window(judged, as_of_s, t)
    if weekly is None:
        weekly = weekly_shares(judged, seasons, t)
    weekly = _in_window(weekly, as_of_s, t)
    # Both are windowed already (windowed=True skips doing it again).
    domains = judge_domains(weekly, as_of_s, t, windowed=True)
    personal = personal_work(judged, as_of_s, t, windowed=True)
    index = mutuality_index(domains, personal, t)
    alerts = build_alerts(weekly, domains, seasons, as_of_s, checkins, names, t, windowed=True)
    return Judgement(t, as_of_s, weekly, domains, personal, index, alerts)


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
            "week": _day(latest["week"]),
            "previous_score": None if before is None else _num(before["score"]),
            "previous_week": None if before is None else _day(before["week"]),
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
) -> dict[str, Any]:
    """:func:`summarize` over frames already read (pure; see :func:`summarize`)."""
    t = thresholds or Thresholds()
    answers = answers.loc[answers["couple_id"] == couple_id]
    seasons = seasons.loc[seasons["couple_id"] == couple_id] if len(seasons) else seasons
    names = names or {"A": "Partner A", "B": "Partner B"}
    weekly = weekly_shares(answers, seasons, t)
    j = judge(answers, seasons, [couple_id], as_of, t, {couple_id: names}, weekly=weekly)
    week = j.as_of[couple_id]
    summary: dict[str, Any] = {
        "couple_id": couple_id,
        "as_of": _day(week),
        "window_weeks": t.window_weeks,
        "window_start": _day(week - (t.window_weeks - 1) * ONE_WEEK),
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
        "date": _day(previous["date"]),
        "as_of": _day(previous["as_of"]),
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
