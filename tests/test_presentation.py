"""The presentation layer: every HTML fragment is escaped, one view of a summary for all."""

from __future__ import annotations

from typing import Any

import pytest

from mutuality_helpers.presentation import domain_rows, environment, fragment, summary_text
from mutuality_helpers.summary import summarize


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("<script>alert('x')</script>", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"),
        ('say "hi" & go', "say &#34;hi&#34; &amp; go"),
        (3, "3"),
    ],
)
def test_every_fragment_escapes_what_it_is_given(value: Any, expected: str) -> None:
    assert fragment("forms.html.j2", "notice", value) == f"<p style='color:#a4262c'>{expected}</p>"


def test_autoescape_is_on_and_undefined_names_fail() -> None:
    env = environment()
    assert env.autoescape is True
    template = env.from_string("{{ missing }}")
    with pytest.raises(Exception, match="missing"):
        template.render()


def test_one_view_serves_the_text_the_workbook_and_the_report(demo_store) -> None:
    from mutuality_helpers.session_ui import summary_html

    summary = summarize(demo_store, "D004")
    rows = domain_rows(summary)
    assert [r.domain for r in rows] == list(summary["domains"])
    repair = rows[0]
    assert repair.status == summary["domains"]["repair"]["status"] == "chronic"
    assert repair.carrier == summary["names"][summary["domains"]["repair"]["carried_by"]]
    text, html = summary_text(summary), summary_html(summary)
    for row in rows:
        assert row.label in text and row.label in html
