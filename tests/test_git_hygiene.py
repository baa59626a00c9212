"""No client data in git: notebooks are committed clean, the data folder is ignored but demo/.

The notebooks checked are the ones in git's index (what a commit would hold), not
the working copies someone may be running right now.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(
    shutil.which("git") is None or not (ROOT / ".git").exists(), reason="needs a git checkout"
)


def git(*args: str, cwd: Path = ROOT, check: bool = True) -> subprocess.CompletedProcess:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid"}
    env |= {"GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    return subprocess.run(
        ["git", *args], cwd=cwd, capture_output=True, text=True, check=check, env=env
    )


def notebook_problems(text: str) -> list[str]:
    """What in a notebook's JSON could carry client data into git (empty when it is clean)."""
    nb = json.loads(text)
    problems = []
    if "widgets" in nb.get("metadata", {}):
        problems.append("saved widget state in the notebook metadata")
    for n, cell in enumerate(nb.get("cells", []), start=1):
        if cell.get("cell_type") != "code":
            continue
        if cell.get("outputs"):
            problems.append(f"cell {n} has outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"cell {n} has an execution count")
    return problems


def _notebook(outputs: list | None = None, count: int | None = None, widgets: bool = False):
    cell = {
        "cell_type": "code",
        "execution_count": count,
        "id": "c1",
        "metadata": {},
        "outputs": outputs or [],
        "source": "store.answers('C001')",
    }
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    if widgets:
        meta["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return {"cells": [cell], "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


OUTPUT = {"output_type": "stream", "name": "stdout", "text": "C001 reflection: we argued"}


@pytest.mark.parametrize(
    "nb, expected",
    [
        (_notebook(), []),
        (_notebook(outputs=[OUTPUT]), ["cell 1 has outputs"]),
        (_notebook(count=3), ["cell 1 has an execution count"]),
        (_notebook(widgets=True), ["saved widget state in the notebook metadata"]),
    ],
    ids=["clean", "outputs", "execution count", "widget state"],
)
def test_the_notebook_check_sees_outputs_counts_and_widget_state(nb: dict, expected: list[str]):
    assert notebook_problems(json.dumps(nb)) == expected


def test_committed_notebooks_carry_no_outputs_or_execution_counts() -> None:
    paths = git("ls-files", "-z", "*.ipynb").stdout.split("\0")
    paths = [p for p in paths if p]
    assert paths, "no notebooks are committed?"
    found = {}
    for path in paths:
        problems = notebook_problems(git("show", f":{path}").stdout)
        if problems:
            found[path] = problems
    assert not found, f"committed notebooks carry outputs (run `make hooks`, then re-add): {found}"


def test_gitattributes_routes_notebooks_through_nbstripout() -> None:
    attributes = git("check-attr", "filter", "diff", "--", "notebooks/x.ipynb").stdout
    assert "filter: nbstripout" in attributes
    assert "diff: ipynb" in attributes


def _hooks_recipe() -> list[str]:
    """The commands of the Makefile's ``hooks`` target, with ``$(BIN)`` filled in."""
    lines = (ROOT / "Makefile").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if re.match(r"^hooks:", line))
    recipe = []
    for line in lines[start + 1 :]:
        if not line.startswith("\t"):
            break
        command = line.strip().lstrip("@").replace("$(BIN)", str(BIN))
        if not command.startswith("echo"):
            recipe.append(command)
    return recipe


def test_make_hooks_makes_git_strip_a_notebook_on_add(tmp_path: Path) -> None:
    """In a scratch repository: `make hooks`' commands, then `git add` of a run notebook."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    shutil.copy(ROOT / ".gitattributes", repo / ".gitattributes")
    before = (repo / ".gitattributes").read_text()
    for command in _hooks_recipe():
        subprocess.run(command, shell=True, cwd=repo, check=True, capture_output=True)
    assert (repo / ".gitattributes").read_text() == before  # already complete: left as is
    run = _notebook(outputs=[OUTPUT], count=7, widgets=True)
    (repo / "session.ipynb").write_text(json.dumps(run))
    git("add", "session.ipynb", cwd=repo)
    git("commit", "-q", "-m", "notebook", cwd=repo)
    committed = git("show", "HEAD:session.ipynb", cwd=repo).stdout
    assert notebook_problems(committed) == []
    assert "we argued" not in committed
    # The working copy keeps its outputs: only what goes into git is stripped.
    assert notebook_problems((repo / "session.ipynb").read_text()) != []


IGNORED = [
    "data/workbook.sqlite",
    "data/workbook.sqlite-wal",
    "data/workbook.sqlite-shm",
    "data/backups/workbook-20261128T083628.637229Z.sqlite",
    "data/reports/C001/session-1.pdf",
    "data/worksheets/C001-A-weekly_checkin-2026-09-07.ipynb",
    "data/exports/C001.csv",
    "data/anything-else.csv",
]
KEPT = ["data/demo/answers.csv", "data/demo/couples.csv", "data/README.md"]


@pytest.mark.parametrize("path", IGNORED)
def test_client_data_in_the_data_folder_is_ignored(path: str) -> None:
    assert git("check-ignore", "--no-index", "-q", path, check=False).returncode == 0


@pytest.mark.parametrize("path", KEPT)
def test_the_synthetic_demo_set_is_not_ignored(path: str) -> None:
    assert git("check-ignore", "--no-index", "-q", path, check=False).returncode == 1


def test_nothing_but_the_demo_set_is_tracked_in_the_data_folder() -> None:
    tracked = [p for p in git("ls-files", "-z", "data").stdout.split("\0") if p]
    assert tracked, "the demo set should be committed"
    strays = [p for p in tracked if not (p.startswith("data/demo/") or p == "data/README.md")]
    assert strays == []


def test_no_file_points_to_a_design_document_outside_the_repository() -> None:
    # The project stands on its own: its rules live in docs/ (docs/method.md), not elsewhere.
    needle = "DESIGN" + ".md"  # split, so that this file does not name it either
    tracked = git("ls-files", "-z").stdout.split("\0")
    offenders = [
        name
        for name in tracked
        if name
        and (ROOT / name).is_file()
        and needle in (ROOT / name).read_text("utf-8", "replace")
    ]
    assert offenders == []
