"""The therapist's session workbook and caseload widgets, headless, on the demo couples."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import ipywidgets as widgets
import pytest
from markupsafe import escape

from mutuality_helpers.caseload_ui import CaseloadView
from mutuality_helpers.session_ui import (
    CHART_KEYS,
    SessionWorkbook,
    reflections_html,
    summary_html,
)

TODAY = dt.date(2026, 11, 28)


def workbook_summary(store, couple_id):
    from mutuality_helpers.summary import summarize

    return summarize(store, couple_id, today=TODAY)


HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


class ManualClock:
    """The autosave's waits, run when the test says (no timers, no flakiness)."""

    def __init__(self) -> None:
        self.waiting: list[list] = []

    def call_later(self, delay, callback):
        entry = [delay, callback, False]
        self.waiting.append(entry)

        class Handle:
            def cancel(self_inner) -> None:
                entry[2] = True

        return Handle()

    def pause(self) -> None:
        """Typing paused long enough: every wait not cancelled runs."""
        due, self.waiting = self.waiting, []
        for _, callback, cancelled in due:
            if not cancelled:
                callback()


@pytest.fixture
def clock():
    return ManualClock()


@pytest.fixture
def workbook(demo_store, clock):
    return SessionWorkbook(demo_store, "D004", today=TODAY, call_later=clock.call_later)


def test_opens_on_the_latest_session_with_summary_and_charts(workbook, demo_store):
    sessions = demo_store.sessions("D004")
    assert workbook.session.value == int(sessions["number"].max())
    assert workbook.as_of() == sessions["as_of"].iloc[-1].date()
    assert "Mutuality index" in workbook.summary.value
    assert "chronic" in workbook.summary.value
    assert len(workbook.charts.children) == len(CHART_KEYS)
    assert all("<svg" in chart.value for chart in workbook.charts.children)
    assert "mutuality-workbook" in workbook.widget._dom_classes


def test_choosing_a_session_judges_as_of_its_week(workbook, demo_store):
    first = demo_store.sessions("D004").iloc[0]
    workbook.session.value = int(first["number"])
    assert workbook.summary_data["as_of"] == first["as_of"].date().isoformat()
    assert workbook.notes.value == first["notes"]


def test_choosing_a_couple_reloads_everything(workbook, demo_store):
    workbook.couple.value = "D002"
    assert workbook.summary_data["couple_id"] == "D002"
    assert "D002" in workbook.summary.value
    names = demo_store.get_couple("D002")
    assert [label for label, _ in workbook.seasons_tab.season_partner.options][0].startswith(
        names["name_a"]
    )


def test_record_session_then_save_notes_and_agreements(workbook, demo_store):
    before = len(demo_store.sessions("D004"))
    workbook.new_date.value = TODAY
    workbook.record_button.click()
    number = before + 1
    assert workbook.session.value == number
    workbook.notes.value = "Talked about the burnout season."
    workbook.agreements.value = "Riley plans Friday dinner."
    workbook.save_notes_button.click()
    row = demo_store.session("D004", number)
    assert row["date"].date() == TODAY
    assert (row["notes"], row["agreements"]) == (
        "Talked about the burnout season.",
        "Riley plans Friday dinner.",
    )
    assert "Saved" in workbook.message
    assert demo_store.draft("D004", number) is None
    # Saved again with a change: the version it replaces is in the history shown.
    workbook.notes.value = "Talked about the burnout season, and sleep."
    workbook.save_notes_button.click()
    assert demo_store.session_history("D004", number)["notes"].tolist() == [
        "",
        "Talked about the burnout season.",
    ]
    assert "Talked about the burnout season.<" in workbook.history.value


def test_record_clicked_twice_makes_one_session(workbook, demo_store):
    before = len(demo_store.sessions("D004"))
    workbook.record_button.click()
    workbook.record_button.click()
    assert len(demo_store.sessions("D004")) == before + 1
    assert workbook.message.startswith(f"Recorded session {before + 1} on Saturday 28 November")
    assert workbook.confirm.layout.display == "none"


