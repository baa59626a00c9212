"""Nothing leaked: erasure leaves no byte behind, files are owner-only, hostile text stays text."""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import sqlite3
import stat
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from mutuality_helpers import config
from mutuality_helpers.backup import backup, list_backups, restore
from mutuality_helpers.cli import main as cli_main
from mutuality_helpers.erase import erase_couple
from mutuality_helpers.exceptions import UnknownCouple, ValidationError
from mutuality_helpers.interchange import export_couple, import_files
from mutuality_helpers.models import make_answer, make_season
from mutuality_helpers.store import Store

MUTUALITY = Path(sys.executable).with_name("mutuality")
WEEK = dt.date(2026, 9, 7)
GONE = "ERASE7Q"
KEPT = "KEEP1"
# Strings that occur nowhere but in the erased couple's data.
UNIQUE_OLD = "Zebra-quartz-lantern 4417 was said only once"
UNIQUE_NEW = "Marmalade-orbit 9923, the later reflection"
UNIQUE_NOTE = "Pelican-sundial 5510 session note"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def cli(*args: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MUTUALITY), *map(str, args)], capture_output=True, text=True, timeout=120
    )


def _fill(store: Store, couple: str, reflections: list[str], note: str) -> None:
    store.add_couple(couple, f"{couple}-name-a", "Robin")
    answers = [
        make_answer(couple, p, WEEK + dt.timedelta(weeks=w), item, v)
        for w in range(6)
        for p in "AB"
        for item, v in (("energy", 4 + w), ("share_repair", 70), ("demands", "work;illness"))
    ]
    store.save_answers(answers, "form:weekly_checkin")
    for text in reflections:  # each later save pushes the earlier one into history
        store.save_answers([make_answer(couple, "A", WEEK, "reflection", text)], "form:test")
    store.save_seasons(
        [make_season(couple, "B", "illness", WEEK, WEEK + dt.timedelta(weeks=4), True, note)],
        "session workbook",
    )
    store.add_session(couple, WEEK + dt.timedelta(days=2), notes=note, agreements=note)


def _all_bytes(folder: Path) -> list[tuple[Path, bytes]]:
    return [(p, p.read_bytes()) for p in sorted(folder.rglob("*")) if p.is_file()]


# -- 4. erasure --------------------------------------------------------------------------------


def test_erase_leaves_no_byte_of_the_couple_anywhere_in_the_data_folder(data_dir: Path) -> None:
    from mutuality_helpers.worksheets import write_worksheet

    with Store(data_dir) as store:
        _fill(store, GONE, [UNIQUE_OLD, UNIQUE_NEW], UNIQUE_NOTE)
        _fill(store, KEPT, ["kept one", "kept two"], "kept note")
        assert len(store.answer_history(GONE)) == 1
        kept_answers = store.answers(KEPT)
        for couple in (GONE, KEPT):
            write_worksheet(store, couple, "A", WEEK)
            report = config.private_file(config.report_path(couple, 1, data_dir))
            report.write_text(f"report for {couple}")
    early_backup = backup(data_dir)
    needles = [GONE.encode(), UNIQUE_OLD.encode(), UNIQUE_NEW.encode(), UNIQUE_NOTE.encode()]
    everything = b"".join(data for _, data in _all_bytes(data_dir))
    assert all(n in everything for n in needles), "the test data never reached the disk"

    # A therapist's notebook has the store open: the WAL is not deleted on exit then, so
    # erase itself must move everything through and empty it.
    notebook = sqlite3.connect(data_dir / "workbook.sqlite")
    notebook.execute("SELECT count(*) FROM couples").fetchone()
    try:
        result = cli("erase", GONE, "--yes", "--data", data_dir)
        assert result.returncode == 0, result.stderr
        assert result.stderr == ""
        assert (data_dir / "workbook.sqlite-wal").stat().st_size == 0
        leftovers = _all_bytes(data_dir)
    finally:
        notebook.close()

    # Both while the notebook held the store open and after it let go.
    for path, data in [*leftovers, *_all_bytes(data_dir)]:
        for needle in needles:
            assert needle not in data, f"{needle!r} is still in {path.relative_to(data_dir)}"
    assert not (data_dir / "reports" / GONE).exists()
    with Store(data_dir) as store:
        assert GONE not in store.couple_ids()
        assert store.answers(GONE).empty and store.answer_history(GONE).empty
        assert store.seasons(GONE).empty and store.sessions(GONE).empty
        # The other couple keeps everything: answers, history, seasons, files.
        assert store.answers(KEPT)[["week", "item", "value"]].equals(
            kept_answers[["week", "item", "value"]]
        )
        assert len(store.answer_history(KEPT)) == 1
        assert len(store.seasons(KEPT)) == 1 and len(store.sessions(KEPT)) == 1
    assert config.report_path(KEPT, 1, data_dir).exists()
    assert [p.name.split("-")[0] for p in (data_dir / "worksheets").iterdir()] == [KEPT]
    con = sqlite3.connect(early_backup)
    try:
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert con.execute("SELECT count(*) FROM answers WHERE couple_id=?", (KEPT,)).fetchone()[0]
    finally:
        con.close()

    again = cli("erase", GONE, "--yes", "--data", data_dir)
    assert again.returncode == 1
    assert again.stderr.startswith("mutuality: no trace of couple")
    assert again.stderr.count("\n") == 1


