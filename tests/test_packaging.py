"""Project files: pyproject, the lock, environment.yml, Binder files, the Makefile, README.

The built wheel itself is tested in ``test_wheel.py``. Conda and Binder cannot run on
this machine (no conda-forge, no Docker): their files are checked here against the rules
the tools apply (repo2docker's own patterns are quoted where used).
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import tomllib
import urllib.request
from pathlib import Path

import pytest
import yaml
from servers import free_port, stop, wait_for_http

import mutuality_helpers

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))
PROJECT = PYPROJECT["project"]
LOCK = tomllib.loads((ROOT / "uv.lock").read_text("utf-8"))
MAKEFILE = (ROOT / "Makefile").read_text("utf-8")
README = (ROOT / "README.md").read_text("utf-8")
#: repo2docker's conda buildpack reads the Python version with this pattern (buildpacks/conda).
REPO2DOCKER_PYTHON = re.compile(r"python\s*=+\s*([\d\.]*)")
#: and accepts an apt.txt line (after '#' comments are cut) when it matches this one.
REPO2DOCKER_APT_NAME = re.compile(r"^[a-z0-9.+-]+")


def _load_conda_env():
    spec = importlib.util.spec_from_file_location("conda_env", ROOT / "tools" / "conda_env.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


conda_env = _load_conda_env()


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirements() -> list[str]:
    return PROJECT["dependencies"] + PROJECT["optional-dependencies"]["test"]


def locked() -> dict[str, str]:
    return {normalise(p["name"]): p["version"] for p in LOCK["package"]}


def environment() -> dict:
    return yaml.safe_load((ROOT / "environment.yml").read_text("utf-8"))


def make(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["make", "--no-print-directory", f"VENV={BIN.parent}", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
    )


# -- layout, license, version ------------------------------------------------------------------


def test_required_top_level_layout():
    for name in ("notebooks", "mutuality_helpers", "data", "tests", "environment.yml", "README.md"):
        assert (ROOT / name).exists(), name


def test_required_stack_is_declared():
    names = {conda_env.requirement_name(r) for r in requirements()}
    for package in ("jupyterlab", "ipywidgets", "pandas", "altair", "papermill", "pytest", "nbval"):
        assert package in names, package


def test_license_is_an_spdx_string_with_its_file():
    assert PROJECT["license"] == "MIT"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text("utf-8")
    assert text.startswith("MIT License") and "WITHOUT WARRANTY OF ANY KIND" in text


def test_one_version_read_from_the_package_metadata():
    from importlib.metadata import version

    assert mutuality_helpers.__version__ == version("mutuality-workbook") == PROJECT["version"]
    # Written once: in pyproject.toml (uv.lock records it too, as the lock of this project).
    pattern = re.compile(rf"""["']{re.escape(PROJECT["version"])}["']""")
    for path in (ROOT / "mutuality_helpers").rglob("*.py"):
        assert not pattern.search(path.read_text("utf-8")), path


# -- dependencies and the lock ----------------------------------------------------------------


@pytest.mark.parametrize("spec", requirements())
def test_every_dependency_is_bounded_above(spec):
    bound = spec.split(";")[0]
    assert "==" in bound or "<" in bound, f"{spec}: no upper bound (the next major may break us)"


def test_the_lock_is_current_and_holds_every_dependency():
    check = subprocess.run(
        [BIN / "uv", "lock", "--check"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr[-2000:]
    versions = locked()
    for spec in requirements():
        assert conda_env.requirement_name(spec) in versions, spec


def test_the_lock_is_for_the_one_python_that_everything_else_names():
    python = conda_env.python_version()
    assert python == "3.11"
    assert f"PYTHON ?= python{python}" in MAKEFILE
    assert f"python_version == '{python}'" in PYPROJECT["tool"]["uv"]["environments"][0]
    assert PROJECT["requires-python"] == f">={python}"
    assert sys.version_info[:2] == tuple(int(p) for p in python.split("."))


def test_the_makefile_bootstraps_the_uv_that_the_lock_pins():
    (pinned,) = re.findall(r"^UV_VERSION := (\S+)$", MAKEFILE, re.M)
    assert pinned == locked()["uv"]


@pytest.mark.parametrize("target", ["test", "demo"])
def test_make_installs_from_the_lock(target):
    # -n: print what would run; -W: as if uv.lock had just changed.
    dry = make("-n", "-W", "uv.lock", target)
    assert dry.returncode == 0, dry.stderr
    commands = dry.stdout.splitlines()
    sync = [c for c in commands if " sync " in c]
    assert sync and "--locked" in sync[0] and "--extra test" in sync[0], dry.stdout
    assert not [c for c in commands if "pip install" in c and "uv==" not in c], dry.stdout
    main = "pytest" if target == "test" else "mutuality demo"
    assert commands.index(sync[0]) < next(i for i, c in enumerate(commands) if main in c)


def test_ci_runs_the_readme_test_command():
    assert "make test" in (ROOT / ".ci" / "run").read_text("utf-8")
    assert "make test" in README


# -- environment.yml (conda, Binder) ----------------------------------------------------------


def test_environment_yml_pins_every_dependency_to_the_lock_through_the_name_map():
    conda = {}
    for dep in environment()["dependencies"]:
        if isinstance(dep, str) and not re.match(r"(python|pip)\b", dep):
            name, version = dep.split("==")
            conda[name] = version
    versions = locked()
    wanted = {}
    for spec in requirements():
        name = conda_env.requirement_name(spec)
        assert name in conda_env.CONDA_NAMES, f"{name}: no conda-forge name in the map"
        wanted[conda_env.CONDA_NAMES[name]] = versions[name]
    assert conda == wanted
    # The renames that a plain copy of the PyPI names would get wrong.
    assert conda_env.CONDA_NAMES["playwright"] == "playwright-python"
    assert conda_env.CONDA_NAMES["nbconvert"] == "nbconvert-core"


def test_environment_yml_is_what_make_lock_writes():
    assert (ROOT / "environment.yml").read_text("utf-8") == conda_env.render()


def test_environment_yml_names_an_exact_python_that_repo2docker_reads():
    env = environment()
    assert env["channels"] == ["conda-forge"]
    found = [REPO2DOCKER_PYTHON.match(d) for d in env["dependencies"] if isinstance(d, str)]
    (version,) = [m.group(1) for m in found if m]
    assert version == conda_env.python_version()  # major.minor: what repo2docker builds from
    assert "python=3.11" in env["dependencies"]


def test_environment_yml_installs_the_checkout_with_pip():
    pip = [d for d in environment()["dependencies"] if isinstance(d, dict)]
    assert pip == [{"pip": ["-e ."]}]


# -- Binder files -----------------------------------------------------------------------------


def test_apt_txt_lists_valid_packages_the_reports_need():
    lines = (ROOT / "apt.txt").read_text("utf-8").splitlines()
    packages = [line.partition("#")[0].strip() for line in lines]
    packages = [p for p in packages if p]
    for package in packages:
        assert REPO2DOCKER_APT_NAME.fullmatch(package), package
    (listed,) = re.findall(r"^SYSTEM_PACKAGES := ((?:.*\\\n)*.*)$", MAKEFILE, re.M)
    # The same Debian names as the Makefile's, less Chromium (a snap stub on Ubuntu).
    assert set(packages) == set(listed.replace("\\", " ").split()) - {"chromium"}
    assert {"libpango-1.0-0", "fonts-dejavu-core"} <= set(packages)


def test_post_build_is_executable_in_git():
    mode = subprocess.run(
        ["git", "ls-files", "-s", "postBuild"], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert mode and mode[0] == "100755", mode
    text = (ROOT / "postBuild").read_text("utf-8")
    assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text


@pytest.mark.slow
def test_post_build_seeds_the_demo_couples_and_renders_a_report(tmp_path):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env["MUTUALITY_DATA"] = str(tmp_path / "data")  # Binder uses the checkout's data/
    done = subprocess.run(
        ["bash", ROOT / "postBuild"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    pdf = Path(done.stdout.strip().splitlines()[-1])
    assert pdf.is_file() and pdf.is_relative_to(tmp_path / "data" / "reports")
    assert (tmp_path / "data" / "workbook.sqlite").is_file()


# -- README -----------------------------------------------------------------------------------


def test_readme_has_the_install_sections_and_a_binder_badge():
    for heading in ("## Install", "### From a checkout", "### With pip", "### With conda",
                    "### On Binder"):  # fmt: skip
        assert re.search(rf"^{re.escape(heading)}", README, re.M), heading
    badge = re.search(
        r"\[!\[Binder\]\(https://mybinder\.org/badge_logo\.svg\)\]"
        r"\((https://mybinder\.org/v2/gh/[\w.-]+/[\w.-]+/HEAD\?urlpath=lab/tree/(\S+?))\)",
        README,
    )
    assert badge, "no Binder badge"
    assert (ROOT / badge.group(2)).is_file(), badge.group(2)
    for command in ("make lock", "conda env create -f environment.yml", "pip install"):
        assert command in README, command


# -- the Makefile -----------------------------------------------------------------------------


def test_makefile_documents_its_targets():
    for target in ("help", "demo", "test", "lab", "lock"):
        assert re.search(rf"^{target}:.*## ", MAKEFILE, re.M), target
    assert ".DEFAULT_GOAL := help" in MAKEFILE


def test_system_deps_names_the_packages_before_installing_them(tmp_path):
    fake = tmp_path / "apt-get"
    log = tmp_path / "apt.log"
    fake.write_text(f'#!/bin/sh\necho "apt-get $*" >> {log}\necho "FAKE-APT $*"\n')
    fake.chmod(0o755)
    done = make("system-deps", "SYSTEM_PACKAGES=mutuality-no-such-package", f"APT_GET={fake}")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    if os.geteuid() != 0:
        assert any(line.startswith("note: missing") for line in lines), lines
        assert not log.exists()
        return
    said = next(i for i, line in enumerate(lines) if "about to install" in line)
    assert "mutuality-no-such-package" in lines[said]
    ran = next(i for i, line in enumerate(lines) if line.startswith("FAKE-APT"))
    assert said < ran
    assert log.read_text().splitlines() == [
        "apt-get update -qq",
        "apt-get install -y -qq mutuality-no-such-package",
    ]


@pytest.mark.slow
def test_make_lab_starts_jupyterlab_even_as_root(tmp_path):
    port = free_port()
    token = "make-lab-test-token"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "cfg")}
    env["JUPYTER_RUNTIME_DIR"] = str(tmp_path / "runtime")
    lab_args = (
        f"--no-browser --port={port} --ServerApp.port_retries=0 --ServerApp.ip=127.0.0.1 "
        f"--IdentityProvider.token={token}"
    )
    log = tmp_path / "lab.log"
    with open(log, "wb") as out:
        # -o: the venv is installed already; make must not reinstall it here.
        proc = subprocess.Popen(
            ["make", "--no-print-directory", f"VENV={BIN.parent}",
             "-o", f"{BIN.parent}/.installed-from-lock", "lab", f"LAB_ARGS={lab_args}"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            url = f"http://127.0.0.1:{port}/api/status?token={token}"
            body = wait_for_http(url, proc, log, timeout=90)
            assert b'"started"' in body
            with urllib.request.urlopen(
                f"http://127.0.0.1:{port}/api/contents/session_workbook.ipynb?token={token}"
                "&content=0",
                timeout=30,
            ) as response:
                assert response.status == 200  # serving notebooks/
        finally:
            os.killpg(proc.pid, 15)
            stop(proc)
    command = log.read_text().splitlines()[0]
    assert ("--allow-root" in command) == (os.geteuid() == 0), command
