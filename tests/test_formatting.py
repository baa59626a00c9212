"""The shared text helpers: ISO and long dates, HTML escaping."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

import pandas as pd
import pytest

from mutuality_helpers.formatting import escape, iso_day, long_day


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
    ("value", "expected"),
    [
        ("<script>alert('x')</script>", "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;"),
        ('say "hi" & go', "say &quot;hi&quot; &amp; go"),
        (3, "3"),
        (None, ""),
    ],
)
def test_escape(value: Any, expected: str) -> None:
    assert escape(value) == expected
