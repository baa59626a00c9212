"""The judgement's named parameters, and the method page that documents them."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from mutuality_helpers.thresholds import Thresholds

METHOD = Path(__file__).resolve().parents[1] / "docs" / "method.md"


def test_the_method_page_states_every_default_threshold():
    text = METHOD.read_text(encoding="utf-8")
    for field in dataclasses.fields(Thresholds):
        default = f"{field.default:g}"
        assert re.search(rf"`{field.name}` \(default \*\*{default}\*\*\)", text), field.name


def test_the_code_points_to_the_method_page():
    package = Path(__file__).resolve().parents[1] / "mutuality_helpers"
    for module in ("analysis.py", "alerts.py", "mutuality_index.py", "thresholds.py"):
        assert "docs/method.md" in (package / module).read_text(encoding="utf-8"), module
    report = (package / "templates" / "html" / "report.html.j2").read_text(encoding="utf-8")
    assert "docs/method.md" in report
