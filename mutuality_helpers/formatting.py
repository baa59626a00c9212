"""How things are written for people: display names, numbers, dates, terminal-safe text.

The one place for these, used by the command line, the widgets, the charts and the PDF
report (the HTML templates get them as Jinja filters, see
:mod:`~mutuality_helpers.presentation`). Dependency-light on purpose (stdlib and pandas
only): the command line formats with it too.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Mapping
from typing import Any

#: What a missing value (``None``, NaN, NaT) is shown as.
MISSING = "-"


def missing(value: Any) -> bool:
    """True for ``None``, NaN and NaT."""
    if value is None:
        return True
    # pandas only for what may be NaN or NaT: names and numbers format without it.
    import pandas as pd

    return bool(pd.api.types.is_scalar(value) and pd.isna(value))


#: How each status is written for people.
STATUS_LABELS: dict[str, str] = {
    "insufficient_data": "not enough answers",
    "chronic": "chronic",
    "drifting": "drifting",
    "seasonal": "seasonal (agreed)",
    "balanced": "balanced",
}


#: Each status's colour (Okabe-Ito), the same in the charts and the caseload table.
STATUS_COLOURS: dict[str, str] = {
    "balanced": "#009E73",
    "seasonal": "#56B4E9",
    "drifting": "#CC79A7",
    "chronic": "#D55E00",
    "insufficient_data": "#BBBBBB",
}


def status_label(status: str | None) -> str:
    """A status as people read it (an unknown one as it is)."""
    return STATUS_LABELS.get(status or "", status or MISSING)


def status_colour(status: str | None) -> str:
    """A status's colour (grey for none or an unknown one)."""
    return STATUS_COLOURS.get(status or "", STATUS_COLOURS["insufficient_data"])


# -- names ---------------------------------------------------------------------------------


def display_name(name: str | None, partner: str) -> str:
    """A partner's display name, or "Partner A" / "Partner B" when none was given."""
    return name or f"Partner {partner}"


def display_names(name_a: str | None, name_b: str | None) -> dict[str, str]:
    """``{"A": ..., "B": ...}`` display names, with the fallbacks of :func:`display_name`."""
    return {"A": display_name(name_a, "A"), "B": display_name(name_b, "B")}


def display_names_of(names: Mapping[str, str] | None) -> dict[str, str]:
    """``names`` (``{"A": ..., "B": ...}``, possibly partial) with the fallbacks filled in."""
    names = names or {}
    return display_names(names.get("A"), names.get("B"))


def partner_name(names: Mapping[str, str] | None, partner: str | None) -> str:
    """The name of ``partner`` ("A"/"B") in ``names``; ``"-"`` for no partner."""
    if partner is None:
        return MISSING
    return display_name((names or {}).get(partner), partner)


# -- numbers -------------------------------------------------------------------------------


def number(value: Any, digits: int = 0, suffix: str = "") -> str:
    """``value`` with ``digits`` decimals (and ``suffix``), or ``"-"`` when missing."""
    if missing(value):
        return MISSING
    return f"{float(value):.{digits}f}{suffix}"


def percent(value: Any) -> str:
    """A share in whole percent, e.g. ``"70%"``."""
    return number(value, 0, "%")


def signed(value: Any, unit: str = "", digits: int = 0) -> str:
    """A change or gap with its sign (``"+5 pts"``, ``"-3 pts"``); ``"±0"`` when it rounds to 0."""
    if missing(value):
        return MISSING
    value = float(value)
    if round(value, digits) == 0:
        return f"±{0:.{digits}f}{unit}"
    return f"{value:+.{digits}f}{unit}"


# -- dates ---------------------------------------------------------------------------------


def iso_day(value: Any) -> str:
    """A date as ``YYYY-MM-DD``, e.g. ``"2026-11-01"``.

    ``value`` is a date, datetime, :class:`pandas.Timestamp` or ISO date string; a missing
    one (``None``, NaN, NaT) is shown as ``"-"``, as by every function here.
    """
    if missing(value):
        return MISSING
    import pandas as pd

    return pd.Timestamp(value).date().isoformat()


def long_day(value: Any) -> str:
    """A date written out for people, e.g. ``"1 Nov 2026"`` (no leading zero); as iso_day."""
    if missing(value):
        return MISSING
    import pandas as pd

    day = pd.Timestamp(value)
    return f"{day.day} {day:%b %Y}"  # "%-d" is not portable (Windows)


def week_label(week: dt.date) -> str:
    """``'week of Monday 23 November 2026'`` (no leading zero, no locale surprises)."""
    return f"week of Monday {week.day} {week:%B %Y}"


def sentence_start(text: str) -> str:
    """``text`` with its first letter capitalised and nothing else changed.

    ``str.capitalize`` lower-cases the rest ("Week of monday 30 november"); English
    writes day and month names with capitals wherever they stand.
    """
    return text[:1].upper() + text[1:]


def long_time(value: Any) -> str:
    """An ISO UTC time (what ``saved_at`` holds) for people, e.g. ``"25 Nov 2026, 20:14 UTC"``."""
    if missing(value) or value == "":
        return MISSING
    moment = dt.datetime.fromisoformat(str(value)).astimezone(dt.UTC)
    return f"{moment.day} {moment:%b %Y, %H:%M} UTC"


def printable(text: str) -> str:
    """``text`` for a terminal: control and bidi-override characters shown escaped.

    Names and notes come from clients and imported files; an escape sequence in a
    name must not recolour, clear or reorder the therapist's terminal.
    """
    return "".join(
        ch if unicodedata.category(ch)[0] != "C" else ch.encode("unicode_escape").decode("ascii")
        for ch in str(text)
    )


def day_name(value: Any) -> str:
    """A date with its weekday, as English writes it: ``"Thursday 26 November 2026"``.

    Weekday and month capitalised (English names, whatever the machine's locale: every
    other label is English too); as :func:`iso_day` for a missing value.
    """
    if missing(value):
        return MISSING
    import pandas as pd

    day = pd.Timestamp(value)
    return f"{day:%A} {day.day} {day:%B %Y}"


# -- words for ids -------------------------------------------------------------------------


def id_words(name: str | None) -> str:
    """An id (a field, a season reason, a demand tag) in words: ``planned_end``, "planned end"."""
    return MISSING if name is None else str(name).replace("_", " ")


def reason_label(reason: str | None) -> str:
    """A season's reason (or a demand tag) as people read it, e.g. ``"mental health"``."""
    return id_words(reason)
