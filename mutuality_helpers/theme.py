"""The workbook's one Altair theme, its colours, and charts rendered to static SVG.

One theme (:data:`THEME`) is registered and enabled on import: an explicit font the PDF
side also has (Liberation Sans, or legend text gets clipped in WeasyPrint) and colour-blind-safe
partner colours (Okabe-Ito blue for A, orange for B) used the same way in every chart.
Charts are drawn as static SVG by ``vl-convert`` (:func:`to_svg`): the PDF report embeds
it, and the widgets show it without any JavaScript from the internet.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import altair as alt
import pandas as pd

from .formatting import STATUS_COLOURS, STATUS_LABELS

THEME = "mutuality"
# Liberation Sans because vl-convert carries it in memory: it measures each label a fifth
# faster than with a font it maps from disk (DejaVu Sans: a label costs 0.5 ms plus
# 0.13 ms a letter). WeasyPrint draws it from Debian's fonts-liberation, whose letters are
# as wide (both have Arial's metrics), so labels fit where Vega placed them.
FONT = "Liberation Sans"
#: Okabe-Ito colours: distinguishable with every common colour-vision deficiency.
PARTNER_COLOURS: dict[str, str] = {"A": "#0072B2", "B": "#E69F00"}
NEUTRAL = "#666666"
#: Timelines show at most this many weeks by default (a session looks back about half a year).
DEFAULT_WEEKS = 26
WIDTH = 460


def _theme() -> alt.theme.ThemeConfig:
    label: Any = {"labelFont": FONT, "titleFont": FONT, "labelFontSize": 11, "titleFontSize": 11}
    return {
        "config": {
            "font": FONT,
            "background": "white",
            "padding": 8,
            "title": {
                "font": FONT,
                "subtitleFont": FONT,
                "fontSize": 14,
                "subtitleFontSize": 11,
                "anchor": "start",
                "subtitleColor": "#444444",
                # No truncation limit: a clinical record never cuts a title short, and
                # vl-convert measures every limited text again (a tenth of a chart's time).
                "limit": 0,
            },  # fmt: skip
            # Axis labels are never truncated either (dates, numbers, domain names): the
            # limit check measured each label twice, a fifth of the SVG time of a report.
            # Labels keep a gap between them: Vega hides every other one rather than let
            # "13 Sep20 Sep" touch.
            "axis": {**label, "gridColor": "#E6E6E6", "labelLimit": 0, "labelSeparation": 6},
            "legend": {**label, "labelLimit": 0, "titleLimit": 0, "orient": "bottom"},
            "header": {**label, "labelFontSize": 12},
            "text": {"font": FONT},
            "mark": {"font": FONT},
            "range": {"category": [PARTNER_COLOURS["A"], PARTNER_COLOURS["B"], NEUTRAL]},
            "view": {"stroke": None},
        }
    }


def register_theme() -> str:
    """Register and enable the workbook's Altair theme; returns its name."""
    alt.theme.register(THEME, enable=True)(_theme)
    return THEME


register_theme()


def to_svg(chart: alt.TopLevelMixin, validate: bool = True) -> str:
    """Render a chart to static SVG with ``vl-convert`` (what the PDF report embeds).

    The theme is applied when the spec is built, so the SVG carries the font and colours.
    ``validate=False`` skips Altair's check of the whole spec against the Vega-Lite schema
    (a sixth of a report's chart time): only for the charts of :mod:`~mutuality_helpers.charts`,
    whose specs its tests validate.
    """
    return spec_to_svg(chart.to_dict(validate=validate))


def spec_to_svg(spec: dict[str, Any]) -> str:
    """Render a Vega-Lite spec (a chart's ``to_dict()``) to static SVG with ``vl-convert``."""
    import vl_convert as vlc

    from .chartfonts import charts_ready

    charts_ready()  # the process's first chart: with the chart fonts (chartfonts)
    version: str | None = ".".join(alt.SCHEMA_VERSION.lstrip("v").split(".")[:2])
    if version not in vlc.get_vegalite_versions():
        version = None  # vl-convert's newest; the spec is still validated by Altair
    return str(vlc.vegalite_to_svg(spec, vl_version=version))


@lru_cache(maxsize=64)
def svg_of_spec(spec_json: str) -> str:
    """The SVG of a Vega-Lite spec given as JSON (cached: a couple seen again costs nothing)."""
    return spec_to_svg(json.loads(spec_json))


