from __future__ import annotations

import datetime as dt
import sqlite3
import stat

import pandas as pd
import pytest

from mutuality_helpers.exceptions import (
    DuplicateSession,
    StoreError,
    UnknownCouple,
    UnknownSession,
    ValidationError,
)
from mutuality_helpers.instruments import get_instrument
from mutuality_helpers.models import SEASON_REASONS, make_answer, make_season
from mutuality_helpers.schema import SCHEMA_REVISION
from mutuality_helpers.store import Store

# The store-facing tests run on SQLite and on a PostgreSQL server (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("backend")

WEEK = "2026-09-07"


@pytest.mark.sqlite_only
def test_new_store_is_private_and_versioned(store, data_dir):
    path = data_dir / "workbook.sqlite"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
    assert store.schema_revision == SCHEMA_REVISION
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_save_and_read_tidy_frame(store):
    store.add_couple("C001", "Ana", "Ben")
    counts = store.save_answers(
        [
            make_answer("C001", "A", WEEK, "share_repair", "70"),
            make_answer("C001", "B", WEEK, "share_repair", 40),
            make_answer("C001", "A", WEEK, "reflection", "We talked"),
        ],
        source="test",
    )
    assert counts == {"added": 3, "replaced": 0, "unchanged": 0, "couples_created": 0}
    frame = store.answers("C001")
    assert list(frame.columns) == [
        "couple_id", "partner", "week", "item", "value", "value_num",
        "instrument", "saved_at", "source",
    ]  # fmt: skip
    assert pd.api.types.is_datetime64_any_dtype(frame["week"])
    assert frame["week"].dt.day_of_week.eq(0).all()
    repair = frame[frame["item"] == "share_repair"].set_index("partner")["value_num"]
    assert repair.to_dict() == {"A": 70.0, "B": 40.0}
    assert frame.loc[frame["item"] == "reflection", "value_num"].isna().all()
    assert set(frame["source"]) == {"test"}


def test_replaced_answer_keeps_history(store):
    store.save_answers([make_answer("C001", "A", WEEK, "energy", 3)], source="first")
    counts = store.save_answers([make_answer("C001", "A", WEEK, "energy", 8)], source="second")
    assert counts["replaced"] == 1
    assert store.answers("C001")["value"].tolist() == ["8"]
    history = store.answer_history("C001")
    assert history[["item", "value", "source"]].values.tolist() == [["energy", "3", "first"]]
    again = store.save_answers([make_answer("C001", "A", WEEK, "energy", 8)], source="third")
    assert again["unchanged"] == 1
    assert len(store.answer_history("C001")) == 1


def test_unknown_couples_are_created_on_save(store):
    counts = store.save_answers([make_answer("NEW1", "B", WEEK, "teamwork", 4)], source="t")
    assert counts["couples_created"] == 1
    assert store.couple_ids() == ["NEW1"]
    assert store.get_couple("NEW1")["name_a"] == "Partner A"


def test_couples_overview(store):
    store.add_couple("C002")
    store.save_answers(
        [
            make_answer("C001", "A", "2026-09-07", "energy", 3),
            make_answer("C001", "B", "2026-09-14", "energy", 3),
        ],
        source="t",
    )
    frame = store.couples().set_index("couple_id")
    assert frame.loc["C001", "weeks_answered"] == 2
    assert frame.loc["C001", "last_answer"] == pd.Timestamp("2026-09-14")
    assert frame.loc["C002", "weeks_answered"] == 0
    assert pd.isna(frame.loc["C002", "last_answer"])
    names = store.couple_names()
    assert names.columns.tolist() == ["couple_id", "name_a", "name_b"]
    assert names.equals(store.couples()[["couple_id", "name_a", "name_b"]])


