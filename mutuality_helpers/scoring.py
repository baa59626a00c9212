"""Inventory scoring and reliable change.

The mutuality inventory (``definitions/mutuality_inventory.yaml``) is scored
from its definition alone, so a practice can edit or replace it without code:

- every ``int`` item counts; ``reverse: true`` items are flipped
  (``min + max - value``, i.e. ``6 - value`` on a 1-5 scale);
- the score is the mean item score rescaled to 0-100 (higher is more mutual).

Change between two scores is judged with the Jacobson-Truax reliable change
index when the definition supplies ``reliability`` and ``sd`` (the standard
deviation of the 0-100 score in a reference population)::

    SE     = sd * sqrt(1 - reliability)
    S_diff = sqrt(2 * SE**2)
    RCI    = (after - before) / S_diff          reliable when |RCI| >= 1.96

Without them (our inventory has no published norms yet) only the raw change is
given, and it is labelled as such so nobody reads it as reliable.
"""

from __future__ import annotations

import math
from typing import Any, TypedDict

import numpy as np
import pandas as pd

from .instruments import Instrument, get_instrument

INVENTORY_ID = "mutuality_inventory"
#: |RCI| at or above this is a reliable change (p < .05, two-sided).
RCI_CRITICAL = 1.96
SCORE_COLUMNS = ["couple_id", "partner", "week", "score", "items_answered"]


def inventory_scores(answers: pd.DataFrame, instrument: Instrument | None = None) -> pd.DataFrame:
    """Score every inventory administration: one row per couple, partner and week.

    Parameters
    ----------
    answers
        The store's tidy answers frame (only the instrument's ``int`` items are used).
    instrument
        The inventory definition; the shipped ``mutuality_inventory`` by default.

    Returns
    -------
    pandas.DataFrame
        ``couple_id, partner, week, score`` (0-100) and ``items_answered``, sorted.
    """
    instrument = instrument or get_instrument(INVENTORY_ID)
    items = {it.id: it for it in instrument.items if it.type == "int"}
    rows = answers.loc[
        answers["item"].isin(list(items)) & answers["value_num"].notna(),
        ["couple_id", "partner", "week", "item", "value_num"],
    ]
    if rows.empty:
        return pd.DataFrame(
            {
                "couple_id": pd.Series(dtype=object),
                "partner": pd.Series(dtype=object),
                "week": pd.Series(dtype="datetime64[us]"),
                "score": pd.Series(dtype=float),
                "items_answered": pd.Series(dtype=int),
            }
        )
    spec = pd.DataFrame(
        {
            "lo": [float(it.bounds[0]) for it in items.values()],
            "span": [float(it.bounds[1] - it.bounds[0]) for it in items.values()],
            "reverse": [it.reverse for it in items.values()],
        },
        index=list(items),
    )
    # Look the item specs up for every answer at once (no loop per answer).
    spec = spec.reindex(rows["item"].to_numpy())
    lo, span = spec["lo"].to_numpy(), spec["span"].to_numpy()
    reverse = spec["reverse"].to_numpy(dtype=bool)
    # 0..1 per item, flipped for items that describe a one-sided pattern.
    unit = (rows["value_num"].to_numpy() - lo) / span
    unit = np.where(reverse, 1.0 - unit, unit)
    scored = (
        pd.DataFrame(
            {
                "couple_id": rows["couple_id"].to_numpy(),
                "partner": rows["partner"].to_numpy(),
                "week": rows["week"].to_numpy(),
                "unit": unit,
            }
        )  # fmt: skip
        .groupby(["couple_id", "partner", "week"], sort=True)
        .agg(score=("unit", "mean"), items_answered=("unit", "count"))
        .reset_index()
    )
    scored["score"] = scored["score"] * 100.0
    scored["items_answered"] = scored["items_answered"].astype(int)
    return scored[SCORE_COLUMNS]


class ReliableChange(TypedDict):
    """Change between two inventory scores (see :func:`reliable_change`)."""

    change: float | None
    method: str | None  # "jacobson_truax", "raw", or None without two scores
    rci: float | None
    reliable: bool | None
    label: str


def reliable_change(
    before: float | None, after: float | None, instrument: Instrument | None = None
) -> ReliableChange:
    """Change between two inventory scores, with the Jacobson-Truax RCI when possible.

    Returns
    -------
    dict
        ``change`` (after - before, or None), ``method`` (``"jacobson_truax"`` or
        ``"raw"``), ``rci`` and ``reliable`` (None for raw change) and ``label``, one
        plain-language line for a therapist.
    """
    instrument = instrument or get_instrument(INVENTORY_ID)
    if before is None or after is None or _missing(before) or _missing(after):
        return {
            "change": None,
            "method": None,
            "rci": None,
            "reliable": None,
            "label": "no earlier score to compare with",
        }
    change = float(after) - float(before)
    if instrument.reliability is None or instrument.sd is None:
        return {
            "change": round(change, 6),
            "method": "raw",
            "rci": None,
            "reliable": None,
            "label": f"{change:+.1f} points (raw change; reliability not established)",
        }
    se = instrument.sd * math.sqrt(1.0 - instrument.reliability)
    s_diff = math.sqrt(2.0 * se**2)
    rci = change / s_diff
    reliable = abs(rci) >= RCI_CRITICAL
    verdict = (
        ("reliable improvement" if rci > 0 else "reliable decline")
        if reliable
        else "within measurement error"
    )
    return {
        "change": round(change, 6),
        "method": "jacobson_truax",
        "rci": round(rci, 6),
        "reliable": bool(reliable),
        "label": f"{change:+.1f} points, RCI {rci:+.2f}: {verdict}",
    }


def _missing(value: Any) -> bool:
    try:
        return math.isnan(float(value))
    except (TypeError, ValueError):
        return True
