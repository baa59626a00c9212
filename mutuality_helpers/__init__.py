"""Mutuality Workbook helpers: store, judgement, charts, forms and reports.

Notebooks import from here; all logic lives in this package. The names below are loaded
when first used (PEP 562), so ``import mutuality_helpers`` and the ``mutuality`` command
start fast: pandas, SQLAlchemy, ipywidgets and Altair load only for what needs them.
"""

from __future__ import annotations

import sys
from importlib import import_module
from typing import TYPE_CHECKING, Any

# Altair imports jsonschema, whose format checkers import ``rfc3987_syntax`` when it is
# installed (Jupyter's event schemas pull it in): it compiles some forty Lark grammars on
# import, seconds before a notebook can draw its first chart, for an "iri" format check
# no chart and no form of ours uses. jsonschema skips that one check when the import
# fails; a process that has imported it already keeps it.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

__version__ = __import__("importlib.metadata").metadata.version("mutuality-workbook")

#: Public name -> (module, name in that module).
_EXPORTS: dict[str, tuple[str, str]] = {
    "Thresholds": ("analysis", "Thresholds"),
    "weekly_shares": ("analysis", "weekly_shares"),
    "backup_store": ("backup", "backup"),
    "list_backups": ("backup", "list_backups"),
    "restore_backup": ("backup", "restore"),
    "erase_couple": ("erase", "erase_couple"),
    "ImportRejected": ("exceptions", "ImportRejected"),
    "InstrumentError": ("exceptions", "InstrumentError"),
    "MutualityError": ("exceptions", "MutualityError"),
    "ParameterError": ("exceptions", "ParameterError"),
    "ReportError": ("exceptions", "ReportError"),
    "StoreError": ("exceptions", "StoreError"),
    "UnknownCouple": ("exceptions", "UnknownCouple"),
    "UnknownSession": ("exceptions", "UnknownSession"),
    "ValidationError": ("exceptions", "ValidationError"),
    "InstrumentForm": ("forms", "InstrumentForm"),
    "checkin_form": ("forms", "checkin_form"),
    "inventory_form": ("forms", "inventory_form"),
    "notebook_form": ("forms", "notebook_form"),
    "DOMAINS": ("instruments", "DOMAINS"),
    "SHARE_DOMAINS": ("instruments", "SHARE_DOMAINS"),
    "get_instrument": ("instruments", "get_instrument"),
    "load_instrument": ("instruments", "load_instrument"),
    "export_couple": ("interchange", "export_couple"),
    "import_files": ("interchange", "import_files"),
    "parse_csv": ("interchange", "parse_csv"),
    "parse_link_query": ("links", "parse_link_query"),
    "partner_link": ("links", "partner_link"),
    "make_answer": ("models", "make_answer"),
    "make_season": ("models", "make_season"),
    "render_report": ("render", "render_report"),
    "render_reports": ("batch", "render_reports"),
    "ReportRequest": ("report", "ReportRequest"),
    "validate_request": ("report", "validate_request"),
    "CaseloadView": ("caseload_ui", "CaseloadView"),
    "SessionWorkbook": ("session_ui", "SessionWorkbook"),
    "Store": ("store", "Store"),
    "Summary": ("summary", "Summary"),
    "caseload": ("caseload_table", "caseload"),
    "summarize": ("summary", "summarize"),
    "write_worksheet": ("worksheets", "write_worksheet"),
    "judged_week": ("weeks", "judged_week"),
    "today": ("weeks", "today"),
    "needing_action": ("alert_record", "needing_action"),
    "urgent_help": ("practice", "urgent_help"),
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    """Load a public name from its module on first use (PEP 562)."""
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(f".{module}", __name__), attribute)
    globals()[name] = value  # next time, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what type checkers and editors see
    from .alert_record import needing_action
    from .analysis import Thresholds, weekly_shares
    from .backup import backup as backup_store
    from .backup import list_backups
    from .backup import restore as restore_backup
    from .batch import render_reports
    from .caseload_table import caseload
    from .caseload_ui import CaseloadView
    from .erase import erase_couple
    from .exceptions import (
        ImportRejected,
        InstrumentError,
        MutualityError,
        ParameterError,
        ReportError,
        StoreError,
        UnknownCouple,
        UnknownSession,
        ValidationError,
    )
    from .forms import InstrumentForm, checkin_form, inventory_form, notebook_form
    from .instruments import DOMAINS, SHARE_DOMAINS, get_instrument, load_instrument
    from .interchange import export_couple, import_files, parse_csv
    from .links import parse_link_query, partner_link
    from .models import make_answer, make_season
    from .practice import urgent_help
    from .render import render_report
    from .report import ReportRequest, validate_request
    from .session_ui import SessionWorkbook
    from .store import Store
    from .summary import Summary, summarize
    from .weeks import judged_week, today
    from .worksheets import write_worksheet