def test_sessions_are_numbered_and_judged_as_of_their_week(store):
    store.add_couple("C001")
    assert store.add_session("C001", "2026-09-10", notes="intake") == 1
    assert store.add_session("C001", "2026-09-17", agreements="walk on Sunday") == 2
    session = store.session("C001", 2)
    # A Thursday with no check-ins in for its week: judged as of the last complete week.
    assert session["as_of"] == pd.Timestamp("2026-09-07")
    assert session["agreements"] == "walk on Sunday"
    both = [make_answer("C001", p, "2026-09-14", "energy", 5) for p in ("A", "B")]
    store.save_answers(both, source="test")
    assert store.session("C001", 2)["as_of"] == pd.Timestamp("2026-09-14")
    store.update_session("C001", 2, notes="went well")
    assert store.session("C001", 2)["notes"] == "went well"
    with pytest.raises(UnknownSession):
        store.session("C001", 3)
    with pytest.raises(UnknownCouple):
        store.add_session("NOPE", "2026-09-10")


def test_a_second_session_on_the_same_day_needs_confirming(store):
    store.add_couple("C001")
    assert store.add_session("C001", "2026-09-10") == 1
    with pytest.raises(DuplicateSession, match="already has session 1 on 2026-09-10") as caught:
        store.add_session("C001", "2026-09-10", notes="twice")
    assert caught.value.number == 1
    assert len(store.sessions("C001")) == 1  # nothing written
    assert store.add_session("C001", "2026-09-10", notes="evening", same_day=True) == 2


def test_editing_a_session_keeps_the_version_it_replaces(store):
    store.add_couple("C001")
    store.add_session("C001", "2026-09-10", notes="intake", agreements="walk")
    store.add_session("C001", "2026-09-17")
    assert store.edit_session("C001", 1, date="2026-09-11", notes="intake, long") is True
    row = store.session("C001", 1)
    assert (row["date"], row["notes"], row["agreements"]) == (
        pd.Timestamp("2026-09-11"), "intake, long", "walk",
    )  # fmt: skip
    history = store.session_history("C001")
    assert history[["number", "change", "notes"]].values.tolist() == [[1, "edited", "intake"]]
    assert history["date"].iloc[0] == pd.Timestamp("2026-09-10")
    # Nothing differs: nothing is written, no history.
    assert store.edit_session("C001", 1, notes="intake, long") is False
    assert len(store.session_history("C001")) == 1
    # Moving onto another session's date needs confirming too.
    with pytest.raises(DuplicateSession, match="session 2 on 2026-09-17"):
        store.edit_session("C001", 1, date="2026-09-17")
    assert store.session("C001", 1)["date"] == pd.Timestamp("2026-09-11")
    assert store.edit_session("C001", 1, date="2026-09-17", same_day=True)
    with pytest.raises(ValidationError, match="date"):
        store.edit_session("C001", 1, date="17/09/2026")
    with pytest.raises(UnknownSession):
        store.edit_session("C001", 9, notes="x")


def test_a_deleted_session_is_kept_in_the_history_and_its_number_not_reused(store):
    store.add_couple("C001")
    for day in ("2026-09-10", "2026-09-17", "2026-09-24"):
        store.add_session("C001", day, notes=f"on {day}")
    store.save_draft("C001", 3, "typing", "")
    before = store.change_count("C001")
    old = store.delete_session("C001", 3, source="test")
    assert old["notes"] == "on 2026-09-24"
    assert store.sessions("C001")["number"].tolist() == [1, 2]
    assert store.draft("C001", 3) is None
    gone = store.session_history("C001", 3).iloc[0]
    assert (gone.change, gone.notes, gone.source) == ("deleted", "on 2026-09-24", "test")
    assert store.change_count("C001") == before + 1
    # The next session is number 4: "session 3" keeps meaning the deleted one.
    assert store.add_session("C001", "2026-10-01") == 4
    with pytest.raises(UnknownSession):
        store.delete_session("C001", 3)


def test_drafts_are_kept_per_session_until_cleared(store):
    store.add_couple("C001")
    assert store.draft("C001", 0) is None
    store.save_draft("C001", 0, "half a thought", "")
    store.save_draft("C001", 0, "half a thought, finished", "Friday dinner")
    store.save_draft("C001", 2, "other", "")
    draft = store.draft("C001", 0)
    assert (draft["notes"], draft["agreements"]) == ("half a thought, finished", "Friday dinner")
    store.clear_draft("C001", 0)
    assert store.draft("C001", 0) is None and store.draft("C001", 2)["notes"] == "other"
    with pytest.raises(ValidationError, match="notes"):
        store.save_draft("C001", 0, "x" * 20_001, "")
    with pytest.raises(UnknownCouple):
        store.save_draft("NOPE", 0, "", "")


