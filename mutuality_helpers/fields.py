"""One widget per item type, generated from the instrument definitions.

=========  ================================================================
``share``  a 0-100 slider with a live "You 70% / partner 30%" readout
``int``    a slider over the item's range, its ends named (``low``/``high``)
``tags``   one toggle button per tag (any number may be chosen)
``choice`` radio buttons, one per choice, none chosen until a person picks one
``text``   a text area with a live character count
=========  ================================================================

Every answer a person can give is an answer, the middle of a scale included: a
slider's value is its answer, wherever it stands (the middle of its range on a new
week, the saved answer on a reopened one). Leaving a numeric item out is the
person's own explicit choice: its "Not answered" toggle, which only a person (or
their own earlier save) sets. Labels, help, end labels and errors are rendered by
``templates/html/forms.html.j2`` (escaped), with the ids the worksheet page's
script (``share/voila/templates/mutuality_form/static/mutuality-form.js``) uses to
name each control by its question and link it to its help and error.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from .formatting import sentence_start
from .instruments import Item
from .presentation import fragment

TEMPLATE = "forms.html.j2"
#: The words on every numeric item's explicit "leave this one out" toggle.
NOT_ANSWERED = "Not answered"


def share_readout(value: int) -> str:
    """The live readout under a share slider."""
    return f"You {value}% / partner {100 - value}%"


def _full_width(max_width: str = "") -> widgets.Layout:
    return widgets.Layout(width="100%", max_width=max_width or "none")


class ItemField:
    """The widgets for one item: a label, an input, and an inline error line.

    ``raw()`` is the value to validate, or ``None`` while unanswered.
    """

    def __init__(self, item: Item):
        self.item = item
        self.label = widgets.HTML(self._label_html())
        self.error = widgets.HTML("")
        self.error.add_class("mutuality-error")
        self.input = self._build_input()
        self.box = widgets.VBox(
            [self.label, self.input, self.error],
            layout=widgets.Layout(margin="0 0 8px 0", width="100%"),
        )
        self.box.add_class("mutuality-item")
        self.box.add_class(f"mutuality-item-{item.id}")
        self.box.add_class(f"mutuality-type-{item.type}")
        if item.private:
            self.box.add_class("mutuality-private")
        self.show_error("")

    def _label_html(self) -> str:
        return fragment(TEMPLATE, "label", self.item)

    def _build_input(self) -> widgets.Widget:
        raise NotImplementedError

    def raw(self) -> Any:
        raise NotImplementedError

    def set(self, value: Any) -> None:
        """Answer programmatically (tests), as a person does with the widget."""
        raise NotImplementedError

    def show_saved(self, stored: str | None) -> None:
        """Show a reopened week's saved answer (``None`` or ``""``: the person left it out).

        A private answer is never shown back (someone may be looking over a shoulder):
        its field starts afresh.
        """
        if not self.item.show_on_reopen:
            self.reset()
        else:
            self.set(None if stored in (None, "") else stored)

    def reset(self) -> None:
        """Back to a new week's start (nothing chosen; a slider in its middle)."""
        self.set(None)

    def show_error(self, message: str) -> None:
        self.error.value = fragment(TEMPLATE, "error", self.item, message)

    def _on_touch(self, change: dict) -> None:
        self.show_error("")


class SliderField(ItemField):
    """An ``int`` item: a slider over its range; its value, the middle too, is the answer."""

    def _build_input(self) -> widgets.Widget:
        lo, hi = self.item.bounds
        self.slider = widgets.IntSlider(
            value=self.middle,
            min=lo,
            max=hi,
            step=1,
            readout=True,
            continuous_update=True,
            layout=_full_width("420px"),
        )
        self.slider.add_class(f"mutuality-input-{self.item.id}")
        self.slider.add_class("mutuality-slider")
        self.slider.observe(self._on_touch, names="value")
        self.skip = widgets.ToggleButton(
            value=False,
            description=NOT_ANSWERED,
            layout=widgets.Layout(width="auto", align_self="flex-start"),
        )
        self.skip.add_class("mutuality-skip")
        self.skip.add_class(f"mutuality-skip-{self.item.id}")
        self.skip.observe(self._on_skip, names="value")
        self.ends = widgets.HTML(fragment(TEMPLATE, "ends", self.item))
        self.ends.add_class("mutuality-ends")
        self.ends.layout = _full_width("420px")
        return widgets.VBox(
            [self.slider, self.ends, self.skip], layout=widgets.Layout(width="100%")
        )

    @property
    def middle(self) -> int:
        lo, hi = self.item.bounds
        return (lo + hi) // 2

    def _on_skip(self, change: dict) -> None:
        # Left out: the slider shows it (dimmed, not operable) until the person takes it back.
        self.slider.disabled = self.skip.value
        self.show_error("")

    def raw(self) -> Any:
        return None if self.skip.value else self.slider.value

    def set(self, value: int | str | None) -> None:
        """A value answers (and takes back "Not answered"); ``None`` is "Not answered"."""
        if value is None:
            self.skip.value = True
            return
        self.skip.value = False
        self.slider.value = int(value)
        self._on_touch({})

    def reset(self) -> None:
        self.skip.value = False
        self.slider.value = self.middle


