"""Chart text drawn a string at a time (mutuality_helpers.svgtext), checked on real PDFs."""

from __future__ import annotations

import base64
import re
import subprocess
from pathlib import Path

import pytest

from mutuality_helpers import svgtext

# Labels as Vega draws them (a transform and an anchor each), lines in tspans, a rotated
# axis title, and one text placed letter by letter, which must keep WeasyPrint's own drawing.
SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="400" height="240" viewBox="0 0 400 240">
<g font-family="DejaVu Sans" font-size="11px" fill="#000">
<text transform="translate(20,20)" text-anchor="start">Repair after conflict</text>
<text transform="translate(200,40)" text-anchor="middle">Reaching for connection</text>
<text transform="translate(380,60)" text-anchor="end">Practical load</text>
<text transform="translate(30,200) rotate(-90)" text-anchor="middle">Share (%)</text>
<text transform="translate(60,90)"><tspan>First line</tspan>
<tspan x="0" dy="14">Second line</tspan></text>
<text x="100 140 180 220" y="160">WXYZ</text>
</g></svg>"""


def _words(pdf: Path) -> list[tuple[str, float, float, float]]:
    """Each word poppler finds on the page: (word, x min, y min, x max), in reading order."""
    html = subprocess.run(
        ["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    pattern = r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>'
    return [(w, float(x0), float(y0), float(x1)) for x0, y0, x1, w in re.findall(pattern, html)]


def _print(path: Path) -> Path:
    from weasyprint import HTML

    data = base64.b64encode(SVG.encode()).decode()
    HTML(string=f'<img src="data:image/svg+xml;base64,{data}">').write_pdf(path)
    return path


def _draw_as_stock(monkeypatch) -> None:
    """WeasyPrint's own letter-by-letter SVG text, until ``monkeypatch.undo()``."""
    import weasyprint.svg as svg

    svgtext.draw_text_whole()
    whole = svg.TAGS["text"]
    stock = whole.__wrapped__
    for tag, draw in list(svg.TAGS.items()):
        if draw is whole:
            monkeypatch.setitem(svg.TAGS, tag, stock)
    monkeypatch.setattr(svg, "text", stock)


def test_words_land_where_letter_by_letter_drawing_puts_them(tmp_path, monkeypatch):
    _draw_as_stock(monkeypatch)
    stock = _words(_print(tmp_path / "stock.pdf"))
    monkeypatch.undo()
    whole = _words(_print(tmp_path / "whole.pdf"))

    assert [w for w, *_ in whole] == [w for w, *_ in stock]
    assert "Repair" in [w for w, *_ in whole] and "WXYZ" not in [w for w, *_ in whole]
    for (word, x0, y0, x1), (_, sx0, sy0, sx1) in zip(whole, stock, strict=True):
        # Within a point: only kerning (which letter-by-letter layout loses) may differ.
        assert abs(x0 - sx0) < 1.0 and abs(y0 - sy0) < 1.0, word
        assert abs(x1 - sx1) < 1.5, word


def _layouts(monkeypatch) -> list[str]:
    """Every text WeasyPrint hands Pango to lay out, from here on."""
    import weasyprint.text.line_break as line_break

    laid_out: list[str] = []
    split = line_break.split_first_line

    def counting(text, *args, **kwargs):
        laid_out.append(str(text))
        return split(text, *args, **kwargs)

    monkeypatch.setattr(line_break, "split_first_line", counting)
    return laid_out


def test_a_label_is_laid_out_once_and_per_letter_positions_letter_by_letter(tmp_path, monkeypatch):
    svgtext.draw_text_whole()
    laid_out = _layouts(monkeypatch)
    _print(tmp_path / "whole.pdf")
    # Twice, the whole string: WeasyPrint measures it, then draws it as its one "letter".
    assert laid_out.count("Reaching for connection") == 2
    assert "R" not in laid_out
    # The text with an x for every letter is still placed letter by letter.
    assert all(letter in laid_out for letter in "WXYZ")


@pytest.mark.parametrize(
    ("attributes", "whole"),
    [
        ({}, True),
        ({"x": "10", "y": "20", "dx": "3", "dy": "-1"}, True),
        ({"x": "10 20"}, False),
        ({"dx": "1,2,3"}, False),
        ({"rotate": "30"}, False),
        ({"textLength": "120"}, False),
        ({"letter-spacing": "2px"}, False),
        ({"letter-spacing": "0"}, True),
    ],
)
def test_what_counts_as_placed_per_letter(attributes, whole):
    class Node(dict):
        pass

    assert svgtext.positions_nothing_per_letter(Node(attributes)) is whole


def test_installing_twice_wraps_once():
    import weasyprint.svg as svg

    svgtext.draw_text_whole()
    first = svg.TAGS["text"]
    svgtext.draw_text_whole()
    assert svg.TAGS["text"] is first is svg.text is svg.TAGS["tspan"]
    assert not getattr(first.__wrapped__, "mutuality_whole_text", False)
