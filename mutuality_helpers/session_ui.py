"""The therapist's widgets: the session workbook and the caseload view.

:class:`SessionWorkbook` is what ``notebooks/session_workbook.ipynb`` shows: pick
a couple and a session; read the summary (judged as of the week holding the
session date), the charts and the partners' recent reflections; record a new
session, its notes and the agreements for next week; declare, edit and close
seasons. Everything is saved through the :class:`~.store.Store` as it happens
and the summary and charts are redrawn.

:class:`CaseloadView` is ``notebooks/caseload.ipynb``: every couple at a
glance, the most worrying first.

Charts are shown as static SVG (rendered in the kernel by ``vl-convert``): the
same picture the PDF report carries, and it needs no JavaScript from the
internet, which a counselling room's machine may not reach. All text a person
typed (names, notes, reflections) is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .exceptions import MutualityError, ParameterError, ValidationError
from .formatting import escape, iso_day
from .forms import notice, show_message
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS
from .store import SEASON_REASONS, Store, make_season
from .validation import parse_couple_id, parse_date, week_of
from .voila_guard import refusal

if TYPE_CHECKING:
    from IPython.display import HTML

#: Chart order on the page (keys of ``charts.couple_charts``).
CHART_KEYS = ("lifting", "timeline", "perception", "wellbeing", "personal_work")
#: How many weeks of reflections the workbook shows, ending at the judged week.
REFLECTION_WEEKS = 4
#: The session picker's entry for "no session: judge the latest answered week".
LATEST = 0


def _number(value: Any, fmt: str = "{:.0f}") -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "-"
    return fmt.format(value)


def _table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    """An HTML table from cells that are already escaped."""
    head = "".join(f"<th style='text-align:left;padding:2px 10px'>{h}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 10px'>{c}</td>" for c in row) + "</tr>"
        for row in rows
    )
    return f"<table class='{css}'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


@lru_cache(maxsize=64)
def _svg(spec_json: str) -> str:
    from .charts import to_svg

    return to_svg(_SpecChart(spec_json))


class _SpecChart:
    """Just enough of a chart for :func:`charts.to_svg`: a spec that is already built."""

    def __init__(self, spec_json: str):
        self._spec = json.loads(spec_json)

    def to_dict(self) -> dict[str, Any]:
        return self._spec


def chart_svg(chart: Any) -> str:
    """A chart as SVG, cached by its full spec (data included): flipping back to a couple or
    session already seen costs no new render (vl-convert takes a few tenths per chart)."""
    # Validation is skipped for the key only: charts.py builds valid specs (its tests check).
    return _svg(json.dumps(chart.to_dict(validate=False), sort_keys=True))


def svg_widget(chart: Any, css: str = "mutuality-chart") -> widgets.HTML:
    """A chart as inline SVG in an HTML widget (renders in JupyterLab and Voila alike)."""
    box = widgets.HTML(chart_svg(chart))
    box.add_class(css)
    return box


def _open_store(data_dir: Any) -> Store:
    if data_dir is not None and not isinstance(data_dir, str):
        raise ParameterError(f"parameter data_dir: expected a folder path, got {data_dir!r}")
    return Store(data_dir or None, create=False)


class SessionWorkbook:
    """The session workbook for one practice's store.

    Parameters
    ----------
    store
        The open store.
    couple_id
        The couple to start with (default: the first).
    session
        The session number to start with (default: the couple's latest).
    today
        The date offered for a new session (for tests); default the real today.
    """

    def __init__(
        self,
        store: Store,
        couple_id: str | None = None,
        session: int | None = None,
        today: dt.date | None = None,
    ):
        self.store = store
        self.today = today or dt.date.today()
        self.message = ""
        self.summary_data: dict[str, Any] = {}
        couples = store.couples()
        if couples.empty:
            raise MutualityError(
                "no couples in the store yet (try `mutuality demo` or `mutuality import FILE`)"
            )
        options = [
            (f"{r.couple_id} · {r.name_a or 'A'} & {r.name_b or 'B'}", r.couple_id)
            for r in couples.itertuples(index=False)
        ]
        start = options[0][1] if couple_id is None else store.require_couple(couple_id)

        # -- pickers
        self.couple = widgets.Dropdown(options=options, value=start, description="Couple:")
        self.session = widgets.Dropdown(options=[("latest week", LATEST)], description="Session:")
        self.new_date = widgets.DatePicker(value=self.today, description="New session on:")
        self.record_button = widgets.Button(description="Record new session", icon="plus")
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh")
        self.refresh_button.add_class("mutuality-refresh")
        # -- summary, charts, reflections
        self.summary = widgets.HTML()
        self.summary.add_class("mutuality-summary")
        self.charts = widgets.VBox()
        self.charts.add_class("mutuality-charts")
        self.reflections = widgets.HTML()
        self.reflections.add_class("mutuality-reflections")
        # -- notes and agreements
        wide = widgets.Layout(width="95%", height="110px")
        self.notes = widgets.Textarea(description="Notes:", layout=wide)
        self.agreements = widgets.Textarea(description="Agreements:", layout=wide)
        self.save_notes_button = widgets.Button(description="Save notes", button_style="primary")
        # -- seasons
        self.seasons_table = widgets.HTML()
        self.seasons_table.add_class("mutuality-seasons")
        self.season_partner = widgets.Dropdown(description="Supported:")
        self.season_reason = widgets.Dropdown(options=SEASON_REASONS, description="Reason:")
        self.season_start = widgets.DatePicker(value=week_of(self.today), description="Start:")
        self.season_end = widgets.DatePicker(
            value=week_of(self.today) + dt.timedelta(weeks=4), description="Planned end:"
        )
        self.season_agreed = widgets.Checkbox(value=False, description="Both partners agree")
        self.season_note = widgets.Text(description="Note:", layout=widgets.Layout(width="95%"))
        self.declare_button = widgets.Button(description="Declare season", button_style="primary")
        self.season_pick = widgets.Dropdown(description="Season:", layout={"width": "95%"})
        self.edit_end = widgets.DatePicker(description="Planned end:")
        self.edit_agreed = widgets.Checkbox(description="Both partners agree")
        self.edit_note = widgets.Text(description="Note:", layout=widgets.Layout(width="95%"))
        self.edit_button = widgets.Button(description="Save season")
        self.close_on = widgets.DatePicker(value=self.today, description="Close on:")
        self.close_button = widgets.Button(description="Close season", button_style="warning")
        # -- one place for messages
        self.feedback = widgets.Output()
        self.feedback.add_class("mutuality-feedback")

        self.couple.observe(self._on_couple_change, names="value")
        self.session.observe(self._on_session_change, names="value")
        self.season_pick.observe(self._on_season_pick, names="value")
        self.record_button.on_click(self._on_record_session)
        self.refresh_button.on_click(self._on_refresh)
        self.save_notes_button.on_click(self._on_save_notes)
        self.declare_button.on_click(self._on_declare_season)
        self.edit_button.on_click(self._on_edit_season)
        self.close_button.on_click(self._on_close_season)

        self.widget = self._layout()
        self.widget.add_class("mutuality-workbook")
        self._load_couple(session)

    def _layout(self) -> widgets.Widget:
        pickers = widgets.VBox(
            [
                widgets.HBox([self.couple, self.session, self.refresh_button]),
                widgets.HBox([self.new_date, self.record_button]),
            ]
        )
        overview = widgets.VBox(
            [self.summary, self.charts, widgets.HTML("<h3>Reflections</h3>"), self.reflections]
        )
        notes = widgets.VBox(
            [
                widgets.HTML(
                    "<p>Notes for the record, and what the couple agreed for next week.</p>"
                ),
                self.notes,
                self.agreements,
                self.save_notes_button,
            ]
        )
        seasons = widgets.VBox(
            [
                self.seasons_table,
                widgets.HTML("<h4>Declare a season</h4>"),
                widgets.HBox([self.season_partner, self.season_reason]),
                widgets.HBox([self.season_start, self.season_end]),
                self.season_agreed,
                self.season_note,
                self.declare_button,
                widgets.HTML("<h4>Edit or close a season</h4>"),
                self.season_pick,
                widgets.HBox([self.edit_end, self.edit_agreed]),
                self.edit_note,
                widgets.HBox([self.edit_button, self.close_on, self.close_button]),
            ]
        )
        tabs = widgets.Tab(children=[overview, notes, seasons])
        for i, title in enumerate(("Summary and charts", "Notes and agreements", "Seasons")):
            tabs.set_title(i, title)
        return widgets.VBox([pickers, self.feedback, tabs])

    @classmethod
    def open(
        cls, couple_id: Any = None, session: Any = None, data_dir: Any = None
    ) -> SessionWorkbook | widgets.HTML | HTML:
        """What the notebook shows: the workbook, or a plain message saying what is wrong.

        Under Voila, only a refusal (:mod:`~mutuality_helpers.voila_guard`): no store is opened.
        """
        refused = refusal("The session workbook")
        if refused is not None:
            return refused
        try:
            if couple_id is not None:
                try:
                    couple_id = parse_couple_id(couple_id)
                except ValidationError as exc:
                    raise ParameterError(f"parameter couple_id: {exc}") from None
            if session is not None and (isinstance(session, bool) or not isinstance(session, int)):
                raise ParameterError(f"parameter session: expected a whole number, got {session!r}")
            return cls(_open_store(data_dir), couple_id, session)
        except MutualityError as exc:
            return notice(f"The session workbook cannot be opened: {exc}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- state -----------------------------------------------------------------------

    @property
    def couple_id(self) -> str:
        return self.couple.value

    @property
    def session_number(self) -> int | None:
        return self.session.value or None

    def as_of(self) -> dt.date | None:
        """The judged week: the session's week, or ``None`` for the latest answered week."""
        number = self.session_number
        if number is None:
            return None
        return pd.Timestamp(self.store.session(self.couple_id, number)["as_of"]).date()

    def _say(self, message: str, ok: bool = False) -> None:
        self.message = message
        show_message(self.feedback, message, ok)

    def _names(self) -> dict[str, str]:
        couple = self.store.get_couple(self.couple_id)
        return {"A": couple["name_a"], "B": couple["name_b"]}

    # -- loading ---------------------------------------------------------------------

    def _load_couple(self, session: int | None = None) -> None:
        names = self._names()
        self.season_partner.options = [(f"{names[p]} ({p})", p) for p in ("A", "B")]
        self._load_sessions(session)
        self._load_seasons()
        self.refresh()

    def _load_sessions(self, select: int | None = None) -> None:
        frame = self.store.sessions(self.couple_id)
        options = [("latest week (no session)", LATEST)] + [
            (f"session {r.number} · {iso_day(r.date)}", int(r.number))
            for r in frame.itertuples(index=False)
        ]
        if select is not None and select not in [v for _, v in options]:
            raise ParameterError(f"couple {self.couple_id} has no session {select}")
        chosen = select if select is not None else options[-1][1]
        # Set options and value without firing a redraw for the intermediate state.
        self.session.unobserve(self._on_session_change, names="value")
        try:
            self.session.options = options
            self.session.value = chosen
        finally:
            self.session.observe(self._on_session_change, names="value")
        self._load_notes()

    def _load_notes(self) -> None:
        number = self.session_number
        if number is None:
            self.notes.value, self.agreements.value = "", ""
            self.notes.disabled = self.agreements.disabled = self.save_notes_button.disabled = True
            return
        row = self.store.session(self.couple_id, number)
        self.notes.value, self.agreements.value = row["notes"], row["agreements"]
        self.notes.disabled = self.agreements.disabled = self.save_notes_button.disabled = False

    def _load_seasons(self, select: int | None = None) -> None:
        frame = self.store.seasons(self.couple_id)
        names = self._names()
        rows = [
            [
                escape(r.season_id),
                escape(names[r.partner]),
                escape(r.reason.replace("_", " ")),
                iso_day(r.start),
                iso_day(r.planned_end),
                "yes" if r.agreed else "<b>no</b>",
                iso_day(r.closed_on),
                escape(r.note),
            ]
            for r in frame.itertuples(index=False)
        ]
        header = ["#", "supported", "reason", "start", "planned end", "agreed", "closed", "note"]
        self.seasons_table.value = (
            _table(header, rows, "mutuality-season-table")
            if rows
            else "<p>No seasons declared.</p>"
        )
        options = [
            (
                f"#{r.season_id} {names[r.partner]}: {r.reason} from {iso_day(r.start)}",
                int(r.season_id),
            )
            for r in frame.itertuples(index=False)
        ]
        self.season_pick.options = options
        if options:
            self.season_pick.value = select if select in [v for _, v in options] else options[-1][1]
        for w in (self.edit_button, self.close_button):
            w.disabled = not options
        self._on_season_pick({})

    def refresh(self) -> None:
        """Redraw the summary, the charts and the reflections for the chosen couple and week."""
        from .charts import couple_summary_and_charts

        # One read and one judgement for both the summary and the charts.
        summary, charts = couple_summary_and_charts(self.store, self.couple_id, self.as_of())
        self.summary_data = summary
        self.summary.value = summary_html(summary)
        self.charts.children = [svg_widget(charts[key]) for key in CHART_KEYS if key in charts]
        self.reflections.value = reflections_html(
            self.store.answers(self.couple_id, items=["reflection"]),
            summary.get("names") or self._names(),
            summary.get("as_of"),
        )

    # -- callbacks -------------------------------------------------------------------

    def _on_couple_change(self, change: dict) -> None:
        try:
            self._load_couple()
            self._say(f"Showing couple {self.couple_id}.", ok=True)
        except MutualityError as exc:
            self._say(str(exc))

    def _on_refresh(self, button: Any = None) -> None:
        """Read the store again: answers a partner saved a moment ago show up."""
        try:
            self._load_sessions(self.session.value)  # keeps "latest week" (0) chosen too
            self._load_seasons(self.season_pick.value)
            self.refresh()
        except MutualityError as exc:
            self._say(str(exc))
            return
        self._say("Up to date.", ok=True)

    def _on_session_change(self, change: dict) -> None:
        try:
            self._load_notes()
            self.refresh()
        except MutualityError as exc:
            self._say(str(exc))

    def _on_record_session(self, button: Any = None) -> None:
        try:
            day = parse_date(self.new_date.value, "session date")
            number = self.store.add_session(self.couple_id, day)
            self._load_sessions(number)
            self.refresh()
        except MutualityError as exc:
            self._say(f"The session was not recorded: {exc}")
            return
        self._say(f"Recorded session {number} on {day.isoformat()}.", ok=True)

    def _on_save_notes(self, button: Any = None) -> None:
        number = self.session_number
        if number is None:
            self._say("Choose or record a session first: notes belong to a session.")
            return
        try:
            self.store.update_session(
                self.couple_id, number, notes=self.notes.value, agreements=self.agreements.value
            )
        except MutualityError as exc:
            self._say(f"The notes were not saved: {exc}")
            return
        self._say(f"Saved the notes and agreements of session {number}.", ok=True)

    def _on_declare_season(self, button: Any = None) -> None:
        try:
            season = make_season(
                self.couple_id,
                self.season_partner.value,
                self.season_reason.value,
                self.season_start.value,
                self.season_end.value,
                self.season_agreed.value,
                self.season_note.value,
            )
            season_id = self.store.add_season(season, source="session workbook")
            self._load_seasons(season_id)
            self.refresh()
        except MutualityError as exc:
            self._say(f"The season was not declared: {exc}")
            return
        agreed = "agreed by both" if season.agreed else "NOT yet agreed by both"
        self._say(f"Declared season #{season_id} ({season.reason}), {agreed}.", ok=True)

    def _on_season_pick(self, change: dict) -> None:
        season_id = self.season_pick.value
        if season_id is None:
            return
        row = self.store.seasons(season_id=season_id).iloc[0]
        self.edit_end.value = row.planned_end.date()
        self.edit_agreed.value = bool(row.agreed)
        self.edit_note.value = row.note

    def _on_edit_season(self, button: Any = None) -> None:
        season_id = self.season_pick.value
        try:
            if season_id is None:
                raise ValidationError("choose a season first")
            self.store.update_season(
                season_id,
                planned_end=self.edit_end.value,
                agreed=self.edit_agreed.value,
                note=self.edit_note.value,
            )
            self._load_seasons(season_id)
            self.refresh()
        except MutualityError as exc:
            self._say(f"The season was not changed: {exc}")
            return
        self._say(f"Saved season #{season_id}.", ok=True)

    def _on_close_season(self, button: Any = None) -> None:
        season_id = self.season_pick.value
        try:
            if season_id is None:
                raise ValidationError("choose a season first")
            day = parse_date(self.close_on.value, "closing date")
            self.store.close_season(season_id, day)
            self._load_seasons(season_id)
            self.refresh()
        except MutualityError as exc:
            self._say(f"The season was not closed: {exc}")
            return
        self._say(f"Closed season #{season_id} on {day.isoformat()}.", ok=True)


def summary_html(summary: dict[str, Any]) -> str:
    """The judgement as escaped HTML: index, one row per share domain, personal work, alerts."""
    from .summary import STATUS_LABELS

    names = summary.get("names") or {"A": "Partner A", "B": "Partner B"}
    index = summary.get("mutuality_index")
    change = summary.get("change_since_last_session") or {}
    delta = change.get("mutuality_index_change")
    since = (
        f" ({delta:+.0f} since session {escape(change.get('session'))})"
        if isinstance(delta, (int, float)) and not pd.isna(delta)
        else ""
    )
    rows = []
    for domain in SHARE_DOMAINS:
        d = summary.get("domains", {}).get(domain, {})
        carrier = d.get("carried_by")
        gap = d.get("perception_gap")
        rows.append(
            [
                escape(DOMAIN_LABELS[domain]),
                f"<b>{escape(STATUS_LABELS.get(d.get('status'), d.get('status')))}</b>",
                escape(names.get(carrier, "-")) if carrier else "-",
                _number(d.get("share_a"), "{:.0f}%"),
                _number(gap, "{:+.0f}"),
            ]
        )
    table = _table(
        ["Domain", "Status", "Carried more", f"{escape(names['A'])}'s share", "Perception gap"],
        rows,
        "mutuality-summary-table",
    )
    personal = summary.get("personal_work") or {}
    personal_line = ", ".join(
        f"{escape(names[p])} {_number((personal.get(p) or {}).get('score'), '{:.1f}')}/4"
        for p in ("A", "B")
    )
    alerts = summary.get("alerts") or []
    alert_html = (
        "<ul>" + "".join(f"<li>{escape(a.get('message'))}</li>" for a in alerts) + "</ul>"
        if alerts
        else "<p>No alerts.</p>"
    )
    return (
        f"<h3>{escape(summary.get('couple_id'))}: {escape(names['A'])} (A) and "
        f"{escape(names['B'])} (B)"
        f"</h3><p>Judged as of the week of {escape(summary.get('as_of') or '-')}, over the last "
        f"{escape(summary.get('window_weeks'))} weeks. Mutuality index: "
        f"<b>{_number(index)}</b>/100 (higher is more mutual){since}.</p>"
        f"{table}<p>Personal work (0-4): {personal_line}.</p><h4>Alerts</h4>{alert_html}"
    )


def reflections_html(answers: pd.DataFrame, names: dict[str, str], as_of: Any) -> str:
    """The partners' reflections of the last weeks up to ``as_of``, newest first, as text."""
    frame = answers[answers["value"].astype(str).str.strip() != ""]
    if as_of is not None:
        end = pd.Timestamp(as_of)
        frame = frame[
            (frame["week"] <= end) & (frame["week"] > end - pd.Timedelta(weeks=REFLECTION_WEEKS))
        ]
    if frame.empty:
        return "<p>No reflections in these weeks.</p>"
    items = [
        f"<p><b>{iso_day(r.week)}, {escape(names.get(r.partner, r.partner))}:</b> "
        f"<span style='white-space:pre-wrap'>{escape(r.value)}</span></p>"
        for r in frame.sort_values(["week", "partner"], ascending=[False, True]).itertuples()
    ]
    return "".join(items)


class CaseloadView:
    """Every couple at a glance, worst first: a table and the caseload chart."""

    def __init__(self, store: Store, as_of: Any = None):
        from .charts import caseload_chart
        from .summary import STATUS_LABELS, caseload

        self.store = store
        self.frame = caseload(store, as_of)
        rows = [
            [
                f"<b>{escape(r['couple_id'])}</b>",
                f"{escape(r['name_a'])} &amp; {escape(r['name_b'])}",
                iso_day(r["as_of"]),
                *[escape(STATUS_LABELS.get(r[d], r[d])) for d in SHARE_DOMAINS],
                _number(r["personal_work"], "{:.1f}"),
                _number(r["mutuality_index"]),
                escape(r["alerts"]),
            ]
            for _, r in self.frame.iterrows()
        ]
        header = [
            "Couple", "Partners", "As of", *[escape(DOMAIN_LABELS[d]) for d in SHARE_DOMAINS],
            "Personal work (lower)", "Index", "Alerts",
        ]  # fmt: skip
        self.table = widgets.HTML(_table(header, rows, "mutuality-caseload-table"))
        children: list[widgets.Widget] = [self.table]
        if not self.frame.empty:
            children.insert(0, svg_widget(caseload_chart(self.frame), "mutuality-caseload-chart"))
        else:
            children = [widgets.HTML("<p>No couples yet.</p>")]
        self.widget = widgets.VBox(children)
        self.widget.add_class("mutuality-caseload")

    @classmethod
    def open(cls, week: Any = None, data_dir: Any = None) -> CaseloadView | widgets.HTML | HTML:
        """What the notebook shows: the caseload, a message saying what is wrong, or (under
        Voila) a refusal."""
        refused = refusal("The caseload")
        if refused is not None:
            return refused
        try:
            as_of = None if week in (None, "") else parse_date(week, "week")
            return cls(_open_store(data_dir), as_of)
        except MutualityError as exc:
            return notice(f"The caseload cannot be shown: {exc}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)
