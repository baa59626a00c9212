"""Week arithmetic on frames: Mondays, the judgement window, the weeks a season covers.

A week is named by the Monday that starts it (:func:`~mutuality_helpers.validation.week_of`
for one date, :func:`mondays` for a column of them). The rules these serve are in
``docs/method.md``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .validation import parse_date, week_of

ONE_WEEK = pd.Timedelta(weeks=1)


def as_week(value: Any, what: str = "as_of") -> pd.Timestamp:
    """The Monday of the week holding ``value`` (a date, datetime or ``YYYY-MM-DD``).

    Raises
    ------
    ValidationError
        When ``value`` is not a date; the message names it ``what``.
    """
    return pd.Timestamp(week_of(parse_date(value, what)))


def mondays(days: pd.Series) -> pd.Series:
    """The Monday of each day's week: :func:`~mutuality_helpers.validation.week_of` per row."""
    return days - pd.to_timedelta(days.dt.day_of_week, unit="D")


def window_start(as_of: Any, window_weeks: int) -> Any:
    """The first week of the ``window_weeks``-week window ending at the week ``as_of``."""
    return as_of - (window_weeks - 1) * ONE_WEEK


def in_window(frame: pd.DataFrame, as_of: pd.Series, window_weeks: int) -> pd.DataFrame:
    """Rows of ``frame`` (with ``couple_id`` and ``week``) inside each couple's window.

    ``as_of`` is the evaluated week per couple, indexed by ``couple_id``.
    """
    end = frame["couple_id"].map(as_of)
    keep = (frame["week"] >= window_start(end, window_weeks)) & (frame["week"] <= end)
    return frame.loc[keep.fillna(False).to_numpy(dtype=bool)]


def season_weeks(seasons: pd.DataFrame) -> pd.DataFrame:
    """Seasons with the days bounding the weeks they cover: ``active_from``, ``active_to``.

    A week (named by its Monday) is in a season when ``start <= week <= planned_end``;
    a closed season covers no week after ``closed_on``.
    """
    s = seasons.copy()
    end = s["planned_end"]
    closed = s["closed_on"]
    s["active_from"] = s["start"]
    s["active_to"] = end.where(closed.isna() | (end <= closed), closed)
    return s
