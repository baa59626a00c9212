"""The therapist's session workbook and caseload widgets, headless, on the demo couples."""

from __future__ import annotations

import datetime as dt

import ipywidgets as widgets
import pytest

from mutuality_helpers.caseload_ui import CaseloadView
from mutuality_helpers.session_ui import (
    CHART_KEYS,
    SessionWorkbook,
    reflections_html,
    summary_html,
)

TODAY = dt.date(2026, 11, 28)
HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)>"


@pytest.fixture
def workbook(demo_store):
    return SessionWorkbook(demo_store, "D004", today=TODAY)


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


def test_notes_need_a_session(workbook, demo_store):
    workbook.session.value = 0  # "latest week (no session)"
    assert workbook.notes.disabled
    workbook.save_notes_button.click()
    assert "record a session first" in workbook.message


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
    assert "not declared" in workbook.message and "before start" in workbook.message
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
    assert "<svg" in view.widget.children[0].value


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