def test_a_second_session_the_same_day_is_recorded_only_when_confirmed(workbook, demo_store):
    before = len(demo_store.sessions("D004"))
    workbook.record_button.click()
    workbook.clock = lambda: 1e9  # much later: not a double click
    workbook.record_button.click()
    assert len(demo_store.sessions("D004")) == before + 1
    assert "Not recorded yet" in workbook.message
    assert workbook.confirm.layout.display == "flex"
    assert "Record a second session that day?" in workbook.confirm_text.value
    workbook.confirm_no.click()
    assert workbook.message == "Nothing was changed." and workbook.confirm.layout.display == "none"
    assert len(demo_store.sessions("D004")) == before + 1
    workbook.record_button.click()
    workbook.confirm_yes.click()
    assert len(demo_store.sessions("D004")) == before + 2
    assert workbook.session.value == before + 2


def test_a_session_is_moved_and_deleted_with_confirmation_and_history(workbook, demo_store):
    numbers = demo_store.sessions("D004")["number"].tolist()
    first, last = numbers[0], numbers[-1]
    workbook.session.value = first
    first_day = demo_store.session("D004", first)["date"].date()
    workbook.edit_date.value = first_day + dt.timedelta(days=1)
    workbook.move_button.click()
    assert demo_store.session("D004", first)["date"].date() == first_day + dt.timedelta(days=1)
    assert "Moved session" in workbook.message and "changed" in workbook.history.value
    # Onto another session's date: asked first.
    workbook.edit_date.value = demo_store.session("D004", last)["date"].date()
    workbook.move_button.click()
    assert "Not moved yet" in workbook.message and workbook.confirm.layout.display == "flex"
    workbook.confirm_no.click()
    assert demo_store.session("D004", first)["date"].date() == first_day + dt.timedelta(days=1)

    workbook.session.value = last
    workbook.delete_button.click()
    assert len(demo_store.sessions("D004")) == len(numbers)  # nothing yet: a question
    assert f"Delete session {last}" in workbook.confirm_text.value
    assert workbook.confirm_yes.description == f"Delete session {last}"
    workbook.confirm_yes.click()
    assert demo_store.sessions("D004")["number"].tolist() == numbers[:-1]
    assert f"Deleted session {last}" in workbook.message
    assert workbook.session.value == numbers[-2]
    assert f"Session {last}" in workbook.history.value and "deleted" in workbook.history.value
    assert last not in [v for _, v in workbook.session.options]


def test_a_question_is_dropped_when_another_couple_is_chosen(workbook, demo_store):
    before = len(demo_store.sessions("D004"))
    workbook.delete_button.click()
    workbook.couple.value = "D002"
    assert workbook.confirm.layout.display == "none"
    workbook.confirm_yes.click()  # a stale click does nothing
    assert len(demo_store.sessions("D004")) == before


def test_notes_autosave_as_a_draft_and_come_back(workbook, demo_store, clock):
    number = workbook.session.value
    saved = demo_store.session("D004", number)["notes"]
    workbook.notes.value = saved + " and more"
    workbook.notes.value = saved + " and more typed"
    assert demo_store.draft("D004", number) is None  # typing: nothing written per keystroke
    clock.pause()
    assert demo_store.draft("D004", number)["notes"] == saved + " and more typed"
    assert "Kept as you type" in workbook.draft_status.value
    assert demo_store.session("D004", number)["notes"] == saved  # not saved into the session
    # Reopened (a new workbook, as after a restart): the draft is shown, and said so.
    again = SessionWorkbook(demo_store, "D004", today=TODAY, call_later=clock.call_later)
    assert again.notes.value == saved + " and more typed"
    assert "Restored" in again.draft_status.value
    again.save_notes_button.click()
    assert demo_store.session("D004", number)["notes"] == saved + " and more typed"
    assert demo_store.draft("D004", number) is None and again.draft_status.value == ""