def cached_svg(chart: Any) -> str:
    """A chart as SVG, cached by its full spec (data included): flipping back to a couple or
    session already seen costs no new render (vl-convert takes a few tenths per chart)."""
    # Validation is skipped for the key only: charts.py builds valid specs (its tests check).
    return svg_of_spec(json.dumps(chart.to_dict(validate=False), sort_keys=True))


# -- scales shared by the charts ---------------------------------------------------------------


def partner_scale(names: dict[str, str]) -> alt.Scale:
    """The partners' colours, keyed by display name (the legend shows names)."""
    return alt.Scale(
        domain=[names["A"], names["B"]], range=[PARTNER_COLOURS["A"], PARTNER_COLOURS["B"]]
    )


def status_scale() -> alt.Scale:
    """The status colours, keyed by the statuses' labels."""
    return alt.Scale(
        domain=[STATUS_LABELS[s] for s in STATUS_COLOURS], range=list(STATUS_COLOURS.values())
    )


# -- building charts without Altair's copies ------------------------------------------------------


def panel(layers: list[alt.Chart], **props: Any) -> alt.LayerSpec:
    """One panel of a concatenated chart: ``layers`` drawn over each other, with ``props``
    (``width``, ``height``, ``title``...) given at once.

    The same spec as ``alt.layer(*layers).properties(**props)`` inside ``alt.vconcat``, a
    fifth of the Python time: ``alt.LayerChart``'s constructor deep-copies each layer twice,
    ``.properties()`` copies the chart again, and a concatenation copies each ``LayerChart``
    panel (which runs that constructor again) when it is built and at every ``to_dict``.
    A plain :class:`altair.LayerSpec` is copied as it is. Only for panels of a
    concatenation (a ``LayerSpec`` is no top-level chart) whose layers have no parameters
    (Altair merges those only for ``LayerChart`` panels); data that every layer shares
    stays with each layer (``LayerChart`` would move it up to the panel: the same picture).
    """
    # Built outside Altair's debug mode, which would check the panel on its own as if it
    # were a whole chart (and fail: its layers carry "$schema"); the whole chart's to_dict
    # still checks it in place.
    with alt.utils.schemapi.debug_mode(False):
        return alt.LayerSpec(layer=layers, **props)


# -- data shaping shared by the charts -----------------------------------------------------------


def recent(frame: pd.DataFrame, as_of: pd.Timestamp | None, weeks: int) -> pd.DataFrame:
    """Rows of the ``weeks`` weeks up to ``as_of`` (default: the latest week present)."""
    if frame.empty:
        return frame
    end = frame["week"].max() if as_of is None else as_of
    start = end - pd.Timedelta(weeks=weeks - 1)
    return frame.loc[(frame["week"] >= start) & (frame["week"] <= end)]


def values(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as JSON-ready dicts (missing values as None), converted once.

    Altair converts a DataFrame again for every layer it is given to (checks, copies and a
    sanitising pass each time); a chart whose layers share a frame names these rows once
    in its top-level ``datasets`` and has each layer refer to them by name
    (:class:`altair.NamedData`), which gives Vega-Lite the same data.
    """
    # Column by column: tolist() gives Python scalars, and a chart's frames are a few dozen
    # rows (pandas' own object conversion costs more than the whole loop).
    columns = {
        name: [None if pd.isna(v) else v for v in frame[name].tolist()] for name in frame.columns
    }
    return [dict(zip(columns, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def named_data(datasets: dict[str, Any], name: str, frame: pd.DataFrame) -> alt.NamedData:
    """Put ``frame``'s :func:`values` into ``datasets`` as ``name``; a layer's data by name.

    ``datasets`` is then given to the top-level chart (``datasets=``), once for all layers.
    """
    datasets[name] = values(frame)
    return alt.NamedData(name=name)


def iso_dates(frame: pd.DataFrame, *cols: str) -> pd.DataFrame:
    """A copy of ``frame`` with ``cols`` as ``YYYY-MM-DD`` text (what Vega-Lite parses)."""
    frame = frame.copy()
    for c in cols:
        frame[c] = pd.to_datetime(frame[c]).dt.strftime("%Y-%m-%d")
    return frame
