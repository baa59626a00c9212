"""The records the store keeps, and the checks that make them: answers, seasons, couple names.

Every way in (a CSV row, a widget, the command line, a Python call) builds its records
here, so a bad value is refused in one place with one line saying why:
:func:`make_answer`, :func:`make_season` and :func:`make_couple` raise
:class:`~mutuality_helpers.exceptions.ValidationError`; :mod:`~mutuality_helpers.interchange`
adds the line number of the row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from .exceptions import ValidationError
from .instruments import find_item
from .validation import (
    parse_bool,
    parse_couple_id,
    parse_date,
    parse_name,
    parse_partner,
    parse_text,
    parse_week,
)

#: Why a partner needs support for a while; the same tags as the check-in's ``demands``.
SEASON_REASONS = ("work", "illness", "burnout", "caregiving", "children", "mental_health", "other")


@dataclass(frozen=True)
class Answer:
    """One validated answer, ready to be written."""

    couple_id: str
    partner: str
    week: dt.date
    item: str
    value: str
    value_num: float | None
    instrument: str


@dataclass(frozen=True)
class Season:
    """One validated season: a time-limited imbalance, who it supports, and whether both agreed."""

    couple_id: str
    partner: str
    reason: str
    start: dt.date
    planned_end: dt.date
    agreed: bool
    note: str = ""


@dataclass(frozen=True)
class CoupleNames:
    """A couple's id and its partners' display names (empty: not given)."""

    couple_id: str
    name_a: str = ""
    name_b: str = ""


def make_answer(couple_id: Any, partner: Any, week: Any, item: Any, value: Any) -> Answer:
    """Validate one answer from raw input (CSV cell, widget, API call).

    The value is checked against its item's definition (type, range, choices, length).
    """
    couple_id = parse_couple_id(couple_id)
    partner = parse_partner(partner)
    week = parse_week(week)
    instrument, spec = find_item("" if item is None else str(item).strip())
    text = spec.parse(value)
    return Answer(
        couple_id=couple_id,
        partner=partner,
        week=week,
        item=spec.id,
        value=text,
        value_num=float(text) if spec.is_numeric else None,
        instrument=instrument.id,
    )


def parse_reason(raw: Any) -> str:
    """A season's reason: one of :data:`SEASON_REASONS`."""
    text = "" if raw is None else str(raw).strip()
    if text not in SEASON_REASONS:
        raise ValidationError(f"reason {text[:30]!r} must be one of {', '.join(SEASON_REASONS)}")
    return text


def make_season(
    couple_id: Any,
    partner: Any,
    reason: Any,
    start: Any,
    planned_end: Any,
    agreed: Any,
    note: Any = "",
) -> Season:
    """Validate one season from raw input; its planned end may not come before its start."""
    reason_text = parse_reason(reason)
    start_day = parse_date(start, "start")
    end_day = parse_date(planned_end, "planned_end")
    if end_day < start_day:
        raise ValidationError(
            f"planned_end {end_day.isoformat()} is before start {start_day.isoformat()}"
        )
    return Season(
        couple_id=parse_couple_id(couple_id),
        partner=parse_partner(partner),
        reason=reason_text,
        start=start_day,
        planned_end=end_day,
        agreed=parse_bool(agreed, "agreed"),
        note=parse_text(note, "note", 1000),
    )


def make_couple(couple_id: Any, name_a: Any = "", name_b: Any = "") -> CoupleNames:
    """Validate a couple id and its display names (short, printable, may be empty)."""
    return CoupleNames(
        couple_id=parse_couple_id(couple_id),
        name_a=parse_name(name_a, "name_a"),
        name_b=parse_name(name_b, "name_b"),
    )
