"""Personal work and the mutuality index (``docs/method.md``, "The mutuality index").

**Personal work** is each partner's own growth (0-4): the mean of how they rated their
own work and how their partner rated it, over the window. It is not a share: both
partners can do all of their own work.

**Mutuality index** (0-100, higher is more mutual)::

    balance  = 1 - mean over the share domains of
                   sum(|consensus - 50| over the window's uncovered imbalanced weeks)
                   / (50 * window_weeks)
    personal = min(personal work of A, personal work of B) / 4
    index    = 100 * (0.75 * balance + 0.25 * personal)     (100 * balance without
                                                             personal-work answers)

The denominator is the fixed window length, so adding or deepening an uncovered imbalance
can only lower the index (it is monotone); covered (agreed) imbalance costs nothing; the
*lower* partner's personal work counts, because both have to stretch. :func:`explain_index`
says the same in plain words, for the report's method note.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .instruments import SHARE_DOMAINS
from .thresholds import Thresholds
from .weeks import in_window

PERSONAL_SELF = "personal_work_self"
PERSONAL_PARTNER = "personal_work_partner"
PERSONAL_MAX = 4.0
#: Weight of the share-domain balance in the mutuality index (personal work has the rest).
BALANCE_WEIGHT = 0.75


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
    rows = rows if windowed else in_window(rows, as_of, t.window_weeks)
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
    """The mutuality index per couple (0-100; the formula is in the module docstring).

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
