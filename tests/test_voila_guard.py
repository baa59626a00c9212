"""Therapist notebooks show no client data under Voila; a bare `voila notebooks/` proves it."""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.request

import pytest
from servers import free_port, stop, wait_for_http

from mutuality_helpers import config
from mutuality_helpers.caseload_ui import CaseloadView
from mutuality_helpers.report import prepare
from mutuality_helpers.sections import ReportNotice
from mutuality_helpers.session_ui import SessionWorkbook
from mutuality_helpers.voila_guard import refusal, under_voila

THERAPIST_NOTEBOOKS = ("session_workbook", "caseload", "session_report")
REFUSAL = "holds client data and opens only in the therapist"
#: Display names of the demo couples (data/demo/couples.csv): none may reach a page.
DEMO_NAMES = ("Sam", "Alex", "Priya", "Jordan", "Casey", "Morgan", "Riley", "Dana")


@pytest.mark.parametrize(
    "environ",
    [
        {"VOILA_PREHEAT": "False", "VOILA_BASE_URL": "/"},  # a kernel started on request
        {"VOILA_PREHEAT": "True"},  # a pre-heated kernel, before its request arrives
        {"VOILA_APP_PORT": "8866"},
        {"SERVER_SOFTWARE": "voila/0.5.13"},
    ],
)
def test_a_voila_kernel_is_recognised(environ):
    assert under_voila({"PATH": "/usr/bin", **environ})


@pytest.mark.parametrize(
    "environ",
    [{}, {"PATH": "/usr/bin", "JPY_SESSION_NAME": "x.ipynb"}, {"SERVER_SOFTWARE": "nginx/1.25"}],
)
def test_other_kernels_are_not_voila(environ):
    assert not under_voila(environ)


def test_outside_voila_the_notebooks_open_as_before(demo_data_dir, monkeypatch):
    for name in ("VOILA_PREHEAT", "VOILA_BASE_URL", "VOILA_SERVER_URL", "VOILA_APP_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("SERVER_SOFTWARE", raising=False)
    assert refusal("The caseload") is None
    assert isinstance(CaseloadView.open(None, str(demo_data_dir)), CaseloadView)
    assert isinstance(SessionWorkbook.open("D001", None, str(demo_data_dir)), SessionWorkbook)


def test_under_voila_each_therapist_notebook_refuses_before_opening_the_store(
    demo_data_dir, monkeypatch
):
    monkeypatch.setenv("VOILA_PREHEAT", "False")
    shown = [
        SessionWorkbook.open("D001", None, str(demo_data_dir)),
        CaseloadView.open(None, str(demo_data_dir)),
    ]
    for output in shown:
        html = output._repr_html_()
        assert REFUSAL in html.replace("&#x27;", "'")
        assert not any(name in html for name in DEMO_NAMES)
    report = prepare(couple_id="D004", session=2, data_dir=str(demo_data_dir))
    assert isinstance(report, ReportNotice)
    assert REFUSAL in report.header().data.replace("&#x27;", "'")
    assert report.charts() is None and report.reflections() is None


def test_the_report_template_opened_as_it_is_says_how_to_render(monkeypatch):
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    from mutuality_helpers.report import PARAMETERS

    report = prepare(**PARAMETERS)
    assert isinstance(report, ReportNotice)
    assert "mutuality report COUPLE --session N" in report.header().data
    # A request that names anything is validated as before.
    from mutuality_helpers.exceptions import ParameterError

    with pytest.raises(ParameterError, match="couple_id is required"):
        prepare(**{**PARAMETERS, "session": 1})


@pytest.mark.slow
def test_bare_voila_over_the_notebooks_folder_shows_no_client_data(demo_data_dir, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "QUERY_STRING"}
    env |= {config.DATA_ENV: str(demo_data_dir), "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    log = tmp_path / "voila.log"
    # What someone might type in the checkout: every notebook served, no token asked.
    command = [sys.executable, "-m", "voila", "notebooks/", "--no-browser", f"--port={port}",
               "--Voila.ip=127.0.0.1", "--Voila.port_retries=0"]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command, cwd=config.NOTEBOOKS_DIR.parent, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            base = f"http://127.0.0.1:{port}/voila/render"
            wait_for_http(f"http://127.0.0.1:{port}/", proc, log)
            for name in THERAPIST_NOTEBOOKS:
                with urllib.request.urlopen(f"{base}/{name}.ipynb", timeout=120) as response:
                    page = response.read().decode()
                assert response.status == 200, name
                assert REFUSAL in page, f"{name}: no refusal on the page"
                assert "widget-view+json" not in page, f"{name}: a widget (with data) was shown"
                assert not any(n in page for n in DEMO_NAMES), f"{name}: a couple's name leaked"
            # The worksheets still answer (they ask for a signed link, and show no data).
            with urllib.request.urlopen(f"{base}/weekly_checkin.ipynb", timeout=120) as response:
                assert response.status == 200 and REFUSAL not in response.read().decode()
        finally:
            stop(proc)
