"""Chart text in the PDF drawn a string at a time, not a letter at a time.

WeasyPrint draws every SVG ``<text>`` letter by letter: one Pango layout per letter, so
that per-letter ``x``/``y``/``dx``/``dy``/``rotate`` lists and ``textLength`` can place
each glyph. Charts from Vega never use those: a label is placed by a ``transform`` and an
anchor. Laying out their labels one letter at a time was half of the time WeasyPrint spent
drawing a report's charts.

:func:`draw_text_whole` installs a wrapper around WeasyPrint's own SVG text function. For a
text node that positions nothing per letter, it hands WeasyPrint the node's text as a
:class:`_WholeString`, a string that iterates as one piece, so WeasyPrint's loop over the
letters runs once, for the whole string: the same code draws it, with the same font,
anchor and bounding box (and the kerning a letter-by-letter layout loses). Any other text
node is drawn exactly as before. ``tests/test_svgtext.py`` checks the words land where
WeasyPrint's own letter-by-letter drawing puts them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

# Attributes that place letters one by one (a list of numbers each, or a per-glyph rule).
_PER_LETTER_LISTS = ("x", "y", "dx", "dy")
_PER_LETTER_RULES = ("rotate", "textLength")
# Text along a path needs its letters one by one; links and the rest keep the stock drawing.
_WHOLE_TAGS = ("text", "tspan")


class _WholeString(str):
    """A string whose iteration yields itself once: one "letter" for WeasyPrint's loop."""

    __slots__ = ()

    def __iter__(self) -> Iterator[str]:
        yield str(self)


def positions_nothing_per_letter(node: Any) -> bool:
    """Whether an SVG text node can be laid out as a whole (no per-letter placement)."""
    if any(node.get(name) is not None for name in _PER_LETTER_RULES):
        return False
    if node.get("letter-spacing") not in (None, "", "0", "normal"):
        return False
    for name in _PER_LETTER_LISTS:
        value = node.get(name)
        if value is not None and len(value.replace(",", " ").split()) > 1:
            return False
    return True


def _whole(stock: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(stock)
    def text(svg: Any, node: Any, font_size: float) -> Any:
        plain = node.text
        whole = node.tag in _WHOLE_TAGS and len(plain or "") > 1
        if not whole or not positions_nothing_per_letter(node):
            return stock(svg, node, font_size)
        node._etree_node.text = _WholeString(plain)
        try:
            return stock(svg, node, font_size)
        finally:
            node._etree_node.text = plain

    text.mutuality_whole_text = True  # type: ignore[attr-defined]
    return text


def draw_text_whole() -> None:
    """Make WeasyPrint draw SVG text a string at a time in this process (idempotent)."""
    import weasyprint.svg as svg

    stock = svg.TAGS["text"]
    if getattr(stock, "mutuality_whole_text", False):
        return
    whole = _whole(stock)
    for tag, draw in list(svg.TAGS.items()):
        if draw is stock:  # text, tspan, textPath and a share the one function
            svg.TAGS[tag] = whole
    # draw_node recognises text nodes by comparing TAGS entries with this module global.
    svg.text = whole
