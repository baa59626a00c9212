"""The session report: its parameters, their validation, and its content.

``notebooks/session_report.ipynb`` is wiring only: its ``parameters`` cell names
the parameters below, and each later cell shows one section of a
:class:`SessionReport`. :mod:`mutuality_helpers.render` executes that notebook
(papermill), exports it without code (nbconvert) and prints it (WeasyPrint).

Parameters are checked twice, both times *before any work*: by the renderer before
a kernel is touched (so a bad request never costs a Jupyter start-up and never
leaves a file behind), and again inside the notebook (so running the notebook with
plain papermill, which only *warns* about an unknown parameter, fails just as
clearly).

Every piece of text that people typed (names, notes, agreements, season notes,
reflections) is HTML-escaped before it reaches the page; reflections reach it
only when ``include_reflections`` is true.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from . import config
from .analysis import Thresholds
from .exceptions import ParameterError, UnknownSession
from .formatting import escape, long_day
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS
from .summary import STATUS_LABELS
from .validation import parse_couple_id, parse_date, week_of
from .voila_guard import refusal_message, under_voila

PAPERS: tuple[str, ...] = ("A4", "Letter")
THRESHOLD_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Thresholds))
#: Every parameter of ``session_report.ipynb``, with its default (None: required).
PARAMETERS: dict[str, Any] = {
    "couple_id": None,
    "session": None,
    "as_of": None,
    "data_dir": None,
    **dataclasses.asdict(Thresholds()),
    "include_reflections": False,
    "paper": "A4",
}
REFLECTION_ITEMS: dict[str, str] = {"reflection": "weekly check-in", "inv_reflection": "inventory"}
#: Text alternatives of the charts (their titles are drawn inside the SVG).
CHART_ALT: dict[str, str] = {
    "lifting": "Who does the lifting, domain by domain",
    "timeline": "Who carried more, week by week",
    "perception": "Perception gap per domain",
    "wellbeing": "Energy and teamwork",
    "personal_work": "Personal work",
}
#: Notebook globals that are IPython's, not parameters.
_IPYTHON_NAMES = frozenset({"In", "Out", "get_ipython", "exit", "quit", "open"})


@dataclass(frozen=True)
class ReportRequest:
    """A validated report request: everything needed to render one session's PDF."""

    couple_id: str
    session: int
    as_of: dt.date
    data_dir: Path
    thresholds: Thresholds
    include_reflections: bool = False
    paper: str = "A4"

    @property
    def output(self) -> Path:
        """Where the PDF goes: ``<data>/reports/<couple_id>/session-<n>.pdf``."""
        return config.report_path(self.couple_id, self.session, self.data_dir)

    def notebook_parameters(self) -> dict[str, Any]:
        """The notebook's parameters as plain JSON values (what papermill injects)."""
        return {
            "couple_id": self.couple_id,
            "session": self.session,
            "as_of": self.as_of.isoformat(),
            "data_dir": str(self.data_dir),
            **dataclasses.asdict(self.thresholds),
            "include_reflections": self.include_reflections,
            "paper": self.paper,
        }


# -- parameters ---------------------------------------------------------------------------