def test_erase_asks_first_and_does_nothing_without_a_yes(demo_data_dir: Path) -> None:
    before = (demo_data_dir / "workbook.sqlite").read_bytes()
    result = subprocess.run(
        [str(MUTUALITY), "erase", "D001", "--data", str(demo_data_dir)],
        input="n\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.strip().endswith("mutuality: aborted")
    assert (demo_data_dir / "workbook.sqlite").read_bytes() == before


def test_erase_takes_only_the_files_of_that_couple(data_dir: Path) -> None:
    with Store(data_dir) as store:
        for couple in ("C1", "C1-x", "C10"):
            store.add_couple(couple)
            store.save_answers([make_answer(couple, "A", WEEK, "energy", 3)], "form:test")
        sheets = config.private_dir(config.worksheets_dir(data_dir))
        names = ["C1-A-weekly.ipynb", "C1-x-A-weekly.ipynb", "C10-A-weekly.ipynb", "C1.ipynb"]
        for name in names:
            (sheets / name).write_text("{}")
        result = erase_couple(store, "C1")
    assert sorted(p.name for p in sheets.iterdir()) == ["C1-x-A-weekly.ipynb", "C10-A-weekly.ipynb"]
    assert sorted(p.name for p in result.files) == ["C1-A-weekly.ipynb", "C1.ipynb"]
    with Store(data_dir) as store:
        assert store.couple_ids() == ["C1-x", "C10"]
    with Store(data_dir) as store, pytest.raises(UnknownCouple):
        erase_couple(store, "C1")


# -- 5. owner-only files whatever the umask -----------------------------------------------------


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request):
    old = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(old)


