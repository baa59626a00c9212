"""The shared text helpers: ISO and long dates, numbers, display names."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from mutuality_helpers.formatting import (
    display_names,
    iso_day,
    long_day,
    number,
    partner_name,
    percent,
    signed,
    status_label,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 11, 2), "2026-11-02"),
        (pd.Timestamp("2026-11-02 23:30"), "2026-11-02"),
        ("2026-11-02", "2026-11-02"),
        (None, "-"),
        (pd.NaT, "-"),
        (math.nan, "-"),
    ],
)
def test_iso_day(value: Any, expected: str) -> None:
    assert iso_day(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2026, 11, 1), "1 Nov 2026"),
        (pd.Timestamp("2026-11-30 08:00"), "30 Nov 2026"),
        ("2026-01-05", "5 Jan 2026"),
        (None, "-"),
        (pd.NaT, "-"),
    ],
)
def test_long_day(value: Any, expected: str) -> None:
    assert long_day(value) == expected


@pytest.mark.parametrize(
    ("value", "digits", "expected"),
    [(62.46, 0, "62"), (62.46, 1, "62.5"), (None, 0, "-"), (math.nan, 1, "-"), (3, 1, "3.0")],
)
def test_number(value: Any, digits: int, expected: str) -> None:
    assert number(value, digits) == expected


def test_percent_and_signed() -> None:
    assert percent(69.6) == "70%" and percent(None) == "-"
    assert signed(4.6, " pts") == "+5 pts" and signed(-3.2, " pts") == "-3 pts"
    assert signed(0.3, " pts") == "±0 pts" and signed(-0.4) == "±0"
    assert signed(0.04, digits=1) == "±0.0" and signed(1.25, digits=1) == "+1.2"
    assert signed(math.nan) == "-"


def test_display_names_fall_back_to_partner_a_and_b() -> None:
    assert display_names("Ana", "") == {"A": "Ana", "B": "Partner B"}
    assert partner_name({"A": "Ana"}, "B") == "Partner B"
    assert partner_name({"A": "Ana"}, None) == "-"
    assert status_label("seasonal") == "seasonal (agreed)" and status_label("odd") == "odd"
