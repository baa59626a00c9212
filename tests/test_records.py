"""No command, crash or clash destroys or falsifies a clinical record (issue 9).

Each test here reproduces one way a record used to be lost or misreported, through the
command line where a therapist would meet it, and checks the store afterwards.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sqlite3
import subprocess
import sys
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


# -- 2. backups, restore, erase, scratch files ----------------------------------------------

KILLED_BACKUP = """
import os, sys
from mutuality_helpers import backup
real = backup._copy_store
def killed(source, target):
    real(source, target)
    assert not backup.list_backups(sys.argv[1]), "a good-looking name before the rename"
    os._exit(9)  # as SIGKILL: no cleanup runs
backup._copy_store = killed
backup.backup(sys.argv[1])
"""


def test_a_killed_backup_leaves_no_file_named_like_a_good_backup(c1_data, capsys):
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", KILLED_BACKUP, str(c1_data)], check=False)
    assert child.returncode == 9
    folder = c1_data / "backups"
    assert [p.name for p in folder.iterdir() if not p.name.startswith(".")] == []
    assert [p for p in folder.iterdir() if p.name.endswith(".part")]  # the scratch file
    # The next backup sweeps the dead run's scratch file and publishes a checked backup.
    code, out, _ = run(capsys, "backup", "--data", c1_data)
    assert code == 0
    assert [p.name for p in folder.iterdir()] == [Path(out.strip()).name]
    code, out, err = run(capsys, "restore", out.strip(), "--yes", "--data", c1_data)
    assert code == 0 and "1 couple(s), 2 answer(s), last answer 2026-11-02" in out


def test_erase_never_opens_a_backup_for_writing(c1_data, capsys):
    # An interrupted backup of an older release: named like a good one, its journal beside.
    code, out, _ = run(capsys, "backup", "--data", c1_data)
    good = Path(out.strip())
    partial = good.with_name("workbook-20990101T000000.000000Z.sqlite")
    partial.write_bytes(good.read_bytes())
    Path(f"{partial}-journal").write_bytes(b"\xd9\xd5\x05\xf9\x20\xa1\x63\xd7" + b"\0" * 504)
    before = partial.read_bytes()
    code, out, err = run(capsys, "erase", "C1", "--yes", "--data", c1_data)
    assert "cleaned 1 backup(s)" in out  # the good one, on a copy
    assert code == 1 and str(partial) in err  # the partial one named, not touched
    assert partial.read_bytes() == before and Path(f"{partial}-journal").exists()
    with Store(c1_data, create=False) as s:
        assert s.couple_ids() == []
    with sqlite3.connect(f"file:{good}?mode=ro", uri=True) as con:
        assert con.execute("SELECT count(*) FROM answers").fetchone()[0] == 0
    code, _, err = run(capsys, "restore", partial, "--yes", "--data", c1_data)
    assert code == 1 and "not a finished backup" in err


def test_restore_refuses_a_file_without_tables_or_couples(c1_data, tmp_path, capsys):
    bare = tmp_path / "bare.sqlite"
    with sqlite3.connect(bare) as con:
        con.execute("PRAGMA user_version=1")
    code, _, err = run(capsys, "restore", bare, "--yes", "--data", c1_data)
    assert code == 1 and "no tables" in err
    empty = tmp_path / "empty"
    with Store(empty):
        pass
    code, _, err = run(capsys, "restore", empty / "workbook.sqlite", "--yes", "--data", c1_data)
    assert code == 1 and "holds no couples" in err and "--allow-empty" in err
    assert c1_answers(c1_data) == 2
    args = ("restore", empty / "workbook.sqlite", "--yes", "--allow-empty", "--data", c1_data)
    assert run(capsys, *args)[0] == 0
    with Store(c1_data, create=False) as s:
        assert s.couple_ids() == []


def test_restore_shows_what_the_file_holds_before_asking(c1_data, capsys, monkeypatch):
    code, out, _ = run(capsys, "backup", "--data", c1_data)
    monkeypatch.setattr("click.confirm", lambda *a, **k: True)
    code, out, err = run(capsys, "restore", out.strip(), "--data", c1_data)
    assert code == 0
    assert "holds 1 couple(s), 2 answer(s), last answer 2026-11-02" in err


def test_sweep_removes_scratch_of_dead_processes_only(tmp_path):
    import subprocess
    import sys

    from mutuality_helpers.scratch import sweep, sweep_kernel_folders

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    pid = int(dead.stdout)
    data = tmp_path / "d"
    (data / "reports" / "C1").mkdir(parents=True)
    (data / "backups").mkdir()
    gone = [
        data / "backups" / f".workbook-p{pid}-x.sqlite.part",
        data / "backups" / f".workbook-p{pid}-x.sqlite.part-journal",
        data / "reports" / "C1" / f".session-1-p{pid}-ab.pdf.part",
        data / f".restoring-p{pid}-cd.sqlite.part",
    ]
    kept = [data / "backups" / f".workbook-p{os.getpid()}-y.sqlite.part"]
    for p in gone + kept:
        p.write_bytes(b"")
    assert sorted(sweep(data)) == sorted(gone)
    assert all(p.exists() for p in kept)
    kernels = tmp_path / "tmp"
    (kernels / f"mut-k-p{pid}-zz").mkdir(parents=True)
    (kernels / f"mut-k-p{os.getpid()}-zz").mkdir()
    assert [p.name for p in sweep_kernel_folders(kernels)] == [f"mut-k-p{pid}-zz"]
    assert (kernels / f"mut-k-p{os.getpid()}-zz").is_dir()


class FullDisk:
    """An sqlite3 connection whose COMMIT fails as on a full disk (SQLite rolls back)."""

    def __init__(self, con):
        self._con = con

    def execute(self, sql, *args):
        if sql.strip().upper() == "COMMIT":
            self._con.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self._con.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self._con, name)


def test_erase_on_a_full_disk_is_one_line_and_the_store_is_intact(c1_data, capsys, monkeypatch):
    from mutuality_helpers import erase, sqlitefile

    monkeypatch.setattr(erase, "connect", lambda *a, **k: FullDisk(sqlitefile.connect(*a, **k)))
    code, _, err = run(capsys, "erase", "C1", "--yes", "--data", c1_data)
    assert code == 1 and err.count("\n") == 1
    assert "database or disk is full" in err and "internal error" not in err
    assert c1_answers(c1_data) == 2


# -- 8. smaller ones -------------------------------------------------------------------------


def test_a_rejected_import_into_a_new_folder_creates_no_store(tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("couple_id,partner,week,item,value\nC1,Q,2026-11-02,energy,5\n")
    code, _, err = run(capsys, "import", bad, "--data", tmp_path / "new")
    assert code == 1 and "rejected, nothing imported" in err
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("command", [["couples"], ["import", "CSV"]])
def test_an_sqlite_file_without_tables_is_never_adopted(tmp_path, capsys, command):
    data = tmp_path / "d"
    data.mkdir()
    with sqlite3.connect(data / "workbook.sqlite") as con:
        con.execute("PRAGMA user_version=1")
    before = (data / "workbook.sqlite").read_bytes()
    csv = tmp_path / "a.csv"
    csv.write_text(ANSWERS)
    args = [str(csv) if a == "CSV" else a for a in command]
    code, _, err = run(capsys, *args, "--data", data)
    assert code == 1 and "no tables, not a Mutuality store" in err
    assert (data / "workbook.sqlite").read_bytes() == before
    assert sorted(p.name for p in data.iterdir()) == ["workbook.sqlite"]


def test_invalid_utf8_in_notes_is_one_line(c1_data, capsys):
    notes = b"\xffok".decode("utf-8", "surrogateescape")  # what argv gives for such bytes
    code, _, err = run(capsys, "session", "C1", "--date", "2026-11-05", "--notes", notes,
                       "--data", c1_data)  # fmt: skip
    assert code == 1 and "not valid UTF-8" in err and err.count("\n") == 1


# -- 3. demo data is marked synthetic; demo never touches a couple it did not create --------


def test_demo_never_touches_a_real_couple_with_a_demo_id(tmp_path, capsys):
    from mutuality_helpers.demo import load_demo

    data = tmp_path / "d"
    real = tmp_path / "real.csv"
    real.write_text("couple_id,name_a,name_b\nD001,Ana,Ben\n")
    answers = tmp_path / "answers.csv"
    answers.write_text("couple_id,partner,week,item,value\nD001,A,2026-11-02,energy,5\n")
    assert run(capsys, "import", real, answers, "--data", data)[0] == 0
    with Store(data) as s:
        before = (s.couples().to_dict("records"), s.answers().to_dict("records"), len(s.sessions()))
        with pytest.raises(Exception, match="D001 is already in the store and is not demo data"):
            load_demo(s)
        after = (s.couples().to_dict("records"), s.answers().to_dict("records"), len(s.sessions()))
    assert after == before


def test_demo_couples_are_marked_synthetic_and_reloading_changes_nothing(demo_store):
    import sqlalchemy as sa

    from mutuality_helpers.demo import load_demo
    from mutuality_helpers.schema import couples_table

    rows = demo_store.read(sa.select(couples_table.c.couple_id, couples_table.c.synthetic))
    assert rows and all(bool(r[1]) for r in rows)
    demo_store.add_couple("C001", "Real", "Person")
    counts = load_demo(demo_store)
    assert counts["answers_added"] == 0 and counts["sessions_added"] == 0
    rows = dict(demo_store.read(sa.select(couples_table.c.couple_id, couples_table.c.synthetic)))
    assert rows["C001"] is False or rows["C001"] == 0


# -- 4. a report is current only while the change count read at its render start holds ----


def _others_current(data: Path, due: set[tuple[str, int]]) -> dict[Path, bytes]:
    """Every session's report but ``due`` made current (a stand-in PDF, recorded)."""
    made = {}
    with Store(data, create=False) as s:
        for couple_id, number in s.due_sessions():
            if (couple_id, number) in due:
                continue
            path = config.report_path(couple_id, number, data)
            config.private_dir(path.parent)
            path.write_bytes(f"%PDF- {couple_id} {number}".encode())
            s.record_report(couple_id, number, s.change_count(couple_id), path)
            made[path] = path.read_bytes()
    return made