def test_switching_couple_keeps_what_was_typed(workbook, demo_store, clock):
    number = workbook.session.value
    workbook.agreements.value = "Half-typed agreement"
    workbook.couple.value = "D002"  # before the pause: kept at once
    assert demo_store.draft("D004", number)["agreements"] == "Half-typed agreement"
    assert "notes you typed for D004" in workbook.message and "are kept" in workbook.message
    assert (
        workbook.agreements.value
        == demo_store.session("D002", workbook.session.value)["agreements"]
    )
    clock.pause()  # the cancelled wait writes nothing to D002
    assert demo_store.draft("D002", workbook.session.value) is None
    workbook.couple.value = "D004"
    assert workbook.session.value == number
    assert workbook.agreements.value == "Half-typed agreement"
    # Typing paused (the draft kept already) before the switch: still said, every time.
    workbook.notes.value = "Typed, then a pause"
    clock.pause()
    workbook.couple.value = "D002"
    assert "notes you typed for D004" in workbook.message and "are kept" in workbook.message
    workbook.couple.value = "D004"
    assert workbook.notes.value == "Typed, then a pause"  # back, still not saved
    workbook.save_notes_button.click()
    workbook.couple.value = "D002"
    assert workbook.message == "Showing couple D002."  # saved: nothing to warn about


def test_notes_typed_with_today_chosen_go_into_the_recorded_session(workbook, demo_store, clock):
    workbook.session.value = 0  # "Today (no session)"
    assert not workbook.notes.disabled and workbook.delete_button.disabled
    workbook.notes.value = "Typed before recording"
    workbook.save_notes_button.click()
    assert "kept for the next session" in workbook.message
    assert demo_store.draft("D004", 0)["notes"] == "Typed before recording"
    workbook.record_button.click()
    number = workbook.session.value
    assert demo_store.session("D004", number)["notes"] == "Typed before recording"
    assert "with the notes typed for it" in workbook.message
    assert demo_store.draft("D004", 0) is None


def test_a_draft_too_long_is_refused_in_one_line(workbook, demo_store, clock):
    workbook.notes.value = "x" * 20_001
    clock.pause()
    assert workbook.message.startswith("What you typed could not be kept: notes")
    assert workbook.message.count("\n") == 0


def test_declare_edit_and_close_a_season(workbook, demo_store):
    before = len(demo_store.seasons("D004"))
    workbook.seasons_tab.season_partner.value = "A"
    workbook.seasons_tab.season_reason.value = "caregiving"
    workbook.seasons_tab.season_start.value = dt.date(2026, 11, 23)
    workbook.seasons_tab.season_end.value = dt.date(2026, 12, 21)
    workbook.seasons_tab.season_agreed.value = False
    workbook.seasons_tab.season_note.value = "Morgan's father in hospital"
    workbook.seasons_tab.declare_button.click()
    assert "NOT yet agreed" in workbook.message
    # The form is new again: nothing invites declaring the same season twice.
    tab = workbook.seasons_tab
    assert (tab.season_partner.value, tab.season_reason.value, tab.season_note.value) == (
        "A", "work", "",
    )  # fmt: skip
    assert tab.season_start.value == dt.date(2026, 11, 23) and not tab.season_agreed.value
    seasons = demo_store.seasons("D004")
    assert len(seasons) == before + 1
    new = seasons[seasons["reason"] == "caregiving"].iloc[0]
    assert (new.partner, bool(new.agreed), new.note) == ("A", False, "Morgan's father in hospital")
    assert workbook.seasons_tab.season_pick.value == new.season_id
    assert "caregiving" in workbook.seasons_tab.seasons_table.value

    workbook.seasons_tab.edit_agreed.value = True
    workbook.seasons_tab.edit_end.value = dt.date(2027, 1, 4)
    workbook.seasons_tab.edit_button.click()
    edited = demo_store.seasons(season_id=int(new.season_id)).iloc[0]
    assert bool(edited.agreed) and edited.planned_end.date() == dt.date(2027, 1, 4)

    workbook.seasons_tab.close_on.value = dt.date(2026, 12, 7)
    workbook.seasons_tab.close_button.click()
    closed = demo_store.seasons(season_id=int(new.season_id)).iloc[0]
    assert closed.closed_on.date() == dt.date(2026, 12, 7)
    assert "Closed season" in workbook.message


