"""The caseload view: every couple at a glance, the most worrying first.

What ``notebooks/caseload.ipynb`` shows: the caseload chart and a table (escaped, from
``templates/html/workbook.html.j2``), judged by :func:`~mutuality_helpers.caseload_table.caseload`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

from .exceptions import MutualityError
from .feedback import notice
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS
from .presentation import fragment
from .session_ui import TEMPLATE, open_store, svg_widget
from .store import Store
from .validation import parse_date
from .voila_guard import refusal

if TYPE_CHECKING:
    from IPython.display import HTML


class CaseloadView:
    """Every couple at a glance, worst first: a table and the caseload chart."""

    def __init__(self, store: Store, as_of: Any = None):
        from .caseload_table import caseload
        from .charts import caseload_chart

        self.store = store
        self.frame = caseload(store, as_of)
        store.record_access("caseload", None, f"{len(self.frame)} couple(s)")
        rows = [
            {**r, "statuses": [r[d] for d in SHARE_DOMAINS]} for r in self.frame.to_dict("records")
        ]
        domains = [DOMAIN_LABELS[d] for d in SHARE_DOMAINS]
        self.table = widgets.HTML(fragment(TEMPLATE, "caseload", rows, domains))
        children: list[widgets.Widget] = [self.table]
        if not self.frame.empty:
            children.insert(0, svg_widget(caseload_chart(self.frame), "mutuality-caseload-chart"))
        else:
            children = [widgets.HTML("<p>No couples yet.</p>")]
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
