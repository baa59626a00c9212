"""Which week is judged: today by default, and a session's last complete week (one rule)."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from conftest import TODAY

from mutuality_helpers.caseload_table import caseload
from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import ValidationError
from mutuality_helpers.models import make_answer
from mutuality_helpers.report import validate_request
from mutuality_helpers.summary import summarize
from mutuality_helpers.weeks import judged_week, today

MONDAY = dt.date(2026, 11, 23)
CHECKIN = {
    "energy": 5, "teamwork": 4, "share_repair": 50, "share_connection": 50,
    "share_emotional_labour": 50, "share_practical_load": 50,
    "personal_work_self": 3, "personal_work_partner": 3,
}  # fmt: skip


def checkins(couple_id, partners, weeks):
    return [
        make_answer(couple_id, p, w, item, value)
        for w in weeks
        for p in partners
        for item, value in CHECKIN.items()
    ]


def weeks_back(last: dt.date, n: int) -> list[dt.date]:
    return [last - dt.timedelta(weeks=i) for i in range(n)]


# -- the rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "checked_in", "expected"),
    [
        ("2026-11-24", set(), "2026-11-16"),  # a Tuesday, nothing in yet: last complete week
        ("2026-11-24", {"A"}, "2026-11-16"),  # one partner is not "all in"
        ("2026-11-24", {"A", "B"}, "2026-11-23"),  # both in: the week holding the day
        ("2026-11-23", set(), "2026-11-16"),  # a Monday
        ("2026-11-29", {"B"}, "2026-11-16"),  # a Sunday: its week is not over yet
        ("2026-11-29", {"A", "B"}, "2026-11-23"),
        (dt.date(2026, 11, 30), ["A", "B"], "2026-11-30"),
    ],
)
def test_judged_week_is_this_week_once_all_are_in_else_the_last_complete_week(
    day, checked_in, expected
):
    assert judged_week(day, checked_in).isoformat() == expected


def test_today_is_fixed_by_the_environment_in_tests(monkeypatch):
    assert today() == dt.date.fromisoformat(TODAY)
    monkeypatch.setenv("MUTUALITY_TODAY", "2027-01-05")
    assert today() == dt.date(2027, 1, 5)
    monkeypatch.setenv("MUTUALITY_TODAY", "tomorrow")
    with pytest.raises(ValidationError, match="MUTUALITY_TODAY"):
        today()
    monkeypatch.delenv("MUTUALITY_TODAY")
    assert today() == dt.date.today()


# -- today is the default ----------------------------------------------------------------------


@pytest.fixture
def silent_store(store):
    """Q001 answered together for 8 weeks up to the week of 2 Nov, then both stopped;
    Q002 answers every week up to the week of 23 Nov (today is Wednesday 2 Dec)."""
    store.add_couple("Q001", "Robin", "Kai")
    store.add_couple("Q002", "Ana", "Ben")
    store.save_answers(checkins("Q001", "AB", weeks_back(dt.date(2026, 11, 2), 8)), "test")
    store.save_answers(checkins("Q002", "AB", weeks_back(MONDAY, 8)), "test")
    return store


def test_a_couple_silent_for_three_weeks_is_flagged_today(silent_store):
    summary = summarize(silent_store, "Q001")
    # Judged as of this week's last complete week, not as of its own last answer.
    assert summary["as_of"] == "2026-11-23"
    silence = [a for a in summary["alerts"] if a["kind"] == "silence"]
    assert [(a["partner"], a["weeks"]) for a in silence] == [("A", 3), ("B", 3)]
    assert all("week of 2026-11-02" in a["message"] for a in silence)
    assert silence[0]["key"] == "silence:Q001:A:2026-11-02" and silence[0]["state"] == "new"
    # As of its own last week (the old default) it looked fine: the judgement of a week
    # does not change, only which week is judged.
    then = summarize(silent_store, "Q001", as_of="2026-11-02")
    assert not [a for a in then["alerts"] if a["kind"] == "silence"]


def test_the_caseload_puts_the_silent_couple_first_and_shows_last_checkins(silent_store):
    frame = caseload(silent_store).set_index("couple_id")
    assert frame.index.tolist() == ["Q001", "Q002"]
    q1 = frame.loc["Q001"]
    assert q1["as_of"] == pd.Timestamp("2026-11-23") and q1["silent"] == 2
    assert q1["last_checkin_a"] == q1["last_checkin_b"] == pd.Timestamp("2026-11-02")
    assert frame.loc["Q002", "last_checkin_b"] == pd.Timestamp("2026-11-23")
    assert frame.loc["Q002", "alerts"] == 0


def test_the_summary_command_judges_as_of_today(silent_store, capsys):
    assert main(["summary", "Q001", "--data", str(silent_store.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "as of the week of 2026-11-23" in out and "No check-in from Robin for 3 weeks" in out


def test_a_week_still_running_raises_no_missing_checkin_alert(silent_store):
    # Only Ana has checked in for this week (Wednesday): the week is not judged yet.
    silent_store.save_answers(checkins("Q002", "A", [dt.date(2026, 11, 30)]), "test")
    summary = summarize(silent_store, "Q002")
    assert summary["as_of"] == "2026-11-23" and summary["alerts"] == []
    row = caseload(silent_store).set_index("couple_id").loc["Q002"]
    assert row["alerts"] == 0 and row["last_checkin_a"] == pd.Timestamp("2026-11-30")
    # Once Ben is in too, this week is judged.
    silent_store.save_answers(checkins("Q002", "B", [dt.date(2026, 11, 30)]), "test")
    assert summarize(silent_store, "Q002")["as_of"] == "2026-11-30"


# -- sessions -------------------------------------------------------------------------------------


def test_a_tuesday_session_uses_the_last_complete_week(silent_store):
    number = silent_store.add_session("Q002", "2026-12-01")  # a Tuesday, nobody in yet
    session = silent_store.session("Q002", number)
    assert session["as_of"] == pd.Timestamp("2026-11-23")
    request = validate_request(
        {"couple_id": "Q002", "session": number, "data_dir": str(silent_store.data_dir)},
        silent_store,
    )
    assert request.as_of == dt.date(2026, 11, 23)  # reports keep judging as of their session
    summary = summarize(silent_store, "Q002", as_of=request.as_of)
    assert not [a for a in summary["alerts"] if a["kind"] == "one_sided"]
    # Once both check-ins of the session's week are in, that week is judged.
    silent_store.save_answers(checkins("Q002", "AB", [dt.date(2026, 11, 30)]), "test")
    assert silent_store.session("Q002", number)["as_of"] == pd.Timestamp("2026-11-30")


def test_the_session_command_prints_the_judged_week(silent_store, capsys):
    data = str(silent_store.data_dir)
    assert main(["session", "Q002", "--date", "2026-12-01", "--data", data]) == 0
    assert "(judged as of week 2026-11-23)" in capsys.readouterr().out
    # Q002's check-ins of the week holding 24 Nov are in: a session then is judged on it.
    assert main(["session", "Q002", "--date", "2026-11-24", "--data", data]) == 0
    assert "(judged as of week 2026-11-23)" in capsys.readouterr().out
    assert main(["session", "Q001", "--date", "2026-11-24", "--data", data]) == 0
    assert "(judged as of week 2026-11-16)" in capsys.readouterr().out


def test_the_workbook_records_a_tuesday_session_on_last_weeks_answers(silent_store):
    from mutuality_helpers.session_ui import SessionWorkbook

    tuesday = dt.date(2026, 12, 1)
    wb = SessionWorkbook(silent_store, "Q002", today=tuesday)
    assert wb.session.value == 0 and wb.summary_data["as_of"] == "2026-11-23"  # today
    wb.record_button.click()
    assert wb.message == (
        "Recorded session 1 on Tuesday 1 December 2026"
        " (judged as of the week of Monday 23 November 2026)."
    )
    assert wb.session.value == 1 and wb.summary_data["as_of"] == "2026-11-23"
    assert not [a for a in wb.summary_data["alerts"] if a["kind"] == "one_sided"]