def test_a_bad_season_is_refused_with_a_message(workbook, demo_store):
    before = len(demo_store.seasons("D004"))
    workbook.seasons_tab.season_start.value = dt.date(2026, 12, 21)
    workbook.seasons_tab.season_end.value = dt.date(2026, 11, 23)
    workbook.seasons_tab.declare_button.click()
    assert workbook.message == (
        "The season was not declared: the planned end, 23 Nov 2026, is before the start, "
        "21 Dec 2026"
    )
    assert len(demo_store.seasons("D004")) == before


def test_hostile_text_is_shown_as_text(demo_store):
    demo_store.add_couple("C666", "<b>Eve</b>", "Mallory")
    from mutuality_helpers.models import make_answer

    demo_store.save_answers(
        [make_answer("C666", "A", "2026-11-23", "reflection", HOSTILE)], source="test"
    )
    wb = SessionWorkbook(demo_store, "C666", today=TODAY)
    shown = wb.summary.value + wb.reflections.value + wb.seasons_tab.seasons_table.value
    assert "<script" not in shown and "<img" not in shown and "<b>Eve" not in shown
    assert "&lt;script&gt;" in wb.reflections.value
    caseload = CaseloadView(demo_store)
    assert "<b>Eve" not in caseload.table.value and "&lt;b&gt;Eve" in caseload.table.value


def test_reflections_window_and_order():
    import pandas as pd

    answers = pd.DataFrame(
        {
            "week": pd.to_datetime(["2026-10-05", "2026-11-16", "2026-11-23", "2026-11-23"]),
            "partner": ["A", "A", "B", "A"],
            "value": ["too old", "last week", "B now", ""],
        }
    )
    out = reflections_html(answers, {"A": "Sam", "B": "Alex"}, "2026-11-23")
    assert "too old" not in out
    assert out.index("B now") < out.index("last week")


def test_summary_html_handles_missing_numbers(demo_store):
    from mutuality_helpers.summary import summarize

    demo_store.add_couple("C000")
    html = summary_html(summarize(demo_store, "C000"))
    assert "C000" in html and "not enough answers" in html


def test_caseload_is_worst_first(demo_store):
    view = CaseloadView(demo_store)
    assert view.frame["couple_id"].iloc[0] == "D004"
    table = view.table.value
    assert table.index("D004") < table.index("D001")
    assert view.widget.children[0] is view.table


def test_caseload_rows_show_each_status_with_its_colour(demo_store):
    from mutuality_helpers.formatting import STATUS_COLOURS, STATUS_LABELS
    from mutuality_helpers.instruments import SHARE_DOMAINS

    view = CaseloadView(demo_store)
    table = view.table.value
    first = view.frame.iloc[0]
    for status in {first[d] for d in SHARE_DOMAINS}:
        swatch = f"background:{STATUS_COLOURS[status]}'></span>{STATUS_LABELS[status]}"
        assert swatch in table


