from __future__ import annotations

import csv

from mutuality_helpers import config
from mutuality_helpers.demo import DEMO_FILES, generate, load_demo, write_demo_files
from mutuality_helpers.interchange import parse_csv


def test_committed_demo_files_are_what_the_generator_makes(tmp_path):
    write_demo_files(tmp_path)
    for name in DEMO_FILES:
        assert (tmp_path / name).read_bytes() == (config.DEMO_DIR / name).read_bytes(), name


def test_demo_has_at_least_four_couples_over_twelve_weeks():
    rows = generate()
    answers = rows["answers.csv"][1:]
    couples = {r[0] for r in answers}
    assert len(couples) >= 4
    for couple in couples:
        assert len({r[2] for r in answers if r[0] == couple}) >= 12


def test_demo_files_pass_import_validation():
    for name in ("couples.csv", "answers.csv", "seasons.csv"):
        assert parse_csv(config.DEMO_DIR / name).rows > 0


def test_demo_stories_have_their_ingredients(store):
    load_demo(store)
    seasons = store.seasons().set_index("couple_id")
    assert bool(seasons.loc["D002", "agreed"]) is True
    assert bool(seasons.loc["D004", "agreed"]) is False
    answers = store.answers()
    d005_b = answers[(answers.couple_id == "D005") & (answers.partner == "B")]
    assert d005_b["week"].max() < answers["week"].max()
    reflections = answers[answers["item"] == "reflection"]
    assert reflections["value"].str.len().gt(5).all() and len(reflections) > 50
    with open(config.DEMO_DIR / "sessions.csv", encoding="utf-8") as fh:
        assert len(list(csv.DictReader(fh))) == len(store.sessions())
