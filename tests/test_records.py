"""No command, crash or clash destroys or falsifies a clinical record (issue 9).

Each test here reproduces one way a record used to be lost or misreported, through the
command line where a therapist would meet it, and checks the store afterwards.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mutuality_helpers import config
from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import OutputRefused
from mutuality_helpers.store import Store

ANSWERS = "couple_id,partner,week,item,value\nC1,A,2026-11-02,energy,5\nC1,B,2026-11-02,energy,7\n"


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def c1_data(tmp_path: Path, capsys) -> Path:
    """A data folder holding couple C1 (two answers), made through the command line."""
    data = tmp_path / "data"
    csv = tmp_path / "c1.csv"
    csv.write_text(ANSWERS, encoding="utf-8")
    assert run(capsys, "import", csv, "--data", data)[0] == 0
    return data


def c1_answers(data: Path) -> int:
    with Store(data, create=False) as s:
        return len(s.answers("C1"))


# -- 1. the program's own paths -------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    [
        "workbook.sqlite",
        "workbook.sqlite-wal",
        "workbook.sqlite-journal",
        "link.key",
        "practice.yaml",
        "backups/workbook-20261201T000000.000000Z.sqlite",
        "reports/C1/session-1.pdf",
        "worksheets/C1-A.ipynb",
        ".restoring-x.sqlite",
    ],
)
def test_export_never_writes_over_a_path_the_program_owns(c1_data, capsys, target):
    (c1_data / "backups").mkdir(exist_ok=True)
    (c1_data / "link.key").write_text("secret\n")
    before = {p: p.read_bytes() for p in c1_data.rglob("*") if p.is_file()}
    code, out, err = run(capsys, "export", "C1", "--data", c1_data, "--out", c1_data / target)
    assert code == 1
    assert err.startswith("mutuality: refusing to write ") and err.count("\n") == 1
    # Nothing was written: every file is as it was, and the store still holds C1.
    assert {p: p.read_bytes() for p in c1_data.rglob("*") if p.is_file()} == before
    assert c1_answers(c1_data) == 2


def test_a_link_or_a_hard_link_to_the_store_is_refused_too(c1_data, tmp_path, capsys):
    sym = tmp_path / "looks-harmless.csv"
    sym.symlink_to(c1_data / "workbook.sqlite")
    hard = tmp_path / "also-harmless.csv"
    os.link(c1_data / "workbook.sqlite", hard)
    for target in (sym, hard):
        code, _, err = run(capsys, "export", "C1", "--data", c1_data, "--out", target)
        assert code == 1 and "its store" in err
    assert c1_answers(c1_data) == 2


def test_another_folders_store_is_refused_and_a_new_file_is_written(c1_data, tmp_path, capsys):
    other = tmp_path / "other"
    with Store(other):
        pass
    code, _, err = run(
        capsys, "export", "C1", "--data", c1_data, "--out", other / "workbook.sqlite"
    )
    assert code == 1 and "SQLite database" in err
    out = tmp_path / "exports" / "c1.csv"
    assert run(capsys, "export", "C1", "--data", c1_data, "--out", out)[0] == 0
    assert out.read_text(encoding="utf-8") == ANSWERS
    assert out.stat().st_mode & 0o777 == 0o600
    assert not list(out.parent.glob(".*"))  # no scratch file left beside it


def test_owned_path_is_one_rule(tmp_path):
    data = tmp_path / "d"
    assert config.owned_path(data / "workbook.sqlite-shm", data) == "its store"
    assert config.owned_path(data / "backups" / "any" / "depth.txt", data) is not None
    assert config.owned_path(data / "exports" / "c1.csv", data) is None
    assert config.owned_path(tmp_path / "c1.csv", data) is None
    with pytest.raises(OutputRefused):
        config.refuse_owned(data / "workbook.sqlite.damaged-1", data)


def test_an_os_error_is_one_line(c1_data, capsys):
    code, out, err = run(capsys, "export", "C1", "--data", c1_data, "--out", "/proc/nope/x.csv")
    assert code == 1
    assert err.startswith("mutuality: cannot use /proc/nope") and err.count("\n") == 1
    assert "internal error" not in err


def test_export_to_a_terminal_escapes_control_characters_a_file_keeps_them(
    tmp_path, capsys, monkeypatch
):
    data = tmp_path / "data"
    text = 'C1,A,2026-11-02,reflection,"red \x1b[31mtext\x1b[0m \u202eevil"\n'
    csv = tmp_path / "r.csv"
    csv.write_text("couple_id,partner,week,item,value\n" + text, encoding="utf-8")
    assert run(capsys, "import", csv, "--data", data)[0] == 0
    # A pipe (capsys) gets the exact text...
    code, out, _ = run(capsys, "export", "C1", "--data", data)
    assert code == 0 and "\x1b[31m" in out and "\u202e" in out
    # ...a terminal gets it escaped...
    with monkeypatch.context() as m:
        m.setattr("sys.stdout.isatty", lambda: True, raising=False)
        code, out, _ = run(capsys, "export", "C1", "--data", data)
    assert code == 0 and "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[31m" in out and "\\u202e" in out
    # ...and a file keeps it exact (what import reads back).
    out_file = tmp_path / "out.csv"
    assert run(capsys, "export", "C1", "--data", data, "--out", out_file)[0] == 0
    assert "red \x1b[31mtext\x1b[0m \u202eevil\n" in out_file.read_text(encoding="utf-8")
