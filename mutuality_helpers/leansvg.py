"""Chart SVGs trimmed for print: the same picture, fewer things for WeasyPrint to draw.

Vega's SVG is made for the screen: every node labelled for screen readers and CSS hooks,
marks that draw nothing (hidden labels, empty frames), a ``<g>`` for every level of its
scene graph, and a ``<line>`` for every grid line and tick. WeasyPrint pays for each node
it draws (a graphics state, a transform), so :func:`lean_svg`, run on every chart of a
report:

- drops inert attributes and invisible marks (regular expressions on the text);
- turns an opacity on a fill-only mark into a fill-opacity (no transparency group);
- then, on the parsed tree, lifts the children of attribute-less groups into their parent,
  draws each run of alike lines (a chart's grid lines, an axis's ticks) as one path, and
  each run of alike circles (a chart's points) that do not touch as one path.

The picture stays the same: ``tests/test_leansvg.py`` compares the printed pages pixel by
pixel with and without it (up to rounding in the last bit of a coordinate).
"""

from __future__ import annotations

import itertools
import re
import xml.etree.ElementTree as ET

# Vega's SVG labels every node for screen readers, its own CSS hooks and the mouse; in a
# printed page they do nothing (the SVG has no <style>), yet WeasyPrint parses each of them.
_INERT_SVG_ATTRIBUTES = re.compile(r'\s(?:aria-[a-z]+|role|class|pointer-events)="[^"]*"')
# Marks that draw nothing, yet cost WeasyPrint a transparency group each (and a text a
# layout per letter): axis labels Vega hid to avoid overlaps (opacity 0), and the empty,
# unpainted background and foreground paths of every Vega group.
_INVISIBLE_TEXT = re.compile(r'<text\b[^>]*\sopacity="0"[^>]*>.*?</text>', re.S)
_INVISIBLE_MARK = re.compile(r'<(?:path|line|rect)\b[^>]*\sopacity="0"[^>]*/>')
_UNPAINTED_FRAME = re.compile(
    r'<path class="(?:background|foreground)"(?![^>]*\s(?:fill|stroke)=)[^>]*/>'
)
# A filled mark without a stroke looks the same with fill-opacity as with opacity, but
# opacity makes WeasyPrint draw it in a transparency group of its own (one per point).
_FILL_ONLY_OPACITY = re.compile(
    r'<path(?![^>]*\s(?:stroke|fill-opacity)=)(?=[^>]*\sfill="#)[^>]*\sopacity="[^>]*/>'
)


_SVG_NS = "http://www.w3.org/2000/svg"
_G, _LINE, _PATH = (f"{{{_SVG_NS}}}{tag}" for tag in ("g", "line", "path"))
_TRANSLATE = re.compile(r"\s*translate\(\s*([-+\d.eE]+)[\s,]+([-+\d.eE]+)\s*\)\s*")
# Vega's circle symbol: two half-circle arcs around the origin, moved by a translate.
_CIRCLE = re.compile(r"M([\d.]+),0A\1,\1,0,1,1,-\1,0A\1,\1,0,1,1,\1,0")
# Where a circle sits and how big it is; every other attribute must match to share a path.
_CIRCLE_PLACEMENT = ("transform", "d")
# Circles closer than this (beyond their radii and stroke) may share anti-aliased pixels.
_CIRCLE_GAP = 1.0

Circle = tuple[float, float, float]  # centre x, centre y, radius
Style = tuple[tuple[str, str], ...]  # a mark's attributes but its place
# Where a line sits; every other attribute must be the same for lines to share one path.
_LINE_PLACEMENT = ("transform", "x1", "y1", "x2", "y2")
# Two transparent lines look darker where they cross; one path paints its overlaps once.
# So only opaque lines are merged.
_TRANSPARENCY = ("opacity", "stroke-opacity")


def _fill_opacity(match: re.Match[str]) -> str:
    return match.group(0).replace(' opacity="', ' fill-opacity="')


def lean_svg(svg: str) -> str:
    """The chart with only what changes how it prints (see the module docstring).

    Only when the SVG carries no stylesheet that could select on a class, a group or a line.
    """
    if "<style" in svg:
        return svg
    svg = _INVISIBLE_TEXT.sub("", svg)
    svg = _INVISIBLE_MARK.sub("", svg)
    svg = _UNPAINTED_FRAME.sub("", svg)
    svg = _FILL_ONLY_OPACITY.sub(_fill_opacity, svg)
    svg = _INERT_SVG_ATTRIBUTES.sub("", svg)
    try:
        root = ET.fromstring(svg)
    except ET.ParseError:  # not ours to repair: print it as Vega drew it
        return svg
    _lift_bare_groups(root)
    _merge_lines(root)
    _merge_circles(root)
    return _serialise(root)


def _serialise(root: ET.Element) -> str:
    ET.register_namespace("", _SVG_NS)
    ET.register_namespace("xlink", "http://www.w3.org/1999/xlink")
    return ET.tostring(root, encoding="unicode")


def _lift_bare_groups(parent: ET.Element) -> None:
    """Replace each ``<g>`` without attributes by its children (it changes nothing drawn)."""
    children: list[ET.Element] = []
    for child in parent:
        _lift_bare_groups(child)
        if child.tag == _G and _is_bare(child):
            children.extend(child)
        else:
            children.append(child)
    parent[:] = children


