"""The built wheel, installed into a fresh virtual environment, works outside the checkout.

One module-scoped install serves every test here: ``uv build`` makes the sdist and, from
it, the wheel; a new venv gets uv.lock's runtime packages (uv, from its cache) and then
the wheel with plain ``pip install --no-index`` (so pip must find every requirement of
the wheel already satisfied by the lock). The commands then run from an empty folder
with a fresh ``HOME``, no ``MUTUALITY_DATA`` and no ``--data``: the data folder must be
the user data folder, and notebooks, templates and definitions must come from the wheel.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import pdf_text
from pypdf import PdfReader
from servers import free_port, wait_for_http

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
UV = Path(sys.executable).with_name("uv")
#: Lines of build or install output that would mean a warning reached the user.
WARNING = re.compile(r"warn|deprecat", re.IGNORECASE)


def run(command: list, env: dict | None = None, cwd: Path | None = None, timeout: float = 300):
    """Run ``command``; on failure, fail with its output."""
    done = subprocess.run(
        [str(c) for c in command],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"{command} exited {done.returncode}:\n{output[-3000:]}"
    return done.stdout, output


def build_env() -> dict:
    env = dict(os.environ)
    # Set on some machines; setuptools-era backends then print a "warning" about it.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel, install it into a fresh venv; the paths and outputs involved."""
    assert UV.is_file(), f"uv is missing beside {sys.executable} (it is in the test extra)"
    work = tmp_path_factory.mktemp("wheel")
    _, build_output = run(
        [UV, "build", "--out-dir", work / "dist", ROOT], env=build_env(), cwd=ROOT
    )
    (wheel,) = (work / "dist").glob("*.whl")
    venv = work / "venv"
    run([UV, "venv", "--quiet", "--seed", "--python", sys.executable, venv])
    python = venv / "bin" / "python"
    locked = work / "locked.txt"
    # The runtime set only (no test extra), exactly as uv.lock pins it.
    run(
        [UV, "export", "--frozen", "--no-emit-project", "--no-hashes", "-q", "-o", locked], cwd=ROOT
    )
    run([UV, "pip", "install", "--quiet", "--python", python, "-r", locked])
    # --isolated: this machine's pip configuration (extra indexes) is not the package's output.
    _, pip_output = run(
        [python, "-m", "pip", "--isolated", "install", "--disable-pip-version-check",
         "--no-index", wheel],
        env=build_env(),
    )  # fmt: skip
    home = work / "home"
    home.mkdir()
    cwd = work / "elsewhere"
    cwd.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MUTUALITY_DATA", "XDG_DATA_HOME", "QUERY_STRING", "VIRTUAL_ENV")
        and not k.startswith(("JUPYTER_", "PYTHON"))
    }
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    return {
        "work": work,
        "wheel": wheel,
        "python": python,
        "mutuality": venv / "bin" / "mutuality",
        "env": env,
        "cwd": cwd,
        "data": home / ".local" / "share" / "mutuality-workbook",
        "build_output": build_output,
        "pip_output": pip_output,
    }


def mutuality(installed: dict, *args: str) -> str:
    stdout, _ = run([installed["mutuality"], *args], env=installed["env"], cwd=installed["cwd"])
    return stdout


@pytest.fixture(scope="module")
def demo_output(installed) -> list[str]:
    """``mutuality demo`` run once in the installed package: its output lines."""
    return mutuality(installed, "demo").strip().splitlines()


def tracked(folder: str, suffix: str) -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return sorted(Path(p).name for p in listed if p.endswith(suffix))


def test_building_and_installing_print_no_warning(installed):
    for key in ("build_output", "pip_output"):
        warnings = [line for line in installed[key].splitlines() if WARNING.search(line)]
        assert warnings == [], f"{key}: {warnings}"
    assert "Successfully installed mutuality-workbook" in installed["pip_output"]


def test_the_wheel_ships_the_package_data_and_the_license(installed):
    names = zipfile.ZipFile(installed["wheel"]).namelist()

    def shipped(folder: str) -> list[str]:
        return sorted(Path(n).name for n in names if n.startswith(f"mutuality_helpers/{folder}/"))

    # Exactly the tracked files: a notebook saved with a couple's answers never ships.
    assert shipped("notebooks") == tracked("notebooks", ".ipynb")
    assert shipped("demo_data") == tracked("data/demo", ".csv")
    assert shipped("definitions") == tracked("mutuality_helpers/definitions", ".yaml")
    assert "print.css" in shipped("templates/mutuality_report")
    assert "report.html.j2" in shipped("templates/html")
    # The schema migrations (Alembic runs them from the installed package) and py.typed.
    assert shipped("migrations/versions") == tracked("mutuality_helpers/migrations/versions", ".py")
    assert "env.py" in shipped("migrations") and "mutuality_helpers/py.typed" in names
    metadata = zipfile.ZipFile(installed["wheel"]).read(
        next(n for n in names if n.endswith(".dist-info/METADATA"))
    )
    assert b"License-Expression: MIT" in metadata
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    version = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]["version"]
    assert f"Version: {version}".encode() in metadata


