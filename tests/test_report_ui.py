"""The session workbook's "PDF report" button, headless, printing real PDFs (in-process).

The same button through the warm report worker: tests/test_render_worker.py.
"""

from __future__ import annotations

import datetime as dt
import re
import stat

import pytest
from conftest import pdf_text
from pypdf import PdfReader

from mutuality_helpers import config
from mutuality_helpers.report_ui import LABEL
from mutuality_helpers.session_ui import LATEST, SessionWorkbook

pytestmark = pytest.mark.slow

TODAY = dt.date(2026, 11, 28)
KNOWN_REFLECTION = "keeping the peace"


def flat_pdf_text(path) -> str:
    return re.sub(r"\s+", " ", pdf_text(path))


@pytest.fixture
def workbook(demo_store):
    return SessionWorkbook(demo_store, "D004", today=TODAY)


def _feedback(workbook) -> str:
    return workbook.message


def test_a_report_needs_a_session(workbook):
    button = workbook.report_button.button
    assert workbook.session_number is not None and not button.disabled
    workbook.session.value = LATEST
    assert button.disabled and "Choose a session" in button.tooltip
    workbook.report_button._on_click()
    assert "Choose a session first" in _feedback(workbook)


def test_the_button_prints_the_chosen_session_and_reflections_only_when_ticked(
    workbook, demo_store
):
    data = demo_store.data_dir
    session = int(demo_store.sessions("D004")["number"].max())  # its window has a reflection
    workbook.session.value = session
    ui = workbook.report_button

    ui.button.click()
    path = config.report_path("D004", session, data)
    assert _feedback(workbook) == f"Report printed: {path}"
    assert ui.button.description == LABEL and not ui.button.disabled
    assert stat.S_IMODE(path.stat().st_mode) == config.PRIVATE_FILE_MODE
    text = flat_pdf_text(path)
    assert f"Session report: D004, session {session}" in text
    assert KNOWN_REFLECTION not in text and "Reflections" not in text
    # The report is current now: mutuality report --all has nothing left to do for it.
    assert ("D004", session) not in demo_store.due_sessions(["D004"])

    ui.include_reflections.value = True
    ui.paper.value = "Letter"
    ui.button.click()
    with_reflections = flat_pdf_text(path)
    assert KNOWN_REFLECTION in with_reflections
    width, height = (float(v) for v in PdfReader(path).pages[0].mediabox[2:])
    assert (round(width), round(height)) == (612, 792)  # US Letter, in points
    assert ui.include_reflections.value is False  # asked for again for every report


def test_a_report_that_cannot_be_printed_says_why_in_one_line_and_writes_nothing(
    workbook, demo_store
):
    data = demo_store.data_dir
    session = int(demo_store.sessions("D004")["number"].max())
    workbook.session.value = session
    demo_store.delete_session("D004", session)  # deleted in another window meanwhile
    workbook.report_button.button.click()
    message = _feedback(workbook)
    assert message.startswith("No report printed: ") and "\n" not in message
    assert f"session {session}" in message
    assert not config.report_path("D004", session, data).exists()