def test_seasons_declare_edit_close(store):
    store.add_couple("C001")
    season_id = store.add_season(
        make_season("C001", "B", "illness", "2026-09-14", "2026-10-12", True, "flu")
    )
    store.update_season(season_id, planned_end=dt.date(2026, 10, 19), note="flu, then rest")
    store.close_season(season_id, "2026-10-05")
    row = store.seasons("C001").iloc[0]
    assert row.planned_end == pd.Timestamp("2026-10-19")
    assert row.closed_on == pd.Timestamp("2026-10-05")
    assert (row.note, bool(row.agreed)) == ("flu, then rest", True)
    with pytest.raises(ValidationError, match="before start"):
        store.update_season(season_id, planned_end="2026-09-01")


# -- the change counter: every write that changes a couple's record moves it, nothing else ----

WEEK = "2026-11-02"
SEASON = ("C001", "B", "illness", "2026-09-14", "2026-10-12", True, "flu")


def _recorded_couple(store) -> None:
    store.add_couple("C001", "Robin", "Sam")
    store.add_couple("C002")
    store.save_answers([make_answer("C001", "A", WEEK, "energy", 5)], "test")
    store.add_session("C001", "2026-11-05", notes="first")
    store.add_season(make_season(*SEASON))


def _import(store, tmp_path, text: str) -> None:
    from mutuality_helpers.interchange import import_files

    path = tmp_path / "week.csv"
    path.write_text(text, encoding="utf-8")
    import_files(store, [path])


def _season_id(store) -> int:
    return int(store.seasons("C001")["season_id"].iloc[0])


ANSWER_CSV = "couple_id,partner,week,item,value\nC001,B,2026-11-02,energy,6\n"
SAME_CSV = "couple_id,partner,week,item,value\nC001,A,2026-11-02,energy,5\n"
CHANGES = {
    "an answer added": lambda s, t: s.save_answers(
        [make_answer("C001", "B", WEEK, "energy", 6)], "test"
    ),
    "an answer replaced": lambda s, t: s.save_answers(
        [make_answer("C001", "A", WEEK, "energy", 7)], "test"
    ),
    "a private safety answer": lambda s, t: s.save_answers(
        [make_answer("C001", "A", WEEK, "safety_felt_safe", "not_safe")], "test"
    ),
    "an import": lambda s, t: _import(s, t, ANSWER_CSV),
    "a season declared": lambda s, t: s.add_season(
        make_season("C001", "A", "work", "2026-10-05", "2026-10-26", False)
    ),
    "a season re-saved with a new note": lambda s, t: s.save_seasons(
        [make_season(*SEASON[:-1], "flu, then rest")], "test"
    ),
    "a season edited": lambda s, t: s.update_season(_season_id(s), note="rest"),
    "a season closed": lambda s, t: s.close_season(_season_id(s), "2026-10-01"),
    "a session recorded": lambda s, t: s.add_session("C001", "2026-11-12"),
    "a session edited": lambda s, t: s.edit_session("C001", 1, notes="first, edited"),
    "a session deleted": lambda s, t: s.delete_session("C001", 1),
    "a display name changed": lambda s, t: s.add_couple("C001", "Robyn"),
}
NOT_CHANGES = {
    "the same answer again": lambda s, t: s.save_answers(
        [make_answer("C001", "A", WEEK, "energy", 5)], "test"
    ),
    "the same import again": lambda s, t: _import(s, t, SAME_CSV),
    "the same season again": lambda s, t: s.save_seasons([make_season(*SEASON)], "test"),
    "a session edit that changes nothing": lambda s, t: s.edit_session("C001", 1, notes="first"),
    "the same display name": lambda s, t: s.add_couple("C001", "Robin"),
    "a draft typed": lambda s, t: s.save_draft("C001", 1, "typing", ""),
    "links revoked": lambda s, t: s.revoke_links("C001"),
}


@pytest.mark.parametrize("change", CHANGES)
def test_every_write_that_changes_a_record_raises_its_couples_change_count(store, tmp_path, change):
    _recorded_couple(store)
    before = {c: store.change_count(c) for c in ("C001", "C002")}
    CHANGES[change](store, tmp_path)
    assert store.change_count("C001") == before["C001"] + 1
    assert store.change_count("C002") == before["C002"]  # another couple's is not moved


