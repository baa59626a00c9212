"""The session workbook's Seasons tab: the couple's seasons; declare, edit or close one.

A season is a time-limited, agreed imbalance (who needs support, why, until when). The
tab saves through the :class:`~mutuality_helpers.store.Store` as it happens, says what it
did through the workbook's one feedback line, and asks the workbook to redraw.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .exceptions import ValidationError
from .feedback import Say, attempt
from .formatting import long_day, reason_label
from .models import SEASON_REASONS, make_season
from .presentation import fragment
from .store import Store
from .validation import parse_date, week_of

TEMPLATE = "workbook.html.j2"


class SeasonsTab:
    """The Seasons tab of :class:`~mutuality_helpers.session_ui.SessionWorkbook`.

    Parameters
    ----------
    store
        Where seasons are saved.
    today
        The day the date pickers start from.
    say
        Where messages go: ``say(message, ok)``.
    changed
        Called after every saved change (the workbook redraws its summary and charts).
    """

    def __init__(self, store: Store, today: dt.date, say: Say, changed: Callable[[], None]) -> None:
        self.store = store
        self.today = today
        self.say = say
        self.changed = changed
        self.couple_id = ""
        self.names = {"A": "A", "B": "B"}
        self.seasons_table = widgets.HTML()
        self.seasons_table.add_class("mutuality-seasons")
        self.season_partner = widgets.Dropdown(description="Supported:")
        self.season_reason = widgets.Dropdown(
            options=[(reason_label(r).capitalize(), r) for r in SEASON_REASONS],
            description="Reason:",
        )
        self.season_start = widgets.DatePicker(description="Start:")
        self.season_end = widgets.DatePicker(description="Planned end:")
        self.season_agreed = widgets.Checkbox(value=False, description="Both partners agree")
        self.season_note = widgets.Text(description="Note:", layout=widgets.Layout(width="95%"))
        self.reset_declare_form()
        self.declare_button = widgets.Button(description="Declare season", button_style="primary")
        self.season_pick = widgets.Dropdown(description="Season:", layout={"width": "95%"})
        self.edit_end = widgets.DatePicker(description="Planned end:")
        self.edit_agreed = widgets.Checkbox(description="Both partners agree")
        self.edit_note = widgets.Text(description="Note:", layout=widgets.Layout(width="95%"))
        self.edit_button = widgets.Button(description="Save season")
        self.close_on = widgets.DatePicker(value=today, description="Close on:")
        self.close_button = widgets.Button(description="Close season", button_style="warning")

        self.season_pick.observe(self._on_season_pick, names="value")
        self.declare_button.on_click(self._on_declare_season)
        self.edit_button.on_click(self._on_edit_season)
        self.close_button.on_click(self._on_close_season)
        self.widget = widgets.VBox(
            [
                self.seasons_table,
                widgets.HTML("<h4>Declare a season</h4>"),
                widgets.HBox([self.season_partner, self.season_reason]),
                widgets.HBox([self.season_start, self.season_end]),
                self.season_agreed,
                self.season_note,
                self.declare_button,
                widgets.HTML("<h4>Edit or close a season</h4>"),
                self.season_pick,
                widgets.HBox([self.edit_end, self.edit_agreed]),
                self.edit_note,
                widgets.HBox([self.edit_button, self.close_on, self.close_button]),
            ]
        )

    def reset_declare_form(self) -> None:
        """The "Declare a season" form as new: once a season is declared, nothing invites a
        second identical one."""
        if self.season_partner.options:
            self.season_partner.index = 0
        self.season_reason.index = 0
        self.season_start.value = week_of(self.today)
        self.season_end.value = week_of(self.today) + dt.timedelta(weeks=4)
        self.season_agreed.value = False
        self.season_note.value = ""

    def couple(self, couple_id: str, names: dict[str, str]) -> None:
        """Show another couple's seasons (``names``: the partners' display names)."""
        self.couple_id, self.names = couple_id, names
        self.season_partner.options = [(f"{names[p]} ({p})", p) for p in ("A", "B")]
        self.reload()

    def reload(self, select: int | None = None) -> None:
        """Read the couple's seasons again; keep ``select`` (or the one picked) picked."""
        select = self.season_pick.value if select is None else select
        frame = self.store.seasons(self.couple_id)
        self.seasons_table.value = fragment(
            TEMPLATE, "seasons", frame.to_dict("records"), self.names
        )
        options = [
            (
                f"#{r.season_id} {self.names[r.partner]}: {reason_label(r.reason)} "
                f"from {long_day(r.start)}",
                int(r.season_id),
            )
            for r in frame.itertuples(index=False)
        ]
        self.season_pick.options = options
        if options:
            self.season_pick.value = select if select in [v for _, v in options] else options[-1][1]
        for w in (self.edit_button, self.close_button):
            w.disabled = not options
        self._on_season_pick({})

    def _saved(self, season_id: int) -> None:
        self.reload(season_id)
        self.changed()

    # -- callbacks -----------------------------------------------------------------------

    def _on_declare_season(self, button: Any = None) -> None:
        def declare() -> str:
            start, end = self.season_start.value, self.season_end.value
            if start is None or end is None:
                raise ValidationError("choose the season's start and planned end first")
            if end < start:
                raise ValidationError(
                    f"the planned end, {long_day(end)}, is before the start, {long_day(start)}"
                )
            season = make_season(
                self.couple_id,
                self.season_partner.value,
                self.season_reason.value,
                self.season_start.value,
                self.season_end.value,
                self.season_agreed.value,
                self.season_note.value,
            )
            season_id = self.store.add_season(season, source="session workbook")
            self._saved(season_id)
            self.reset_declare_form()
            agreed = "agreed by both" if season.agreed else "NOT yet agreed by both"
            return f"Declared season #{season_id} ({reason_label(season.reason)}), {agreed}."

        attempt(self.say, "The season was not declared", declare)

    def _on_season_pick(self, change: dict[str, Any]) -> None:
        season_id = self.season_pick.value
        if season_id is None:
            return
        row = self.store.seasons(season_id=season_id).iloc[0]
        self.edit_end.value = row.planned_end.date()
        self.edit_agreed.value = bool(row.agreed)
        self.edit_note.value = row.note

    def _picked_season(self) -> int:
        if self.season_pick.value is None:
            raise ValidationError("choose a season first")
        return int(self.season_pick.value)

    def _on_edit_season(self, button: Any = None) -> None:
        def edit() -> str:
            season_id = self._picked_season()
            if self.edit_end.value is None:
                raise ValidationError("choose the planned end first")
            start = self.store.seasons(season_id=season_id).iloc[0].start.date()
            if self.edit_end.value < start:
                raise ValidationError(
                    f"the planned end, {long_day(self.edit_end.value)}, is before the start, "
                    f"{long_day(start)}"
                )
            self.store.update_season(
                season_id,
                planned_end=self.edit_end.value,
                agreed=self.edit_agreed.value,
                note=self.edit_note.value,
            )
            self._saved(season_id)
            return f"Saved season #{season_id}."

        attempt(self.say, "The season was not changed", edit)

    def _on_close_season(self, button: Any = None) -> None:
        def close() -> str:
            season_id = self._picked_season()
            if self.close_on.value is None:
                raise ValidationError("choose the closing date first")
            day = parse_date(self.close_on.value, "closing date")
            self.store.close_season(season_id, day)
            self._saved(season_id)
            return f"Closed season #{season_id} on {long_day(day)}."

        attempt(self.say, "The season was not closed", close)