def _translation(transform: str | None) -> tuple[float, float] | None:
    """The offset of a plain ``translate(x,y)`` (0, 0 for none); None for any other transform."""
    if transform is None:
        return (0.0, 0.0)
    moved = _TRANSLATE.fullmatch(transform)
    try:
        return None if moved is None else (float(moved.group(1)), float(moved.group(2)))
    except ValueError:
        return None


def _is_bare(group: ET.Element) -> bool:
    """Whether a group neither paints nor moves anything (a level of Vega's scene graph)."""
    placed_only = all(name == "transform" for name in group.attrib)
    unmoved = _translation(group.get("transform")) == (0.0, 0.0)
    return placed_only and unmoved and not (group.text or "").strip()


def _segment(line: ET.Element) -> str | None:
    """A line as a path segment ``M x,y l dx,dy``; None when it cannot join a path."""
    a = line.attrib
    offset = _translation(a.get("transform"))
    if offset is None or any(a.get(name, "1") != "1" for name in _TRANSPARENCY):
        return None
    try:
        x1, y1, x2, y2 = (float(a.get(name, "0")) for name in ("x1", "y1", "x2", "y2"))
    except ValueError:  # a length with a unit: leave the line as it is
        return None
    x, y = offset[0] + x1, offset[1] + y1
    return f"M{_num(x)},{_num(y)}l{_num(x2 - x1)},{_num(y2 - y1)}"


def _num(value: float) -> str:
    """A coordinate to a thousandth of a pixel, without trailing zeros."""
    return f"{value:.3f}".rstrip("0").rstrip(".")


def _line_style(child: ET.Element) -> tuple[tuple[str, str], ...] | None:
    """What a line looks like, when it can join a path of alike lines (else None)."""
    if child.tag != _LINE or len(child) or _segment(child) is None:
        return None
    return tuple((k, v) for k, v in child.attrib.items() if k not in _LINE_PLACEMENT)


def _merge_lines(parent: ET.Element) -> None:
    """Draw each run of alike sibling lines as one path (same stroke, one graphics state)."""
    for child in parent:
        _merge_lines(child)
    children: list[ET.Element] = []
    for style, alike in itertools.groupby(list(parent), key=_line_style):
        lines = list(alike)
        if style is None or len(lines) == 1:
            children.extend(lines)
        else:
            d = "".join(str(_segment(line)) for line in lines)
            children.append(ET.Element(_PATH, {**dict(style), "fill": "none", "d": d}))
    parent[:] = children


def _circle(child: ET.Element) -> Circle | None:
    """Centre and radius of one of Vega's circle symbols; None for any other node."""
    if child.tag != _PATH or len(child) or (child.text or "").strip():
        return None
    shape = _CIRCLE.fullmatch(child.get("d", ""))
    offset = _translation(child.get("transform"))
    if shape is None or offset is None:
        return None
    return offset[0], offset[1], float(shape.group(1))


def _circle_style(child: ET.Element) -> Style:
    """What a circle looks like: every attribute but its place and size."""
    return tuple((k, v) for k, v in child.attrib.items() if k not in _CIRCLE_PLACEMENT)


def _arcs(x: float, y: float, r: float) -> str:
    """The circle as Vega draws it (two half-circle arcs), at its place on the page."""
    east, west, row, radius = _num(x + r), _num(x - r), _num(y), _num(r)
    arc = f"A{radius},{radius},0,1,1,"
    return f"M{east},{row}{arc}{west},{row}{arc}{east},{row}"


def _near(one: Circle, other: Circle, margin: float) -> bool:
    """Whether two circles come within ``margin`` of each other (or overlap)."""
    reach = one[2] + other[2] + margin
    return (one[0] - other[0]) ** 2 + (one[1] - other[1]) ** 2 < reach**2


def _layers(circles: list[Circle], styles: list[Style], margin: float) -> list[list[int]]:
    """Sort a run of circles into groups, each of one style and drawn as one path.

    A circle joins the latest group of its style unless it comes near a circle of that
    group, or of any group drawn after it: circles that overlap keep their own paint (a
    transparent fill darkens where two overlap) and their order (the later one on top).
    """
    groups: list[list[int]] = []
    for index, circle in enumerate(circles):
        home = None
        for group in reversed(groups):
            if any(_near(circle, circles[j], margin) for j in group):
                break
            if styles[group[0]] == styles[index]:
                home = group
                break
        if home is None:
            groups.append([index])
        else:
            home.append(index)
    return groups


def _stroke_width(style: Style) -> float | None:
    try:
        return float(dict(style).get("stroke-width", "1"))
    except ValueError:  # a width with a unit
        return None


def _merge_circles(parent: ET.Element) -> None:
    """Draw the circles of each run of sibling circles as one path per style (see _layers)."""
    for child in parent:
        _merge_circles(child)
    children: list[ET.Element] = []
    for is_circle, run in itertools.groupby(list(parent), key=lambda c: _circle(c) is not None):
        marks = list(run)
        styles = [_circle_style(mark) for mark in marks]
        widths = [_stroke_width(style) for style in styles]
        if not is_circle or len(marks) == 1 or None in widths:
            children.extend(marks)
            continue
        circles = [c for c in map(_circle, marks) if c is not None]
        widest = max(w for w in widths if w is not None)
        for group in _layers(circles, styles, widest + _CIRCLE_GAP):
            if len(group) == 1:
                children.append(marks[group[0]])
            else:
                d = "".join(_arcs(*circles[i]) for i in group)
                children.append(ET.Element(_PATH, {**dict(styles[group[0]]), "d": d}))
    parent[:] = children
