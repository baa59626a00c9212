"""Worksheet forms generated from the instrument definitions.

A form is a small class in the voila-gallery style: it builds its widgets (one field
per item, :mod:`~mutuality_helpers.fields`), wires named callbacks with
``observe``/``on_click``, writes every message to one :class:`ipywidgets.Output`
(:mod:`~mutuality_helpers.feedback`), and saves through the
:class:`~mutuality_helpers.store.Store`, never to files.

A partner's form reads nothing but that partner's own answers to this instrument:
reopening a week they saved shows those answers, to change and save again (the earlier
ones stay in the record's history); it never shows the other partner's. Every answer is
an answer, a slider's middle included; leaving a numeric item out is the person's own
"Not answered" (:mod:`~mutuality_helpers.fields`). Every
piece of text a person typed, or an instrument file holds, reaches the page
HTML-escaped, so a reflection holding ``<script>`` is shown as text.

Every form shows the practice's line on how to reach urgent help
(:mod:`~mutuality_helpers.practice`). The private safety check (items with
``private: true``) is answered like any other item, but: the message after saving is
the same whatever was answered, and a form saved again with a private item left blank
keeps the stored answer (a reopened form never shows it, see
:attr:`~mutuality_helpers.instruments.Item.show_on_reopen`, so blank there means "not
asked again", not "take it back").
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import ipywidgets as widgets

from . import notices, preheat
from .exceptions import LinkError, ValidationError
from .feedback import notice, show_message
from .fields import FIELD_TYPES, ItemField
from .formatting import sentence_start, week_label
from .instruments import Instrument, Item, get_instrument
from .links import parse_link_query
from .models import Answer, make_answer
from .practice import urgent_help_for_forms
from .presentation import fragment
from .roles import partner_identity
from .store import Store
from .validation import parse_date, parse_partner, week_of
from .weeks import today as clock_today
from .worksheets import form_parameters

#: How many past weeks (besides the current one) the week picker offers.
WEEKS_OFFERED = 7
#: CSS class on every form's outer box: browser tests scope their selectors to it.
FORM_CLASS = "mutuality-form"


def _auto_width() -> widgets.Layout:
    """Buttons as wide as their words (ipywidgets' fixed width cuts them on a phone)."""
    return widgets.Layout(width="auto", align_self="flex-start")


class InstrumentForm:
    """One partner's worksheet for one instrument, saved through the store.

    Parameters
    ----------
    store
        Where answers are saved (``source="form:<instrument id>"``).
    instrument
        An instrument id (``"weekly_checkin"``) or an :class:`Instrument`.
    couple_id, partner
        Whose form this is; the couple must be in the store.
    week
        The week answered (any day of it, or its Monday); default the current week.
    today
        The date taken as today (for tests); default :func:`~mutuality_helpers.weeks.today`.
    link
        The parsed partner link the form was opened with (:func:`parse_link_query`), if
        any: a link bound to a week offers that week only, and every save checks the link
        again inside its transaction (expired, revoked or erased since: nothing is saved).

    Attributes
    ----------
    status
        ``""`` until Save is clicked, then ``"invalid"``, ``"confirm"`` (asking
        before replacing), ``"saved"``, ``"cancelled"`` or ``"error"``; ``"unsaved"``
        while asking what to do with unsaved answers before opening another week, then
        ``"discarded"`` when they were let go.
    message
        The last feedback message as plain text.
    """

    def __init__(
        self,
        store: Store,
        instrument: str | Instrument,
        couple_id: str,
        partner: str,
        week: Any = None,
        today: dt.date | None = None,
        link: dict[str, Any] | None = None,
    ):
        self.store = store
        self.link = link
        self.bound_week: dt.date | None = link["week"] if link else None
        self.instrument = get_instrument(instrument) if isinstance(instrument, str) else instrument
        self.couple_id = store.require_couple(couple_id)
        self.partner = parse_partner(partner)
        self.today = today or clock_today()
        self.source = f"form:{self.instrument.id}"
        self.status = ""
        self.message = ""
        first_week = week_of(self.today) if week is None else week_of(parse_date(week, "week"))
        if self.bound_week is not None:
            first_week = self.bound_week

        self.fields: dict[str, ItemField] = {
            item.id: FIELD_TYPES[item.type](item) for item in self.instrument.items
        }
        self.week = widgets.Dropdown(
            options=self._week_options(first_week),
            value=first_week,
            description="Week:",
            layout=widgets.Layout(width="100%", max_width="420px"),
        )
        self.week.add_class("mutuality-week")
        self.week_note = widgets.HTML("")
        self.feedback = widgets.Output()
        self.feedback.add_class("mutuality-feedback")
        # No icon: a glyph would be read out as part of the button's name.
        self.save_button = widgets.Button(
            description="Save my answers", button_style="primary", layout=_auto_width()
        )
        self.save_button.add_class("mutuality-save")
        self.replace_button = widgets.Button(
            description="Yes, replace them", button_style="warning", layout=_auto_width()
        )
        self.replace_button.add_class("mutuality-replace")
        self.cancel_button = widgets.Button(
            description="No, keep the earlier ones", layout=_auto_width()
        )
        self.cancel_button.add_class("mutuality-cancel")
        self.confirm_box = widgets.HBox(
            [self.replace_button, self.cancel_button],
            layout=widgets.Layout(display="none", flex_flow="row wrap"),
        )
        # Another week chosen with answers not saved yet: they are kept until the person says.
        self.keep_button = widgets.Button(
            description="Save them", button_style="primary", layout=_auto_width()
        )
        self.keep_button.add_class("mutuality-save-unsaved")
        self.discard_button = widgets.Button(description="Discard them", layout=_auto_width())
        self.discard_button.add_class("mutuality-discard-unsaved")
        self.unsaved_box = widgets.HBox(
            [self.keep_button, self.discard_button],
            layout=widgets.Layout(display="none", flex_flow="row wrap"),
        )
        self.unsaved_box.add_class("mutuality-unsaved")
        #: The week asked for while unsaved answers were on the page (None: not asking).
        self.pending_week: dt.date | None = None
        self._shown: dict[str, Any] = {}
        self._moving_week = False

        self.week.observe(self._on_week_change, names="value")
        self.save_button.on_click(self._on_save)
        self.replace_button.on_click(self._on_replace)
        self.cancel_button.on_click(self._on_cancel)
        self.keep_button.on_click(self._on_keep_unsaved)
        self.discard_button.on_click(self._on_discard_unsaved)

        self.urgent_help = urgent_help_for_forms(store.data_dir)
        header = widgets.HTML(
            fragment(
                "forms.html.j2",
                "header",
                self.instrument,
                self.urgent_help,
                any(it.required and not it.is_numeric for it in self.instrument.items),
            )
        )
        self.widget = widgets.VBox(
            [
                header,
                widgets.VBox([self.week, self.week_note]),
                *[field.box for field in self.fields.values()],
                self.save_button,
                self.confirm_box,
                self.unsaved_box,
                self.feedback,
            ],
            layout=widgets.Layout(max_width="760px", width="100%"),
        )
        self.widget.add_class(FORM_CLASS)
        self._on_week_change({})

    # -- display -------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _week_options(self, chosen: dt.date) -> list[tuple[str, dt.date]]:
        if self.bound_week is not None:  # the link is for this week only
            return [(week_label(self.bound_week).capitalize(), self.bound_week)]
        current = week_of(self.today)
        weeks = {current - dt.timedelta(weeks=n) for n in range(WEEKS_OFFERED + 1)}
        weeks.add(chosen)
        return [(sentence_start(week_label(w)), w) for w in sorted(weeks, reverse=True)]

    def _say(self, message: str, ok: bool = False) -> None:
        self.message = message
        show_message(self.feedback, message, ok)

    # -- values --------------------------------------------------------------------

    def set_values(self, values: dict[str, Any]) -> None:
        """Answer items programmatically (what a person does with the widgets)."""
        for item_id, value in values.items():
            self.fields[item_id].set(value)

    def selected_week(self) -> dt.date:
        return self.week.value

    def _raw_values(self) -> dict[str, Any]:
        return {item_id: field.raw() for item_id, field in self.fields.items()}

    def has_unsaved_answers(self) -> bool:
        """True when the page differs from what it showed for the week (nothing saved yet)."""
        return self._raw_values() != self._shown

    def _existing(self) -> dict[str, str]:
        # This partner's own answers to this instrument only: the other partner's are
        # never read here, and a check-in saved this week says nothing about the inventory.
        answered = self.store.answered_items(self.couple_id, self.partner, self.selected_week())
        return {k: v for k, v in answered.items() if k in self.fields}

    def collect(self) -> tuple[list[Answer], dict[str, str]]:
        """Validate every field; returns the answers to save and ``{item or 'week': message}``."""
        errors: dict[str, str] = {}
        week = self.selected_week()
        if week > week_of(self.today):
            errors["week"] = (
                f"The {week_label(week)} has not started yet: choose this week or an earlier one."
            )
            return [], errors
        existing = self._existing()
        answers: list[Answer] = []
        for item_id, field in self.fields.items():
            raw = field.raw()
            if raw is None:
                # A numeric item is None only when the person said "Not answered".
                if field.item.required and not field.item.is_numeric:
                    errors[item_id] = "Please answer this one."
                elif item_id in existing and existing[item_id] != "" and not field.item.private:
                    # Replacing a week: a cleared optional answer is cleared in the store too.
                    answers.append(make_answer(self.couple_id, self.partner, week, item_id, ""))
                continue
            try:
                answers.append(make_answer(self.couple_id, self.partner, week, item_id, raw))
            except ValidationError as exc:
                errors[item_id] = _friendly(field.item, str(exc))
        return answers, errors

    # -- callbacks -----------------------------------------------------------------

    def _on_week_change(self, change: dict) -> None:
        if self._moving_week:
            return
        old, new = change.get("old"), change.get("new")
        if old is not None and new is not None and new != old and self.has_unsaved_answers():
            # Never drop what was typed: stay on its week and ask what to do with it.
            self._move_week(old)
            self._hide_confirm()
            self.pending_week = new
            self.status = "unsaved"
            self._say(
                f"You have unsaved answers for the {week_label(old)}. Save them, or discard "
                f"them to open the {week_label(new)}?"
            )
            self.unsaved_box.layout.display = "flex"
            return
        self._hide_confirm()
        self._show_week(self._existing())

    def _move_week(self, week: dt.date) -> None:
        """Set the week picker without asking about unsaved answers (the form's own move)."""
        self._moving_week = True
        try:
            self.week.value = week
        finally:
            self._moving_week = False

    def _open_pending_week(self) -> dt.date | None:
        week, self.pending_week = self.pending_week, None
        if week is not None:
            self._move_week(week)
            self._hide_confirm()
            self._show_week(self._existing())
        return week

    def _on_keep_unsaved(self, button: widgets.Button | None = None) -> None:
        week, pending = self.selected_week(), self.pending_week
        self._on_save()  # validated as any save: a problem keeps the answers on the page
        if self.status != "saved":
            return
        self.pending_week = pending
        opened = self._open_pending_week()
        if opened is not None:
            self._say(
                f"Saved. Your answers for the {week_label(week)} are safely stored; "
                f"now showing the {week_label(opened)}.",
                ok=True,
            )

    def _on_discard_unsaved(self, button: widgets.Button | None = None) -> None:
        week = self.selected_week()
        opened = self._open_pending_week()
        if opened is None:
            return
        self.status = "discarded"
        self._say(
            f"Your unsaved answers for the {week_label(week)} were discarded; now showing "
            f"the {week_label(opened)}.",
            ok=True,
        )

    def _show_week(self, existing: dict[str, str]) -> None:
        """Show the chosen week: its saved answers to change, or a fresh form."""
        self._loaded = existing
        for item_id, field in self.fields.items():
            field.show_error("")
            if existing:
                field.show_saved(existing.get(item_id))
            else:
                field.reset()
        self._shown = self._raw_values()
        week = self.selected_week()
        state = "future" if week > week_of(self.today) else "answered" if existing else ""
        self.week_note.value = fragment("forms.html.j2", "week_note", state)

    def _on_save(self, button: widgets.Button | None = None) -> None:
        self._hide_confirm()
        answers, errors = self._validate_and_show()
        if errors:
            return
        existing = self._existing()
        if existing and existing != self._loaded:
            # Saved elsewhere (another tab, another device) since this form showed the week:
            # those answers are not the ones on this page, so ask before replacing them.
            self.status = "confirm"
            self._say(
                f"Answers for the {week_label(self.selected_week())} were saved from "
                "somewhere else since this page opened. Replace them with these?"
            )
            self.confirm_box.layout.display = "flex"
            return
        self._save(answers)

    def _on_replace(self, button: widgets.Button | None = None) -> None:
        self._hide_confirm()
        answers, errors = self._validate_and_show()
        if not errors:
            self._save(answers)

    def _on_cancel(self, button: widgets.Button | None = None) -> None:
        self._hide_confirm()
        self.status = "cancelled"
        self._say("Nothing was changed: your earlier answers are kept.", ok=True)

    # -- steps ---------------------------------------------------------------------

    def _hide_confirm(self) -> None:
        self.confirm_box.layout.display = "none"
        self.unsaved_box.layout.display = "none"
        self.pending_week = None

    def _validate_and_show(self) -> tuple[list[Answer], dict[str, str]]:
        answers, errors = self.collect()
        for item_id, field in self.fields.items():
            field.show_error(errors.get(item_id, ""))
        if errors:
            self.status = "invalid"
            if "week" in errors:
                self._say(errors["week"])
            else:
                n = len(errors)
                them = f"{n} answers still need" if n > 1 else "1 answer still needs"
                self._say(f"Nothing was saved yet: {them} your attention (marked in red above).")
        return answers, errors

    def _save(self, answers: list[Answer]) -> None:
        self.save_button.disabled = True
        try:
            with self.store.atomic():  # the answers and the audit entry, or neither
                self.store.save_answers(answers, source=self.source, link=self.link)
                self.store.record_access(
                    "form save", self.couple_id, f"{self.source} {self.selected_week()}"
                )
        except Exception as exc:  # noqa: BLE001 -- whatever broke, the partner keeps the answers
            self.status = "error"
            self._say(notices.cannot_save(exc))
            return
        finally:
            self.save_button.disabled = False
        self.status = "saved"
        self._show_week(self._existing())
        self._say(
            f"Saved. Your answers for the {week_label(self.selected_week())} are safely "
            "stored. Thank you for taking the time.",
            ok=True,
        )


def _friendly(item: Item, message: str) -> str:
    """The validation message without the item id prefix the store uses."""
    prefix = f"{item.id}: "
    return message[len(prefix) :] if message.startswith(prefix) else message


def checkin_form(store: Store, couple_id: str, partner: str, week: Any = None) -> InstrumentForm:
    """The weekly check-in form for one partner."""
    return InstrumentForm(store, "weekly_checkin", couple_id, partner, week)


def inventory_form(store: Store, couple_id: str, partner: str, week: Any = None) -> InstrumentForm:
    """The mutuality inventory form for one partner."""
    return InstrumentForm(store, "mutuality_inventory", couple_id, partner, week)


def notebook_form(
    instrument: str,
    couple_id: Any = None,
    partner: Any = None,
    week: Any = None,
    data_dir: Any = None,
    query_string: str | None = None,
) -> InstrumentForm | widgets.HTML:
    """What a worksheet notebook displays: the form, or a plain message saying what is wrong.

    Parameters come from the notebook's ``parameters`` cell (a worksheet written
    by ``mutuality worksheet``); when ``couple_id`` is not set they come from a
    signed partner link, read from the ``QUERY_STRING`` Voila puts in the
    kernel's environment. In a preheated kernel (the form server's pool) the
    notebook has run up to here before anyone asked for it; it waits here for
    the request that brings the link.

    A partner sees a plain message, never a path or a store's internals
    (:mod:`.notices`); the details go to the server's log.
    """
    try:
        if couple_id is None:
            if query_string is None:
                preheat.wait_for_request()  # returns at once unless in Voila's pool
            qs = os.environ.get("QUERY_STRING") if query_string is None else query_string
            if not qs:
                return notice(
                    "This worksheet needs a personal link from your therapist "
                    "(or a worksheet made with `mutuality worksheet`).",
                    urgent_help_for_forms(data_dir),
                )
            link = parse_link_query(qs, data_dir)
            couple_id, partner = link["couple_id"], link["partner"]
            week = link["week"] if week is None else week
        else:
            link = None
        params = form_parameters(couple_id, partner, week, data_dir)
        # The form acts for its one couple, whoever runs the server (roles.partner_identity).
        user = partner_identity(params["couple_id"], params["partner"])
        store = Store(params["data_dir"], create=False, user=user)
        return InstrumentForm(
            store, instrument, params["couple_id"], params["partner"], params["week"], link=link
        )
    except LinkError as exc:
        return notice(notices.link_refused(exc), urgent_help_for_forms(data_dir))
    except Exception as exc:  # noqa: BLE001 -- a partner sees a message, never a traceback
        return notice(notices.cannot_open(exc), urgent_help_for_forms(data_dir))
