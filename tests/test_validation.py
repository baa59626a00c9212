"""Text that no UTF-8 file can hold (lone surrogates, invalid UTF-8 bytes) is refused with its
reason at every entry point: CSV, form, command line, notebook API. Nothing is written.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys

import pytest

from mutuality_helpers.exceptions import ImportRejected, ValidationError
from mutuality_helpers.forms import InstrumentForm
from mutuality_helpers.interchange import import_files, parse_csv
from mutuality_helpers.models import make_answer, make_season
from mutuality_helpers.store import Store
from mutuality_helpers.validation import parse_date, parse_name, parse_text

WEEK = dt.date(2026, 11, 23)
LONE_HIGH = "we talked \ud800 after"  # what a clipped emoji leaves in a browser string
LONE_LOW = "ok \udfff"
BAD_BYTES = b"caf\xff notes".decode("utf-8", "surrogateescape")  # argv with invalid UTF-8


@pytest.mark.parametrize("text", [LONE_HIGH, LONE_LOW])
def test_a_lone_surrogate_is_refused_with_where_it_is(text):
    with pytest.raises(ValidationError, match=r"half of a character \(U\+D[8-F]\w\w at character"):
        parse_text(text, "reflection")


def test_invalid_utf8_bytes_are_named_as_such():
    with pytest.raises(
        ValidationError, match="not valid UTF-8 text \\(byte 0xFF at character 4\\)"
    ):
        parse_text(BAD_BYTES, "notes")


@pytest.mark.parametrize("text", ["plain", "😀 emoji pair", "中文 العربية", "é" * 10, ""])
def test_well_formed_text_is_kept_exactly(text):
    assert parse_text(text, "reflection") == text


def test_the_notebook_api_refuses_broken_text_and_writes_nothing(store):
    store.add_couple("C001")
    before = (store.couples().to_dict(), len(store.answers("C001")))
    with pytest.raises(ValidationError):
        store.add_couple("C001", LONE_HIGH, "Ben")
    with pytest.raises(ValidationError):
        parse_name(BAD_BYTES, "name_a")
    with pytest.raises(ValidationError):
        make_answer("C001", "A", WEEK, "reflection", LONE_HIGH)
    with pytest.raises(ValidationError):
        make_season("C001", "B", "illness", "2026-11-02", "2026-11-30", True, LONE_LOW)
    with pytest.raises(ValidationError):
        store.add_session("C001", "2026-11-26", notes=BAD_BYTES)
    assert (store.couples().to_dict(), len(store.answers("C001"))) == before
    assert store.sessions("C001").empty and store.seasons("C001").empty


def test_the_form_says_what_is_wrong_and_saves_nothing(store):
    store.add_couple("C001")
    form = InstrumentForm(store, "weekly_checkin", "C001", "A", week=WEEK, today=WEEK)
    form.set_values(
        {
            "energy": 4, "teamwork": 3, "share_repair": 60, "share_connection": 50,
            "share_emotional_labour": 40, "share_practical_load": 50,
            "personal_work_self": 2, "personal_work_partner": 2, "demands": [],
            "reflection": LONE_HIGH,
        }
    )  # fmt: skip
    form.save_button.click()
    assert form.status == "invalid"
    assert "half of a character" in form.fields["reflection"].error.value
    assert store.answers("C001").empty


@pytest.mark.parametrize(
    "raw", [b"C1,A,2026-11-23,reflection,caf\xff\n", b"C1,A,2026-11-23,reflection,\xed\xa0\x80\n"]
)
def test_a_csv_with_invalid_utf8_or_an_encoded_surrogate_is_rejected_whole(store, tmp_path, raw):
    path = tmp_path / "answers.csv"
    path.write_bytes(b"couple_id,partner,week,item,value\nC1,B,2026-11-23,energy,5\n" + raw)
    with pytest.raises(ImportRejected, match="line 3: not UTF-8 text"):
        import_files(store, [path])
    assert store.couple_ids() == []


def test_csv_text_handed_over_in_python_is_checked_too():
    text = f"couple_id,partner,week,item,value\nC1,A,2026-11-23,reflection,{LONE_HIGH}\n"
    with pytest.raises(ImportRejected, match="line 2: .*half of a character"):
        parse_csv("upload.csv", text=text)


def test_the_command_line_refuses_invalid_utf8_in_one_line(data_dir):
    with Store(data_dir) as store:
        store.add_couple("C001")
    argv = [sys.executable, "-m", "mutuality_helpers.cli", "session", "C001", "--date",
            "2026-11-26", "--notes", b"caf\xff".decode("utf-8", "surrogateescape"),
            "--data", str(data_dir)]  # fmt: skip
    env = {**os.environ, "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run(
        [os.fsencode(a) for a in argv], capture_output=True, text=True, env=env, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.count("\n") == 1 and "not valid UTF-8 text" in done.stderr
    assert "internal error" not in done.stderr
    with Store(data_dir) as store:
        assert store.sessions("C001").empty


@pytest.mark.parametrize("raw", ["0001-01-01", "1899-12-31", "2200-01-01", dt.date(9999, 12, 31)])
def test_dates_far_outside_any_record_are_named_not_crashed_on(raw):
    with pytest.raises(ValidationError, match="is outside 1900-01-01 to 2199-12-31"):
        parse_date(raw, "as_of")


def test_the_summary_command_names_an_impossible_as_of_in_one_line(demo_data_dir, capsys):
    from mutuality_helpers.cli import main

    assert main(["summary", "D004", "--as-of", "0001-01-01", "--data", str(demo_data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "outside 1900-01-01 to 2199-12-31" in err