@pytest.mark.parametrize("write", NOT_CHANGES)
def test_a_write_that_changes_no_record_leaves_the_count(store, tmp_path, write):
    _recorded_couple(store)
    before = store.change_count("C001")
    NOT_CHANGES[write](store, tmp_path)
    assert store.change_count("C001") == before


def test_alerts_marked_raise_the_change_count(store):
    _recorded_couple(store)
    store.save_answers([make_answer("C001", "A", WEEK, "safety_felt_safe", "not_safe")], "t")
    before = store.change_count("C001")
    store.mark_alert(1, "seen", "Dr K")
    store.mark_alert(1, "resolved", "Dr K", "spoke alone")
    assert store.change_count("C001") == before + 2


def test_a_write_rolled_back_leaves_the_count(store):
    _recorded_couple(store)
    before = store.change_count("C001")
    with pytest.raises(RuntimeError), store.atomic():
        store.add_session("C001", "2026-11-12")
        assert store.change_count("C001") == before + 1  # inside: its own view
        raise RuntimeError("crash before the commit")
    assert store.change_count("C001") == before
    assert store.sessions("C001")["number"].tolist() == [1]


def test_season_reasons_are_the_demand_tags():
    # A season's reason is one of the check-in's demand tags (docs/method.md): the lists agree.
    assert SEASON_REASONS == get_instrument("weekly_checkin").item("demands").choices


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("C001", "B", "holiday", "2026-09-14", "2026-10-12", "true"), "reason 'holiday'"),
        (("C001", "B", "illness", "2026-10-14", "2026-10-12", "true"), "before start"),
        (("C001", "B", "illness", "2026-09-14", "2026-10-12", "perhaps"), "true or false"),
        (("C 1", "B", "illness", "2026-09-14", "2026-10-12", "true"), "couple id"),
    ],
)
def test_make_season_rejects(args, reason):
    with pytest.raises(ValidationError, match=reason):
        make_season(*args)


@pytest.mark.parametrize(
    ("args", "reason"),
    [
        (("C001", "A", "2026-09-08", "energy", 3), "is a Tuesday"),
        (("C001", "A", "2026-02-30", "energy", 3), "not a real date"),
        (("C001", "A", "07/09/2026", "energy", 3), "YYYY-MM-DD"),
        (("C001", "X", WEEK, "energy", 3), "partner 'X'"),
        (("../etc", "A", WEEK, "energy", 3), "couple id"),
        (("C001", "A", WEEK, "energy", ""), "a value is required"),
    ],
)
def test_make_answer_rejects(args, reason):
    with pytest.raises(ValidationError, match=reason):
        make_answer(*args)


@pytest.mark.sqlite_only
def test_foreign_file_is_refused_and_untouched(data_dir):
    data_dir.mkdir(parents=True)
    path = data_dir / "workbook.sqlite"
    path.write_bytes(b"this is a spreadsheet, honestly\n" * 10)
    before = path.read_bytes()
    with pytest.raises(StoreError, match="not a Mutuality store"):
        Store(data_dir)
    assert path.read_bytes() == before


@pytest.mark.sqlite_only
def test_foreign_sqlite_database_is_refused_and_untouched(data_dir):
    data_dir.mkdir(parents=True)
    path = data_dir / "workbook.sqlite"
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE recipes (name TEXT)")
    before = path.read_bytes()
    with pytest.raises(StoreError, match="SQLite file but not a Mutuality store"):
        Store(data_dir)
    assert path.read_bytes() == before


@pytest.mark.sqlite_only
def test_create_false_refuses_a_folder_without_a_store(tmp_path):
    missing = tmp_path / "typo"
    with pytest.raises(StoreError, match="no Mutuality store in"):
        Store(missing, create=False)
    assert not missing.exists()


def refused_untouched(data_dir, *statements: tuple[str, tuple]) -> None:
    """Make a store, change its recorded version with ``statements``: it is refused, unchanged."""
    with Store(data_dir) as s:
        path = s.path
    with sqlite3.connect(path) as con:
        for sql, params in statements:
            con.execute(sql, params)
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreError, match="schema"):
        Store(data_dir)
    assert path.read_bytes() == before


