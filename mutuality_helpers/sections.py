"""The session report's content: one method per section, each returning displayable HTML.

``notebooks/session_report.ipynb`` builds a :class:`SessionReport` with
:func:`mutuality_helpers.report.prepare` and shows its sections in order. The markup is the
macros of ``templates/html/report.html.j2`` (autoescaped: whatever people typed prints as
text); free-text reflections reach it only when ``include_reflections`` is true.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any, NamedTuple

import pandas as pd

from .exceptions import UnknownSession
from .formatting import long_day
from .leansvg import lean_svg
from .mutuality_index import explain_index
from .presentation import domain_rows, fragment
from .validation import parse_date
from .weeks import today

if TYPE_CHECKING:
    from .report import ReportRequest
    from .store import Store

TEMPLATE = "report.html.j2"
REFLECTION_ITEMS: dict[str, str] = {"reflection": "weekly check-in", "inv_reflection": "inventory"}
#: Text alternatives of the charts (their titles and subtitles are the figures' captions).
CHART_ALT: dict[str, str] = {
    "lifting": "Who does the lifting, domain by domain",
    "timeline": "Who carried more, week by week",
    "perception": "Perception gap per domain",
    "wellbeing": "Energy and teamwork",
    "personal_work": "Personal work",
}


def _html(markup: str) -> Any:
    from IPython.display import HTML

    return HTML(markup)


def preload() -> None:
    """Import and warm up what every report needs (run once per report kernel)."""
    import altair as alt

    from . import theme

    theme.register_theme()
    # Altair validates every schema object as it is built *and* the whole spec on export
    # (theme.to_svg); building is where half the time went. The report's export does not
    # validate either (SessionReport._draw_charts): tests/test_charts.py validates the specs.
    alt.utils.schemapi.disable_debug_mode()
    # Static SVG, never the JavaScript renderer: a JavaScript chart vanishes from the PDF.
    alt.renderers.enable("svg")


def _season_state(row: Any, as_of: pd.Timestamp) -> str:
    """Where a season stands in the week the report is judged as of."""
    end = row.closed_on if pd.notna(row.closed_on) else None
    if row.start > as_of:
        return "not yet begun"
    if end is not None and end < as_of:
        return f"closed on {long_day(end)}"
    if row.planned_end < as_of:
        return "past its planned end"
    return "active"


class Figure(NamedTuple):
    """A chart as the report prints it: the SVG (base64) under its title and subtitle lines."""

    svg_base64: str
    title: str
    subtitle: list[str]


def _caption(title: Any) -> tuple[str, list[str]]:
    """A Vega-Lite title (text, or ``{"text": ..., "subtitle": ...}``) as text and lines."""

    def lines(value: Any) -> list[str]:
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    if isinstance(title, dict):
        return " ".join(lines(title.get("text"))), lines(title.get("subtitle"))
    return " ".join(lines(title)), []


def _numbered(sessions: pd.DataFrame, number: int) -> dict[str, Any] | None:
    """The session of this number, as :meth:`Store.session` gives it; None when there is none."""
    match = sessions[sessions["number"] == number]
    return dict(match.iloc[0].to_dict()) if not match.empty else None


class SessionReport:
    """One session's report, section by section. Build it with :func:`report.prepare`."""

    def __init__(self, request: ReportRequest, store: Store) -> None:
        from .analysis import weekly_shares
        from .summary import summarize_frames, with_record
        from .weeks import as_week

        self.request = r = request
        couple = store.get_couple(r.couple_id)
        self.names = {"A": couple["name_a"], "B": couple["name_b"]}
        # Read once, judge once: the summary and the charts share these frames (what
        # summary.summarize and charts.couple_charts would each read and judge again).
        answers = store.answers(r.couple_id)
        self.seasons_frame = store.seasons(r.couple_id)
        sessions = store.sessions(r.couple_id)
        weekly = weekly_shares(answers, self.seasons_frame, r.thresholds)
        summary = summarize_frames(
            answers, self.seasons_frame, r.couple_id, as_week(r.as_of), r.thresholds,
            self.names, sessions, weekly=weekly,
        )  # fmt: skip
        self.session = _numbered(sessions, r.session)
        if self.session is None:  # validated a moment ago: deleted since
            raise UnknownSession(f"couple {r.couple_id} has no session {r.session}")
        # The urgent safety alerts given up to the session's own week (a Tuesday session is
        # judged on last week, yet an alert given on Monday must be in its report).
        until = max(as_week(r.as_of), as_week(self.session["date"]))
        self.summary = with_record(summary, store.alert_records(r.couple_id), until)
        self.previous = _numbered(sessions, r.session - 1)
        self.first_week = answers["week"].min()
        self.reflections_frame: pd.DataFrame | None = None
        if r.include_reflections:
            window_start = parse_date(self.summary["window_start"], "window_start")
            weeks = answers["week"].dt.date
            self.reflections_frame = answers.loc[
                answers["item"].isin(list(REFLECTION_ITEMS))
                & (weeks >= window_start)
                & (weeks <= r.as_of)
                & (answers["value"].str.strip() != "")
            ]
        self.figures = self._draw_charts(answers, weekly)

    def _section(self, macro: str, *args: Any) -> Any:
        return _html(fragment(TEMPLATE, macro, *args))

    def _draw_charts(self, answers: pd.DataFrame, weekly: pd.DataFrame) -> dict[str, Figure]:
        """The chart set of :func:`~mutuality_helpers.charts.couple_charts`, as printed figures.

        Built from this report's frames and summary rather than through
        ``couple_charts``, which would read the store and judge the couple again. Each
        chart's title and subtitle become the figure's caption, printed as text: Vega takes
        a fifth of a chart's drawing time to measure and place them, and a caption is read
        by a screen reader and found by a search of the PDF.
        """
        from . import charts, theme

        drawn = charts.chart_set(
            self.summary, answers, self.seasons_frame, weekly, self.request.thresholds
        )
        figures = {}
        for key, chart in drawn.items():
            # Not validated again here: charts.py builds valid specs (tests/test_charts.py).
            spec = chart.to_dict(validate=False)
            title, subtitle = _caption(spec.pop("title", None))
            svg = lean_svg(theme.spec_to_svg(spec))
            figures[key] = Figure(base64.b64encode(svg.encode()).decode(), title, subtitle)
        return figures

    # -- sections ---------------------------------------------------------------------------

    def header(self) -> Any:
        return self._section(
            "header", self.request, self.names, self.session, self.summary, self.first_week
        )

    def mutuality(self) -> Any:
        return self._section("mutuality", self.summary, domain_rows(self.summary), self.names)

    def charts(self) -> Any:
        return self._section("charts", self.figures, CHART_ALT)

    def urgent(self) -> Any:
        """The private safety alerts, with when each answer was given (clinical record only)."""
        return self._section("urgent", self.summary["urgent"])

    def alerts(self) -> Any:
        return self._section("alerts", self.summary["alerts"])

    def seasons(self) -> Any:
        as_of = pd.Timestamp(self.request.as_of)
        rows = [
            {**row._asdict(), "state": _season_state(row, as_of)}
            for row in self.seasons_frame.sort_values("start").itertuples(index=False)
        ]
        return self._section("seasons", rows, self.names)

    def agreements(self) -> Any:
        return self._section("agreements", self.session, self.previous)

    def personal_work(self) -> Any:
        s = self.summary
        return self._section("personal_work", s["personal_work"], s["inventory"], self.names)

    def reflections(self) -> Any:
        """Free-text reflections (only with ``include_reflections``); printed as text."""
        frame = self.reflections_frame
        rows = None if frame is None else frame.sort_values(["week", "partner"]).to_dict("records")
        return self._section("reflections", rows, self.names, REFLECTION_ITEMS)

    def method(self) -> Any:
        t = self.request.thresholds
        return self._section("method", t, self.names, explain_index(t), today())


class ReportNotice:
    """Stands in for a :class:`SessionReport` where the notebook must show no report.

    Its first section shows why; the others show nothing.
    """

    def __init__(self, message: str):
        self.message = message

    def header(self) -> Any:
        return _html(fragment(TEMPLATE, "notice", self.message))

    def _nothing(self) -> None:
        return None

    mutuality = urgent = alerts = charts = seasons = agreements = _nothing
    personal_work = reflections = method = _nothing