class ShareField(SliderField):
    """A ``share`` item: 0-100 with a live "You / partner" readout."""

    def _build_input(self) -> widgets.Widget:
        box = super()._build_input()
        self.slider.readout = False
        self.readout = widgets.HTML(self._readout_html())
        self.readout.add_class("mutuality-readout")
        self.slider.observe(self._on_readout, names="value")
        box.children = (self.readout, self.slider, self.ends, self.skip)
        return box

    def _readout_html(self) -> str:
        return fragment(TEMPLATE, "readout", share_readout(self.slider.value))

    def _on_readout(self, change: dict) -> None:
        self.readout.value = self._readout_html()


class TagsField(ItemField):
    """A ``tags`` item: one toggle per tag, any number chosen (read as words, never ids)."""

    def _build_input(self) -> widgets.Widget:
        self.toggles = {}
        for choice, words in zip(self.item.choices, self.item.choice_labels, strict=True):
            toggle = widgets.ToggleButton(
                value=False, description=sentence_start(words), layout=widgets.Layout(width="auto")
            )
            toggle.add_class(f"mutuality-tag-{choice}")
            toggle.add_class("mutuality-tag")
            toggle.observe(self._on_touch, names="value")
            self.toggles[choice] = toggle
        box = widgets.HBox(list(self.toggles.values()), layout=widgets.Layout(flex_flow="row wrap"))
        box.add_class(f"mutuality-input-{self.item.id}")
        return box

    def raw(self) -> Any:
        chosen = [tag for tag, toggle in self.toggles.items() if toggle.value]
        return chosen or None

    def set(self, tags: list[str] | str | None) -> None:
        if isinstance(tags, str):
            tags = [t for t in tags.split(";") if t]
        for tag, toggle in self.toggles.items():
            toggle.value = tag in (tags or [])


class ChoiceField(ItemField):
    """A ``choice`` item: one radio button per choice, none chosen until one is picked."""

    def _build_input(self) -> widgets.Widget:
        self.radio = widgets.RadioButtons(
            options=list(zip(self.item.choice_labels, self.item.choices, strict=True)),
            value=None,
            layout=widgets.Layout(width="auto"),
        )
        self.radio.add_class(f"mutuality-input-{self.item.id}")
        self.radio.observe(self._on_touch, names="value")
        return self.radio

    def raw(self) -> Any:
        return self.radio.value

    def set(self, value: str | None) -> None:
        self.radio.value = value if value in self.item.choices else None


class TextField(ItemField):
    """A ``text`` item: a text area with a live character count."""

    def _build_input(self) -> widgets.Widget:
        self.area = widgets.Textarea(
            value="",
            placeholder="Write as much or as little as you like.",
            layout=widgets.Layout(width="100%", max_width="640px", height="90px"),
        )
        self.area.add_class(f"mutuality-input-{self.item.id}")
        self.count = widgets.HTML(self._count_html())
        self.count.add_class("mutuality-count")
        self.area.observe(self._on_touch, names="value")
        self.area.observe(self._on_count, names="value")
        return widgets.VBox([self.area, self.count], layout=widgets.Layout(width="100%"))

    def _count_html(self) -> str:
        return fragment(TEMPLATE, "count", self.item, len(self.area.value))

    def _on_count(self, change: dict) -> None:
        self.count.value = self._count_html()

    def raw(self) -> Any:
        return self.area.value if self.area.value.strip() else None

    def set(self, text: str | None) -> None:
        self.area.value = text or ""


FIELD_TYPES: dict[str, type[ItemField]] = {
    "int": SliderField,
    "share": ShareField,
    "tags": TagsField,
    "choice": ChoiceField,
    "text": TextField,
}
