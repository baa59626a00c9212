"""One widget per item type, generated from the instrument definitions.

=========  ================================================================
``share``  a 0-100 slider with a live "you 70% / partner 30%" readout
``int``    a slider over the item's range
``tags``   one toggle button per tag (any number may be chosen)
``choice`` radio buttons, one per choice, none chosen until a person picks one
``text``   a text area with a live character count
=========  ================================================================

A slider always has a value, so an unanswered required slider is one that was
never moved: a person who means the middle value moves it away and back. Labels,
help and errors are rendered by ``templates/html/forms.html.j2`` (escaped).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as widgets

from .instruments import Item
from .presentation import fragment

TEMPLATE = "forms.html.j2"


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
        if item.private:
            self.box.add_class("mutuality-private")

    def _label_html(self) -> str:
        return fragment(TEMPLATE, "label", self.item)

    def _build_input(self) -> widgets.Widget:
        raise NotImplementedError

    def raw(self) -> Any:
        raise NotImplementedError

    def set(self, value: Any) -> None:
        """Answer programmatically (tests, prefills), as a person does with the widget."""
        raise NotImplementedError

    def show_error(self, message: str) -> None:
        self.error.value = fragment(TEMPLATE, "error", message)

    def _on_touch(self, change: dict) -> None:
        self.touched = True
        self.show_error("")


class SliderField(ItemField):
    """An ``int`` item: a slider over its range, unanswered until moved."""

    def _build_input(self) -> widgets.Widget:
        lo, hi = self.item.bounds
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
        return fragment(TEMPLATE, "readout", share_readout(self.slider.value))

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
        self.radio.value = value


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
        return fragment(TEMPLATE, "count", len(self.area.value), self.item.max_length)

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
    "choice": ChoiceField,
    "text": TextField,
}
