from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from mutuality_helpers.exceptions import ImportRejected
from mutuality_helpers.interchange import export_couple, import_files, parse_csv

# The store-facing tests run on SQLite and on a PostgreSQL server (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")

ANSWERS = "couple_id,partner,week,item,value\n"
SEASONS = "couple_id,partner,reason,start,planned_end,agreed,note\n"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def dump(store) -> list:
    """Every row of every table: what 'nothing written' is checked against."""
    tables = sorted(sa.inspect(store.engine).get_table_names())
    with store.engine.connect() as con:
        return [
            (t, sorted(tuple(r) for r in con.exec_driver_sql(f'SELECT * FROM "{t}"')))
            for t in tables
        ]


def test_header_detection(tmp_path):
    answers = write(tmp_path, "a.csv", ANSWERS + "C001,A,2026-09-07,share_repair,70\n")
    seasons = write(
        tmp_path, "s.csv", SEASONS + "C001,B,illness,2026-09-14,2026-10-12,true,flu then recovery\n"
    )
    couples = write(tmp_path, "c.csv", "couple_id,name_a,name_b\nC001,Ana,Ben\n")
    assert [parse_csv(p).kind for p in (answers, seasons, couples)] == [
        "answers",
        "seasons",
        "couples",
    ]


def test_design_example_imports(store, tmp_path):
    path = write(
        tmp_path,
        "a.csv",
        ANSWERS
        + "C001,A,2026-09-07,share_repair,70\n"
        + 'C001,B,2026-09-07,reflection,"We talked on Sunday, that helped"\n',
    )
    result = import_files(store, [path])
    assert result.created == ["C001"]
    assert result.counts == {"answers_added": 2, "answers_replaced": 0, "answers_unchanged": 0}
    frame = store.answers("C001").set_index("item")
    assert frame.loc["reflection", "value"] == "We talked on Sunday, that helped"
    assert frame.loc["reflection", "source"] == "import:a.csv"


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("C001,A,2026-09-08,share_repair,70", "is a Tuesday"),
        ("C001,A,2026-13-07,share_repair,70", "not a real date"),
        ("C001,A,7/9/2026,share_repair,70", "YYYY-MM-DD"),
        ("C001,C,2026-09-07,share_repair,70", "partner 'C' must be A or B"),
        ("C001,A,2026-09-07,share_fun,70", "unknown item 'share_fun'"),
        ("C001,A,2026-09-07,share_repair,170", "outside 0-100"),
        ("C001,A,2026-09-07,share_repair,-5", "outside 0-100"),
        ("C001,A,2026-09-07,energy,lots", "expected a whole number"),
        ("C001,A,2026-09-07,energy,", "a value is required"),
        ("C001,A,2026-09-07,demands,work;holiday", "unknown tag 'holiday'"),
        ("C 001,A,2026-09-07,energy,5", "couple id"),
        ("C001,A,2026-09-07,energy", "expected 5 fields, found 4"),
        ("C001,A,2026-09-07,energy,5,extra", "expected 5 fields, found 6"),
        ("C001,A,2026-09-07,share_repair,60", "contradicts line 2"),
        ('C001,A,2026-09-07,reflection,"' + "x" * 5000 + '"', "at most 4000"),
    ],
)
def test_one_bad_row_rejects_whole_file_and_writes_nothing(store, tmp_path, row, reason):
    store.save_answers([], source="t")
    before = dump(store)
    text = ANSWERS + "C001,A,2026-09-07,share_repair,70\n" + row + "\nC002,B,2026-09-07,energy,4\n"
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ImportRejected) as info:
        import_files(store, [path])
    assert info.value.problems[0][0] == 3
    assert reason in info.value.problems[0][1]
    assert "line 3: " in str(info.value)
    assert dump(store) == before


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("", 1, "the file is empty"),
        ("name,score\nx,1\n", 1, "unknown header"),
        (b"couple_id,partner,week,item,value\nC001,A,2026-09-07,reflection,caf\xe9\n", 2,
         "not UTF-8"),
        ("couple_id,partner,week,item,value\nC001,A,2026-09-07,energy,\x005\n", 2, "NUL byte"),
        ('couple_id,partner,week,item,value\nC001,A,2026-09-07,reflection,"open\n', 2,
         "unreadable CSV"),
        (SEASONS + "C001,B,holiday,2026-09-14,2026-10-12,true,\n", 2, "reason 'holiday'"),
        (SEASONS + "C001,B,illness,2026-10-14,2026-10-12,true,\n", 2, "before start"),
        (SEASONS + "C001,B,illness,2026-09-14,2026-10-12,maybe,\n", 2, "true or false"),
        ("couple_id,name_a,name_b\nC001,Ana\x1b[31m,Ben\n", 2, "control characters"),
        ("couple_id,name_a,name_b\nC001,Ana,Ben\u202e\n", 2, "control characters"),
    ],
)  # fmt: skip
def test_file_level_and_season_rejections(store, tmp_path, text, line, reason):
    before = dump(store)
    path = write(tmp_path, "bad.csv", text)
    with pytest.raises(ImportRejected) as info:
        import_files(store, [path])
    assert (info.value.problems[0][0], reason in info.value.problems[0][1]) == (line, True)
    assert dump(store) == before


