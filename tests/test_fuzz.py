"""Bad input, fuzzed: every generated CSV or form value is accepted and round-trips, or is
rejected with a one-line message, with the store exactly as it was. Never a traceback.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import itertools
import math
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mutuality_helpers.cli import main as cli_main
from mutuality_helpers.exceptions import ImportRejected, MutualityError, ValidationError
from mutuality_helpers.instruments import find_item, instruments
from mutuality_helpers.interchange import (
    ANSWER_HEADER,
    SEASON_HEADER,
    export_couple,
    import_files,
)
from mutuality_helpers.models import SEASON_REASONS, make_answer
from mutuality_helpers.store import Store

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ITEM_IDS = sorted(item.id for inst in instruments().values() for item in inst.items)
MONDAY = dt.date(2026, 9, 7)
# Only what a UTF-8 file can hold: st.characters() alone also draws lone surrogates, which no
# CSV file can carry (tests/test_validation.py feeds those to every layer on purpose).
UTF8_TEXT = st.characters(codec="utf-8", exclude_characters="\x00")
FRESH = itertools.count()

# -- strategies --------------------------------------------------------------------------------

couple_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,31}", fullmatch=True)
cells = st.one_of(
    st.text(UTF8_TEXT, max_size=40),
    st.sampled_from(["", " ", "NaN", "nan", "None", "null", "-0", "\t", "\ufeff"]),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
long_text = st.integers(3990, 4010).flatmap(
    lambda n: st.sampled_from(["é", "a", "😀", "<", "\n"]).map(lambda ch: ch * n)
)
mondays = st.integers(-400, 400).map(lambda k: (MONDAY + dt.timedelta(weeks=k)).isoformat())
days = st.dates(dt.date(1900, 1, 1), dt.date(2200, 12, 31)).map(dt.date.isoformat)
values = st.one_of(
    cells,
    long_text,
    st.integers(-5, 105).map(str),
    st.sampled_from(
        [
            "+5",
            " 7 ",
            "5.0",
            "1e1",
            "٣",
            "１０",
            "work",
            "work;illness",
            "burnout; work;work",
            "fun",
            "; ;",
            "<script>x</script>",
            "=1+1",
            'a "b", c',
            "x\r\ny",
        ]
    ),  # fmt: skip
)
answer_rows = st.lists(
    st.tuples(
        st.one_of(couple_ids, cells),
        st.one_of(st.sampled_from(["A", "B", " A", "b", "C"]), cells),
        st.one_of(mondays, days, cells),
        st.one_of(st.sampled_from(ITEM_IDS), st.sampled_from(ITEM_IDS).map(" {} ".format), cells),
        values,
    ).map(list),
    min_size=1,
    max_size=8,
)


@st.composite
def valid_value(draw, item_id: str) -> str:
    """A value the item accepts, written in any of the ways people and spreadsheets write it."""
    _, spec = find_item(item_id)
    if spec.is_numeric:
        n = draw(st.integers(spec.min, spec.max))
        return draw(st.sampled_from([str(n), f" {n} ", f"+{n}", f"{n}.0", f"0{n}"]))
    if spec.type == "tags":
        tags = draw(st.lists(st.sampled_from(spec.choices), max_size=4))
        return draw(st.sampled_from([";", "; ", " ;"])).join(tags)
    text = st.text(UTF8_TEXT, max_size=80)
    return draw(st.one_of(text, long_text.map(lambda t: t[: spec.max_length])))


@st.composite
def good_row(draw) -> list[str]:
    item = draw(st.sampled_from(ITEM_IDS))
    return [
        draw(st.sampled_from(["F1", " F2", "f-3_x"])),
        draw(st.sampled_from(["A", "B", " B "])),
        draw(st.integers(0, 20).map(lambda k: (MONDAY + dt.timedelta(weeks=k)).isoformat())),
        draw(st.sampled_from([item, f" {item}"])),
        draw(valid_value(item)),
    ]


# Well-formed rows, so that many files get through and must round-trip.
good_rows = st.lists(good_row(), min_size=1, max_size=8)
season_rows = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(["F1", "F2"]), cells),
        st.one_of(st.sampled_from(["A", "B"]), cells),
        st.one_of(st.sampled_from(SEASON_REASONS), cells),
        st.one_of(mondays, days, cells),
        st.one_of(mondays, days, cells),
        st.one_of(st.sampled_from(["true", "false", "yes", "no", "1", "0", "TRUE"]), cells),
        st.one_of(cells, long_text),
    ).map(list),
    min_size=1,
    max_size=6,
)


@st.composite
def good_season(draw) -> list[str]:
    start = draw(st.dates(dt.date(2020, 1, 1), dt.date(2030, 12, 31)))
    end = start + dt.timedelta(days=draw(st.integers(0, 200)))
    note = st.text(UTF8_TEXT, max_size=1000)
    return [
        draw(st.sampled_from(["F1", "F2 "])),
        draw(st.sampled_from(["A", "B"])),
        draw(st.sampled_from(SEASON_REASONS)),
        start.isoformat(),
        end.isoformat(),
        draw(st.sampled_from(["true", "false", "yes", "no", "1", "0", "TRUE", " n "])),
        draw(st.one_of(note, long_text.map(lambda t: t[:1000]))),
    ]


good_seasons = st.lists(good_season(), min_size=1, max_size=6)

# -- helpers -----------------------------------------------------------------------------------


def dump(store: Store, audit: bool = True) -> dict[str, list]:
    """Every row of every table (saved_at included): the store's whole content.

    ``audit=False`` leaves out the audit trail, which records every access (an import
    that changes nothing is still an access).
    """
    con = sqlite3.connect(store.path)
    try:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        tables = [t for t in tables if audit or t != "audit"]
        return {t: sorted(map(repr, con.execute(f'SELECT * FROM "{t}"'))) for t in tables}
    finally:
        con.close()


def write_csv(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def import_or_reject(store: Store, path: Path) -> bool:
    """Import ``path``; True if accepted. A rejection must be one line and change nothing."""
    before = dump(store)
    try:
        import_files(store, [path])
    except MutualityError as exc:
        message = str(exc)
        assert message and "\n" not in message and "\r" not in message, message
        assert dump(store) == before, "a rejected file changed the store"
        event("rejected")
        return False
    event("accepted")
    return True


def answers_of(store: Store, couples: set[str]) -> list[tuple]:
    frame = store.answers(sorted(couples))
    return sorted(
        zip(frame["couple_id"], frame["partner"], frame["week"], frame["item"], frame["value"],
            strict=True)
    )  # fmt: skip


def assert_export_round_trips(store: Store, couples: set[str], tmp: Path) -> None:
    """Export then import into the same store changes nothing; into a new one gives the same."""
    paths = []
    for couple in sorted(couples):
        paths += export_couple(store, couple, tmp / f"export-{couple}.csv")
    before = dump(store, audit=False)
    result = import_files(store, paths)
    assert result.counts.get("answers_added", 0) == 0
    assert result.counts.get("answers_replaced", 0) == 0
    after = dump(store, audit=False)
    assert after == before
    with Store(tmp / f"fresh-{next(FRESH)}") as fresh:
        import_files(fresh, paths)
        assert answers_of(fresh, couples) == answers_of(store, couples)


@pytest.fixture
def fuzz_store(tmp_path: Path):
    with Store(tmp_path / "data") as store:
        yield store


# -- answer files ------------------------------------------------------------------------------


@FUZZ
@given(rows=st.one_of(answer_rows, good_rows))
def test_fuzzed_answer_files_round_trip_or_are_rejected_whole(fuzz_store, tmp_path, rows):
    path = write_csv(tmp_path / "answers.csv", ANSWER_HEADER, rows)
    if not import_or_reject(fuzz_store, path):
        return
    # Accepted: every non-blank row is valid, and the store holds its canonical value.
    expected = {}
    for row in rows:
        if not any(cell.strip() for cell in row):
            continue
        a = make_answer(*row)
        expected[(a.couple_id, a.partner, a.week.isoformat(), a.item)] = a.value
    if not expected:
        return
    touched = {k[0] for k in expected}
    stored = {
        (c, p, w.date().isoformat(), i): v for c, p, w, i, v in answers_of(fuzz_store, touched)
    }
    for key, value in expected.items():
        assert stored[key] == value
        _, spec = find_item(key[3])
        assert spec.parse(value) == value  # the stored form is canonical
    assert_export_round_trips(fuzz_store, touched, tmp_path)


@FUZZ
@given(rows=good_rows, bad=answer_rows, where=st.integers(0, 8))
def test_one_bad_row_rejects_the_whole_file_and_is_named(fuzz_store, tmp_path, rows, bad, where):
    broken = ["C1", "A", MONDAY.isoformat(), "energy", "11"]  # out of range
    head = rows[:where]
    path = write_csv(tmp_path / "answers.csv", ANSWER_HEADER, head + [broken] + rows[where:] + bad)
    # The physical line the broken row starts on (quoted newlines in earlier values count).
    lines_before = io.StringIO(newline="")
    csv.writer(lines_before, lineterminator="\n").writerows([list(ANSWER_HEADER), *head])
    line = len(io.StringIO(lines_before.getvalue(), newline="").readlines()) + 1
    before = dump(fuzz_store)
    with pytest.raises(ImportRejected) as caught:
        import_files(fuzz_store, [path])
    assert dump(fuzz_store) == before
    if any("\x00" in cell for row in bad for cell in row):
        # A NUL byte means "not a text file": the file is refused before rows are read.
        assert "NUL" in str(caught.value)
    else:
        assert any(n == line for n, _ in caught.value.problems)
    assert "\n" not in str(caught.value)


@FUZZ
@given(raw=st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_arbitrary_bytes_are_imported_or_refused_never_crash(fuzz_store, tmp_path, raw):
    path = tmp_path / "upload.csv"
    for content in (raw, b"couple_id,partner,week,item,value\n" + raw):
        path.write_bytes(content)
        import_or_reject(fuzz_store, path)


# -- season files ------------------------------------------------------------------------------


@FUZZ
@given(rows=st.one_of(season_rows, good_seasons))
def test_fuzzed_season_files_round_trip_or_are_rejected_whole(fuzz_store, tmp_path, rows):
    path = write_csv(tmp_path / "seasons.csv", SEASON_HEADER, rows)
    if not import_or_reject(fuzz_store, path):
        return
    couples = {row[0].strip() for row in rows if any(c.strip() for c in row)}
    if not couples:
        return
    paths = []
    for couple in sorted(couples):
        paths += export_couple(fuzz_store, couple, tmp_path / f"export-{couple}.csv")

    def seasons(store: Store) -> list[str]:
        # Everything but the row id, the time of saving and the source.
        frame = store.seasons(sorted(couples)).drop(columns="season_id")
        return sorted(map(repr, frame.itertuples(index=False)))

    before = dump(fuzz_store)
    expected = seasons(fuzz_store)
    import_files(fuzz_store, paths)
    assert seasons(fuzz_store) == expected
    assert dump(fuzz_store)["answers"] == before["answers"]
    with Store(tmp_path / f"fresh-{next(FRESH)}") as fresh:
        import_files(fresh, paths)
        assert seasons(fresh) == expected


# -- form values -------------------------------------------------------------------------------

form_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**10), 10**10),
    st.integers(-3, 103),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 4.0, 50.0, 2.5, -1.0, float("nan")]),
    st.text(max_size=60),
    long_text,
    st.lists(st.sampled_from(["work", "illness", "fun", ""]), max_size=4),
    st.sampled_from([["work", "work"], ("burnout",), {"children"}, [1, 2], {"a": 1}]),
)


@FUZZ
@given(item=st.sampled_from(ITEM_IDS), value=form_values, partner=st.sampled_from("AB"))
def test_fuzzed_form_values_are_saved_as_given_or_refused(fuzz_store, item, value, partner):
    before = dump(fuzz_store)
    try:
        answer = make_answer("FORM1", partner, MONDAY, item, value)
    except ValidationError as exc:
        assert "\n" not in str(exc)
        assert dump(fuzz_store) == before
        return
    _, spec = find_item(item)
    if spec.is_numeric:
        assert answer.value_num is not None and math.isfinite(answer.value_num)
        assert spec.min <= answer.value_num <= spec.max
    fuzz_store.save_answers([answer], "form:fuzz")
    saved = fuzz_store.answered_items("FORM1", partner, MONDAY)
    assert saved[item] == answer.value
    assert spec.parse(saved[item]) == saved[item]


# -- the command line --------------------------------------------------------------------------


@settings(FUZZ, max_examples=25)
@given(rows=st.one_of(answer_rows, good_rows))
def test_the_cli_import_answers_in_one_line_and_never_a_traceback(fuzz_store, tmp_path, rows):
    path = write_csv(tmp_path / "answers.csv", ANSWER_HEADER, rows)
    before = dump(fuzz_store)
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        code = cli_main(["import", str(path), "--data", str(fuzz_store.data_dir)])
    assert code in (0, 1)
    assert "Traceback" not in err.getvalue() and "internal error" not in err.getvalue()
    if code == 1:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("mutuality: "), err.getvalue()
        assert dump(fuzz_store) == before
    else:
        assert out.getvalue().startswith(str(path))