def _import_meanwhile(monkeypatch, tmp_path: Path, data: Path, couple: str) -> list[str]:
    """While a report of ``couple`` renders (its notebook has read the record, its PDF is
    not printed yet), an import changes the couple's answers. Returns who it hit."""
    from mutuality_helpers.render import Renderer

    original = Renderer.to_html
    hit: list[str] = []
    values = iter(range(10))  # each import gives a new answer (the same again changes nothing)

    def to_html(self, nb, request):
        if request.couple_id == couple and not hit:
            late = tmp_path / "late.csv"
            late.write_text(
                f"couple_id,partner,week,item,value\n{couple},A,2026-11-23,energy,{next(values)}\n",
                encoding="utf-8",
            )
            with Store(data, create=False) as s:
                from mutuality_helpers.interchange import import_files

                import_files(s, [late])
            hit.append(f"{request.couple_id} session {request.session}")
        return original(self, nb, request)

    monkeypatch.setattr(Renderer, "to_html", to_html)
    return hit


@pytest.mark.slow
def test_a_report_rendered_while_an_import_changes_the_record_is_rendered_again(
    demo_data_dir, tmp_path, capsys, monkeypatch
):
    data = demo_data_dir
    with Store(data, create=False) as s:  # one session each: four renders in all
        for couple_id in ("D001", "D002"):
            for number in (1, 2):
                s.delete_session(couple_id, number)
    d1, d2 = config.report_path("D001", 3, data), config.report_path("D002", 3, data)
    others = _others_current(data, {("D001", 3), ("D002", 3)})
    hit = _import_meanwhile(monkeypatch, tmp_path, data, "D001")
    # One report (render_one) and a batch (its pipeline): D001's render is hit by the import.
    code, out, err = run(capsys, "report", "D001", "--session", "3", "--data", data)
    assert code == 0, err
    assert hit == ["D001 session 3"]
    with Store(data, create=False) as s:
        changed_at = max(s.answers("D001")["saved_at"])
        # The PDF is newer than the change, yet not current: it shows the record before it.
        written = dt.datetime.fromtimestamp(d1.stat().st_mtime, dt.UTC)
        assert written.isoformat(timespec="seconds") >= changed_at
        assert not s.report_is_current("D001", 3)
        assert s.due_sessions() == [("D001", 3), ("D002", 3)]
    hit.clear()
    code, out, err = run(capsys, "report", "--all", "--jobs", "1", "--data", data)
    assert code == 0, err
    assert out.splitlines() == [str(d1), str(d2)] and hit == ["D001 session 3"]
    with Store(data, create=False) as s:
        assert s.due_sessions() == [("D001", 3)]  # D002's render saw no change: current
    monkeypatch.undo()
    code, out, err = run(capsys, "report", "--all", "--data", data)
    assert code == 0, err
    assert out.splitlines() == [str(d1)]  # the unchanged couples were skipped
    with Store(data, create=False) as s:
        assert s.due_sessions() == []
    assert {p: p.read_bytes() for p in others} == others
    code, out, err = run(capsys, "report", "--all", "--data", data)
    assert (code, out) == (0, "") and "no reports due" in err


