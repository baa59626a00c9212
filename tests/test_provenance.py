"""Provenance: every saved answer says when it was saved and from where, and history keeps it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import sqlalchemy as sa

from mutuality_helpers.backup import backup, restore
from mutuality_helpers.forms import checkin_form
from mutuality_helpers.interchange import import_files
from mutuality_helpers.models import make_answer, make_season
from mutuality_helpers.schema import seasons_table
from mutuality_helpers.store import Store

WEEK = dt.date(2026, 9, 7)


def _when(stamp: str) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(stamp)
    assert parsed.tzinfo is not None and parsed.utcoffset() == dt.timedelta(0), stamp
    return parsed


def _csv(path: Path, *rows: str) -> Path:
    path.write_text("couple_id,partner,week,item,value\n" + "".join(f"{r}\n" for r in rows))
    return path


def test_an_import_records_its_file_and_the_time(store, tmp_path: Path) -> None:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0)
    import_files(store, [_csv(tmp_path / "week-37.csv", f"C1,A,{WEEK},energy,4")])
    end = dt.datetime.now(dt.UTC)
    row = store.answers("C1").iloc[0]
    assert row["source"] == "import:week-37.csv"
    assert start <= _when(row["saved_at"]) <= end


def test_a_replaced_answer_keeps_its_provenance_in_history(store, tmp_path: Path) -> None:
    store.save_answers([make_answer("C1", "A", WEEK, "energy", 2)], "form:weekly_checkin")
    first = store.answers("C1").iloc[0]
    import_files(store, [_csv(tmp_path / "from-paper.csv", f"C1,A,{WEEK},energy,6")])
    import_files(store, [_csv(tmp_path / "corrected.csv", f"C1,A,{WEEK},energy,7")])
    now = store.answers("C1").iloc[0]
    assert (now["value"], now["source"]) == ("7", "import:corrected.csv")
    history = store.answer_history("C1")
    assert history[["value", "source"]].values.tolist() == [
        ["2", "form:weekly_checkin"],
        ["6", "import:from-paper.csv"],
    ]
    # Each old value keeps the time it was saved, and gets the time it was replaced.
    assert history.iloc[0]["saved_at"] == first["saved_at"]
    for old in history.itertuples():
        assert _when(old.saved_at) <= _when(old.replaced_at)
    assert _when(history.iloc[1]["replaced_at"]) <= _when(now["saved_at"])


def test_saving_the_same_value_again_keeps_the_first_provenance(store, tmp_path: Path) -> None:
    store.save_answers([make_answer("C1", "B", WEEK, "teamwork", 4)], "form:weekly_checkin")
    before = store.answers("C1").iloc[0]
    counts = import_files(store, [_csv(tmp_path / "same.csv", f"C1,B,{WEEK},teamwork,4")]).counts
    assert counts["answers_unchanged"] == 1
    after = store.answers("C1").iloc[0]
    assert (after["saved_at"], after["source"]) == (before["saved_at"], before["source"])
    assert store.answer_history("C1").empty


def test_a_form_save_records_the_form(store) -> None:
    store.add_couple("C1")
    form = checkin_form(store, "C1", "A", WEEK)
    form.set_values(
        {
            "energy": 5,
            "teamwork": 4,
            "share_repair": 60,
            "share_connection": 50,
            "share_emotional_labour": 55,
            "share_practical_load": 40,
            "personal_work_self": 3,
            "personal_work_partner": 2,
        }  # fmt: skip
    )
    form.save_button.click()
    assert form.status == "saved", form.message
    frame = store.answers("C1")
    assert len(frame) == 8
    assert set(frame["source"]) == {"form:weekly_checkin"}
    assert frame["saved_at"].map(_when).notna().all()


def test_seasons_record_where_they_came_from(store, tmp_path: Path) -> None:
    store.add_couple("C1")
    store.add_season(make_season("C1", "B", "illness", WEEK, WEEK, True), "session workbook")
    seasons = tmp_path / "seasons.csv"
    seasons.write_text(
        "couple_id,partner,reason,start,planned_end,agreed,note\n"
        f"C1,A,work,{WEEK},{WEEK + dt.timedelta(weeks=3)},true,deadline\n"
    )
    import_files(store, [seasons])
    rows = store.read(
        sa.select(seasons_table.c.reason, seasons_table.c.source, seasons_table.c.saved_at)
    )
    assert sorted((r[0], r[1]) for r in rows) == [
        ("illness", "session workbook"),
        ("work", "import:seasons.csv"),
    ]
    assert all(_when(r[2]) for r in rows)


def test_provenance_survives_backup_and_restore(store, data_dir: Path) -> None:
    store.save_answers([make_answer("C1", "A", WEEK, "energy", 2)], "form:weekly_checkin")
    store.save_answers([make_answer("C1", "A", WEEK, "energy", 3)], "form:weekly_checkin")
    answers, history = store.answers("C1"), store.answer_history("C1")
    saved = backup(data_dir)
    store.save_answers([make_answer("C1", "A", WEEK, "energy", 9)], "import:later.csv")
    restore(saved, data_dir)
    with Store(data_dir) as again:
        assert again.answers("C1").equals(answers)
        assert again.answer_history("C1").equals(history)
