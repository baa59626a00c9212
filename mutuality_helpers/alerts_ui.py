"""The session workbook's controls for alerts that need action: mark one seen, or resolve it.

Used twice by :class:`~mutuality_helpers.session_ui.SessionWorkbook`: inside the private
panel at the top (the urgent safety alerts, hidden until the therapist opens it, because
the couple may be looking at the same screen) and under the summary (silence alerts, so a
missing check-in can be chased and marked). Every mark is saved through the store
(:meth:`~mutuality_helpers.store.Store.mark_alert`) with who made it and when.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ipywidgets as widgets

from .alert_record import ActionAlert
from .feedback import Say, attempt
from .practice import current_user
from .presentation import fragment
from .store import Store

TEMPLATE = "workbook.html.j2"


class AlertActions:
    """A list of alerts with "Mark seen" and "Resolve" (a note is needed to resolve).

    Parameters
    ----------
    store
        Where the marks are saved.
    say
        Where messages go: ``say(message, ok)``.
    changed
        Called after every mark (the workbook redraws).
    css
        A class for the box, e.g. ``mutuality-urgent-actions``.
    """

    def __init__(self, store: Store, say: Say, changed: Callable[[], None], css: str) -> None:
        self.store = store
        self.say = say
        self.changed = changed
        self.alerts: list[ActionAlert] = []
        self.listing = widgets.HTML()
        self.pick = widgets.Dropdown(description="Alert:", layout=widgets.Layout(width="95%"))
        self.by = widgets.Text(value=current_user(), description="By:")
        self.note = widgets.Textarea(
            description="Note:",
            placeholder="What was done (needed to resolve)",
            layout=widgets.Layout(width="95%", height="70px"),
        )
        self.seen_button = widgets.Button(description="Mark seen")
        self.resolve_button = widgets.Button(description="Resolve", button_style="success")
        self.seen_button.on_click(self._on_seen)
        self.resolve_button.on_click(self._on_resolve)
        self.controls = widgets.VBox(
            [self.pick, self.by, self.note, widgets.HBox([self.seen_button, self.resolve_button])]
        )
        self.widget = widgets.VBox([self.listing, self.controls])
        self.widget.add_class(css)

    def show(self, alerts: Sequence[ActionAlert]) -> None:
        """List ``alerts``; the controls show only while one is still open."""
        self.alerts = list(alerts)
        self.listing.value = fragment(TEMPLATE, "action_alerts", self.alerts)
        open_ones = [a for a in self.alerts if a["state"] != "resolved"]
        chosen = self.pick.value
        self.pick.options = [
            (f"#{a['ref']} · {a['state']}" if a["alert_id"] else f"{a['ref']} · new", a["ref"])
            for a in open_ones
        ]
        refs = [a["ref"] for a in open_ones]
        self.pick.value = chosen if chosen in refs else (refs[0] if refs else None)
        self.controls.layout.display = "flex" if open_ones else "none"

    def _mark(self, state: str) -> None:
        def mark() -> str:
            record = self.store.mark_alert(self.pick.value, state, self.by.value, self.note.value)
            self.note.value = ""
            self.changed()
            return f"Alert #{record['alert_id']} is now {record['state']}."

        attempt(self.say, "The alert was not marked", mark)

    def _on_seen(self, button: Any = None) -> None:
        self._mark("seen")

    def _on_resolve(self, button: Any = None) -> None:
        self._mark("resolved")
