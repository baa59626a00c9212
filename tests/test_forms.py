"""Headless widget forms: set values, click Save, read the store."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import ipywidgets as widgets
import pytest

from mutuality_helpers.exceptions import ParameterError, StoreError
from mutuality_helpers.fields import share_readout
from mutuality_helpers.forms import FORM_CLASS, InstrumentForm, notebook_form
from mutuality_helpers.instruments import get_instrument
from mutuality_helpers.links import link_query
from mutuality_helpers.worksheets import form_parameters

TODAY = dt.date(2026, 11, 28)  # a Saturday
WEEK = dt.date(2026, 11, 23)
CHECKIN = {
    "energy": 4,
    "teamwork": 2,
    "share_repair": 70,
    "share_connection": 35,
    "share_emotional_labour": 80,
    "share_practical_load": 55,
    "personal_work_self": 3,
    "personal_work_partner": 1,
    "demands": ["work", "children"],
    "reflection": "We talked on Sunday, that helped.",
}
STORED = {k: (";".join(v) if isinstance(v, list) else str(v)) for k, v in CHECKIN.items()}


@pytest.fixture
def couple_store(store):
    store.add_couple("C001", "Sam", "Alex")
    return store


def make_form(store, partner="A", week=None, instrument="weekly_checkin"):
    return InstrumentForm(store, instrument, "C001", partner, week=week, today=TODAY)


def stored(store, partner="A", week=WEEK):
    return store.answered_items("C001", partner, week)


def all_text(widget: widgets.Widget) -> str:
    """Every string a widget tree shows (values, labels, outputs), for leak checks."""
    parts: list[str] = []
    stack = [widget]
    while stack:
        w = stack.pop()
        for name in ("value", "description", "placeholder", "tooltip"):
            v = getattr(w, name, None)
            if isinstance(v, str):
                parts.append(v)
        if isinstance(w, widgets.Dropdown):
            parts.extend(str(label) for label, _ in w.options)
        if isinstance(w, widgets.Output):
            parts.append(repr(w.outputs))
        stack.extend(getattr(w, "children", ()))
    return "\n".join(parts)


def test_save_stores_exactly_the_answers(couple_store):
    form = make_form(couple_store)
    form.set_values(CHECKIN)
    form.save_button.click()
    assert form.status == "saved"
    assert "Saved" in form.message and "23 November 2026" in form.message
    assert stored(couple_store) == STORED
    frame = couple_store.answers("C001")
    assert set(frame["source"]) == {"form:weekly_checkin"}
    assert set(frame["partner"]) == {"A"}
    assert stored(couple_store, "B") == {}


def test_form_is_scoped_for_selectors_and_displays_as_a_widget(couple_store):
    form = make_form(couple_store)
    assert FORM_CLASS in form.widget._dom_classes
    bundle = form._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle


@pytest.mark.parametrize("value", [0, 30, 50, 100])
def test_share_readout_follows_the_slider(couple_store, value):
    form = make_form(couple_store)
    field = form.fields["share_repair"]
    field.slider.value = 100 if value == 50 else 50  # make sure the change event fires
    field.slider.value = value
    assert share_readout(value) in field.readout.value
    assert f"You {value}% / partner {100 - value}%" in field.readout.value


@pytest.mark.parametrize(
    "item, kind",
    [
        ("energy", widgets.IntSlider),
        ("share_repair", widgets.IntSlider),
        ("demands", widgets.ToggleButton),
        ("reflection", widgets.Textarea),
    ],
)
def test_each_item_type_gets_its_widget(couple_store, item, kind):
    field = make_form(couple_store).fields[item]
    found = []
    stack = [field.box]
    while stack:
        w = stack.pop()
        found.append(w)
        stack.extend(getattr(w, "children", ()))
    assert any(isinstance(w, kind) for w in found)


MIDDLES = {
    "energy": "5",
    "teamwork": "3",
    "share_repair": "50",
    "share_connection": "50",
    "share_emotional_labour": "50",
    "share_practical_load": "50",
    "personal_work_self": "2",
    "personal_work_partner": "2",
}


def test_every_slider_left_in_its_middle_is_an_answer(couple_store):
    form = make_form(couple_store)
    form.save_button.click()  # nothing touched: every slider answers with its middle
    assert form.status == "saved"
    assert stored(couple_store) == MIDDLES


@pytest.mark.parametrize(
    "item, middle", [("share_repair", 50), ("teamwork", 3), ("personal_work_self", 2)]
)
def test_a_slider_moved_back_to_its_middle_is_an_answer(couple_store, item, middle):
    form = make_form(couple_store)
    form.set_values(CHECKIN)
    form.fields[item].slider.value = middle + 1
    form.fields[item].slider.value = middle  # the person comes back to the middle
    form.save_button.click()
    assert form.status == "saved"
    assert stored(couple_store)[item] == str(middle)


def test_not_answered_is_the_persons_explicit_choice_and_stores_nothing(couple_store):
    form = make_form(couple_store)
    fields = form.fields
    assert not any(f.skip.value for f in fields.values() if hasattr(f, "skip"))  # never preset
    form.set_values(CHECKIN)
    fields["share_connection"].skip.value = True  # the person presses "Not answered"
    assert fields["share_connection"].slider.disabled
    assert fields["share_connection"].raw() is None
    form.save_button.click()
    assert form.status == "saved"
    assert stored(couple_store) == {k: v for k, v in STORED.items() if k != "share_connection"}
    # Reopened, the week shows it left out, as the person left it.
    again = make_form(couple_store)
    assert again.fields["share_connection"].skip.value
    assert not again.fields["energy"].skip.value
    # Taking "Not answered" back answers with the slider's value again.
    again.fields["share_connection"].skip.value = False
    assert again.fields["share_connection"].raw() == 50


def test_a_required_item_without_a_slider_is_named_when_unanswered(couple_store):
    checkin = get_instrument("weekly_checkin")
    items = [
        dataclasses.replace(it, required=True) if it.id == "reflection" else it
        for it in checkin.items
    ]
    form = InstrumentForm(
        couple_store, dataclasses.replace(checkin, items=tuple(items)), "C001", "A", today=TODAY
    )
    form.set_values({k: v for k, v in CHECKIN.items() if k != "reflection"})
    form.save_button.click()
    assert form.status == "invalid"
    assert "1 answer still needs" in form.message
    error = form.fields["reflection"].error.value
    assert "Please answer" in error and "id='mutuality-error-reflection'" in error
    assert form.fields["energy"].error.value.count("Please") == 0
    assert couple_store.answers("C001").empty
    form.fields["reflection"].area.value = "Now I have."
    assert "Please answer" not in form.fields["reflection"].error.value  # gone as they answer


def test_too_long_reflection_is_refused_with_its_message(couple_store):
    form = make_form(couple_store)
    form.set_values({**CHECKIN, "reflection": "x" * 4001})
    assert "4001 / 4000" in form.fields["reflection"].count.value
    form.save_button.click()
    assert form.status == "invalid"
    assert "at most 4000" in form.fields["reflection"].error.value
    assert couple_store.answers("C001").empty


def test_future_week_is_refused(couple_store):
    form = make_form(couple_store, week=WEEK + dt.timedelta(weeks=1))
    assert "not started" in form.week_note.value
    form.set_values(CHECKIN)
    form.save_button.click()
    assert form.status == "invalid"
    assert "has not started yet" in form.message
    assert couple_store.answers("C001").empty


def test_week_picker_offers_recent_mondays(couple_store):
    form = make_form(couple_store)
    weeks = [value for _, value in form.week.options]
    assert form.week.value == WEEK
    assert all(w.weekday() == 0 for w in weeks)
    assert max(weeks) == WEEK and len(weeks) == 8
    form.week.value = WEEK - dt.timedelta(weeks=2)
    form.set_values(CHECKIN)
    form.save_button.click()
    assert stored(couple_store, week=WEEK - dt.timedelta(weeks=2)) == STORED


def test_a_reopened_week_shows_the_saved_answers_to_change(couple_store):
    first = make_form(couple_store)
    first.set_values(CHECKIN)
    first.save_button.click()

    again = make_form(couple_store)
    assert "You saved answers for this week" in again.week_note.value
    assert {k: "" if f.raw() is None else f.raw() for k, f in again.fields.items()} == {
        **CHECKIN,
        "safety_felt_safe": "",
        "safety_talk_alone": "",
    }
    # Fixing one answer is changing one answer: no redoing, no "replace?" question.
    again.set_values({"energy": 9, "demands": [], "reflection": ""})
    again.save_button.click()
    assert again.status == "saved"
    # Latest wins; cleared optional answers are cleared too; the old values are in history.
    assert stored(couple_store) == {**STORED, "energy": "9", "demands": "", "reflection": ""}
    history = couple_store.answer_history("C001")
    assert set(history["item"]) == {"energy", "demands", "reflection"}
    # The form now shows what was saved.
    assert again.fields["energy"].raw() == 9 and again.fields["reflection"].raw() is None


def test_answers_saved_elsewhere_since_the_page_opened_are_replaced_only_when_asked(couple_store):
    page = make_form(couple_store)
    other_tab = make_form(couple_store)
    other_tab.set_values(CHECKIN)
    other_tab.save_button.click()

    page.set_values({**CHECKIN, "energy": 9})
    page.save_button.click()
    assert page.status == "confirm"
    assert page.confirm_box.layout.display == "flex"
    assert "saved from somewhere else" in page.message
    assert stored(couple_store) == STORED  # nothing replaced yet
    page.cancel_button.click()
    assert page.status == "cancelled" and stored(couple_store) == STORED
    page.save_button.click()
    page.replace_button.click()
    assert page.status == "saved"
    assert stored(couple_store)["energy"] == "9"


def test_another_weeks_answers_show_when_that_week_is_chosen(couple_store):
    earlier = WEEK - dt.timedelta(weeks=1)
    form = make_form(couple_store, week=earlier)
    form.set_values(CHECKIN)
    form.save_button.click()
    form = make_form(couple_store)
    assert form.fields["energy"].raw() == 5  # this week: a fresh form
    form.week.value = earlier
    assert form.fields["energy"].raw() == CHECKIN["energy"]
    assert "You saved answers" in form.week_note.value
    form.week.value = WEEK
    assert form.fields["energy"].raw() == 5 and form.fields["reflection"].raw() is None


def test_another_week_chosen_with_unsaved_answers_keeps_them_and_asks(couple_store):
    earlier = WEEK - dt.timedelta(weeks=1)
    form = make_form(couple_store)
    form.set_values({"energy": 9, "reflection": "typed, not saved"})
    form.week.value = earlier
    # Nothing dropped: the page stays on its week, with what was typed, and asks.
    assert form.selected_week() == WEEK and form.status == "unsaved"
    assert form.fields["energy"].raw() == 9
    assert form.fields["reflection"].raw() == "typed, not saved"
    assert form.unsaved_box.layout.display == "flex"
    assert "unsaved answers for the week of Monday 23 November 2026" in form.message
    assert "Save them, or discard" in form.message and "Monday 16 November 2026?" in form.message
    assert "unsaved answers" in all_text(form.feedback)  # said in the one feedback line
    assert stored(couple_store) == {}
    # Save them: saved for their week, then the week asked for opens.
    form.keep_button.click()
    assert form.status == "saved" and stored(couple_store)["energy"] == "9"
    assert form.selected_week() == earlier and form.fields["energy"].raw() == 5
    assert "now showing the week of Monday 16 November 2026" in form.message
    assert form.unsaved_box.layout.display == "none"
    # Unchanged answers ask nothing: a saved week, untouched, switches at once.
    form.week.value = WEEK
    assert form.selected_week() == WEEK and form.fields["energy"].raw() == 9
    # Discard them: the week asked for opens; nothing of the discarded answers is saved.
    form.set_values({"energy": 1})
    form.week.value = earlier
    assert form.status == "unsaved" and form.selected_week() == WEEK
    form.discard_button.click()
    assert form.status == "discarded" and form.selected_week() == earlier
    assert "discarded" in form.message and stored(couple_store)["energy"] == "9"
    assert stored(couple_store, week=earlier) == {}
    form.week.value = WEEK
    assert form.fields["energy"].raw() == 9


def test_unsaved_answers_that_do_not_validate_stay_on_the_page(couple_store):
    form = make_form(couple_store)
    form.set_values({"reflection": "x" * 5000})
    form.week.value = WEEK - dt.timedelta(weeks=2)
    form.keep_button.click()
    assert form.status == "invalid" and form.selected_week() == WEEK
    assert form.fields["reflection"].raw() == "x" * 5000
    assert stored(couple_store) == {}


def test_a_saved_checkin_does_not_make_the_inventory_already_saved(couple_store):
    checkin = make_form(couple_store)
    checkin.set_values(CHECKIN)
    checkin.save_button.click()
    inventory = make_form(couple_store, instrument="mutuality_inventory")
    assert inventory.week_note.value == ""
    inventory.save_button.click()
    assert inventory.status == "saved"  # no "replace?" caused by the check-in's answers
    assert stored(couple_store)["energy"] == STORED["energy"]


def test_labels_are_words_for_people(couple_store):
    inventory = make_form(couple_store, instrument="mutuality_inventory")
    ends = inventory.fields["inv_repair_1"].ends.value
    assert "1: not at all true" in ends and "5: completely true" in ends
    checkin = make_form(couple_store)
    assert "0: running on empty" in checkin.fields["energy"].ends.value
    tags = [t.description for t in checkin.fields["demands"].toggles.values()]
    assert "Mental health" in tags and not any("_" in t for t in tags)
    labels = [label for label, _ in checkin.week.options]
    assert labels[0] == "Week of Monday 23 November 2026"
    assert all(re.fullmatch(r"Week of Monday \d+ [A-Z][a-z]+ \d{4}", label) for label in labels)
    assert checkin.save_button.icon == ""  # no glyph read out as part of the name


def test_inventory_form_saves_every_item(couple_store):
    form = make_form(couple_store, instrument="mutuality_inventory")
    inventory = get_instrument("mutuality_inventory")
    values = {it.id: (i % 5) + 1 for i, it in enumerate(inventory.items) if it.type == "int"}
    form.set_values(values)
    form.save_button.click()
    assert form.status == "saved"
    assert stored(couple_store) == {k: str(v) for k, v in values.items()}
    assert set(couple_store.answers("C001")["source"]) == {"form:mutuality_inventory"}


def test_a_partners_form_never_shows_the_other_partners_answers(couple_store):
    secret = "B-ONLY-7f3a: I feel alone with the planning"
    b_form = make_form(couple_store, partner="B")
    b_form.set_values({**CHECKIN, "reflection": secret, "energy": 7})
    b_form.save_button.click()
    assert b_form.status == "saved"

    a_form = make_form(couple_store, partner="A")
    assert a_form.week_note.value == ""  # B having answered is not A's business
    assert secret not in all_text(a_form.widget)
    a_form.set_values(CHECKIN)
    a_form.save_button.click()
    assert a_form.status == "saved"  # no "replace?" question caused by B's answers
    assert secret not in all_text(a_form.widget)
    assert stored(couple_store, "B")["reflection"] == secret


HOSTILE = "<script>alert('x')</script><img src=x onerror=alert(1)><b>bold</b>"


def test_hostile_reflection_is_stored_verbatim_and_never_rendered_as_html(couple_store):
    form = make_form(couple_store)
    form.set_values({**CHECKIN, "reflection": HOSTILE})
    form.save_button.click()
    assert stored(couple_store)["reflection"] == HOSTILE
    # The text area holds it as text; no HTML widget or output carries it as markup.
    html_parts = [w.value for w in _descendants(form.widget) if isinstance(w, widgets.HTML)] + [
        repr(form.feedback.outputs)
    ]
    assert not any("<script" in part or "<img" in part for part in html_parts)


def test_hostile_instrument_text_is_escaped(couple_store):
    checkin = get_instrument("weekly_checkin")
    items = list(checkin.items)
    items[0] = dataclasses.replace(items[0], wording=HOSTILE, help="<i>help</i>")
    hostile = dataclasses.replace(checkin, title="<h1>T</h1>", intro=HOSTILE, items=tuple(items))
    form = InstrumentForm(couple_store, hostile, "C001", "A", today=TODAY)
    label = form.fields["energy"].label.value
    assert "&lt;script&gt;" in label and "<script" not in label and "<i>" not in label
    assert "<h1>" not in all_text(form.widget)


def _descendants(widget):
    stack = [widget]
    while stack:
        w = stack.pop()
        yield w
        stack.extend(getattr(w, "children", ()))


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"couple_id": "C 001", "partner": "A"}, "parameter couple_id"),
        ({"couple_id": "C001", "partner": "a"}, "parameter partner"),
        ({"couple_id": "C001", "partner": "A", "week": "2026-11-24"}, "parameter week"),
        ({"couple_id": "C001", "partner": "A", "week": "soon"}, "parameter week"),
        ({"couple_id": "C001", "partner": "A", "data_dir": 3}, "parameter data_dir"),
        ({"couple_id": None, "partner": "A"}, "parameter couple_id"),
    ],
)
def test_bad_parameters_are_named(kwargs, fragment):
    with pytest.raises(ParameterError, match=fragment):
        form_parameters(**kwargs)


def test_notebook_form_opens_from_a_signed_link(couple_store, data_dir):
    query = link_query("C001", "B", data=data_dir)
    form = notebook_form("weekly_checkin", data_dir=str(data_dir), query_string=query)
    assert isinstance(form, InstrumentForm)
    assert (form.couple_id, form.partner) == ("C001", "B")


@pytest.mark.parametrize(
    "tamper, fragment",
    [
        (lambda q: q.replace("partner=B", "partner=A"), "not a valid link"),
        (lambda q: q.split("&sig=")[0], "'sig' is missing"),
        (lambda q: q + "&partner=A", "more than once"),
        (lambda q: q.replace("couple=C001", "couple=%3Cscript%3E"), "couple id"),
        (lambda q: "", "needs a personal link"),
    ],
)
def test_notebook_form_refuses_a_bad_link_with_a_message(couple_store, data_dir, tamper, fragment):
    query = tamper(link_query("C001", "B", data=data_dir))
    shown = notebook_form("weekly_checkin", data_dir=str(data_dir), query_string=query)
    assert isinstance(shown, widgets.HTML)
    assert fragment.replace("'", "&#39;") in shown.value  # escaped, as markupsafe writes it
    assert "<script" not in shown.value


def test_notebook_form_with_unknown_couple_says_the_link_is_not_in_use(couple_store, data_dir):
    shown = notebook_form("weekly_checkin", "C999", "A", data_dir=str(data_dir))
    assert isinstance(shown, widgets.HTML)
    assert "This link does not work: it is not in use any more" in shown.value


def test_a_misspelt_data_folder_creates_nothing_and_the_page_shows_no_path(tmp_path, capfd):
    typo = tmp_path / "dtaa"
    shown = notebook_form("weekly_checkin", "C001", "A", None, str(typo))
    assert "cannot be opened right now" in shown.value
    assert str(tmp_path) not in shown.value and "store" not in shown.value
    assert not typo.exists()
    # The server's log has the details, under the reference the partner sees.
    reference = re.search(r"reference ([0-9A-F]{6})", shown.value).group(1)
    log = capfd.readouterr().err
    assert f"incident {reference}" in log and str(typo) in log


class _BrokenStore:
    """A store whose save fails as SQLite does when the file is damaged."""

    def __init__(self, store, error):
        self._store, self._error = store, error

    def __getattr__(self, name):
        return getattr(self._store, name)

    def save_answers(self, *args, **kwargs):
        raise self._error


@pytest.mark.parametrize(
    "error",
    [
        StoreError(
            "/srv/practice/data/workbook.sqlite is damaged (database disk image is malformed)"
        ),
        RuntimeError('(sqlite3.OperationalError) near "INSERT": syntax error [SQL: INSERT INTO x]'),
    ],
)
def test_a_failed_save_shows_no_path_sql_or_internals(couple_store, error, capfd):
    form = make_form(_BrokenStore(couple_store, error))
    form.set_values(CHECKIN)
    form.save_button.click()
    assert form.status == "error"
    shown = all_text(form.widget)
    for internal in ("/srv", "sqlite", "SQL", "INSERT", "malformed", "Error"):
        assert internal not in form.message and internal not in shown
    assert "still on this page" in form.message
    assert form.fields["reflection"].raw() == CHECKIN["reflection"]  # nothing lost
    assert str(error) in capfd.readouterr().err  # the details are in the server's log