def test_every_client_file_is_owner_only_whatever_the_umask(umask: int, tmp_path: Path) -> None:
    from mutuality_helpers.pdf import write_pdf
    from mutuality_helpers.worksheets import write_worksheet

    data = tmp_path / "new" / "deeper" / "data"
    with Store(data) as store:
        # An open connection keeps the WAL and the shared-memory file in place.
        keep_open = sqlite3.connect(data / "workbook.sqlite")
        keep_open.execute("SELECT count(*) FROM answers").fetchone()
        store.save_answers([make_answer("C1", "A", WEEK, "reflection", "private")], "form:t")
        # SQLite gives the WAL and shared-memory files the store's mode: checked, not assumed.
        for suffix in ("-wal", "-shm"):
            side = data / f"workbook.sqlite{suffix}"
            assert side.exists() and mode(side) == 0o600, f"{side} is {oct(mode(side))}"
        files = {
            "store": data / "workbook.sqlite",
            "backup": backup(data),
            "export": export_couple(store, "C1", data / "exports" / "C1.csv")[0],
            "worksheet": write_worksheet(store, "C1", "A", WEEK),
            "report": write_pdf("<p>C1</p>", config.report_path("C1", 1, data)),
        }
        keep_open.close()
    restored = restore(files["backup"], data)
    files["restore safety copy"] = restored.safety_backup
    for what, path in files.items():
        assert path.exists(), what
        assert mode(path) == 0o600, f"{what} {path} is {oct(mode(path))}"
    folders = [
        tmp_path / "new",
        tmp_path / "new" / "deeper",
        data,
        data / "backups",
        data / "exports",
        data / "worksheets",
        data / "reports",
        data / "reports" / "C1",
    ]
    for folder in folders:
        assert mode(folder) == 0o700, f"{folder} is {oct(mode(folder))}"


def test_a_damaged_store_restored_over_comes_back_owner_only(umask: int, tmp_path: Path) -> None:
    good = tmp_path / "good"
    with Store(good) as store:
        store.add_couple("C1")
    saved = backup(good)
    data = tmp_path / "data"
    data.mkdir()
    (data / "workbook.sqlite").write_text("not a store")
    restore(saved, data)
    assert mode(data / "workbook.sqlite") == 0o600
    assert mode(data) == 0o700


def test_export_to_an_existing_folder_leaves_that_folders_mode_alone(store, tmp_path: Path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    store.save_answers([make_answer("C1", "A", WEEK, "energy", 3)], "form:t")
    (out,) = export_couple(store, "C1", shared / "c1.csv")
    assert mode(out) == 0o600
    assert mode(shared) == 0o755  # exporting to ~/Desktop must not lock the user out of it


def test_an_existing_data_folder_is_made_owner_only(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o755)
    Store(data).close()
    assert mode(data) == 0o700
    assert mode(data / "workbook.sqlite") == 0o600


def test_backups_are_owner_only_and_listed_oldest_first(store, data_dir: Path) -> None:
    store.add_couple("C1")
    first, second = backup(data_dir), backup(data_dir)
    assert first != second
    assert list_backups(data_dir) == [first, second]
    assert mode(data_dir / "backups") == 0o700


# -- 8. hostile text round trips as text --------------------------------------------------------

HOSTILE = [
    "<script>alert('mutuality')</script>",
    '<img src=x onerror="alert(1)"> & &amp; &lt;b&gt;',
    "'); DROP TABLE answers; --",
    '=HYPERLINK("http://example.invalid","click me")',
    "+1-1, @SUM(A1:A9), -2",
    "line one\nline two\r\nline three\rend",
    'a "quoted" word, a comma; a semicolon',
    "\u202eright-to-left override\u202c and \u200bzero width",
    "emoji 😀, accents éàü, CJK 中文, Arabic مرحبا",
    "\x1b[31mred\x1b[0m and a bell \x07",
    "  leading and trailing spaces  ",
    "\ufeffa byte-order mark in front",
    "tab\tseparated\tvalues",
    "back\\slash \\n not a newline",
    "{{ jinja }} {% raw %} ${HOME} $(rm -rf /) `id` %s {0}",
    "",
    "x" * 4000,
]


@pytest.mark.parametrize("text", HOSTILE, ids=range(len(HOSTILE)))
def test_hostile_text_round_trips_through_store_export_and_import(text: str, tmp_path: Path):
    name = text[:60]
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name.strip()):
        # Display names are printed in terminals and PDFs: control characters are refused.
        with pytest.raises(ValidationError, match="control characters"):
            Store(tmp_path / "refused").add_couple("C1", name_a=name)
        name = "Sam"
    with Store(tmp_path / "one") as store:
        store.add_couple("C1", name_a=name, name_b="B")
        store.save_answers([make_answer("C1", "A", WEEK, "reflection", text)], "form:t")
        store.save_seasons(
            [make_season("C1", "B", "work", WEEK, WEEK, True, text[:1000])], "session workbook"
        )
        assert store.answers("C1")["value"].tolist() == [text]
        assert store.seasons("C1")["note"].tolist() == [text[:1000]]
        paths = export_couple(store, "C1", tmp_path / "out" / "c1.csv")
    with Store(tmp_path / "two") as store:
        import_files(store, paths)
        assert store.answers("C1")["value"].tolist() == [text]
        assert store.seasons("C1")["note"].tolist() == [text[:1000]]
        names = store.couples().set_index("couple_id").loc["C1"]
        assert names["name_a"] == name.strip()