def _unknown(name: str) -> ParameterError:
    close = difflib.get_close_matches(name, PARAMETERS, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return ParameterError(f"unknown report parameter {name!r}{hint}")


def check_parameters(params: Mapping[str, Any]) -> dict[str, Any]:
    """Check parameter names and types, without touching the store.

    Returns
    -------
    dict
        Every parameter (defaults filled in), values in canonical form; thresholds
        are gathered into a :class:`~mutuality_helpers.analysis.Thresholds` under
        ``"thresholds"``.

    Raises
    ------
    ParameterError
        An unknown (misspelt) or missing parameter, or a value of the wrong type.
    """
    for name in params:
        if name not in PARAMETERS:
            raise _unknown(name)
    values = {**PARAMETERS, **params}
    for name in ("couple_id", "session"):
        if values[name] is None:
            raise ParameterError(f"report parameter {name} is required")
    try:
        couple_id = parse_couple_id(values["couple_id"])
    except Exception as exc:  # ValidationError: same message, parameter's error type
        raise ParameterError(str(exc)) from None
    session = values["session"]
    if isinstance(session, str) and session.strip().isdigit():
        session = int(session)
    if isinstance(session, bool) or not isinstance(session, int) or session < 1:
        raise ParameterError(f"report parameter session must be a number from 1, got {session!r}")
    as_of = values["as_of"]
    if as_of is not None and as_of != "":
        try:
            as_of = week_of(parse_date(as_of, "as_of"))
        except Exception as exc:
            raise ParameterError(str(exc)) from None
    else:
        as_of = None
    include = values["include_reflections"]
    if not isinstance(include, bool):
        raise ParameterError(
            f"report parameter include_reflections must be True or False, got {include!r}"
        )
    paper = values["paper"]
    matches = [p for p in PAPERS if isinstance(paper, str) and p.lower() == paper.strip().lower()]
    if not matches:
        raise ParameterError(
            f"report parameter paper must be one of {', '.join(PAPERS)}, got {paper!r}"
        )
    # Thresholds checks each value's type and range (ParameterError naming the threshold).
    thresholds = Thresholds(**{name: values[name] for name in THRESHOLD_NAMES})
    data = values["data_dir"]
    return {
        "couple_id": couple_id,
        "session": session,
        "as_of": as_of,
        "data_dir": config.data_dir(data if data not in (None, "") else None),
        "thresholds": thresholds,
        "include_reflections": include,
        "paper": matches[0],
    }


def validate_request(params: Mapping[str, Any], store: Any = None) -> ReportRequest:
    """Validate a report request completely (names, types, couple, session, answers).

    Parameters
    ----------
    params
        Notebook parameters by name (see :data:`PARAMETERS`).
    store
        An open store of the same data folder; opened (read-only use) when None.

    Raises
    ------
    ParameterError, UnknownCouple, UnknownSession
        With one line naming what is wrong.
    """
    from .store import Store

    checked = check_parameters(params)
    data_dir: Path = checked["data_dir"]
    if store is None:
        _require_store(data_dir)
        with Store(data_dir) as opened:
            return _check_against_store(checked, opened)
    return _check_against_store(checked, store)


def _require_store(data_dir: Path) -> Path:
    # Opening a Store would create one: a misspelt folder must not grow a store.
    if not config.store_path(data_dir).is_file():
        raise ParameterError(f"no Mutuality store in {data_dir}")
    return data_dir


def _check_against_store(checked: dict[str, Any], store: Any) -> ReportRequest:
    couple_id = store.require_couple(checked["couple_id"])
    session = store.session(couple_id, checked["session"])  # UnknownSession
    as_of = checked["as_of"] or session["as_of"].date()
    answers = store.answers(couple_id, items=["energy", "teamwork"])
    if answers.empty or not (answers["week"].dt.date <= as_of).any():
        raise ParameterError(
            f"couple {couple_id} has no answers up to the week of {as_of.isoformat()}: "
            "nothing to report"
        )
    return ReportRequest(
        couple_id=couple_id,
        session=int(session["number"]),
        as_of=as_of,
        data_dir=Path(checked["data_dir"]),
        thresholds=checked["thresholds"],
        include_reflections=checked["include_reflections"],
        paper=checked["paper"],
    )


def check_namespace(namespace: Mapping[str, Any]) -> dict[str, Any]:
    """Pick the parameters out of a notebook's globals; refuse any stray name.

    papermill injects unknown parameters as new variables and only warns; in the
    report notebook every user variable defined before this call must be a parameter.
    """
    params = {}
    for name, value in namespace.items():
        if name.startswith("_") or name in _IPYTHON_NAMES or isinstance(value, ModuleType):
            continue
        if callable(value):
            continue
        if name not in PARAMETERS:
            raise _unknown(name)
        params[name] = value
    return params


# -- content --------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}%"


def _signed(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:+.0f}{unit}" if round(value) != 0 else f"±0{unit}"


def _status(status: str) -> str:
    return (
        f'<span class="status status-{escape(status)}">'
        f"{escape(STATUS_LABELS.get(status, status))}</span>"
    )


def _html(markup: str) -> Any:
    from IPython.display import HTML

    return HTML(markup)


def preload() -> None:
    """Import and warm up what every report needs (run once per report kernel)."""
    import altair as alt

    from . import charts

    charts.register_theme()
    # Altair validates every schema object as it is built *and* the whole spec on export
    # (charts.to_svg); building is where half the time went. The export still validates.
    alt.utils.schemapi.disable_debug_mode()
    # Static SVG, never the JavaScript renderer: a JavaScript chart vanishes from the PDF.
    alt.renderers.enable("svg")


class SessionReport:
    """One session's report, section by section (each section returns displayable HTML).

    Build it with :func:`prepare`; the notebook shows its sections in order.
    """

    def __init__(self, request: ReportRequest, store: Any) -> None:
        from .analysis import as_week, weekly_shares
        from .summary import summarize_frames

        self.request = r = request
        self.couple = store.get_couple(r.couple_id)
        self.names = {"A": self.couple["name_a"], "B": self.couple["name_b"]}
        # Read once, judge once: the summary and the charts share these frames (what
        # summary.summarize and charts.couple_charts would each read and judge again).
        answers = store.answers(r.couple_id)
        self.seasons_frame = store.seasons(r.couple_id)
        sessions = store.sessions(r.couple_id)
        weekly = weekly_shares(answers, self.seasons_frame, r.thresholds)
        self.summary = summarize_frames(
            answers, self.seasons_frame, r.couple_id, as_week(r.as_of), r.thresholds,
            self.names, sessions, weekly=weekly,
        )  # fmt: skip
        self.session = store.session(r.couple_id, r.session)
        try:
            self.previous = store.session(r.couple_id, r.session - 1) if r.session > 1 else None
        except UnknownSession:
            self.previous = None
        self.first_week = answers["week"].min()
        self.reflections_frame = None
        if r.include_reflections:
            window_start = parse_date(self.summary["window_start"], "window_start")
            weeks = answers["week"].dt.date
            self.reflections_frame = answers.loc[
                answers["item"].isin(list(REFLECTION_ITEMS))
                & (weeks >= window_start)
                & (weeks <= r.as_of)
                & (answers["value"].str.strip() != "")
            ]
        self.chart_svgs = self._draw_charts(answers, weekly)

    def _name(self, partner: str | None) -> str:
        return "-" if partner is None else escape(self.names.get(partner, f"Partner {partner}"))

    # -- sections ---------------------------------------------------------------------------

    def header(self) -> Any:
        r, s = self.request, self.summary
        title = f"Session report: {escape(r.couple_id)}, session {r.session}"
        facts = [
            ("Couple", f"{escape(r.couple_id)} (pseudonymous id)"),
            ("Partners", f"A: {self._name('A')}; B: {self._name('B')}"),
            ("Session", f"{r.session}, on {long_day(self.session['date'])}"),
            ("Judged as of", f"the week of {long_day(s['as_of'])}"),
            (
                "Weeks covered",
                f"{long_day(s['window_start'])} to the week of {long_day(s['as_of'])} "
                f"({s['window_weeks']}-week window); "
                f"answers on record since {long_day(self.first_week)}",
            ),
        ]
        rows = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in facts)
        # The paper size travels with the content, so any nbconvert + WeasyPrint run honours it.
        page = f"<style>@page {{ size: {r.paper.lower()}; }}</style>"
        return _html(f'{page}<h1>{title}</h1><dl class="facts">{rows}</dl>')

    def mutuality(self) -> Any:
        s = self.summary
        change = s.get("change_since_last_session")
        head = (
            "<tr><th>Domain</th><th>Status</th><th>Who carries more</th>"
            f'<th class="num">{self._name("A")}\'s share</th><th class="num">Perception gap</th>'
            "<th>Since last session</th></tr>"
        )
        rows = []
        for domain in SHARE_DOMAINS:
            d = s["domains"][domain]
            since = "first session" if change is None else "-"
            if change is not None:
                c = change["domains"][domain]
                moved = (
                    "unchanged"
                    if c["status_then"] == c["status_now"]
                    else f"was {escape(STATUS_LABELS.get(c['status_then'], c['status_then']))}"
                )
                since = f"{moved}; share {_signed(c['share_a_change'], ' pts')}"
            rows.append(
                f"<tr><td>{escape(DOMAIN_LABELS[domain])}</td><td>{_status(d['status'])}</td>"
                f"<td>{self._name(d['carried_by']) if d['carried_by'] else 'neither'}</td>"
                f'<td class="num">{_pct(d["share_a"])}</td>'
                f'<td class="num">{_signed(d["perception_gap"], " pts")}</td><td>{since}</td></tr>'
            )
        index = s["mutuality_index"]
        shown = "-" if index is None else f"{index:.0f}"
        was = ""
        if change is not None and change.get("mutuality_index_then") is not None:
            was = (
                f" ({_signed(change['mutuality_index_change'])} since session "
                f"{change['session']}, when it was {change['mutuality_index_then']:.0f})"
            )
        gap_note = (
            f"Perception gap: how much more {self._name('A')} credits {self._name('A')} with "
            f"than {self._name('B')} does, in percentage points (positive: {self._name('A')} "
            "sees their own share as larger)."
        )
        return _html(
            "<section><h2>Is this mutual?</h2>"
            f'<p class="index">Mutuality index: <strong>{shown}</strong> / 100{was}</p>'
            f'<table class="mutual"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'
            f'<p class="muted">{gap_note}</p></section>'
        )

    def _draw_charts(self, answers: Any, weekly: Any) -> dict[str, str]:
        """The chart set of :func:`~mutuality_helpers.charts.couple_charts`, as SVG.

        Built from this report's frames and summary rather than through
        ``couple_charts``, which would read the store and judge the couple again.
        """
        from . import charts as ch

        charts = ch.chart_set(
            self.summary, answers, self.seasons_frame, weekly, self.request.thresholds
        )
        return {key: lean_svg(ch.to_svg(chart)) for key, chart in charts.items()}

    def charts(self) -> Any:
        # Each chart carries its own title and subtitle (see mutuality_helpers.charts). An SVG
        # image rather than inline <svg>: WeasyPrint still draws it as vectors, but parses it
        # with an XML parser instead of its HTML5 tokenizer and styles no SVG node with CSS,
        # which makes the print about a third faster.
        parts = [
            f'<figure class="chart chart-{escape(key)}">'
            f'<img alt="{escape(CHART_ALT.get(key, key))}" '
            f'src="data:image/svg+xml;base64,{base64.b64encode(svg.encode()).decode()}"></figure>'
            for key, svg in self.chart_svgs.items()
        ]
        return _html("<section><h2>Charts</h2>" + "".join(parts) + "</section>")

    def alerts(self) -> Any:
        alerts = self.summary["alerts"]
        if not alerts:
            body = '<p class="muted">No alerts.</p>'
        else:
            body = (
                '<ul class="alerts">'
                + "".join(f"<li>{escape(a['message'])}</li>" for a in alerts)
                + "</ul>"
            )
        return _html(f"<section><h2>Alerts</h2>{body}</section>")

    def seasons(self) -> Any:
        frame = self.seasons_frame
        as_of = pd.Timestamp(self.request.as_of)
        if frame.empty:
            return _html(
                '<section><h2>Seasons</h2><p class="muted">No seasons declared.</p></section>'
            )
        rows = []
        for row in frame.sort_values("start").itertuples(index=False):
            end = row.closed_on if pd.notna(row.closed_on) else None
            if row.start > as_of:
                state = "not yet begun"
            elif end is not None and end < as_of:
                state = f"closed on {long_day(end)}"
            elif row.planned_end < as_of:
                state = "past its planned end"
            else:
                state = "active"
            rows.append(
                f"<tr><td>{self._name(row.partner)}</td>"
                f"<td>{escape(row.reason.replace('_', ' '))}</td>"
                f"<td>{long_day(row.start)}</td><td>{long_day(row.planned_end)}</td>"
                f"<td>{'yes' if row.agreed else '<strong>no</strong>'}</td><td>{state}</td>"
                f'<td class="freetext">{escape(row.note)}</td></tr>'
            )
        head = (
            "<tr><th>Supported</th><th>Reason</th><th>Start</th><th>Planned end</th>"
            "<th>Agreed by both</th><th>As of this session</th><th>Note</th></tr>"
        )
        return _html(
            f"<section><h2>Seasons</h2><table><thead>{head}</thead><tbody>{''.join(rows)}"
            "</tbody></table></section>"
        )

    def agreements(self) -> Any:
        def block(text: str) -> str:
            text = (text or "").strip()
            return (
                f'<p class="freetext">{escape(text)}</p>'
                if text
                else '<p class="muted">None recorded.</p>'
            )

        parts = ["<section><h2>Agreements and notes</h2>"]
        if self.previous is not None:
            parts.append(
                f"<h3>Agreed at the last session (session {self.previous['number']}, "
                f"{long_day(self.previous['date'])})</h3>{block(self.previous['agreements'])}"
            )
        else:
            parts.append(
                '<h3>Agreed at the last session</h3><p class="muted">This is the first session.</p>'
            )
        parts.append(f"<h3>Agreed at this session</h3>{block(self.session['agreements'])}")
        parts.append(f"<h3>Session notes</h3>{block(self.session['notes'])}")
        parts.append("</section>")
        return _html("".join(parts))

    def personal_work(self) -> Any:
        pw = self.summary["personal_work"]

        def num(value: float | None) -> str:
            return "-" if value is None else f"{value:.1f}"

        rows = "".join(
            f"<tr><td>{self._name(p)}</td><td class='num'>{num(pw[p]['self'])}</td>"
            f"<td class='num'>{num(pw[p]['by_partner'])}</td>"
            f"<td class='num'>{num(pw[p]['score'])}</td></tr>"
            for p in ("A", "B")
        )
        head = (
            "<tr><th>Partner</th><th class='num'>Own rating</th>"
            "<th class='num'>Partner's rating</th>"
            "<th class='num'>Score (0-4)</th></tr>"
        )
        inventory = self.summary.get("inventory") or {}
        inv_rows = []
        for p in ("A", "B"):
            inv = inventory.get(p)
            if not inv:
                continue
            before = "" if inv.get("previous_score") is None else f"{inv['previous_score']:.1f}"
            inv_rows.append(
                f"<tr><td>{self._name(p)}</td><td class='num'>{inv['score']:.1f}</td>"
                f"<td>{long_day(inv['week'])}</td><td class='num'>{before or '-'}</td>"
                f"<td>{escape(inv.get('label') or '')}</td></tr>"
            )
        inv_html = ""
        if inv_rows:
            inv_html = (
                "<h3>Mutuality inventory</h3><table><thead><tr><th>Partner</th>"
                "<th class='num'>Score</th><th>Week</th><th class='num'>Earlier score</th>"
                f"<th>Change</th></tr></thead><tbody>{''.join(inv_rows)}</tbody></table>"
            )
        return _html(
            "<section><h2>Personal work</h2>"
            "<p>Each partner's own growth: self-awareness, working on their triggers, owning "
            "their side. Mean over the window of how each rated their own work and how their "
            "partner rated it (0-4). Both can do all of their own work; the lower score counts "
            "in the mutuality index.</p>"
            f"<table><thead>{head}</thead><tbody>{rows}</tbody></table>{inv_html}</section>"
        )

    def reflections(self) -> Any:
        """Free-text reflections (only with ``include_reflections``); printed as text."""
        frame = self.reflections_frame
        if frame is None:
            return _html("")
        if frame.empty:
            return _html(
                '<section><h2>Reflections</h2><p class="muted">None in the window.</p></section>'
            )
        parts = ["<section><h2>Reflections</h2>"]
        for row in frame.sort_values(["week", "partner"]).itertuples(index=False):
            parts.append(
                f"<h3>{self._name(row.partner)}, week of {long_day(row.week)} "
                f"({REFLECTION_ITEMS[row.item]})</h3>"
                f'<blockquote class="reflection">{escape(row.value)}</blockquote>'
            )
        parts.append("</section>")
        return _html("".join(parts))

    def method(self) -> Any:
        t = self.request.thresholds
        return _html(
            '<section class="method"><h2>Method</h2>'
            "<p>Each partner reports each week the share of every domain they carried. "
            f"A week's consensus is the mean of the two views of {self._name('A')}'s share. "
            f"A week is imbalanced when the consensus is at least {t.imbalance_points:g} points "
            "from 50/50, and covered when an agreed season supports the partner who carried less. "
            f"Over the last {t.window_weeks} weeks, a domain is: <em>not enough answers</em> with "
            f"fewer than {t.min_answered_weeks} answered weeks; <em>chronic</em> with at least "
            f"{t.chronic_weeks} uncovered imbalanced weeks in the same direction; "
            f"<em>drifting</em> with {t.drifting_weeks} to {t.chronic_weeks - 1}; "
            "<em>seasonal</em> when an agreed season covered an imbalance; otherwise "
            "<em>balanced</em>. A partner without a check-in for "
            f"{t.silence_weeks} weeks or more raises an alert.</p>"
            "<p>The mutuality index (0-100, higher is more mutual) is 75% balance (one minus "
            "the mean uncovered imbalance of the four share domains over the window) and 25% "
            "personal work (the lower partner's score out of 4). Agreed, covered imbalance "
            "costs nothing; more uncovered imbalance never raises the index.</p>"
            f'<p class="muted">Produced on {long_day(dt.date.today())} by the '
            "Mutuality Workbook from the couple's own weekly answers.</p></section>"
        )


