"""Small text helpers shared by the messages, widgets, charts and reports.

Dependency-light on purpose (stdlib and pandas only): :mod:`~mutuality_helpers.report` is
loaded by the CLI and must not pull in Altair or ipywidgets to format a date.
"""

from __future__ import annotations

import html
from typing import Any

import pandas as pd

#: What a missing date (``None``, NaN, NaT) is shown as.
MISSING_DAY = "-"


def _missing(value: Any) -> bool:
    return value is None or (pd.api.types.is_scalar(value) and bool(pd.isna(value)))


def iso_day(value: Any) -> str:
    """A date as ``YYYY-MM-DD``.

    Parameters
    ----------
    value
        A date, datetime, :class:`pandas.Timestamp` or ISO date string; ``None``, NaN and
        NaT count as missing.

    Returns
    -------
    str
        The ISO date, e.g. ``"2026-11-01"``, or ``"-"`` when ``value`` is missing.
    """
    if _missing(value):
        return MISSING_DAY
    return pd.Timestamp(value).date().isoformat()


def long_day(value: Any) -> str:
    """A date written out for people, e.g. ``"1 Nov 2026"``.

    Parameters
    ----------
    value
        A date, datetime, :class:`pandas.Timestamp` or ISO date string; ``None``, NaN and
        NaT count as missing.

    Returns
    -------
    str
        The day without a leading zero, the abbreviated month and the year, or ``"-"``
        when ``value`` is missing.
    """
    if _missing(value):
        return MISSING_DAY
    day = pd.Timestamp(value)
    return f"{day.day} {day:%b %Y}"  # "%-d" is not portable (Windows)


def escape(value: Any) -> str:
    """Escape text for HTML, quotes included (it may land in an attribute).

    Parameters
    ----------
    value
        Anything; it is shown as ``str(value)``, and ``None`` as the empty string.

    Returns
    -------
    str
        The escaped text.
    """
    return html.escape("" if value is None else str(value), quote=True)