def test_hostile_text_round_trips_through_the_command_line(tmp_path: Path, capsys) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    with Store(one) as store:
        for i, text in enumerate(HOSTILE):
            week = WEEK + dt.timedelta(weeks=i)
            store.save_answers([make_answer("C1", "A", week, "reflection", text)], "form:t")
    assert cli_main(["export", "C1", "--data", str(one)]) == 0
    exported = capsys.readouterr().out
    rows = list(csv.reader(io.StringIO(exported, newline="")))
    assert [r[4] for r in rows[1:]] == HOSTILE
    (tmp_path / "c1.csv").write_text(exported, encoding="utf-8", newline="")
    assert cli_main(["import", str(tmp_path / "c1.csv"), "--data", str(two)]) == 0
    with Store(two) as store:
        assert store.answers("C1").sort_values("week")["value"].tolist() == HOSTILE


def _force_names(store: Store, couple_id: str, name_a: str, name_b: str = "") -> None:
    """Names the validation would refuse, as an older store or another tool might hold them."""
    store.add_couple(couple_id)
    with sqlite3.connect(store.path) as con:
        con.execute(
            "UPDATE couples SET name_a = ?, name_b = ? WHERE couple_id = ?",
            (name_a, name_b, couple_id),
        )


def test_the_couples_list_never_sends_control_characters_to_the_terminal(store, capsys) -> None:
    _force_names(store, "C1", "Sam\x1b[2J\x1b[31m", "Al\nFAKE 99 2026-01-01")
    _force_names(store, "C2", "\u202eevil", "Dana")
    assert cli_main(["couples", "--data", str(store.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    lines = out.splitlines()
    assert len(lines) == 3  # the header and one line per couple, whatever the names hold
    assert "Sam\\x1b[2J" in lines[1] and "Al\\nFAKE" in lines[1]


def test_the_summary_never_sends_control_characters_to_the_terminal(demo_store, capsys) -> None:
    _force_names(demo_store, "D001", "Sam\x1b[2J\u202e", "Alex")
    assert cli_main(["summary", "D001", "--data", str(demo_store.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out and "\u202e" not in out
    assert "Sam\\x1b[2J\\u202e" in out


def test_erase_names_files_it_may_not_judge_and_ignores_lookalikes(data_dir: Path) -> None:
    with Store(data_dir) as store:
        _fill(store, "ab12", ["mine"], "note")
        export_couple(store, "ab12", data_dir / "exports" / "mine.csv")
    (data_dir / ".link-key").write_text("ffab12ff00ab12cd")  # the same letters, inside hex
    result = cli("erase", "ab12", "--yes", "--data", data_dir)
    assert result.returncode == 1
    assert result.stdout.startswith("erased ab12:")
    assert "still mention ab12" in result.stderr and "mine.csv" in result.stderr
    assert ".link-key" not in result.stderr
    assert result.stderr.count("\n") == 1
    assert (data_dir / "exports" / "mine.csv").exists()  # reported, never deleted
