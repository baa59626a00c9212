"""Mutuality Workbook helpers: store, judgement, charts, forms and reports.

Notebooks import from here; all logic lives in this package.
"""

from __future__ import annotations

from .analysis import Thresholds, weekly_shares

# Aliased: the submodule mutuality_helpers.backup must stay reachable under its name.
from .backup import backup as backup_store
from .backup import list_backups
from .backup import restore as restore_backup
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
from .instruments import DOMAINS, SHARE_DOMAINS, get_instrument, instruments, load_instrument
from .interchange import export_couple, import_files, parse_csv
from .render import render_report, render_reports
from .report import ReportRequest, validate_request
from .serve import parse_link_query, partner_link
from .session_ui import CaseloadView, SessionWorkbook
from .store import Store, make_answer, make_season
from .summary import caseload, summarize
from .worksheets import write_worksheet

__version__ = __import__("importlib.metadata").metadata.version("mutuality-workbook")

# charts is not imported here: Altair's import is slow, and only notebooks and reports draw.
__all__ = [
    "backup_store",
    "erase_couple",
    "list_backups",
    "restore_backup",
    "Thresholds",
    "caseload",
    "summarize",
    "weekly_shares",
    "DOMAINS",
    "SHARE_DOMAINS",
    "ImportRejected",
    "InstrumentError",
    "MutualityError",
    "ParameterError",
    "ReportError",
    "Store",
    "StoreError",
    "UnknownCouple",
    "UnknownSession",
    "ValidationError",
    "export_couple",
    "get_instrument",
    "import_files",
    "instruments",
    "load_instrument",
    "make_answer",
    "make_season",
    "parse_csv",
    "InstrumentForm",
    "checkin_form",
    "inventory_form",
    "notebook_form",
    "parse_link_query",
    "partner_link",
    "CaseloadView",
    "SessionWorkbook",
    "write_worksheet",
    "ReportRequest",
    "render_report",
    "render_reports",
    "validate_request",
]
