"""Checks for the values that identify an answer: couple id, partner, week, dates.

Each parser takes raw input (from a CSV cell, a widget or the command line) and
returns the canonical value, or raises :class:`ValidationError` with a one-line
reason.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from typing import Any

from .exceptions import ValidationError

PARTNERS = ("A", "B")
# Pseudonymous ids end up in file names, so they are kept to a safe alphabet.
COUPLE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# Lone surrogates: what a broken emoji or a clipped paste leaves in a browser string, and what
# Python makes of invalid UTF-8 bytes on the command line (U+DC80-U+DCFF, "surrogateescape").
# No UTF-8 file or database can hold them.
_SURROGATE = re.compile("[\ud800-\udfff]")
# Every date the workbook handles lies well inside this span (and inside what pandas can
# represent), so a typo such as 0001-01-01 is named as one instead of failing deep inside.
FIRST_DAY = dt.date(1900, 1, 1)
LAST_DAY = dt.date(2199, 12, 31)
_TRUE = {"true", "yes", "y", "1"}
_FALSE = {"false", "no", "n", "0"}


def shown(raw: Any) -> str:
    """Raw input quoted for an error message, clipped to 30 characters."""
    text = str(raw)
    return repr(text if len(text) <= 30 else text[:27] + "...")


def parse_couple_id(raw: Any) -> str:
    text = "" if raw is None else str(raw).strip()
    if not COUPLE_ID_PATTERN.match(text):
        raise ValidationError(
            f"couple id {shown(text)} must be 1-32 letters, digits, '-' or '_' "
            "(a pseudonymous id, never a name)"
        )
    return text


def parse_partner(raw: Any) -> str:
    text = "" if raw is None else str(raw).strip()
    if text not in PARTNERS:
        raise ValidationError(f"partner {shown(text)} must be A or B")
    return text


def parse_date(raw: Any, what: str = "date") -> dt.date:
    if isinstance(raw, dt.datetime):
        day = raw.date()
    elif isinstance(raw, dt.date):
        day = raw
    else:
        text = "" if raw is None else str(raw).strip()
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValidationError(f"{what} {shown(text)} must be a date written YYYY-MM-DD")
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise ValidationError(f"{what} {shown(text)} is not a real date") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise ValidationError(
            f"{what} {day.isoformat()} is outside {FIRST_DAY.isoformat()} to {LAST_DAY.isoformat()}"
        )
    return day


def parse_week(raw: Any) -> dt.date:
    """A week is named by the Monday that starts it."""
    day = parse_date(raw, "week")
    if day.weekday() != 0:
        monday = week_of(day)
        raise ValidationError(
            f"week {day.isoformat()} is a {day:%A}; a week is named by its Monday "
            f"({monday.isoformat()})"
        )
    return day


def week_of(day: dt.date) -> dt.date:
    """The Monday starting the week that holds ``day``."""
    return day - dt.timedelta(days=day.weekday())


def parse_bool(raw: Any, what: str = "value") -> bool:
    if isinstance(raw, bool):
        return raw
    text = "" if raw is None else str(raw).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValidationError(f"{what} {shown(raw)} must be true or false")


def parse_name(raw: Any, what: str) -> str:
    """A partner's display name: short, printable, may be empty (then "Partner A/B" is shown)."""
    text = parse_text(raw, what, 60).strip()
    # Names are printed in terminals, forms and PDFs: control characters have no place there.
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in text):
        raise ValidationError(f"{what} {shown(text)} contains control characters")
    return text


def parse_text(raw: Any, what: str, max_length: int = 4000, required: bool = False) -> str:
    """Text as typed, kept exactly, or refused with the reason (never silently changed)."""
    text = "" if raw is None else str(raw)
    if "\x00" in text:
        raise ValidationError(f"{what} must not contain NUL characters")
    broken = _SURROGATE.search(text)
    if broken:
        code = ord(broken.group())
        if 0xDC80 <= code <= 0xDCFF:
            raise ValidationError(
                f"{what} is not valid UTF-8 text (byte 0x{code - 0xDC00:02X} at character "
                f"{broken.start() + 1}); check the text's encoding"
            )
        raise ValidationError(
            f"{what} holds half of a character (U+{code:04X} at character {broken.start() + 1}), "
            "as a broken emoji or a clipped paste leaves; please retype that part"
        )
    if len(text) > max_length:
        raise ValidationError(f"{what} is {len(text)} characters, at most {max_length} allowed")
    if required and not text.strip():
        raise ValidationError(f"{what} is required")
    return text
