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

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import ParameterError
from .formatting import iso_day
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS, share_item
from .validation import parse_date, week_of

#: Statuses in the order their rules are checked.
STATUSES: tuple[str, ...] = ("insufficient_data", "chronic", "drifting", "seasonal", "balanced")
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
                             f"{iso_day(s.planned_end)}, but {_name(names, s.couple_id, other)} "
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
                         f"season ({iso_day(s.start)} to {iso_day(s.planned_end)}) is not "
                         "agreed by "
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
                    f"last one for the week of {iso_day(lw[couple_id])}"
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
