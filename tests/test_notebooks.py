"""nbval over every notebook, in a real kernel, against a temporary store holding the demo couples.

The notebooks are committed without outputs, so nbval runs each cell as a smoke
test: any exception fails. The personalised worksheets that ``mutuality
worksheet`` writes are run the same way, so the forms are built from injected
parameters in a real kernel too. One nbval run covers them all (importing nbval
alone costs seconds); each notebook's result is then checked on its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from mutuality_helpers import config
from mutuality_helpers.store import Store
from mutuality_helpers.worksheets import write_worksheet

pytestmark = pytest.mark.slow

NOTEBOOKS = sorted(config.NOTEBOOKS_DIR.glob("*.ipynb"))
#: Templates that only make sense for a given couple get demo parameters injected (papermill).
DEMO_PARAMETERS = {"session_report": {"couple_id": "D004", "session": 1}}
WORKSHEETS = ("weekly_checkin", "mutuality_inventory")
CELL_LINE = re.compile(r"^(?P<path>\S+)::ipynb::Cell \d+ (?P<status>[A-Z]+)")


def with_parameters(notebook: Path, folder: Path) -> Path:
    """The notebook itself, or a copy with papermill parameters injected for a template."""
    params = DEMO_PARAMETERS.get(notebook.stem)
    if params is None:
        return notebook
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook

    nb = parameterize_notebook(load_notebook_node(str(notebook)), params)
    target = folder / notebook.name
    nbformat.write(nb, target)
    return target


@pytest.fixture(scope="module")
def nbval_results(_demo_template, tmp_path_factory) -> dict[str, dict]:
    """Run nbval once over every notebook; per notebook: cells run, failed cells, the log."""
    work = tmp_path_factory.mktemp("nbval")
    data = work / "data"
    shutil.copytree(_demo_template, data)
    sources = {nb.stem: with_parameters(nb, work) for nb in NOTEBOOKS}
    with Store(data) as s:
        for instrument in WORKSHEETS:
            sources[f"worksheet-{instrument}"] = write_worksheet(s, "D001", "B", None, instrument)
    # Copies named by key, under the run's rootdir, so nbval's node ids name them plainly.
    folder = work / "run"
    folder.mkdir()
    targets = {}
    for name, path in sources.items():
        targets[name] = folder / f"{name}.ipynb"
        shutil.copyfile(path, targets[name])
    env = {k: v for k, v in os.environ.items() if k != "QUERY_STRING"}
    env[config.DATA_ENV] = str(data)  # the kernels inherit it from pytest
    env["JUPYTER_RUNTIME_DIR"] = str(work / "runtime")
    command = [
        sys.executable, "-m", "pytest", "--nbval", "--nbval-current-env", "-v", "--tb=short",
        "-p", "no:cacheprovider", "-o", "addopts=", "--rootdir", str(work),
        *map(str, targets.values()),
    ]  # fmt: skip
    run = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, timeout=600)
    # nbval reports each cell as "<path relative to cwd, '.' before ipynb as '::'>::Cell N STATUS".
    by_file: dict[str, dict] = {name: {"cells": 0, "failed": []} for name in targets}
    for line in run.stdout.splitlines():
        match = CELL_LINE.match(line)
        if match is None:
            continue
        name = match["path"].removeprefix("run/")
        assert name in by_file, f"unexpected nbval line: {line}"
        by_file[name]["cells"] += 1
        if match["status"] != "PASSED":
            by_file[name]["failed"].append(line)
    for name in by_file:
        by_file[name]["log"] = run.stdout[-4000:] + run.stderr[-1000:]
    return by_file


def test_every_notebook_is_covered():
    names = {p.name for p in NOTEBOOKS}
    assert {
        "weekly_checkin.ipynb",
        "mutuality_inventory.ipynb",
        "session_workbook.ipynb",
        "caseload.ipynb",
    } <= names


@pytest.mark.parametrize(
    "name",
    [p.stem for p in NOTEBOOKS] + [f"worksheet-{i}" for i in WORKSHEETS],
)
def test_notebook_runs(nbval_results, name):
    result = nbval_results[name]
    code_cells = result["cells"]
    assert code_cells >= 2, f"{name}: nbval ran {code_cells} cell(s)"
    assert result["failed"] == [], result["log"]


# -- the notebooks as they are: parameters, plain nbval ------------------------------------------


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_has_a_type_and_a_help_text(notebook):
    import papermill

    params = papermill.inspect_notebook(str(notebook))
    assert params, f"{notebook.name} has no parameters"
    for name, p in params.items():
        assert p["inferred_type_name"] not in ("None", ""), f"{notebook.name}: {name} has no type"
        assert p["help"].strip(), f"{notebook.name}: {name} has no help"


def test_report_parameter_types_match_what_validation_expects():
    import dataclasses

    import papermill

    from mutuality_helpers.analysis import Thresholds
    from mutuality_helpers.report import PARAMETERS

    params = papermill.inspect_notebook(str(config.NOTEBOOKS_DIR / "session_report.ipynb"))
    assert list(params) == list(PARAMETERS)
    for field in dataclasses.fields(Thresholds):
        assert params[field.name]["inferred_type_name"] == field.type, field.name
    assert params["include_reflections"]["inferred_type_name"] == "bool"
    assert params["session"]["inferred_type_name"] == "Optional[int]"


def test_papermill_help_notebook_shows_no_unknown_type():
    done = subprocess.run(
        [sys.executable, "-m", "papermill", "--help-notebook",
         str(config.NOTEBOOKS_DIR / "session_report.ipynb")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Unknown type" not in done.stdout
    assert "include_reflections: bool (default False)" in done.stdout


def test_plain_nbval_lax_over_the_notebooks_folder_passes(_demo_template, tmp_path):
    # As a developer would type it, in the checkout, with a store holding every demo couple.
    data = tmp_path / "data"
    shutil.copytree(_demo_template, data)
    env = {k: v for k, v in os.environ.items() if k != "QUERY_STRING"}
    env[config.DATA_ENV] = str(data)
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    root = config.NOTEBOOKS_DIR.parent
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "notebooks/"],
        cwd=root, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    summary = run.stdout.strip().splitlines()[-1]
    assert run.returncode == 0, run.stdout[-4000:]
    cells = sum(
        1 for nb in NOTEBOOKS for c in nbformat.read(nb, as_version=4).cells
        if c.cell_type == "code"
    )  # fmt: skip
    assert re.search(rf"\b{cells} passed\b", summary) and "failed" not in summary, summary