# Vega's SVG labels every node for screen readers and its own CSS hooks; in a printed
# page they do nothing (the SVG has no <style>), yet WeasyPrint parses each of them.
_INERT_SVG_ATTRIBUTES = re.compile(r'\s(?:aria-[a-z]+|role|class)="[^"]*"')


def lean_svg(svg: str) -> str:
    """Drop attributes that cannot change how a chart prints (a quarter faster to print).

    Only when the SVG carries no stylesheet that could select on a class.
    """
    if "<style" in svg:
        return svg
    return _INERT_SVG_ATTRIBUTES.sub("", svg)


class ReportNotice:
    """Stands in for a :class:`SessionReport` where the notebook must show no report.

    Its first section shows why; the others show nothing.
    """

    def __init__(self, message: str):
        self.message = message

    def header(self) -> Any:
        return _html(f'<p class="mutuality-notice">{escape(self.message)}</p>')

    def _nothing(self) -> None:
        return None

    mutuality = alerts = charts = seasons = agreements = _nothing
    personal_work = reflections = method = _nothing


#: What the report notebook says when it is opened as it is, with no parameters filled in.
TEMPLATE_NOTICE = (
    "This notebook is the template of the PDF session report; opened as it is, it shows "
    "no couple. Render a report with `mutuality report COUPLE --session N`."
)


def prepare(**params: Any) -> SessionReport | ReportNotice:
    """Validate the notebook's parameters and build the report (inside the report kernel).

    Under Voila, and when the notebook runs with every parameter at its default (opened
    as it is, e.g. by ``pytest --nbval-lax notebooks/``), a :class:`ReportNotice` instead.
    """
    from .store import Store

    if under_voila():
        return ReportNotice(refusal_message("The session report"))
    if all(params.get(name, default) == default for name, default in PARAMETERS.items()):
        return ReportNotice(TEMPLATE_NOTICE)
    data_dir = _require_store(check_parameters(params)["data_dir"])
    with Store(data_dir) as store:  # opened once: validation and content share it
        return SessionReport(validate_request(params, store), store)
