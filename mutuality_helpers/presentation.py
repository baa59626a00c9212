"""The presentation layer: every piece of HTML the package shows, and the summary as text.

HTML comes only from the Jinja2 templates in ``templates/html/`` (``report.html.j2`` for
the PDF report's sections, ``workbook.html.j2`` for the therapist's widgets,
``forms.html.j2`` for the worksheet forms), rendered with **autoescape on**: whatever a
person typed (names, notes, agreements, reflections, an instrument's wording) reaches the
page as text, never as markup, without any escaping by hand. The filters the templates use
are the formatting functions of :mod:`~mutuality_helpers.formatting`.

One view of a summary serves all three renderings (the ``mutuality summary`` table, the
session workbook, the PDF report): :func:`domain_rows`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import jinja2

from . import config, formatting
from .instruments import DOMAIN_LABELS, SHARE_DOMAINS

if TYPE_CHECKING:
    from .summary import DomainChange, Summary

HTML_TEMPLATES = config.TEMPLATES_DIR / "html"

FILTERS = {
    "iso_day": formatting.iso_day,
    "long_day": formatting.long_day,
    "long_time": formatting.long_time,
    "number": formatting.number,
    "percent": formatting.percent,
    "signed": formatting.signed,
    "status_label": formatting.status_label,
    "status_colour": formatting.status_colour,
    "reason_label": formatting.reason_label,
    "day_name": formatting.day_name,
}


@lru_cache(maxsize=1)
def environment() -> jinja2.Environment:
    """The one Jinja2 environment: autoescape on, undefined names an error, our filters."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(HTML_TEMPLATES)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )
    env.filters.update(FILTERS)
    env.globals["domain_labels"] = DOMAIN_LABELS
    return env


def fragment(template: str, macro: str, /, *args: Any, **kwargs: Any) -> str:
    """One macro of an HTML template, rendered (e.g. ``fragment("forms.html.j2", "notice", m)``)."""
    module = environment().get_template(template).module
    return str(getattr(module, macro)(*args, **kwargs))


# -- one view of a summary --------------------------------------------------------------------


@dataclass(frozen=True)
class DomainRow:
    """One share domain of a summary as people read it (names and labels resolved)."""

    domain: str
    label: str
    status: str
    carrier: str | None  # the display name of who carried more, or None
    share_a: float | None
    gap: float | None
    change: DomainChange | None  # since the previous session, when there is one


def domain_rows(summary: Summary) -> list[DomainRow]:
    """The share domains of ``summary``, in report order."""
    names = summary["names"]
    change = summary.get("change_since_last_session")
    rows = []
    for domain in SHARE_DOMAINS:
        d = summary["domains"][domain]
        carrier = d["carried_by"]
        rows.append(
            DomainRow(
                domain=domain,
                label=DOMAIN_LABELS[domain],
                status=d["status"],
                carrier=formatting.partner_name(names, carrier) if carrier else None,
                share_a=d["share_a"],
                gap=d["perception_gap"],
                change=None if change is None else change["domains"][domain],
            )
        )
    return rows


def summary_text(summary: Summary) -> str:
    """A summary as the plain-text table ``mutuality summary`` prints."""
    names = summary["names"]
    a, b = names["A"], names["B"]
    lines = [
        f"{summary['couple_id']} ({a} & {b}): as of the week of {summary['as_of']}, "
        f"window of {summary['window_weeks']} weeks from {summary['window_start']}",
    ]
    # The private safety alerts first: this text is for the therapist alone.
    for u in summary.get("urgent", []):
        lines.append(f"URGENT #{u['alert_id']} ({u['state']}): {u['message']}")
    lines += [
        f"mutuality index: {formatting.number(summary['mutuality_index'], 1)} / 100",
        "",
        f"{'domain':<24} {'status':<19} {'carried by':<12} {a + ' share':>12} "
        f"{'perception gap':>15}",
    ]
    for row in domain_rows(summary):
        gap = formatting.MISSING if row.gap is None else f"{row.gap:+.1f}"
        lines.append(
            f"{row.label:<24} {formatting.status_label(row.status):<19} "
            f"{row.carrier or formatting.MISSING:<12} {formatting.percent(row.share_a):>12} "
            f"{gap:>15}"
        )
    pw = summary["personal_work"]
    shown = ", ".join(f"{names[p]} {formatting.number(pw[p]['score'], 1)}" for p in ("A", "B"))
    lines += ["", f"personal work (0-4, self and partner's view): {shown}"]
    change = summary["change_since_last_session"]
    if change and change["mutuality_index_change"] is not None:
        lines.append(
            f"since session {change['session']} ({change['date']}): index "
            f"{change['mutuality_index_change']:+.1f}"
        )
    for p in ("A", "B"):
        inv = summary["inventory"].get(p)
        if inv:
            lines.append(
                f"inventory {names[p]}: {formatting.number(inv['score'])}/100 ({inv['week']}); "
                f"{inv['label']}"
            )
    alerts = summary["alerts"]
    lines += ["", f"alerts: {len(alerts) or 'none'}"]
    lines += [
        f"  - {alert['message']}"
        + (f" [{alert['state']}]" if alert.get("state", "new") != "new" else "")
        for alert in alerts
    ]
    return "\n".join(lines)
