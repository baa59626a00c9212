from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from mutuality_helpers.cli import cli, main
from mutuality_helpers.store import Store

# The store-facing tests run on SQLite and on a PostgreSQL server (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")

README = Path(__file__).resolve().parents[1] / "README.md"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_every_command_is_documented_in_the_readme():
    readme = README.read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert re.search(rf"`mutuality {name}\b", readme), f"`mutuality {name}` is not in README.md"
        for sub in getattr(command, "commands", {}):  # a group's own commands too
            assert re.search(rf"`mutuality {name} {sub}\b", readme), f"`mutuality {name} {sub}`"


@pytest.mark.parametrize("module", ["mutuality_helpers", "mutuality_helpers.cli"])
def test_starting_the_command_line_imports_no_heavy_library(module):
    # `mutuality --help` must answer at once: pandas, SQLAlchemy, ipywidgets, Altair and the
    # report machinery load inside the commands that use them (timed in benchmarks/bench_cli.py).
    heavy = ["pandas", "sqlalchemy", "ipywidgets", "altair", "papermill", "weasyprint", "alembic"]
    code = f"import sys, {module}; print([m for m in {heavy!r} if m in sys.modules])"
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "[]"


def test_listing_the_couples_needs_no_pandas(demo_data_dir):
    code = (
        "import sys; from mutuality_helpers.cli import main; "
        f"code = main(['couples', '--data', {str(demo_data_dir)!r}]); "
        "print('pandas' in sys.modules, code)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip().splitlines()[-1] == "False 0"
    assert "D004" in shown.stdout


def test_the_package_loads_its_public_names_on_first_use():
    import mutuality_helpers

    for name in mutuality_helpers.__all__:
        assert getattr(mutuality_helpers, name) is not None, name
    assert mutuality_helpers.Store.__module__ == "mutuality_helpers.store"
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        mutuality_helpers.nothing_here  # noqa: B018


def test_every_command_takes_data_option():
    for name, command in cli.commands.items():
        assert "data" in [p.name for p in command.params], f"{name} lacks --data"


def test_demo_is_idempotent(capsys, data_dir):
    code, out, _ = run(capsys, "demo", "--data", str(data_dir))
    assert code == 0
    assert "demo: 5 couples" in out
    with Store(data_dir) as s:
        first = s.answers()
        sessions = len(s.sessions())
    code, out, _ = run(capsys, "demo", "--data", str(data_dir))
    assert code == 0 and "0 answers added" in out
    with Store(data_dir) as s:
        columns = ["couple_id", "item", "value"]
        assert s.answers()[columns].equals(first[columns])
        assert len(s.sessions()) == sessions


def test_demo_counts_only_the_demo_couples(capsys, data_dir):
    with Store(data_dir) as s:
        s.add_couple("D900")  # a practice's own couple whose id happens to start with D
    code, out, _ = run(capsys, "demo", "--data", str(data_dir))
    assert code == 0
    assert "demo: 5 couples" in out


def test_couples_lists_names_weeks_last_answer(capsys, demo_data_dir):
    code, out, _ = run(capsys, "couples", "--data", str(demo_data_dir))
    assert code == 0
    assert re.search(r"D002\s+Priya\s+Tom\s+14\s+2026-11-23", out)
    code, out, _ = run(capsys, "couples", "--json", "--data", str(demo_data_dir))
    rows = json.loads(out)
    assert {r["couple_id"] for r in rows} == {"D001", "D002", "D003", "D004", "D005"}


@pytest.mark.sqlite_only
def test_import_with_one_bad_row_exits_nonzero_names_line_and_writes_nothing(
    capsys, demo_data_dir, tmp_path
):
    store_file = demo_data_dir / "workbook.sqlite"
    before = store_file.read_bytes()
    bad = tmp_path / "week.csv"
    bad.write_text(
        "couple_id,partner,week,item,value\n"
        "D001,A,2026-11-30,energy,5\n"
        "D001,A,2026-11-30,teamwork,7\n"
        "NEW9,B,2026-11-30,energy,6\n",
        encoding="utf-8",
    )
    code, out, err = run(capsys, "import", str(bad), "--data", str(demo_data_dir))
    assert code != 0
    assert err.count("\n") == 1 and err.startswith("mutuality: ")
    assert "line 3: teamwork: 7 is outside 1-5" in err
    assert store_file.read_bytes() == before
    with Store(demo_data_dir) as s:
        assert "NEW9" not in s.couple_ids()


def test_import_reports_new_couples(capsys, data_dir, tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("couple_id,partner,week,item,value\nC7,A,2026-09-07,energy,5\n", "utf-8")
    code, out, _ = run(capsys, "import", str(good), "--data", str(data_dir))
    assert code == 0
    assert "answers added: 1" in out and "new couples: C7" in out


def test_session_records_the_next_session(capsys, demo_data_dir):
    code, out, _ = run(
        capsys, "session", "D001", "--date", "2026-12-03", "--notes", "x", "--data",
        str(demo_data_dir),
    )  # fmt: skip
    assert code == 0
    # A Thursday whose week has no check-ins yet: judged as of the last complete week.
    assert "session 4 on 2026-12-03 (judged as of week 2026-11-23)" in out


def test_a_second_session_on_the_same_day_needs_same_day(capsys, demo_data_dir):
    args = ["session", "D001", "--date", "2026-11-26", "--data", str(demo_data_dir)]
    code, _, err = run(capsys, *args)
    assert code == 1 and "add --same-day to have two sessions that day" in err
    with Store(demo_data_dir) as s:
        assert len(s.sessions("D001")) == 3
    code, out, _ = run(capsys, *args, "--same-day")
    assert code == 0 and "session 4 on 2026-11-26" in out


def test_edit_delete_and_list_sessions_with_history(capsys, monkeypatch, demo_data_dir):
    data = ["--data", str(demo_data_dir)]
    code, out, _ = run(
        capsys, "session", "D001", "--edit", "3", "--notes", "Review, long.", "--date",
        "2026-11-27", *data,
    )  # fmt: skip
    assert code == 0 and "session 3 changed, on 2026-11-27" in out
    code, out, _ = run(capsys, "session", "D001", "--edit", "3", "--notes", "Review, long.", *data)
    assert code == 0 and "unchanged" in out
    # Deleting asks first; answered no, nothing is deleted.
    monkeypatch.setattr("sys.stdin", io.StringIO("n\n"))
    code, out, err = run(capsys, "session", "D001", "--delete", "2", *data)
    assert code == 1 and "aborted" in err and "Delete session 2 of D001 (15 Oct 2026)?" in out
    with Store(demo_data_dir) as s:
        assert len(s.sessions("D001")) == 3
    code, out, _ = run(capsys, "session", "D001", "--delete", "2", "--yes", *data)
    assert code == 0 and "deleted session 2 (kept in the history)" in out
    code, out, _ = run(capsys, "sessions", "D001", *data)
    assert code == 0
    assert [line.split()[:2] for line in out.splitlines() if line.startswith("session")] == [
        ["session", "1"], ["session", "3"],
    ]  # fmt: skip
    assert "notes: Review, long." in out and "history" not in out
    code, out, _ = run(capsys, "sessions", "D001", "--history", "--json", *data)
    shown = json.loads(out)
    assert [s["number"] for s in shown["sessions"]] == [1, 3]
    assert [(h["number"], h["change"], h["source"]) for h in shown["history"]] == [
        (3, "edited", "command line"), (2, "deleted", "command line"),
    ]  # fmt: skip
    assert shown["history"][0]["notes"] == "Review." and shown["history"][0]["date"] == "2026-11-26"
    code, out, _ = run(capsys, "sessions", "D001", "--history", *data)
    assert "session 2  deleted" in out and "it was: 2026-10-15" in out
    # The next session takes a new number: 4, not 2.
    code, out, _ = run(capsys, "session", "D001", "--date", "2026-12-03", *data)
    assert "session 4 on 2026-12-03" in out


def test_export_to_stdout(capsys, demo_data_dir):
    code, out, _ = run(capsys, "export", "D001", "--data", str(demo_data_dir))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "couple_id,partner,week,item,value"
    assert all(line.startswith("D001,") for line in lines[1:])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["export", "NOPE"], "no couple 'NOPE'"),
        (["session", "D001", "--date", "someday"], "must be a date written YYYY-MM-DD"),
        (["session", "D001"], "recording a session needs --date DATE"),
        (["session", "D001", "--date", "2026-11-26"], "already has session 3 on 2026-11-26"),
        (["session", "D001", "--edit", "9", "--notes", "x"], "has no session 9"),
        (["session", "D001", "--edit", "1"], "--edit N needs --date, --notes or --agreements"),
        (["session", "D001", "--delete", "1", "--notes", "x"], "--delete takes no"),
        (["session", "D001", "--delete", "0"], "0 is not in the range x>=1"),
        (["sessions", "NOPE"], "no couple 'NOPE'"),
        (["import", "missing.csv"], "cannot be read"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_errors_are_one_line_on_stderr(capsys, demo_data_dir, args, message):
    code, out, err = run(capsys, *args, "--data", str(demo_data_dir))
    assert code != 0
    assert message in err
    assert err.count("\n") == 1
    assert "Traceback" not in err + out


@pytest.mark.sqlite_only
@pytest.mark.parametrize(
    "args",
    [["couples"], ["export", "C1"], ["summary", "C1"], ["backup"], ["session", "C1", "--date",
     "2026-12-03"]],
)  # fmt: skip
def test_a_misspelt_data_folder_grows_no_store(capsys, tmp_path, args):
    typo = tmp_path / "dtaa"
    code, _, err = run(capsys, *args, "--data", str(typo))
    assert code != 0
    assert "no Mutuality store in" in err and err.count("\n") == 1
    assert not typo.exists()


@pytest.mark.sqlite_only
def test_console_script_never_prints_a_traceback(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "workbook.sqlite").write_text("not a database", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "mutuality_helpers.cli", "couples", "--data", str(data)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0
    assert proc.stderr.startswith("mutuality: ") and proc.stderr.count("\n") == 1
    assert "Traceback" not in proc.stderr


def test_restore_refuses_a_bad_file_before_asking(capsys, demo_data_dir, tmp_path):
    bad = tmp_path / "not-a-backup.sqlite"
    bad.write_text("not a database", encoding="utf-8")
    code, out, err = run(capsys, "restore", str(bad), "--data", str(demo_data_dir))
    assert code == 1
    assert "Replace" not in out
    assert err.startswith("mutuality: ") and str(bad) in err and "not an SQLite file" in err
