"""Alerts that need action: new, seen (by whom, when), resolved with a note; kept in the record."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mutuality_helpers.alert_record import needing_action, parse_ref
from mutuality_helpers.caseload_table import caseload
from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import UnknownAlert, UnknownCouple, ValidationError
from mutuality_helpers.models import make_answer
from mutuality_helpers.session_ui import SessionWorkbook
from mutuality_helpers.summary import summarize

WEEK = dt.date(2026, 11, 23)
DANA = "silence:D005:B:2026-10-26"  # the demo's D005: Dana's last check-in was that week


def risk(store, couple="D001", partner="A", value="not_safe"):
    store.save_answers([make_answer(couple, partner, WEEK, "safety_felt_safe", value)], "test")


def run(capsys, *args):
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_an_alert_is_seen_then_resolved_and_stays_in_the_record(demo_store):
    risk(demo_store)
    seen = demo_store.mark_alert("#1", "seen", "Dr K", at="2026-12-02T09:00:00+00:00")
    assert (seen["state"], seen["seen_by"], seen["seen_at"]) == (
        "seen", "Dr K", "2026-12-02T09:00:00+00:00",
    )  # fmt: skip
    # Seen again by someone else: who saw it first is kept.
    again = demo_store.mark_alert(1, "seen", "Dr M")
    assert again["seen_by"] == "Dr K"
    with pytest.raises(ValidationError, match="needs a note"):
        demo_store.mark_alert(1, "resolved", "Dr K", "  ")
    done = demo_store.mark_alert(1, "resolved", "Dr M", "Saw Morgan alone; plan agreed.")
    assert (done["state"], done["resolved_by"], done["seen_by"]) == ("resolved", "Dr M", "Dr K")
    with pytest.raises(ValidationError, match="already resolved by Dr M"):
        demo_store.mark_alert(1, "seen", "Dr K")
    # Kept: in the record, and in what is shown for the record, not in what needs action.
    assert [r["state"] for r in demo_store.alert_records("D001")] == ["resolved"]
    assert needing_action(demo_store, ["D001"]) == []
    (kept,) = needing_action(demo_store, ["D001"], include_resolved=True)
    assert kept["note"] == "Saw Morgan alone; plan agreed." and kept["urgent"]
    assert summarize(demo_store, "D001")["urgent"] == []


@pytest.mark.parametrize(
    ("ref", "state", "by", "error", "match"),
    [
        ("7", "seen", "Dr K", UnknownAlert, "no alert #7"),
        ("1", "done", "Dr K", ValidationError, "seen or resolved"),
        ("1", "seen", " ", ValidationError, "say who"),
        ("1", "seen", "Dr\nK", ValidationError, "one line"),
        ("silence:D001", "seen", "Dr K", ValidationError, "neither an alert number"),
        ("silence:NOPE:A:2026-10-26", "seen", "Dr K", UnknownCouple, "NOPE"),
        ("silence:D005:B:2026-10-27", "seen", "Dr K", ValidationError, "Tuesday"),
    ],
)
def test_bad_marks_are_refused_and_change_nothing(demo_store, ref, state, by, error, match):
    risk(demo_store)
    with pytest.raises(error, match=match):
        demo_store.mark_alert(ref, state, by, "note")
    assert [r["state"] for r in demo_store.alert_records()] == ["new"]


def test_parse_ref():
    assert parse_ref("#12") == parse_ref(" 12 ") == 12
    assert parse_ref(DANA) == DANA


def test_a_silence_alert_is_recorded_when_marked_and_holds_until_the_partner_returns(demo_store):
    (silence,) = [a for a in needing_action(demo_store, ["D005"]) if a["kind"] == "silence"]
    assert (silence["ref"], silence["alert_id"], silence["state"]) == (DANA, None, "new")
    before = caseload(demo_store).set_index("couple_id").loc["D005"]
    demo_store.mark_alert(DANA, "resolved", "Dr K", "Dana is travelling; back on the 14th.")
    after = caseload(demo_store).set_index("couple_id").loc["D005"]
    assert after["alerts"] == before["alerts"] - 1 and after["silent"] == 0
    alerts = summarize(demo_store, "D005")["alerts"]
    (marked,) = [a for a in alerts if a["kind"] == "silence"]
    assert marked["state"] == "resolved" and marked["alert_id"] == 1
    # Dana checks in again, then falls silent again: a new alert, the old one kept.
    demo_store.save_answers([make_answer("D005", "B", "2026-11-02", "energy", 4)], "test")
    (new,) = [a for a in needing_action(demo_store, ["D005"]) if a["kind"] == "silence"]
    assert new["key"] == "silence:D005:B:2026-11-02" and new["state"] == "new"
    assert demo_store.alert_record(1)["key"] == DANA


def test_the_workbook_marks_a_silence_under_the_summary(demo_store):
    wb = SessionWorkbook(demo_store, "D005", today=dt.date(2026, 12, 2))
    wb.session.value = 0  # today
    actions = wb.followup_actions
    assert actions.pick.value == DANA and actions.controls.layout.display == "flex"
    actions.by.value = "Dr K"
    actions.seen_button.click()
    assert wb.message == "Alert #1 is now seen."
    assert "(seen)" in wb.summary.value
    assert demo_store.alert_record(1)["seen_by"] == "Dr K"


# -- the command line --------------------------------------------------------------------------


def test_cli_lists_marks_and_keeps_alerts(demo_data_dir, demo_store, capsys):
    data = ["--data", str(demo_data_dir)]
    risk(demo_store, "D002", "B", "rather_not_say")
    code, out, _ = run(capsys, "alerts", *data)
    lines = out.splitlines()
    assert code == 0 and len(lines) == 2
    assert lines[0].startswith("#1  D002  URGENT [new] Private safety check from Tom")
    assert "I'd rather not say" in lines[0]
    assert lines[1].startswith(f"{DANA}  D005  [new] No check-in from Dana")
    code, out, _ = run(capsys, "alerts", "D005", *data)
    assert code == 0 and out.splitlines() == lines[1:]
    code, out, _ = run(capsys, "alerts", "seen", "1", "--by", "Dr K", *data)
    assert code == 0 and "alert #1 (D002): seen" in out
    code, out, err = run(capsys, "alerts", "resolve", "1", "--by", "Dr K", *data)
    assert code == 2 and "--note" in err
    code, out, _ = run(capsys, "alerts", "resolve", "#1", "--note", "Called Tom.", *data)
    assert code == 0 and "resolved by" in out
    code, out, _ = run(
        capsys, "alerts", "resolve", DANA, "--note", "Emailed.", "--by", "Dr K", *data
    )
    assert code == 0 and "alert #2 (D005): resolved by Dr K" in out
    code, out, _ = run(capsys, "alerts", *data)
    assert out.startswith("nothing needs action")
    code, out, _ = run(capsys, "alerts", "--all", "--json", *data)
    record = json.loads(out)
    assert [(a["ref"], a["state"], a["note"]) for a in record] == [
        ("1", "resolved", "Called Tom."), ("2", "resolved", "Emailed."),
    ]  # fmt: skip
    assert record[0]["seen_by"] == "Dr K" and record[0]["answers"][0]["value"] == "rather_not_say"
    # The group's --data works before a subcommand too.
    code, out, err = run(capsys, "alerts", *data, "seen", "9")
    assert code == 1 and err == "mutuality: no alert #9 in the record\n"


def test_marking_an_alert_makes_the_session_report_due_again(demo_store):
    import os

    from mutuality_helpers import config

    risk(demo_store, "D004", "B")
    pdf = config.report_path("D004", 2, demo_store.data_dir)
    pdf.parent.mkdir(parents=True, exist_ok=True)
    pdf.write_bytes(b"%PDF-")
    demo_store.record_report("D004", 2, demo_store.change_count("D004"), pdf)
    assert demo_store.report_is_current("D004", 2)
    # Marked "earlier" than the file's time: the change count, not the clock, decides.
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    os.utime(pdf, (later.timestamp(), later.timestamp()))
    demo_store.record_report("D004", 2, demo_store.change_count("D004"), pdf)
    demo_store.mark_alert(1, "resolved", "Dr K", "spoke alone", at="2026-01-01T00:00:00+00:00")
    assert not demo_store.report_is_current("D004", 2)
    assert ("D004", 2) in demo_store.due_sessions(["D004"])
