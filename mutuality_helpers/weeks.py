"""Weeks: today, the week a view or a session is judged as of, and week arithmetic on frames.

A week is named by the Monday that starts it (:func:`~mutuality_helpers.validation.week_of`
for one date, :func:`mondays` for a column of them). The rules these serve are in
``docs/method.md``.

**Which week is judged** is one rule, :func:`judged_week`, for every view alike (the
summary, the caseload and the session workbook judge as of :func:`today`; a session and its
report as of the session's date): the week holding the day when both partners' check-ins
for it are in, otherwise the last *complete* week before it. A week still running is never
judged on half its answers, so it raises no "missing check-in" alert.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Collection
from typing import Any

import pandas as pd

from .exceptions import ValidationError
from .validation import PARTNERS, parse_date, week_of

ONE_WEEK = pd.Timedelta(weeks=1)
#: Fixes the date every view takes as today (``YYYY-MM-DD``): for tests and demonstrations.
TODAY_ENV = "MUTUALITY_TODAY"


def today() -> dt.date:
    """The date taken as today: ``$MUTUALITY_TODAY`` when set, else the real date.

    Every "as of today" in the package comes from here (or from a ``today=`` argument),
    so tests, and the servers and kernels they start, run on a fixed day.

    Raises
    ------
    ValidationError
        When ``MUTUALITY_TODAY`` is set but is not a date.
    """
    fixed = os.environ.get(TODAY_ENV, "").strip()
    if not fixed:
        return dt.date.today()
    try:
        return parse_date(fixed, TODAY_ENV)
    except ValidationError as exc:
        raise ValidationError(f"environment variable {exc}") from None


def judged_week(day: Any, checked_in: Collection[str]) -> dt.date:
    """The week (its Monday) that a view on ``day``, or a session on ``day``, is judged as of.

    The week holding ``day`` when both partners have saved their check-in for it; otherwise
    the last complete week before ``day`` (the week before the one holding it). A session
    on a Tuesday is so judged on last week's answers, unless this week's are already in;
    and a view as of today never judges a week still running on one partner's answers.

    Parameters
    ----------
    day
        A date (or ``YYYY-MM-DD``): today, or the session's date.
    checked_in
        The partners (``"A"``, ``"B"``) with a weekly check-in for the week holding ``day``.
    """
    week = week_of(parse_date(day, "date"))
    if set(PARTNERS) <= set(checked_in):
        return week
    return week - dt.timedelta(weeks=1)


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