# -- the program's own paths: `links --out` too ----------------------------------------------


@pytest.mark.parametrize(
    "target",
    [".", "backups", "backups/new", "reports/C1", "worksheets", "demo"],
)
def test_links_out_never_writes_into_a_folder_the_program_owns(c1_data, capsys, target):
    (c1_data / "backups").mkdir(exist_ok=True)
    (c1_data / "reports" / "C1").mkdir(parents=True, exist_ok=True)
    (c1_data / "link.key").write_text("secret\n")
    before = {p: p.read_bytes() for p in c1_data.rglob("*") if p.is_file()}
    code, out, err = run(capsys, "links", "C1", "--base-url", "https://forms.example.org",
                         "--data", c1_data, "--out", c1_data / target)  # fmt: skip
    assert code == 1, out
    assert err.startswith("mutuality: refusing to write ") and err.count("\n") == 1
    assert {p: p.read_bytes() for p in c1_data.rglob("*") if p.is_file()} == before


def test_links_out_refuses_a_handout_name_linked_to_the_store(c1_data, tmp_path, capsys):
    out = tmp_path / "handouts"
    out.mkdir()
    os.link(c1_data / "workbook.sqlite", out / "C1-B-weekly_checkin.pdf")
    before = (c1_data / "workbook.sqlite").read_bytes()
    code, _, err = run(capsys, "links", "C1", "--base-url", "https://forms.example.org",
                       "--data", c1_data, "--out", out)  # fmt: skip
    assert code == 1 and "its store" in err and err.count("\n") == 1
    assert (c1_data / "workbook.sqlite").read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == ["C1-B-weekly_checkin.pdf"]  # no A either


