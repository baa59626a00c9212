"""Chart SVGs trimmed for print (mutuality_helpers.leansvg): less to draw, the same picture."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from mutuality_helpers.leansvg import lean_svg
from mutuality_helpers.pdf import write_pdf

SVG_OPEN = '<svg xmlns="http://www.w3.org/2000/svg">'


def test_lean_svg_drops_only_marks_that_draw_nothing():
    svg = (
        f'{SVG_OPEN}<g class="mark-group" role="graphics-object">'
        '<path class="background" aria-hidden="true" d="M0,0h10v10h-10Z"/>'
        '<path class="background" d="M0,0h10v10h-10Z" fill="#fff"/>'
        '<text opacity="0" fill="#000">7 Sep</text><text opacity="1" fill="#000">14 Sep</text>'
        '<path d="M1" fill="#D55E00" opacity="0.7"/>'
        '<path d="M2" fill="#D55E00" stroke="#000" opacity="0.7"/>'
        '<path stroke="#111" fill="#D55E00" opacity="0.7"/>'
        '<path d="M3" fill="none" fill-opacity="0" stroke="#666" stroke-dasharray="4,3"/>'
        '<path class="foreground" aria-hidden="true" d="" display="none"/></g></svg>'
    )
    lean = lean_svg(svg)
    assert "7 Sep" not in lean and "14 Sep" in lean  # a hidden axis label goes, a shown one stays
    assert 'd="M0,0h10v10h-10Z" />' not in lean and 'fill="#fff"' in lean  # painted frames stay
    assert 'd="" display="none"' not in lean
    assert '<path d="M1" fill="#D55E00" fill-opacity="0.7" />' in lean  # fill only: same look
    assert 'stroke="#000" opacity="0.7"' in lean  # a stroke would change with fill-opacity
    assert '<path stroke="#111" fill="#D55E00" opacity="0.7" />' in lean
    assert 'fill-opacity="0" stroke="#666"' in lean  # an outline (unagreed season) stays
    assert "class=" not in lean and "role=" not in lean and "aria-" not in lean
    styled = svg.replace("<g ", "<style>.x{}</style><g ", 1)
    assert lean_svg(styled) == styled


def test_bare_groups_are_lifted_and_groups_that_place_or_paint_stay():
    svg = (
        f'{SVG_OPEN}<g><g transform="translate(5,5)"><g><g fill="#123">'
        '<path d="M0,0h1"/></g></g></g></g></svg>'
    )
    lean = lean_svg(svg)
    assert lean.count("<g") == 2
    assert '<g transform="translate(5,5)"><g fill="#123"><path d="M0,0h1" /></g></g>' in lean


def test_a_run_of_alike_lines_becomes_one_path_in_place():
    grid = "".join(
        f'<line transform="translate({x},-110)" x2="0" y2="110" stroke="#E6E6E6" '
        'stroke-width="1" opacity="1"/>'
        for x in (0, 33.5, 67)
    )
    svg = (
        f'{SVG_OPEN}<g><rect width="9" height="9"/>{grid}'
        '<line transform="translate(1,2)" x1="1" y1="1" x2="4" y2="1" stroke="#888"/>'
        '<line x2="5" stroke="#888"/>'  # same look, but not in a run with the grid
        '<line x2="5" stroke="#888" opacity="0.5"/><line x2="6" stroke="#888" opacity="0.5"/>'
        '<line transform="rotate(45)" x2="5" stroke="#888"/>'
        "<text>label</text></g></svg>"
    )
    lean = lean_svg(svg)
    assert (
        '<rect width="9" height="9" /><path stroke="#E6E6E6" stroke-width="1" opacity="1" '
        'fill="none" d="M0,-110l0,110M33.5,-110l0,110M67,-110l0,110" />'
        '<path stroke="#888" fill="none" d="M2,3l3,0M0,0l5,0" />'
    ) in lean
    # Transparent lines would darken where they cross; a rotated one is not a plain offset.
    assert lean.count('opacity="0.5"') == 2 and 'transform="rotate(45)"' in lean
    assert lean.endswith("<text>label</text></svg>")


def _dot(x: float, y: float, fill: str, r: float = 3, extra: str = "") -> str:
    arc = f"A{r},{r},0,1,1,"
    d = f"M{r},0{arc}-{r},0{arc}{r},0"
    return f'<path transform="translate({x},{y})" d="{d}" fill="{fill}" fill-opacity="0.7"{extra}/>'


def _arcs(x: float, y: float, r: float = 3) -> str:
    return f"M{x + r},{y}A{r},{r},0,1,1,{x - r},{y}A{r},{r},0,1,1,{x + r},{y}"


def test_points_of_one_style_that_keep_apart_share_one_path():
    # Two partners' weekly points, alternating as Vega draws them.
    dots = "".join(_dot(x, y, fill) for x in (0, 40, 80) for y, fill in ((0, "#A"), (20, "#B")))
    lean = lean_svg(f"{SVG_OPEN}<g>{dots}<text>label</text></g></svg>")
    a = "".join(_arcs(x, 0) for x in (0, 40, 80))
    b = "".join(_arcs(x, 20) for x in (0, 40, 80))
    assert (
        f'<path fill="#A" fill-opacity="0.7" d="{a}" />'
        f'<path fill="#B" fill-opacity="0.7" d="{b}" /><text>label</text>'
    ) in lean


def test_points_that_overlap_keep_their_own_paint_and_order():
    # The same week for both partners: B's point lies on A's and must stay on top of it;
    # two of A's points that touch must not become one (their overlap would not darken).
    dots = _dot(0, 0, "#A") + _dot(0, 0, "#B") + _dot(40, 0, "#A") + _dot(44, 0, "#A")
    lean = lean_svg(f"{SVG_OPEN}{dots}</svg>")
    assert lean.count("<path") == 3
    merged = lean.index(f'd="{_arcs(0, 0)}{_arcs(40, 0)}"')
    assert merged < lean.index('fill="#B"') < lean.index("translate(44,0)")


def test_other_symbols_and_moved_points_are_drawn_as_they_were():
    rotated = _dot(0, 0, "#A").replace("translate(0,0)", "rotate(45)")
    triangle = '<path transform="translate(9,9)" d="M0,-3L3,3L-3,3Z" fill="#A"/>'
    svg = f"{SVG_OPEN}{rotated}{triangle}{_dot(50, 0, '#A')}</svg>"
    lean = lean_svg(svg)
    assert lean.count("<path") == 3 and "rotate(45)" in lean and "M0,-3L3,3L-3,3Z" in lean


def test_what_is_not_well_formed_is_left_as_drawn():
    broken = f"{SVG_OPEN}<g><line x2='1'></svg>"
    assert lean_svg(broken) == broken


def _chart() -> alt.LayerChart:
    """A chart with what a report's charts have: grids, ticks, labels, a legend, points."""
    weeks = pd.date_range("2026-08-24", periods=14, freq="W-MON")
    frame = pd.DataFrame(
        {
            "week": list(weeks) * 2,
            "share": [40 + (i * 7) % 35 for i in range(28)],
            "who": ["Priya"] * 14 + ["Tom"] * 14,
        }
    )
    base = alt.Chart(frame).encode(
        x=alt.X("week:T", title=None), y=alt.Y("share:Q", title="Share (%)"), color="who:N"
    )
    band = alt.Chart(pd.DataFrame({"lo": [30], "hi": [70]})).mark_rect(color="#F2F2F2")
    band = band.encode(y="lo:Q", y2="hi")
    points = base.mark_point(filled=True, size=45, opacity=0.7)
    return (band + base.mark_line() + points).properties(width=460, height=110)


