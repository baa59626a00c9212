from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name_and_bound(spec: str) -> tuple[str, str]:
    match = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s*(.*?)\s*$", spec)
    assert match, spec
    return match.group(1).lower().replace("_", "-"), match.group(2).replace(" ", "")


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = project["dependencies"] + project["optional-dependencies"]["test"]
    env = yaml.safe_load((ROOT / "environment.yml").read_text("utf-8"))
    conda = [d for d in env["dependencies"] if isinstance(d, str)]
    conda = dict(_name_and_bound(d) for d in conda if not d.startswith(("python", "pip")))
    assert conda == dict(_name_and_bound(d) for d in wanted)
    pip = [d for d in env["dependencies"] if isinstance(d, dict)]
    assert pip == [{"pip": ["-e ."]}]


def test_required_top_level_layout():
    for name in ("notebooks", "mutuality_helpers", "data", "tests", "environment.yml", "README.md"):
        assert (ROOT / name).exists(), name


def test_required_stack_is_declared():
    deps = (ROOT / "pyproject.toml").read_text("utf-8")
    for package in ("jupyterlab", "ipywidgets", "pandas", "altair", "papermill", "pytest", "nbval"):
        assert f'"{package}' in deps, package


def test_makefile_documents_its_targets():
    makefile = (ROOT / "Makefile").read_text("utf-8")
    for target in ("help", "demo", "test", "lab"):
        assert re.search(rf"^{target}:.*## ", makefile, re.M), target
    assert ".DEFAULT_GOAL := help" in makefile


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text("utf-8")
    assert "make test" in (ROOT / "README.md").read_text("utf-8")