def test_the_caseload_loads_no_chart_library(demo_data_dir):
    code = (
        "import sys; from mutuality_helpers.caseload_ui import CaseloadView; "
        f"CaseloadView.open(None, {str(demo_data_dir)!r}); "
        "print([m for m in ('altair', 'vl_convert') if m in sys.modules])"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip().splitlines()[-1] == "[]"


def test_caseload_rows_say_what_needs_attention(demo_store):
    from mutuality_helpers.models import make_answer

    demo_store.save_answers(
        [make_answer("D001", "A", "2026-11-23", "safety_felt_safe", "not_safe")],
        "form:weekly_checkin",
    )
    view = CaseloadView(demo_store, today=TODAY)
    row = view.frame.set_index("couple_id").loc["D004"]
    assert len(row["attention"]) == row["alerts"] > 0
    # Each alert in words, not a count: the summary's own messages.
    summary_messages = {a["message"] for a in workbook_summary(demo_store, "D004")["alerts"]}
    assert set(row["attention"]) <= summary_messages
    assert all(line in view.table.value for line in map(escape, row["attention"]))
    urgent = view.frame.set_index("couple_id").loc["D001", "attention"]
    assert urgent[0].startswith("Private safety check: 1 answer needs your attention")
    # ...and no detail of the private answer reaches the table.
    assert "not_safe" not in view.table.value and "Felt safe" not in view.table.value
    assert "Judged as of" in view.table.value and "23 Nov 2026" in view.table.value


def test_caseload_rows_open_the_couples_workbook_below(demo_store, clock):
    view = CaseloadView(demo_store, today=TODAY, call_later=clock.call_later)
    assert list(view.open_buttons) == view.frame["couple_id"].tolist()
    view.open_buttons["D002"].click()
    assert view.workbook is not None and view.workbook.couple_id == "D002"
    assert view.workbook.widget in view.workbook_area.children
    assert "shows couple D002" in view.message
    view.workbook.notes.value = "typed for D002"
    view.open_buttons["D004"].click()  # the same workbook switches couple
    assert view.workbook.couple_id == "D004"
    number = demo_store.sessions("D002")["number"].max()
    assert demo_store.draft("D002", int(number))["notes"] == "typed for D002"


def test_caseload_open_calls_the_given_workbook(demo_store, workbook):
    view = CaseloadView(
        demo_store, today=TODAY, on_open=lambda c: setattr(workbook.couple, "value", c)
    )
    view.open_buttons["D003"].click()
    assert workbook.couple_id == "D003" and view.workbook is None


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"couple_id": "no such"}, "parameter couple_id"),
        ({"couple_id": "C404"}, "no couple"),
        ({"couple_id": "D004", "session": "1"}, "parameter session"),
        ({"couple_id": "D004", "session": 99}, "no session 99"),
    ],
)
def test_open_says_what_is_wrong(demo_data_dir, kwargs, fragment):
    shown = SessionWorkbook.open(data_dir=str(demo_data_dir), **kwargs)
    assert isinstance(shown, widgets.HTML)
    assert fragment in shown.value


def test_open_on_an_empty_store_says_so(store):
    shown = SessionWorkbook.open(data_dir=str(store.data_dir))
    assert isinstance(shown, widgets.HTML) and "no couples" in shown.value


def test_open_on_a_folder_without_a_store_says_so_and_creates_nothing(tmp_path):
    typo = tmp_path / "dtaa"
    shown = SessionWorkbook.open(data_dir=str(typo))
    assert isinstance(shown, widgets.HTML) and "no Mutuality store in" in shown.value
    assert not typo.exists()


def test_refresh_shows_a_partners_new_checkin(demo_store):
    from mutuality_helpers.forms import InstrumentForm

    thursday = dt.date(2026, 12, 3)
    wb = SessionWorkbook(demo_store, "D001", today=thursday)
    wb.session.value = 0  # judge as of today
    before = wb.summary_data["as_of"]
    assert before == "2026-11-23"  # this week's check-ins are not in: the last complete week
    for partner in ("A", "B"):
        form = InstrumentForm(demo_store, "weekly_checkin", "D001", partner, today=thursday)
        form.set_values(
            {
                "energy": 3, "teamwork": 2, "share_repair": 90, "share_connection": 90,
                "share_emotional_labour": 90, "share_practical_load": 90,
                "personal_work_self": 2, "personal_work_partner": 2,
                "reflection": f"A NEW WEEK, saved from {partner}'s form",
            }
        )  # fmt: skip
        form.save_button.click()
        assert form.status == "saved"
        wb.refresh_button.click()
        assert wb.message == "Up to date."
        if partner == "A":
            # One check-in of a week still running: not judged yet, and no alert about it.
            assert wb.summary_data["as_of"] == before
            assert not any(a["kind"] == "one_sided" for a in wb.summary_data["alerts"])
    assert wb.summary_data["as_of"] == "2026-11-30" != before
    assert "A NEW WEEK, saved from A&#39;s form" in wb.reflections.value