# -- 3. `make demo` seeds a folder of its own, never the live data folder ----------------------


def test_make_demo_seeds_its_own_folder_not_the_live_data_folder():
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", "-o", "system-deps", "-o",
         ".venv/.installed-from-lock", "demo"],
        cwd=root, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    seed = [line for line in done.stdout.splitlines() if "mutuality demo" in line]
    assert len(seed) == 1, done.stdout
    demo_data = root / "data" / "demo-store"
    assert f'--data "{demo_data}"' in seed[0]
    assert demo_data != config.data_dir() and config.owned_path(demo_data) is None
    # git-ignored: client data (and the demo's store) never reaches git.
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", str(demo_data / "workbook.sqlite")], cwd=root, timeout=30
    )
    assert ignored.returncode == 0


# -- 8. a read-only data folder: one line, for reads and writes, nothing written ----------------


def _run_read_only(data: Path, args: list[str]) -> subprocess.CompletedProcess:
    """``mutuality ARGS`` with ``data`` read-only: a read-only bind mount in a mount namespace
    of its own when root (chmod does not stop root), else the folder's mode 0500."""
    command = [sys.executable, "-m", "mutuality_helpers.cli", *args, "--data", str(data)]
    if os.geteuid() != 0:
        data.chmod(0o500)
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=120)
        finally:
            data.chmod(0o700)
    if shutil.which("unshare") is None:
        pytest.skip("running as root without unshare: no way to make a read-only folder")
    shell = 'mount --bind -o ro "$1" "$1" && shift && exec "$@"'
    done = subprocess.run(
        ["unshare", "-m", "sh", "-c", shell, "sh", str(data), *command],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    if done.returncode != 0 and "mount" in done.stderr and "mutuality" not in done.stderr:
        pytest.skip(f"cannot make a read-only bind mount here: {done.stderr.strip()}")
    return done


@pytest.mark.parametrize(
    "args",
    [
        ["couples"],
        ["summary", "C1"],
        ["import", "ANSWERS"],
        ["session", "C1", "--date", "2026-11-05"],
        ["backup"],
    ],
    ids=lambda a: a[0],
)
def test_a_read_only_data_folder_is_one_line_and_nothing_is_written(c1_data, tmp_path, args):
    answers = tmp_path / "more.csv"
    answers.write_text(ANSWERS.replace(",5\n", ",6\n"), encoding="utf-8")
    args = [str(answers) if a == "ANSWERS" else a for a in args]
    before = {p: p.read_bytes() for p in c1_data.rglob("*") if p.is_file()}
    done = _run_read_only(c1_data, args)
    assert done.returncode == 1, done.stdout
    assert done.stderr.startswith(f"mutuality: the data folder {c1_data} is read-only")
    assert done.stderr.count("\n") == 1 and "damaged" not in done.stderr
    assert {p: p.read_bytes() for p in c1_data.rglob("*") if p.is_file()} == before
    assert c1_answers(c1_data) == 2