def _pixels(svg: str, folder: Path) -> bytes:
    data = base64.b64encode(svg.encode()).decode()
    pdf = write_pdf(f'<img src="data:image/svg+xml;base64,{data}">', folder / "chart.pdf")
    subprocess.run(
        ["pdftoppm", "-r", "100", "-png", "-singlefile", str(pdf), str(folder / "page")],
        check=True,
    )
    from PIL import Image

    return Image.open(folder / "page.png").convert("RGB").tobytes()


def test_the_printed_chart_is_the_same_picture(tmp_path):
    from mutuality_helpers import theme

    svg = theme.to_svg(_chart())
    lean = lean_svg(svg)
    assert lean.count("<line") < svg.count("<line") / 4  # grid lines and ticks merged
    assert lean.count("<g") < svg.count("<g") / 2
    assert lean.count("<path") < svg.count("<path") / 4  # each partner's points: one path
    (tmp_path / "as-drawn").mkdir()
    (tmp_path / "lean").mkdir()
    assert _pixels(lean, tmp_path / "lean") == _pixels(svg, tmp_path / "as-drawn")


@pytest.mark.parametrize("svg", ["", "<svg/>", f"{SVG_OPEN}</svg>"])
def test_trivial_svgs_pass(svg):
    assert lean_svg(svg) in (svg, '<svg xmlns="http://www.w3.org/2000/svg" />', "<svg />")