def test_installed_package_finds_its_files_in_the_wheel_not_the_checkout(installed):
    probe = (
        "from mutuality_helpers import config, __version__\n"
        "print(config.IN_CHECKOUT)\n"
        "for name in ('NOTEBOOKS_DIR', 'DEMO_DIR', 'DEFINITIONS_DIR', 'TEMPLATES_DIR'):\n"
        "    print(getattr(config, name))\n"
        "print(config.data_dir())\n"
        "print(__version__)\n"
    )
    stdout, _ = run([installed["python"], "-c", probe], env=installed["env"], cwd=installed["cwd"])
    in_checkout, *folders, data, version = stdout.split("\n")[:7]
    assert in_checkout == "False"
    site = installed["python"].parents[1]
    for folder in folders:
        assert Path(folder).is_dir() and Path(folder).is_relative_to(site), folder
    assert Path(data) == installed["data"]
    assert mutuality(installed, "--version").strip().endswith(version)


def test_demo_renders_a_real_pdf_into_the_user_data_folder(installed, demo_output):
    assert f"in {installed['data'] / 'workbook.sqlite'}" in demo_output[0]
    pdf = Path(demo_output[-1])
    assert pdf.parent.parent == installed["data"] / "reports"
    assert len(PdfReader(pdf).pages) >= 3
    text = pdf_text(pdf)
    assert "Confidential: clinical record" in text and "Morgan" in text
    assert "mutuality_helpers" not in text and "In [" not in text


def test_report_renders_another_session(installed, demo_output):
    (line,) = mutuality(installed, "report", "D002", "--session", "1").split()
    assert Path(line) == installed["data"] / "reports" / "D002" / "session-1.pdf"
    text = pdf_text(Path(line))
    assert "Priya" in text and "Page 1 of" in text


def test_worksheet_is_written_from_the_shipped_notebook(installed, demo_output):
    (line,) = mutuality(installed, "worksheet", "D001", "--partner", "B").split()
    path = Path(line)
    assert path.parent == installed["data"] / "worksheets"
    nb = nbformat.read(path, as_version=4)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and 'couple_id = "D001"' in injected[0].source
    assert 'notebook_form("weekly_checkin"' in "".join(c.source for c in nb.cells)


def _interruptible() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def test_serve_answers_a_partner_link_over_http_and_stops(installed, demo_output):
    port = free_port()
    log = installed["work"] / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [installed["mutuality"], "serve", "--port", str(port), "--links", "D001"],
            env=installed["env"],
            cwd=installed["cwd"],
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # Ctrl-C reaches the whole group, as in a terminal
            # A runner started in the background ignores SIGINT, and children inherit that.
            preexec_fn=_interruptible,
        )
        try:
            wait_for_http(f"http://127.0.0.1:{port}/", proc, log, accept_http_error=True)
            links = re.findall(r"partner A check-in: (\S+)", log.read_text())
            assert links, log.read_text()
            with urllib.request.urlopen(links[0], timeout=120) as response:
                page = response.read().decode()
            assert response.status == 200
            assert "application/vnd.jupyter.widget-view+json" in page  # the form was built
            assert "There was an error" not in page and "needs a personal link" not in page
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
            try:
                code = proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                code = None
            # Whatever happened, nothing of the app (Voila, its kernels) outlives the test.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert code == 0, f"serve did not stop on Ctrl-C (code {code}): {log.read_text()[-2000:]}"


def test_editable_install_prints_no_warning_either(installed):
    # Last: it replaces the wheel in the venv by the checkout.
    _, output = run(
        [installed["python"], "-m", "pip", "--isolated", "install",
         "--disable-pip-version-check", "--no-deps", "-e", ROOT],
        env=build_env(),
    )  # fmt: skip
    assert [line for line in output.splitlines() if WARNING.search(line)] == []
    stdout, _ = run(
        [
            installed["python"],
            "-c",
            "from mutuality_helpers import config; print(config.NOTEBOOKS_DIR)",
        ],
        env=installed["env"],
        cwd=installed["cwd"],
    )
    assert Path(stdout.strip()) == ROOT / "notebooks"
