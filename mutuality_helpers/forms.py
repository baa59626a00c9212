"""Worksheet forms generated from the instrument definitions.

A form is a small class in the voila-gallery style: it builds its widgets,
wires named callbacks with ``observe``/``on_click``, writes every message to one
:class:`ipywidgets.Output`, and saves through the :class:`~.store.Store`, never
to files. One widget per item type:

=========  ================================================================
``share``  a 0-100 slider with a live "you 70% / partner 30%" readout
``int``    a slider over the item's range
``tags``   one toggle button per tag (any number may be chosen)
``text``   a text area
=========  ================================================================

A partner's form reads nothing but that partner's own answers (and only to say
"you already answered this week"); it never shows the other partner's. Every
piece of text a person typed, or an instrument file holds, reaches the page
HTML-escaped, so a reflection holding ``<script>`` is shown as text.

A slider always has a value, so an unanswered required slider is one that was
never moved: a person who means the middle value moves it away and back.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from . import notices, preheat
from .exceptions import ParameterError, ValidationError
from .formatting import escape
from .instruments import Instrument, Item, get_instrument
from .store import Answer, Store, make_answer
from .validation import parse_couple_id, parse_date, parse_partner, parse_week, week_of

#: How many past weeks (besides the current one) the week picker offers.
WEEKS_OFFERED = 7
#: CSS class on every form's outer box: browser tests scope their selectors to it.
FORM_CLASS = "mutuality-form"

_ERROR_STYLE = "color:#a4262c"
_OK_STYLE = "color:#1e6b30"


def show_message(output: widgets.Output, message: str, ok: bool = False) -> None:
    """Replace what ``output`` shows with one message, escaped (it may quote what was typed)."""
    style = _OK_STYLE if ok else _ERROR_STYLE
    body = f"<p style='{style}'>{escape(message)}</p>"
    # Set outputs directly rather than `with output:`: works in a kernel and headless.
    output.outputs = (
        {
            "output_type": "display_data",
            "data": {"text/plain": message, "text/html": body},
            "metadata": {},
        },
    )


def week_label(week: dt.date) -> str:
    """``'week of Monday 23 November 2026'`` (no leading zero, no locale surprises)."""
    return f"week of Monday {week.day} {week:%B %Y}"


def share_readout(value: int) -> str:
    """The live readout under a share slider."""
    return f"you {value}% / partner {100 - value}%"


class ItemField:
    """The widgets for one item: a label, an input, and an inline error line.

    ``raw()`` is the value to validate, or ``None`` while unanswered.
    """

    def __init__(self, item: Item):
        self.item = item
        self.touched = False
        self.label = widgets.HTML(self._label_html())
        self.error = widgets.HTML("")
        self.input = self._build_input()
        self.box = widgets.VBox(
            [self.label, self.input, self.error], layout=widgets.Layout(margin="0 0 12px 0")
        )
        self.box.add_class("mutuality-item")
        self.box.add_class(f"mutuality-item-{item.id}")

    def _label_html(self) -> str:
        star = " <span title='required'>*</span>" if self.item.required else ""
        help_text = f"<br><small>{escape(self.item.help)}</small>" if self.item.help else ""
        return f"<b>{escape(self.item.wording)}</b>{star}{help_text}"

    def _build_input(self) -> widgets.Widget:
        raise NotImplementedError

    def raw(self) -> Any:
        raise NotImplementedError

    def is_blank(self) -> bool:
        return self.raw() is None

    def show_error(self, message: str) -> None:
        error = f"<span style='{_ERROR_STYLE}'>{escape(message)}</span>"
        self.error.value = error if message else ""

    def _on_touch(self, change: dict) -> None:
        self.touched = True
        self.show_error("")


class SliderField(ItemField):
    """An ``int`` item: a slider over its range, unanswered until moved."""

    def _build_input(self) -> widgets.Widget:
        lo, hi = self.item.min, self.item.max
        self.slider = widgets.IntSlider(
            value=(lo + hi) // 2,
            min=lo,
            max=hi,
            step=1,
            readout=True,
            continuous_update=True,
            layout=widgets.Layout(width="420px"),
        )
        self.slider.add_class(f"mutuality-input-{self.item.id}")
        self.hint = widgets.HTML("<small>not answered yet: move the slider</small>")
        self.slider.observe(self._on_touch, names="value")
        return widgets.HBox([self.slider, self.hint])

    def _on_touch(self, change: dict) -> None:
        super()._on_touch(change)
        self.hint.value = ""

    def raw(self) -> Any:
        return self.slider.value if self.touched else None

    def set(self, value: int) -> None:
        """Answer programmatically (tests, prefills), even with the current value."""
        self.slider.value = value
        self._on_touch({})


class ShareField(SliderField):
    """A ``share`` item: 0-100 with a live "you / partner" readout."""

    def _build_input(self) -> widgets.Widget:
        box = super()._build_input()
        self.slider.readout = False
        self.readout = widgets.HTML(self._readout_html())
        self.readout.add_class("mutuality-readout")
        self.slider.observe(self._on_readout, names="value")
        box.children = (self.slider, self.readout, self.hint)
        return box

    def _readout_html(self) -> str:
        return f"<b>{escape(share_readout(self.slider.value))}</b>"

    def _on_readout(self, change: dict) -> None:
        self.readout.value = self._readout_html()


class TagsField(ItemField):
    """A ``tags`` item: one toggle per tag, any number chosen."""

    def _build_input(self) -> widgets.Widget:
        self.toggles = {}
        for choice in self.item.choices:
            toggle = widgets.ToggleButton(
                value=False,
                description=choice.replace("_", " "),
                layout=widgets.Layout(width="auto"),
            )
            toggle.add_class(f"mutuality-tag-{choice}")
            toggle.observe(self._on_touch, names="value")
            self.toggles[choice] = toggle
        return widgets.HBox(
            list(self.toggles.values()), layout=widgets.Layout(flex_flow="row wrap")
        )

    def raw(self) -> Any:
        chosen = [tag for tag, toggle in self.toggles.items() if toggle.value]
        return chosen or None

    def set(self, tags: list[str]) -> None:
        for tag, toggle in self.toggles.items():
            toggle.value = tag in tags


class TextField(ItemField):
    """A ``text`` item: a text area with a live character count."""

    def _build_input(self) -> widgets.Widget:
        self.area = widgets.Textarea(
            value="",
            placeholder="Write as much or as little as you like.",
            layout=widgets.Layout(width="min(640px, 95%)", height="90px"),
        )
        self.area.add_class(f"mutuality-input-{self.item.id}")
        self.count = widgets.HTML(self._count_html())
        self.area.observe(self._on_touch, names="value")
        self.area.observe(self._on_count, names="value")
        return widgets.VBox([self.area, self.count])

    def _count_html(self) -> str:
        n, limit = len(self.area.value), self.item.max_length
        style = f" style='{_ERROR_STYLE}'" if n > limit else ""
        return f"<small{style}>{n} / {limit} characters</small>"

    def _on_count(self, change: dict) -> None:
        self.count.value = self._count_html()

    def raw(self) -> Any:
        return self.area.value if self.area.value.strip() else None

    def set(self, text: str) -> None:
        self.area.value = text


FIELD_TYPES: dict[str, type[ItemField]] = {
    "int": SliderField,
    "share": ShareField,
    "tags": TagsField,
    "text": TextField,
}


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
        The date taken as today (for tests); default the real today.

    Attributes
    ----------
    status
        ``""`` until Save is clicked, then ``"invalid"``, ``"confirm"`` (asking
        before replacing), ``"saved"``, ``"cancelled"`` or ``"error"``.
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
    ):
        self.store = store
        self.instrument = get_instrument(instrument) if isinstance(instrument, str) else instrument
        self.couple_id = store.require_couple(couple_id)
        self.partner = parse_partner(partner)
        self.today = today or dt.date.today()
        self.source = f"form:{self.instrument.id}"
        self.status = ""
        self.message = ""
        self.last_counts: dict[str, int] = {}
        first_week = week_of(self.today) if week is None else week_of(parse_date(week, "week"))

        self.fields: dict[str, ItemField] = {
            item.id: FIELD_TYPES[item.type](item) for item in self.instrument.items
        }
        self.week = widgets.Dropdown(
            options=self._week_options(first_week),
            value=first_week,
            description="Week:",
            layout=widgets.Layout(width="360px"),
        )
        self.week_note = widgets.HTML("")
        self.feedback = widgets.Output()
        self.feedback.add_class("mutuality-feedback")
        self.save_button = widgets.Button(
            description="Save my answers", button_style="primary", icon="check"
        )
        self.save_button.add_class("mutuality-save")
        self.replace_button = widgets.Button(
            description="Yes, replace them", button_style="warning"
        )
        self.replace_button.add_class("mutuality-replace")
        self.cancel_button = widgets.Button(description="No, keep the earlier ones")
        self.cancel_button.add_class("mutuality-cancel")
        self.confirm_box = widgets.HBox(
            [self.replace_button, self.cancel_button], layout=widgets.Layout(display="none")
        )

        self.week.observe(self._on_week_change, names="value")
        self.save_button.on_click(self._on_save)
        self.replace_button.on_click(self._on_replace)
        self.cancel_button.on_click(self._on_cancel)

        header = widgets.HTML(
            f"<h2>{escape(self.instrument.title)}</h2><p>{escape(self.instrument.intro)}</p>"
            "<p><small>Items marked * are needed before you can save.</small></p>"
        )
        self.widget = widgets.VBox(
            [
                header,
                widgets.VBox([self.week, self.week_note]),
                *[field.box for field in self.fields.values()],
                self.save_button,
                self.confirm_box,
                self.feedback,
            ],
            layout=widgets.Layout(max_width="760px"),
        )
        self.widget.add_class(FORM_CLASS)
        self._on_week_change({})

    # -- display -------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _week_options(self, chosen: dt.date) -> list[tuple[str, dt.date]]:
        current = week_of(self.today)
        weeks = {current - dt.timedelta(weeks=n) for n in range(WEEKS_OFFERED + 1)}
        weeks.add(chosen)
        return [(week_label(w).capitalize(), w) for w in sorted(weeks, reverse=True)]

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

    def _existing(self) -> dict[str, str]:
        # This partner's own answers only: the other partner's are never read here.
        return self.store.answered_items(self.couple_id, self.partner, self.selected_week())

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
                if field.item.required:
                    errors[item_id] = "Please answer this one."
                elif item_id in existing and existing[item_id] != "":
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
        self._hide_confirm()
        week = self.selected_week()
        if week > week_of(self.today):
            self.week_note.value = (
                f"<span style='{_ERROR_STYLE}'>This week has not started yet.</span>"
            )
        elif self._existing():
            self.week_note.value = (
                "<small>You already saved answers for this week. "
                "Saving again will ask before replacing them.</small>"
            )
        else:
            self.week_note.value = ""

    def _on_save(self, button: widgets.Button | None = None) -> None:
        self._hide_confirm()
        answers, errors = self._validate_and_show()
        if errors:
            return
        if self._existing():
            self.status = "confirm"
            self._say(
                f"You already saved answers for the {week_label(self.selected_week())}. "
                "Replace them with these?"
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
            self.last_counts = self.store.save_answers(answers, source=self.source)
        except Exception as exc:  # noqa: BLE001 -- whatever broke, the partner keeps the answers
            self.status = "error"
            self._say(notices.cannot_save(exc))
            return
        finally:
            self.save_button.disabled = False
        self.status = "saved"
        self._on_week_change({})
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


def form_parameters(
    couple_id: Any, partner: Any, week: Any = None, data_dir: Any = None
) -> dict[str, Any]:
    """Check a worksheet notebook's parameters before any work (papermill checks no types).

    Raises
    ------
    ParameterError
        Naming the parameter at fault.
    """
    checks: list[tuple[str, Callable[[Any], Any], Any]] = [
        ("couple_id", parse_couple_id, couple_id),
        ("partner", parse_partner, partner),
    ]
    out: dict[str, Any] = {}
    for name, parse, raw in checks:
        try:
            out[name] = parse(raw)
        except ValidationError as exc:
            raise ParameterError(f"parameter {name}: {exc}") from None
    if week is None or week == "":
        out["week"] = None
    else:
        try:
            out["week"] = parse_week(week)
        except ValidationError as exc:
            raise ParameterError(f"parameter week: {exc}") from None
    if data_dir is not None and not isinstance(data_dir, str):
        raise ParameterError(f"parameter data_dir: expected a folder path, got {data_dir!r}")
    out["data_dir"] = data_dir or None
    return out


def notice(message: str) -> widgets.HTML:
    """A friendly, escaped message shown instead of a form (no code, no traceback)."""
    box = widgets.HTML(f"<p style='{_ERROR_STYLE}'>{escape(message)}</p>")
    box.add_class("mutuality-notice")
    return box


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
    import os

    from .serve import LinkError, parse_link_query

    try:
        if couple_id is None:
            if query_string is None:
                preheat.wait_for_request()  # returns at once unless in Voila's pool
            qs = os.environ.get("QUERY_STRING") if query_string is None else query_string
            if not qs:
                return notice(
                    "This worksheet needs a personal link from your therapist "
                    "(or a worksheet made with `mutuality worksheet`)."
                )
            link = parse_link_query(qs, data_dir)
            couple_id, partner = link["couple_id"], link["partner"]
            week = link["week"] if week is None else week
        params = form_parameters(couple_id, partner, week, data_dir)
        store = Store(params["data_dir"], create=False)
        return InstrumentForm(
            store, instrument, params["couple_id"], params["partner"], params["week"]
        )
    except LinkError as exc:
        return notice(notices.link_refused(exc))
    except Exception as exc:  # noqa: BLE001 -- a partner sees a message, never a traceback
        return notice(notices.cannot_open(exc))
