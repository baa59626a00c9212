"""The caseload view: every couple at a glance, the most worrying first.

What ``notebooks/caseload.ipynb`` shows: the caseload chart and a table (escaped, from
``templates/html/workbook.html.j2``), judged by :func:`~mutuality_helpers.caseload_table.caseload`.
Each row says what needs attention (every alert still open, in words) and has an *Open*
button: the couple's session workbook opens below the table, in the same notebook (a
second *Open* switches it to another couple, keeping what was typed as a draft).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .autosave import CallLater
from .exceptions import MutualityError
from .feedback import attempt, notice, show_message
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS
from .presentation import fragment
from .session_ui import TEMPLATE, SessionWorkbook, open_store
from .store import Store
from .validation import parse_date
from .voila_guard import refusal

if TYPE_CHECKING:
    from IPython.display import HTML

#: Column titles and widths (px): every row is its own small table, so the widths line
#: the rows up under the header.
FIXED_COLUMNS = [("Urgent", 80), ("Couple", 70), ("Partners", 170), ("Judged as of", 110)]
DOMAIN_WIDTH = 110
TAIL_COLUMNS = [
    ("Personal work (lower)", 90), ("Index", 60), ("Needs attention", 360),
    ("Last check-in A", 110), ("Last check-in B", 110),
]  # fmt: skip
OPEN_WIDTH = "110px"


def _row_layout() -> widgets.Layout:
    """A caseload row: as wide as its cells; the table around it scrolls, not the row."""
    return widgets.Layout(overflow="visible", width="max-content", min_width="100%")


class CaseloadTable(widgets.VBox):
    """The caseload's rows, each with its *Open* button; ``value`` is the table's HTML."""

    @property
    def value(self) -> str:
        return "".join(
            part.value
            for child in self.children
            for part in (child.children if isinstance(child, widgets.HBox) else (child,))
            if isinstance(part, widgets.HTML)
        )


class CaseloadView:
    """Every couple at a glance, worst first: the caseload chart, and a row per couple.

    Parameters
    ----------
    store
        The open store.
    as_of
        Judge every couple as of the week holding this date (default: today).
    on_open
        What *Open* does with a couple id (default: show that couple's session workbook
        below the table).
    today, call_later
        For the session workbook opened (see :class:`~.session_ui.SessionWorkbook`).
    """

    def __init__(
        self,
        store: Store,
        as_of: Any = None,
        on_open: Callable[[str], None] | None = None,
        today: dt.date | None = None,
        call_later: CallLater | None = None,
    ):
        from .caseload_table import caseload

        self.store = store
        self.today = today
        self.call_later = call_later
        self.on_open = on_open or self._open_here
        self.workbook: SessionWorkbook | None = None
        self.message = ""
        self.frame = caseload(store, as_of, today=today)
        store.record_access("caseload", None, f"{len(self.frame)} couple(s)")
        domains = [DOMAIN_LABELS[d] for d in SHARE_DOMAINS]
        columns = [*FIXED_COLUMNS, *((d, DOMAIN_WIDTH) for d in domains), *TAIL_COLUMNS]
        widths = [w for _, w in columns]
        header = widgets.HTML(
            fragment(TEMPLATE, "caseload_header", [t for t, _ in columns], widths)
        )
        pad = widgets.HTML(layout=widgets.Layout(width=OPEN_WIDTH, min_width=OPEN_WIDTH))
        rows: list[widgets.Widget] = [widgets.HBox([pad, header], layout=_row_layout())]
        self.open_buttons: dict[str, widgets.Button] = {}
        for r in self.frame.to_dict("records"):
            r["statuses"] = [r[d] for d in SHARE_DOMAINS]
            button = widgets.Button(
                description=f"Open {r['couple_id']}",
                tooltip=f"Open the session workbook of {r['couple_id']}",
                layout=widgets.Layout(width=OPEN_WIDTH, min_width=OPEN_WIDTH),
            )
            button.on_click(self._open_callback(str(r["couple_id"])))
            self.open_buttons[str(r["couple_id"])] = button
            cells = widgets.HTML(fragment(TEMPLATE, "caseload_row", r, widths))
            rows.append(widgets.HBox([button, cells], layout=_row_layout()))
        # One scrolling region for the whole table (its rows hold the focusable Open
        # buttons, so a keyboard reaches and scrolls it), never one per row.
        self.table = CaseloadTable(rows, layout=widgets.Layout(overflow="auto"))
        self.table.add_class("mutuality-caseload-table")
        self.feedback = widgets.Output()
        self.feedback.add_class("mutuality-feedback")
        self.workbook_area = widgets.VBox()
        self.workbook_area.add_class("mutuality-caseload-workbook")
        if self.frame.empty:
            children: list[widgets.Widget] = [widgets.HTML("<p>No couples yet.</p>")]
        else:
            # No chart above the table: its rows carry each status with its colour, and
            # drawing a chart would load Altair and start vl-convert (seconds at Run All).
            children = [
                self.table,
                self.feedback,
                self.workbook_area,
            ]
        self.widget = widgets.VBox(children)
        self.widget.add_class("mutuality-caseload")

    @classmethod
    def open(cls, week: Any = None, data_dir: Any = None) -> CaseloadView | widgets.HTML | HTML:
        """What the notebook shows: the caseload, a message saying what is wrong, or (under
        Voila) a refusal."""
        refused = refusal("The caseload")
        if refused is not None:
            return refused
        try:
            as_of = None if week in (None, "") else parse_date(week, "week")
            return cls(open_store(data_dir), as_of)
        except MutualityError as exc:
            return notice(f"The caseload cannot be shown: {exc}")

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def _say(self, message: str, ok: bool = False) -> None:
        self.message = message
        show_message(self.feedback, message, ok)

    def _open_callback(self, couple_id: str) -> Callable[[Any], None]:
        def clicked(button: Any = None) -> None:
            self.on_open(couple_id)

        return clicked

    def _open_here(self, couple_id: str) -> None:
        """Show the couple's session workbook below the table (or switch it to them)."""

        def show() -> str:
            if self.workbook is None:
                self.workbook = SessionWorkbook(
                    self.store, couple_id, today=self.today, call_later=self.call_later
                )
                self.workbook_area.children = [
                    widgets.HTML("<h3>Session workbook</h3>"),
                    self.workbook.widget,
                ]
            else:
                self.workbook.couple.value = couple_id
            return f"The session workbook below shows couple {couple_id}."

        attempt(self._say, f"Couple {couple_id} cannot be opened", show)