def test_every_bad_row_is_named(tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        ANSWERS
        + "C001,A,2026-09-07,energy,5\n"
        + "C001,A,2026-09-07,teamwork,9\n"
        + "C001,A,2026-09-07,energy,5\n"
        + "C001,Z,2026-09-07,energy,5\n",
    )
    with pytest.raises(ImportRejected) as info:
        parse_csv(path)
    assert [n for n, _ in info.value.problems] == [3, 5]


def test_quoted_newline_keeps_line_numbers_true(tmp_path):
    path = write(
        tmp_path,
        "bad.csv",
        ANSWERS + 'C001,A,2026-09-07,reflection,"two\nlines"\nC001,A,2026-09-07,energy,99\n',
    )
    with pytest.raises(ImportRejected) as info:
        parse_csv(path)
    assert info.value.problems[0][0] == 4


def test_a_bad_second_file_rejects_the_first_too(store, tmp_path):
    good = write(tmp_path, "good.csv", ANSWERS + "C001,A,2026-09-07,energy,5\n")
    bad = write(tmp_path, "bad.csv", ANSWERS + "C001,A,2026-09-07,energy,50\n")
    with pytest.raises(ImportRejected):
        import_files(store, [good, bad])
    assert store.answers().empty
    assert store.couple_ids() == []


def test_reimport_latest_wins_and_history_kept(store, tmp_path):
    first = write(tmp_path, "w1.csv", ANSWERS + "C001,A,2026-09-07,energy,5\n")
    second = write(tmp_path, "w2.csv", ANSWERS + "C001,A,2026-09-07,energy,2\n")
    import_files(store, [first])
    result = import_files(store, [second])
    assert result.counts["answers_replaced"] == 1
    assert store.answers("C001")["value"].tolist() == ["2"]
    history = store.answer_history("C001")
    assert history[["value", "source"]].values.tolist() == [["5", "import:w1.csv"]]


def test_export_then_import_round_trips(demo_store, store, tmp_path):
    out = tmp_path / "export" / "d003.csv"
    written = export_couple(demo_store, "D003", out)
    assert [p.name for p in written] == ["d003.csv", "d003-seasons.csv", "d003-couple.csv"]
    assert all(p.stat().st_mode & 0o077 == 0 for p in written)
    import_files(store, written)
    columns = ["couple_id", "partner", "week", "item", "value", "value_num", "instrument"]
    original = demo_store.answers("D003")[columns].reset_index(drop=True)
    copy = store.answers("D003")[columns].reset_index(drop=True)
    assert copy.equals(original)
    season_cols = ["couple_id", "partner", "reason", "start", "planned_end", "agreed", "note"]
    assert store.seasons("D003")[season_cols].equals(demo_store.seasons("D003")[season_cols])
    assert store.get_couple("D003") == demo_store.get_couple("D003")
    # Exporting the copy gives the very same bytes.
    again = export_couple(store, "D003", tmp_path / "again" / "d003.csv")
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in written]
