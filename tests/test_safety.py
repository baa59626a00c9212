"""The private safety check: its items, the risk rule, where it shows and where it never does."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import ipywidgets as widgets
import pytest
from servers import free_port
from test_forms import CHECKIN, all_text

from mutuality_helpers import charts, serve
from mutuality_helpers.caseload_table import caseload
from mutuality_helpers.caseload_ui import CaseloadView
from mutuality_helpers.cli import main
from mutuality_helpers.erase import erase_couple
from mutuality_helpers.exceptions import InstrumentError, SettingsError, ValidationError
from mutuality_helpers.forms import InstrumentForm, notebook_form
from mutuality_helpers.instruments import find_item, get_instrument, load_instrument
from mutuality_helpers.interchange import export_couple, import_files
from mutuality_helpers.models import make_answer
from mutuality_helpers.practice import DEFAULT_URGENT_HELP, urgent_help
from mutuality_helpers.session_ui import SessionWorkbook
from mutuality_helpers.store import Store
from mutuality_helpers.summary import summarize

TODAY = dt.date(2026, 11, 28)  # a Saturday
WEEK = dt.date(2026, 11, 23)
SAFETY = ("safety_felt_safe", "safety_talk_alone")
RISKY = {"safety_felt_safe": "not_safe", "safety_talk_alone": "yes"}
#: What must never reach anything the other partner (or the couple together) can see.
LEAKS = ("Private safety check", "did not feel safe", "not_safe", "Would like to talk with you")


@pytest.fixture
def couple_store(store):
    store.add_couple("C001", "Sam", "Alex")
    return store


def form(store, partner="A", instrument="weekly_checkin", couple="C001"):
    return InstrumentForm(store, instrument, couple, partner, week=WEEK, today=TODAY)


def save(store, partner="A", safety=None, couple="C001"):
    f = form(store, partner, couple=couple)
    f.set_values({**CHECKIN, **(safety or {})})
    f.save_button.click()
    assert f.status == "saved", f.message
    return f


# -- the items -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instrument", "felt_safe", "talk_alone"),
    [
        ("weekly_checkin", "safety_felt_safe", "safety_talk_alone"),
        ("mutuality_inventory", "inv_safety_felt_safe", "inv_safety_talk_alone"),
    ],
)
def test_both_instruments_end_with_the_private_safety_check(instrument, felt_safe, talk_alone):
    inst = get_instrument(instrument)
    assert inst.item_ids[-2:] == [felt_safe, talk_alone] == inst.private_items
    safe, alone = inst.item(felt_safe), inst.item(talk_alone)
    assert (safe.type, safe.private, safe.required, safe.show_on_reopen) == (
        "choice", True, False, False,
    )  # fmt: skip
    assert safe.choices == ("safe", "not_always", "not_safe", "rather_not_say")
    assert safe.risk == ("not_always", "not_safe", "rather_not_say")
    assert alone.choices == ("no", "yes") and alone.risk == ("yes",)
    assert "I'd rather not say" in safe.choice_labels
    assert "never see" in safe.help
    # Everything else a couple answers may be shown back on reopening.
    assert all(it.show_on_reopen for it in inst.items if it.id not in inst.private_items)


@pytest.mark.parametrize(
    ("value", "risk"),
    [("safe", False), ("not_always", True), ("not_safe", True), ("rather_not_say", True)],
)
def test_the_risk_rule_for_feeling_safe(value, risk):
    assert find_item("safety_felt_safe")[1].signals_risk(value) is risk


def test_choice_values_are_checked():
    item = find_item("safety_talk_alone")[1]
    assert item.parse(" yes ") == "yes" and item.parse("") == ""
    with pytest.raises(ValidationError, match="not one of the choices"):
        item.parse("maybe")
    with pytest.raises(ValidationError, match="not one of the choices"):
        make_answer("C001", "A", WEEK, "safety_felt_safe", "Yes, I felt safe")  # the label


@pytest.mark.parametrize(
    ("item", "reason"),
    [
        ("{id: x, type: choice, wording: W, choices: [a, b]}", "each {id, label}"),
        ("{id: x, type: choice, wording: W, choices: [{id: a, label: A}]}", "two or more"),
        (
            "{id: x, type: choice, wording: W, choices: [{id: a, label: A}, {id: a, label: B}]}",
            "used twice",
        ),
        (
            "{id: x, type: choice, wording: W, choices: [{id: a, label: A}, {id: b, label: B}],"
            " risk: [c]}",
            "risk must list some of the choices",
        ),
        ("{id: x, type: int, min: 0, max: 4, wording: W, risk: [a]}", "choice items only"),
        ("{id: x, type: text, wording: W, private: sometimes}", "private must be true or false"),
    ],
)
def test_a_malformed_choice_item_is_refused(tmp_path: Path, item, reason):
    path = tmp_path / "bad.yaml"
    path.write_text(f"id: bad\nitems:\n  - {item}\n", encoding="utf-8")
    with pytest.raises(InstrumentError, match=reason):
        load_instrument(path)


# -- saving: an urgent alert, and the same words whatever was answered --------------------------


def test_a_risk_answer_raises_an_urgent_alert_with_the_time_it_was_given(couple_store):
    save(couple_store, "A", {"safety_felt_safe": "not_always", "safety_talk_alone": "no"})
    (record,) = couple_store.alert_records("C001")
    assert (record["kind"], record["partner"], record["week"], record["state"]) == (
        "safety", "A", "2026-11-23", "new",
    )  # fmt: skip
    given = couple_store.answers("C001", items=["safety_felt_safe"])["saved_at"].iloc[0]
    assert record["raised_at"] == given
    urgent = summarize(couple_store, "C001")["urgent"]
    assert len(urgent) == 1 and "Mostly, but not always" in urgent[0]["message"]
    assert "from Sam" in urgent[0]["message"] and "UTC" in urgent[0]["message"]


@pytest.mark.parametrize(
    ("safety", "alerts"),
    [
        ({}, 0),
        ({"safety_felt_safe": "safe", "safety_talk_alone": "no"}, 0),
        ({"safety_felt_safe": "rather_not_say"}, 1),
        ({"safety_talk_alone": "yes"}, 1),
        (RISKY, 1),
    ],
)
def test_the_confirmation_is_the_same_whatever_was_answered(couple_store, safety, alerts):
    baseline = save(couple_store, "B", {"safety_felt_safe": "safe"}).message
    shown = save(couple_store, "A", safety)
    assert shown.message == baseline and shown.status == "saved"
    assert len(couple_store.alert_records("C001")) == alerts


def test_saving_again_without_the_private_answer_keeps_it_and_its_alert(couple_store):
    save(couple_store, "A", RISKY)
    again = form(couple_store, "A")  # reopened: the private items start unanswered
    assert again.fields["safety_felt_safe"].raw() is None
    again.set_values({**CHECKIN, "energy": 2})
    again.save_button.click()
    again.replace_button.click()
    assert again.status == "saved"
    stored = couple_store.answered_items("C001", "A", WEEK)
    assert stored["safety_felt_safe"] == "not_safe" and stored["energy"] == "2"
    assert len(couple_store.alert_records("C001", open_only=True)) == 1


def test_the_alert_stays_when_the_answer_is_changed_and_a_new_risk_answer_raises_another(
    couple_store,
):
    save(couple_store, "A", RISKY)
    again = form(couple_store, "A")
    again.set_values({**CHECKIN, "safety_felt_safe": "safe", "safety_talk_alone": "no"})
    again.save_button.click()
    again.replace_button.click()
    assert couple_store.answered_items("C001", "A", WEEK)["safety_felt_safe"] == "safe"
    assert len(couple_store.alert_records("C001")) == 1  # the record keeps it
    third = form(couple_store, "A")
    third.set_values({**CHECKIN, "safety_felt_safe": "not_always"})
    third.save_button.click()
    third.replace_button.click()
    assert len(couple_store.alert_records("C001")) == 2


# -- never shown to the other partner, nor to the couple ------------------------------------------


def test_nothing_the_other_partner_opens_shows_it(couple_store):
    save(couple_store, "A", RISKY)
    other = form(couple_store, "B")
    assert not any(t in all_text(other.widget) for t in ("Private safety check", "from Sam"))
    assert all(other.fields[i].raw() is None for i in SAFETY)
    inventory = form(couple_store, "B", "mutuality_inventory")
    assert "Private safety check" not in all_text(inventory.widget)
    # A's own form, reopened, does not show A's answer either (issue: who may be watching).
    own = form(couple_store, "A")
    assert all(own.fields[i].raw() is None for i in SAFETY)


def test_the_charts_draw_no_private_item(couple_store):
    save(couple_store, "A", RISKY)
    save(couple_store, "B")
    drawn = charts.couple_charts(couple_store, "C001")
    spec = json.dumps({k: c.to_dict() for k, c in drawn.items()})
    assert "safety" not in spec and not any(t in spec for t in LEAKS)


def test_the_session_workbook_keeps_it_in_a_closed_panel_at_the_top(demo_store):
    demo_store.save_answers(
        [make_answer("D004", "B", WEEK, k, v) for k, v in RISKY.items()], "form:weekly_checkin"
    )
    wb = SessionWorkbook(demo_store, "D004", today=TODAY)
    assert wb.widget.children[0] is wb.urgent and wb.urgent.layout.display == "flex"
    closed = all_text(wb.urgent)
    assert "For you only:" in closed and "1 private item" in closed
    assert not any(t in closed for t in LEAKS) and "Riley" not in closed
    # What the couple may see together (summary, charts, reflections) holds none of it.
    together = wb.summary.value + wb.reflections.value + all_text(wb.followup_actions.widget)
    assert not any(t in together for t in LEAKS)
    wb.urgent_toggle.value = True
    opened = all_text(wb.urgent)
    assert "Private safety check from Riley" in opened and "No, I did not feel safe" in opened
    assert "given" in opened and "UTC" in opened
    # Marked from the panel: seen, then resolved with a note; the panel then closes.
    wb.urgent_actions.by.value = "Dr K"
    wb.urgent_actions.seen_button.click()
    assert wb.message.endswith("is now seen.")
    assert "seen by Dr K" in all_text(wb.urgent)
    wb.urgent_actions.resolve_button.click()
    assert "needs a note" in wb.message
    wb.urgent_actions.note.value = "Spoke with Riley alone; safety plan agreed."
    wb.urgent_actions.resolve_button.click()
    assert wb.message.endswith("is now resolved.")
    assert wb.urgent.layout.display == "none"
    (record,) = demo_store.alert_records("D004")
    assert record["state"] == "resolved" and record["resolved_by"] == "Dr K"
    assert record["note"] == "Spoke with Riley alone; safety plan agreed."


# -- where it shows: the caseload first, the summary, the command line ----------------------------


def test_an_urgent_alert_puts_its_couple_first_in_the_caseload(demo_store):
    before = caseload(demo_store).set_index("couple_id")
    demo_store.save_answers(
        [make_answer("D001", "A", WEEK, "safety_felt_safe", "not_safe")], "form:weekly_checkin"
    )
    frame = caseload(demo_store)
    assert frame["couple_id"].iloc[0] == "D001"
    assert (
        frame["urgent"].iloc[0] == 1 and frame["alerts"].iloc[0] == before.loc["D001", "alerts"] + 1
    )
    view = CaseloadView(demo_store)
    assert "URGENT 1" in view.table.value
    # Resolved, it no longer counts; the record keeps it.
    demo_store.mark_alert(1, "resolved", "Dr K", "called; safe for now")
    after = caseload(demo_store).set_index("couple_id")
    assert after.loc["D001", "urgent"] == 0
    assert after.loc["D001", "alerts"] == before.loc["D001", "alerts"]
    assert demo_store.alert_record(1)["state"] == "resolved"


def test_the_summary_command_prints_urgent_alerts_first(demo_data_dir, demo_store, capsys):
    demo_store.save_answers(
        [make_answer("D001", "B", WEEK, "safety_talk_alone", "yes")], "form:weekly_checkin"
    )
    assert main(["summary", "D001", "--data", str(demo_data_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith("URGENT #1 (new): Private safety check from Alex")
    assert "Would like to talk with you alone? \u201cYes, I would like that\u201d" in lines[1]


# -- the interchange: the therapist's record round-trips -------------------------------------------


def test_export_keeps_private_answers_and_import_raises_their_alert(couple_store, tmp_path):
    save(couple_store, "A", RISKY)
    (path,) = export_couple(couple_store, "C001", tmp_path / "c001.csv")[:1]
    text = path.read_text(encoding="utf-8")
    assert "C001,A,2026-11-23,safety_felt_safe,not_safe" in text
    with Store(tmp_path / "elsewhere") as other:
        import_files(other, [path])
        assert other.answered_items("C001", "A", WEEK) == couple_store.answered_items(
            "C001", "A", WEEK
        )
        (moved,) = other.alert_records("C001")
        assert moved["state"] == "new" and moved["answers"].startswith("safety_felt_safe=not_safe")
        import_files(other, [path])  # the same answers again: nothing new to alert
        assert len(other.alert_records("C001")) == 1


def test_erasing_a_couple_erases_its_alerts(couple_store):
    save(couple_store, "A", RISKY)
    erase_couple(couple_store, "C001")
    assert couple_store.alert_records() == []


# -- the practice's urgent-help line ---------------------------------------------------------------


def _help_shown(f) -> str:
    return all_text(f.widget) if isinstance(f, InstrumentForm) else f.value


def test_every_form_shows_how_to_reach_urgent_help(couple_store, monkeypatch):
    for instrument in ("weekly_checkin", "mutuality_inventory"):
        assert DEFAULT_URGENT_HELP in _help_shown(form(couple_store, "A", instrument))
    (couple_store.data_dir / "practice.yaml").write_text(
        'urgent_help: "In an emergency call 112. To reach us: 030 1234 5678."\n',
        encoding="utf-8",
    )
    assert "To reach us: 030 1234 5678." in _help_shown(form(couple_store))
    monkeypatch.setenv("MUTUALITY_URGENT_HELP", "Call 999 & ask for the police.")
    shown = _help_shown(form(couple_store))
    assert "Call 999 &amp; ask for the police." in shown and "030 1234" not in shown
    # A page shown instead of a form (a link that does not work) says it too.
    broken = notebook_form("weekly_checkin", query_string="couple=C001&partner=A&sig=x",
                           data_dir=str(couple_store.data_dir))  # fmt: skip
    assert isinstance(broken, widgets.HTML) and "Call 999" in broken.value


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("urgent_help: [1, 2]\n", "must be text"),
        ("urgent_help: ''\n", "is empty"),
        ("helpline: x\n", "unknown setting"),
        ("- a list\n", "must be a mapping"),
        ("urgent_help: 'x\n", "cannot be read"),
        (f"urgent_help: {'x' * 501}\n", "at most 500"),
    ],
)
def test_a_bad_practice_setting_stops_the_server_but_never_a_form(
    couple_store, tmp_path, content, reason, capsys
):
    (couple_store.data_dir / "practice.yaml").write_text(content, encoding="utf-8")
    with pytest.raises(SettingsError, match=reason):
        urgent_help(couple_store.data_dir)
    assert DEFAULT_URGENT_HELP in _help_shown(form(couple_store))
    # `mutuality serve` refuses in one line, before anything starts (no port, no kernel).
    assert main(["serve", "--port", str(free_port()), "--data", str(couple_store.data_dir)]) == 1
    assert reason in capsys.readouterr().err
    with pytest.raises(SettingsError):  # and so does the server itself
        serve.run_app(tmp_path / "app", couple_store.data_dir, serve.ServeOptions())


# -- the clinical PDF, read back ----------------------------------------------------------------


@pytest.mark.slow
def test_the_pdf_report_puts_the_urgent_alert_first_with_when_it_was_given(
    demo_data_dir, demo_store
):
    from pypdf import PdfReader

    from mutuality_helpers.render import Renderer
    from mutuality_helpers.report import validate_request

    demo_store.save_answers(
        [make_answer("D004", "B", WEEK, k, v) for k, v in RISKY.items()], "form:weekly_checkin"
    )
    demo_store.mark_alert(1, "seen", "Dr K")
    given = demo_store.alert_record(1)["raised_at"]
    params = {"couple_id": "D004", "data_dir": str(demo_data_dir)}
    with Renderer() as renderer:
        latest = renderer.render(validate_request({**params, "session": 2}, demo_store))
        first = renderer.render(validate_request({**params, "session": 1}, demo_store))

    def text(path):
        return " ".join(" ".join((p.extract_text() or "").split()) for p in PdfReader(path).pages)

    shown = text(latest)
    assert "Urgent: private safety check" in shown
    assert shown.index("Urgent: private safety check") < shown.index("Is this mutual?")
    moment = dt.datetime.fromisoformat(given)
    assert f"given {moment.day} {moment:%b %Y, %H:%M} UTC" in shown
    assert "Private safety check from Riley" in shown and "No, I did not feel safe" in shown
    assert "Yes, I would like that" in shown and "seen by Dr K" in shown
    assert "the last complete week before that date" in shown  # the method note's rule
    # Session 1 (3 Sep) came before the answer was given for the week of 23 Nov.
    assert "Urgent" not in text(first) and "Private safety check" not in text(first)
