"""The therapist's session workbook (the caseload view is :mod:`~mutuality_helpers.caseload_ui`).

:class:`SessionWorkbook` is what ``notebooks/session_workbook.ipynb`` shows: pick
a couple and a session; read the summary (judged as of today, or as of the
session: :func:`~mutuality_helpers.weeks.judged_week`), the charts and the
partners' recent reflections; record a new session, its notes and the agreements
for next week; print the chosen session's PDF report
(:mod:`~mutuality_helpers.report_ui`); declare, edit and close seasons; mark alerts that
need action seen or resolved. Everything is saved through the :class:`~.store.Store` as it
happens and the summary and charts are redrawn.

The couple often looks at this screen with the therapist, so the private safety
alerts are never in the summary or the charts: they wait in a panel at the very
top, which says only that something private needs attention until the therapist
opens it (:mod:`~mutuality_helpers.alerts_ui`).

Charts are shown as static SVG (rendered in the kernel by ``vl-convert``): the
same picture the PDF report carries, and it needs no JavaScript from the
internet, which a counselling room's machine may not reach. All text a person
typed (names, notes, reflections) is HTML-escaped before it reaches the page.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets
import pandas as pd

from .alert_record import safety_views, silence_views
from .alerts_ui import AlertActions
from .autosave import CallLater, Debouncer
from .exceptions import DuplicateSession, MutualityError, ParameterError, ValidationError
from .feedback import attempt, notice, show_message
from .formatting import day_name, long_time
from .presentation import domain_rows, fragment
from .report_ui import ReportButton
from .seasons_ui import SeasonsTab
from .store import Store
from .store_answers import now_iso
from .summary import Summary
from .validation import parse_couple_id, parse_date, week_of
from .voila_guard import refusal
from .weeks import today as clock_today

if TYPE_CHECKING:
    from IPython.display import HTML

#: Chart order on the page (keys of ``charts.couple_charts``).
CHART_KEYS = ("lifting", "timeline", "perception", "wellbeing", "personal_work")
#: How many weeks of reflections the workbook shows, ending at the judged week.
REFLECTION_WEEKS = 4
#: The session picker's entry for "no session: judge as of today" (and the draft key of the
#: notes for the session not recorded yet).
LATEST = 0
#: A second click on "Record new session" within this many seconds, for the same couple and
#: date, is the same click (a double click records one session).
DOUBLE_CLICK_S = 3.0


TEMPLATE = "workbook.html.j2"


def svg_widget(chart: Any, css: str = "mutuality-chart") -> widgets.HTML:
    """A chart as inline SVG in an HTML widget (renders in JupyterLab and Voila alike)."""
    from .theme import cached_svg

    box = widgets.HTML(cached_svg(chart))
    box.add_class(css)
    return box


def open_store(data_dir: Any) -> Store:
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
        The date taken as today: the "today" view judges as of it, and it is offered for a
        new session; default :func:`~mutuality_helpers.weeks.today`.
    call_later
        How the notes' autosave waits for typing to pause (tests pass their own; default
        the kernel's event loop, see :mod:`~mutuality_helpers.autosave`).
    """

    def __init__(
        self,
        store: Store,
        couple_id: str | None = None,
        session: int | None = None,
        today: dt.date | None = None,
        call_later: CallLater | None = None,
    ):
        self.store = store
        self.today = today or clock_today()
        self.message = ""
        self.summary_data: Summary | None = None
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
        self.session = widgets.Dropdown(options=[("Today", LATEST)], description="Session:")
        self.new_date = widgets.DatePicker(value=self.today, description="New session on:")
        self.record_button = widgets.Button(description="Record new session", icon="plus")
        # -- one question at a time: a second session the same day, a deletion
        self.confirm_text = widgets.HTML()
        self.confirm_yes = widgets.Button(button_style="warning")
        self.confirm_no = widgets.Button(description="Cancel")
        self.confirm = widgets.HBox([self.confirm_text, self.confirm_yes, self.confirm_no])
        self.confirm.add_class("mutuality-confirm")
        self.confirm.layout.display = "none"
        self._pending: Callable[[], str | None] | None = None
        self._last_record: tuple[str, dt.date, float] | None = None
        self.clock: Callable[[], float] = time.monotonic
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
        self.draft_status = widgets.HTML()
        self.draft_status.add_class("mutuality-draft-status")
        # What is typed is kept as a draft once typing pauses, and before anything else shows.
        self.autosave = Debouncer(self._keep_draft, call_later=call_later)
        self._loading = False
        self._shown: tuple[str, int] = ("", LATEST)  # whose notes the text boxes hold
        self._saved_text: tuple[str, str] = ("", "")
        # -- the chosen session: move it to another date, delete it; its history
        self.edit_date = widgets.DatePicker(description="Move to:")
        self.move_button = widgets.Button(description="Change date", icon="calendar")
        self.delete_button = widgets.Button(
            description="Delete session", icon="trash", button_style="danger"
        )
        self.history = widgets.HTML()
        self.history.add_class("mutuality-session-history")
        # -- one place for messages
        self.feedback = widgets.Output()
        self.feedback.add_class("mutuality-feedback")
        # -- seasons: a tab of its own, saving through the same store and feedback
        self.seasons_tab = SeasonsTab(store, self.today, self._say, self.refresh)
        # -- alerts that need action: the private panel at the top, and silence under the summary
        self.urgent_head = widgets.HTML()
        self.urgent_toggle = widgets.ToggleButton(value=False, description="Open", icon="eye")
        self.urgent_toggle.add_class("mutuality-urgent-toggle")
        self.urgent_actions = AlertActions(
            store, self._say, self.refresh, "mutuality-urgent-actions"
        )
        self.urgent = widgets.VBox([widgets.HBox([self.urgent_head, self.urgent_toggle])])
        self.urgent.add_class("mutuality-urgent")
        self.followup_actions = AlertActions(
            store, self._say, self.refresh, "mutuality-followup-actions"
        )
        self.urgent_toggle.observe(self._on_urgent_toggle, names="value")
        # -- the chosen session's PDF report, through the warm report worker
        self.report_button = ReportButton(store.data_dir, self._say)

        self.couple.observe(self._on_couple_change, names="value")
        self.session.observe(self._on_session_change, names="value")
        self.record_button.on_click(self._on_record_session)
        self.refresh_button.on_click(self._on_refresh)
        self.save_notes_button.on_click(self._on_save_notes)
        self.notes.observe(self._on_typing, names="value")
        self.agreements.observe(self._on_typing, names="value")
        self.move_button.on_click(self._on_move_session)
        self.delete_button.on_click(self._on_delete_session)
        self.confirm_yes.on_click(self._on_confirm)
        self.confirm_no.on_click(self._on_cancel)

        self.widget = self._layout()
        self.widget.add_class("mutuality-workbook")
        self._load_couple(session)
        self.report_button.warm_up()

    def _layout(self) -> widgets.Widget:
        pickers = widgets.VBox(
            [
                widgets.HBox([self.couple, self.session, self.refresh_button]),
                widgets.HBox([self.new_date, self.record_button]),
                self.report_button.widget,
            ]
        )
        overview = widgets.VBox(
            [
                self.summary,
                self.followup_actions.widget,
                self.charts,
                widgets.HTML("<h3>Reflections</h3>"),
                self.reflections,
            ]
        )
        notes = widgets.VBox(
            [
                widgets.HTML(
                    "<p>Notes for the record, and what the couple agreed for next week. "
                    "What you type is kept as you go, and saved into the session with "
                    "<i>Save notes</i> (with <i>Today</i> chosen: into the next session you "
                    "record).</p>"
                ),
                self.notes,
                self.agreements,
                widgets.HBox([self.save_notes_button, self.draft_status]),
                widgets.HTML("<h4>This session</h4>"),
                widgets.HBox([self.edit_date, self.move_button, self.delete_button]),
                self.history,
            ]
        )
        tabs = widgets.Tab(children=[overview, notes, self.seasons_tab.widget])
        for i, title in enumerate(("Summary and charts", "Notes and agreements", "Seasons")):
            tabs.set_title(i, title)
        return widgets.VBox([self.urgent, pickers, self.confirm, self.feedback, tabs])

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
            return cls(open_store(data_dir), couple_id, session)
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
        """The judged week: the session's week, or ``None`` for today's."""
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
        self.store.record_access("workbook", self.couple_id, "opened in the session workbook")
        self.seasons_tab.couple(self.couple_id, self._names())
        self._load_sessions(session)
        self.refresh()

    def _load_sessions(self, select: int | None = None) -> None:
        frame = self.store.sessions(self.couple_id)
        options = [("Today (no session)", LATEST)] + [
            (f"Session {r.number} · {day_name(r.date)}", int(r.number))
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
        """Show the chosen session's notes, or the draft typed for it and not saved yet."""
        self.autosave.flush()  # what was typed for the notes shown so far is kept first
        number = self.session_number
        key = (self.couple_id, number or LATEST)
        row = None if number is None else self.store.session(self.couple_id, number)
        saved = ("", "") if row is None else (row["notes"], row["agreements"])
        draft = self.store.draft(*key)
        shown = saved
        if draft is not None:
            typed = (draft["notes"], draft["agreements"])
            if typed == saved:
                self.store.clear_draft(*key)
                draft = None
            else:
                shown = typed
        self._loading = True
        try:
            self.notes.value, self.agreements.value = shown
        finally:
            self._loading = False
        self._shown, self._saved_text = key, saved
        where = "the next session you record" if number is None else f"session {number}"
        if draft is not None:
            self.draft_status.value = fragment(
                TEMPLATE, "draft_status", "restored", long_time(draft["saved_at"]), where
            )
        else:
            self.draft_status.value = ""
        for w in (self.edit_date, self.move_button, self.delete_button):
            w.disabled = row is None
        self.edit_date.value = None if row is None else row["date"].date()
        self._show_history()

    def _show_history(self) -> None:
        history = self.store.session_history(self.couple_id)
        number = self.session_number
        mine = history[(history["number"] == number) | (history["change"] == "deleted")]
        rows = mine.sort_values("changed_at", ascending=False, kind="stable").to_dict("records")
        self.history.value = fragment(TEMPLATE, "session_history", rows, number)

    # -- notes: kept as a draft while typing ------------------------------------------------

    def _on_typing(self, change: dict[str, Any]) -> None:
        if self._loading:
            return
        self.autosave.poke()

    def _keep_draft(self) -> None:
        """Keep what the text boxes hold for the notes they show (or forget an unchanged one)."""
        couple_id, number = self._shown
        if not couple_id:
            return
        typed = (self.notes.value, self.agreements.value)

        def keep() -> None:
            if typed == self._saved_text:
                self.store.clear_draft(couple_id, number)
                self.draft_status.value = ""
                return
            self.store.save_draft(couple_id, number, *typed)
            where = "the next session you record" if number == LATEST else f"session {number}"
            self.draft_status.value = fragment(
                TEMPLATE, "draft_status", "kept", long_time(now_iso()), where
            )

        attempt(self._say, "What you typed could not be kept", keep)

    def refresh(self) -> None:
        """Redraw the summary, the charts and the reflections for the chosen couple and week."""
        from .charts import couple_summary_and_charts

        # One read and one judgement for both the summary and the charts.
        summary, charts = couple_summary_and_charts(
            self.store, self.couple_id, self.as_of(), today=self.today
        )
        self.summary_data = summary
        self.report_button.show(self.couple_id, self.session_number)
        self.summary.value = summary_html(summary)
        self._show_urgent(summary["names"])
        self.followup_actions.show(silence_views(self.couple_id, summary["alerts"]))
        self.charts.children = [svg_widget(charts[key]) for key in CHART_KEYS if key in charts]
        # Reflections up to the week holding today (or the session): a reflection saved this
        # week is read at once, even while the week is too young to be judged.
        number = self.session_number
        day = self.today if number is None else self.store.session(self.couple_id, number)["date"]
        self.reflections.value = reflections_html(
            self.store.answers(self.couple_id, items=["reflection"]),
            summary.get("names") or self._names(),
            week_of(parse_date(day, "date")),
        )

    def _show_urgent(self, names: dict[str, str]) -> None:
        """The private panel: every open safety alert of the couple, whatever the session.

        Closed, it says only that something private needs attention; the alerts (who, what,
        when) show once the therapist opens it.
        """
        records = self.store.alert_records(self.couple_id, open_only=True, kinds=["safety"])
        urgent = safety_views(records, {self.couple_id: names})
        self.urgent_head.value = fragment(TEMPLATE, "urgent_head", len(urgent))
        self.urgent.layout.display = "flex" if urgent else "none"
        if not urgent:
            self.urgent_toggle.value = False
        self.urgent_actions.show(urgent)
        self._on_urgent_toggle({})

    def _on_urgent_toggle(self, change: dict[str, Any]) -> None:
        opened = self.urgent_toggle.value
        self.urgent_toggle.description = "Close" if opened else "Open"
        head = self.urgent.children[0]
        self.urgent.children = (head, self.urgent_actions.widget) if opened else (head,)

    # -- callbacks -------------------------------------------------------------------

    def _on_couple_change(self, change: dict[str, Any]) -> None:
        self._dismiss()
        before = self._shown
        self.autosave.flush()  # the text boxes still hold the couple shown before

        def show() -> str:
            # Typed and not saved into the session (just now, or before typing paused):
            # said every time, so nobody thinks notes left behind were saved.
            unsaved = bool(before[0]) and self.store.draft(*before) is not None
            self._load_couple()
            said = f"Showing couple {self.couple_id}."
            if unsaved:
                where = "the next session" if before[1] == LATEST else f"session {before[1]}"
                said += (
                    f" The notes you typed for {before[0]} ({where}) are kept, not saved into "
                    "the session yet: they come back when you choose that couple again."
                )
            return said

        attempt(self._say, "", show)

    def _on_refresh(self, button: Any = None) -> None:
        """Read the store again: answers a partner saved a moment ago show up."""

        def reload() -> str:
            self._load_sessions(self.session.value)  # keeps "today" (0) chosen too
            self.seasons_tab.reload()
            self.refresh()
            return "Up to date."

        attempt(self._say, "", reload)

    def _on_session_change(self, change: dict[str, Any]) -> None:
        self._dismiss()

        def show() -> None:
            self._load_notes()
            self.refresh()

        attempt(self._say, "", show)

    # -- recording, moving and deleting sessions ----------------------------------------

    def _on_record_session(self, button: Any = None) -> None:
        attempt(self._say, "The session was not recorded", lambda: self._record(False))

    def _record(self, same_day: bool) -> str | None:
        day = self.new_date.value
        if day is None:
            raise ValidationError("choose the new session's date first")
        day = parse_date(day, "session date")
        couple_id, now = self.couple_id, self.clock()
        last = self._last_record
        if (
            not same_day
            and last
            and last[:2] == (couple_id, day)
            and now - last[2] < DOUBLE_CLICK_S
        ):
            return None  # the second click of a double click: recorded once already
        self._dismiss()
        self.autosave.flush()  # notes typed for the next session go into it
        draft = self.store.draft(couple_id, LATEST) or {"notes": "", "agreements": ""}
        try:
            with self.store.atomic():
                number = self.store.add_session(
                    couple_id, day, draft["notes"], draft["agreements"], same_day=same_day
                )
                self.store.clear_draft(couple_id, LATEST)
        except DuplicateSession as exc:
            self._ask(
                f"Session {exc.number} is already on {day_name(day)}. "
                "Record a second session that day?",
                "Record a second session",
                lambda: self._record(True),
            )
            return f"Not recorded yet: session {exc.number} is already on {day_name(day)}."
        self._last_record = (couple_id, day, self.clock())
        self._load_sessions(number)
        self.refresh()
        week = self.store.session_week(couple_id, day)
        kept = (
            " with the notes typed for it" if any(draft[k] for k in ("notes", "agreements")) else ""
        )
        return (
            f"Recorded session {number} on {day_name(day)}{kept} "
            f"(judged as of the week of {day_name(week)})."
        )

    def _on_move_session(self, button: Any = None) -> None:
        attempt(self._say, "The session was not moved", lambda: self._move(False))

    def _move(self, same_day: bool) -> str:
        number = self._chosen_session()
        day = self.edit_date.value
        if day is None:
            raise ValidationError("choose the date to move the session to first")
        day = parse_date(day, "new date")
        self._dismiss()
        try:
            changed = self.store.edit_session(self.couple_id, number, date=day, same_day=same_day)
        except DuplicateSession as exc:
            self._ask(
                f"Session {exc.number} is already on {day_name(day)}. "
                f"Move session {number} there too?",
                f"Move session {number}",
                lambda: self._move(True),
            )
            return f"Not moved yet: session {exc.number} is already on {day_name(day)}."
        if not changed:
            return f"Session {number} is on {day_name(day)} already."
        self._load_sessions(number)
        self.refresh()
        return f"Moved session {number} to {day_name(day)} (the date it had is in its history)."

    def _on_delete_session(self, button: Any = None) -> None:
        def ask() -> None:
            number = self._chosen_session()
            day = self.store.session(self.couple_id, number)["date"]
            self._ask(
                f"Delete session {number} ({day_name(day)})? It stays in the history "
                "below, and its number is not given to another session.",
                f"Delete session {number}",
                lambda: self._delete(number),
            )

        attempt(self._say, "The session was not deleted", ask)

    def _delete(self, number: int) -> str:
        self.autosave.cancel()  # its draft goes with it
        self.store.delete_session(self.couple_id, number)
        self._load_sessions()
        self.refresh()
        return f"Deleted session {number}; it is kept in the history."

    def _chosen_session(self) -> int:
        number = self.session_number
        if number is None:
            raise ValidationError("choose a session first")
        return number

    # -- one question at a time -----------------------------------------------------------

    def _ask(self, question: str, yes: str, action: Callable[[], str | None]) -> None:
        """Show ``question`` with a ``yes`` button that runs ``action``, and Cancel."""
        self.confirm_text.value = fragment(TEMPLATE, "question", question)
        self.confirm_yes.description = yes
        self._pending = action
        self.confirm.layout.display = "flex"

    def _dismiss(self) -> None:
        self._pending = None
        self.confirm.layout.display = "none"

    def _on_confirm(self, button: Any = None) -> None:
        action = self._pending
        self._dismiss()
        if action is not None:
            attempt(self._say, "Not done", action)

    def _on_cancel(self, button: Any = None) -> None:
        if self._pending is not None:
            self._dismiss()
            self._say("Nothing was changed.", True)

    def _on_save_notes(self, button: Any = None) -> None:
        number = self.session_number
        if number is None:
            self.autosave.flush()
            self._say(
                "These notes are kept for the next session: Record new session saves them into it.",
                True,
            )
            return

        def save() -> str:
            self.autosave.cancel()
            typed = (self.notes.value, self.agreements.value)
            with self.store.atomic():
                changed = self.store.edit_session(
                    self.couple_id, number, notes=typed[0], agreements=typed[1]
                )
                self.store.clear_draft(self.couple_id, number)
            self._saved_text = typed
            self.draft_status.value = ""
            self._show_history()
            if not changed:
                return f"Nothing to save: the notes of session {number} are as saved."
            return f"Saved the notes and agreements of session {number}."

        attempt(self._say, "The notes were not saved", save)


def summary_html(summary: Summary) -> str:
    """The judgement as HTML: index, one row per share domain, personal work, alerts."""
    return fragment(TEMPLATE, "summary", summary, domain_rows(summary))


def reflections_html(answers: pd.DataFrame, names: dict[str, str], as_of: Any) -> str:
    """The partners' reflections of the last weeks up to ``as_of``, newest first, as text."""
    frame = answers[answers["value"].astype(str).str.strip() != ""]
    if as_of is not None:
        end = pd.Timestamp(as_of)
        frame = frame[
            (frame["week"] <= end) & (frame["week"] > end - pd.Timedelta(weeks=REFLECTION_WEEKS))
        ]
    rows = frame.sort_values(["week", "partner"], ascending=[False, True]).to_dict("records")
    return fragment(TEMPLATE, "reflections", rows, names)