@pytest.mark.sqlite_only
@pytest.mark.parametrize("version", [None, "", "two", "99"])
def test_a_store_without_a_usable_schema_version_is_refused_untouched(data_dir, version):
    if version is None:
        refused_untouched(data_dir, ("DELETE FROM alembic_version", ()))
    else:
        refused_untouched(data_dir, ("UPDATE alembic_version SET version_num = ?", (version,)))


@pytest.mark.sqlite_only
@pytest.mark.parametrize("version", [None, "two", "99"])
def test_a_store_from_before_alembic_without_a_usable_version_is_refused_untouched(
    data_dir, version
):
    # What release 0.1 wrote: no alembic_version, only meta.schema_version.
    drop = ("DROP TABLE alembic_version", ())
    if version is None:
        refused_untouched(data_dir, drop, ("DELETE FROM meta", ()))
    else:
        update = "UPDATE meta SET value = ? WHERE key = 'schema_version'"
        refused_untouched(data_dir, drop, (update, (version,)))


@pytest.mark.parametrize(
    "items",
    [
        ["share_repair", "personal_work_self", "energy"],
        ["reflection", "energy", "demands"],  # items without a number: answered, NaN
        ["share_connection"],
    ],
)
def test_a_week_range_read_a_week_to_a_row_gives_every_answer_of_a_scan(store, items):
    # answers_between(items, ...) reads a week to a row and unfolds it (store_answers.
    # weekly_rows): the same answers, numbers and instruments as reading them one by one.
    weeks = ["2026-09-07", "2026-09-14", "2026-09-21", "2026-09-28"]
    given = [
        ("C001", "A", weeks[0], "share_repair", 30),
        ("C001", "B", weeks[0], "share_repair", 70),
        ("C001", "A", weeks[1], "energy", 0),
        ("C001", "A", weeks[1], "reflection", "a week"),
        ("C001", "B", weeks[2], "personal_work_self", 4),
        ("C002", "A", weeks[2], "demands", "work"),
        ("C002", "B", weeks[3], "share_connection", 50),
        ("C002", "B", weeks[3], "energy", 10),
        ("C002", "A", "2026-10-05", "share_repair", 40),  # after the range
    ]
    store.save_answers([make_answer(*row) for row in given], source="test")
    window = store.answers_between(items, weeks[0], weeks[-1])
    every = store.answers_between(None, weeks[0], weeks[-1])
    scanned = every.loc[every["item"].isin(items)]
    key = ["couple_id", "partner", "week", "item"]
    pd.testing.assert_frame_equal(
        window.sort_values(key).reset_index(drop=True),
        scanned.sort_values(key).reset_index(drop=True),
    )
    assert len(window) == sum(1 for row in given[:-1] if row[3] in items)


def test_key_seeking_reads_agree_with_the_answers_they_summarise(demo_store):
    # answer_spans, answers_between over a week range and couple_names seek the answers'
    # key instead of scanning the store; they must say what a scan of every answer says.
    every = demo_store.answers()
    checkin = get_instrument("weekly_checkin").item_ids
    mine = every.loc[every["item"].isin(checkin) & (every["week"] <= "2026-10-05")]
    expected = (
        mine.groupby(["couple_id", "partner"])["week"]
        .agg(first_week="min", last_week="max")
        .reset_index()
    )
    spans = demo_store.answer_spans(checkin, until="2026-10-05")
    pd.testing.assert_frame_equal(
        spans.sort_values(["couple_id", "partner"]).reset_index(drop=True),
        expected,
        check_dtype=False,
    )
    window = demo_store.answers_between(["energy", "share_repair"], "2026-09-07", "2026-09-28")
    scanned = every.loc[
        every["item"].isin(["energy", "share_repair"])
        & every["week"].between("2026-09-07", "2026-09-28")
    ]
    key = ["couple_id", "partner", "week", "item"]
    assert (
        window.sort_values(key)[key].values.tolist()
        == scanned.sort_values(key)[key].values.tolist()
    )
    assert len(window) > 0
    pd.testing.assert_frame_equal(
        demo_store.couple_names(), demo_store.couples()[["couple_id", "name_a", "name_b"]]
    )
