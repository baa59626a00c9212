from __future__ import annotations

from pathlib import Path

import pytest

from mutuality_helpers.exceptions import InstrumentError, ValidationError
from mutuality_helpers.instruments import (
    DOMAINS,
    SHARE_DOMAINS,
    find_item,
    get_instrument,
    instruments,
    load_instrument,
)


def test_shipped_instruments_load():
    found = instruments()
    assert set(found) == {"weekly_checkin", "mutuality_inventory"}
    weekly = get_instrument("weekly_checkin")
    assert weekly.item_ids == [
        "energy", "teamwork", "share_repair", "share_connection", "share_emotional_labour",
        "share_practical_load", "personal_work_self", "personal_work_partner", "demands",
        "reflection", "safety_felt_safe", "safety_talk_alone",
    ]  # fmt: skip


def test_weekly_items_match_design():
    weekly = get_instrument("weekly_checkin")
    assert (weekly.item("energy").min, weekly.item("energy").max) == (0, 10)
    assert (weekly.item("teamwork").min, weekly.item("teamwork").max) == (1, 5)
    assert (weekly.item("personal_work_self").min, weekly.item("personal_work_self").max) == (0, 4)
    for domain in SHARE_DOMAINS:
        item = weekly.item(f"share_{domain}")
        assert (item.type, item.domain, item.min, item.max) == ("share", domain, 0, 100)
    assert weekly.item("demands").choices == (
        "work", "illness", "burnout", "caregiving", "children", "mental_health", "other",
    )  # fmt: skip


def test_inventory_covers_every_domain_with_wording():
    inventory = get_instrument("mutuality_inventory")
    scored = [it for it in inventory.items if it.type == "int"]
    assert {it.domain for it in scored} == set(DOMAINS)
    assert len(scored) >= 15
    assert any(it.reverse for it in scored)
    assert all(it.wording.endswith((".", "?")) for it in inventory.items)


@pytest.mark.parametrize(
    ("item_id", "raw", "expected"),
    [
        ("energy", "7", "7"),
        ("energy", 0, "0"),
        ("energy", 10.0, "10"),
        ("share_repair", " 70 ", "70"),
        ("demands", "illness;work", "work;illness"),
        ("demands", ["children", "children"], "children"),
        ("demands", "", ""),
        ("reflection", "<b>we</b> talked", "<b>we</b> talked"),
    ],
)
def test_parse_accepts(item_id, raw, expected):
    _, item = find_item(item_id)
    assert item.parse(raw) == expected


@pytest.mark.parametrize(
    ("item_id", "raw", "reason"),
    [
        ("energy", "11", "outside 0-10"),
        ("energy", "-1", "outside 0-10"),
        ("energy", "7.5", "whole number"),
        ("energy", 7.5, "whole number"),
        ("energy", "seven", "whole number"),
        ("energy", True, "whole number"),
        ("teamwork", "0", "outside 1-5"),
        ("share_repair", "101", "outside 0-100"),
        ("demands", "work;sleep", "unknown tag 'sleep'"),
        ("reflection", "x" * 4001, "at most 4000"),
        ("reflection", "a\x00b", "NUL"),
    ],
)
def test_parse_rejects_with_reason(item_id, raw, reason):
    _, item = find_item(item_id)
    with pytest.raises(ValidationError, match=reason):
        item.parse(raw)


def test_unknown_item():
    with pytest.raises(ValidationError, match="unknown item 'nope'"):
        find_item("nope")


GOOD_ITEM = "  - {id: q1, type: int, min: 1, max: 5, wording: 'How?'}\n"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("id: x\nitems: []\n", "items must be a non-empty list"),
        ("id: Bad Id\nitems:\n" + GOOD_ITEM, "top level: id 'Bad Id'"),
        ("id: x\nitems:\n  - {id: q1, type: float, wording: w}\n", "item 'q1': type 'float'"),
        ("id: x\nitems:\n  - {id: q1, type: int, wording: w}\n", "item 'q1': needs whole-number"),
        ("id: x\nitems:\n  - {id: q1, type: int, min: 5, max: 1, wording: w}\n", "item 'q1'"),
        ("id: x\nitems:\n  - {id: q1, type: text}\n", "item 'q1': wording is required"),
        ("id: x\nitems:\n  - {id: q1, type: text, wording: w, colour: red}\n", "unknown key"),
        ("id: x\nitems:\n  - {id: q1, type: share, domain: personal_work, wording: w}\n",
         "item 'q1': a share item needs a share domain"),
        ("id: x\nitems:\n  - {id: q1, type: tags, wording: w}\n", "item 'q1': tags need"),
        ("id: x\nitems:\n" + GOOD_ITEM + GOOD_ITEM, "item 'q1': id is used twice"),
        ("id: x\nitems:\n  - {id: q1, type: int, min: 1, max: 5, domain: love, wording: w}\n",
         "domain 'love'"),
        ("id: x\nreliability: 1.5\nitems:\n" + GOOD_ITEM, "reliability must be between 0 and 1"),
        ("id: x\nitems:\n  - [1, 2]\n", "item 1: must be a mapping"),
        ("id: x\nitems: [\n", "cannot be read"),
    ],
)  # fmt: skip
def test_malformed_definition_names_file_and_item(tmp_path: Path, body: str, message: str):
    path = tmp_path / "broken_instrument.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(InstrumentError) as info:
        load_instrument(path)
    assert str(info.value).startswith("broken_instrument.yaml: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_definition_with_norms_loads(tmp_path: Path):
    path = tmp_path / "normed.yaml"
    path.write_text("id: normed\nreliability: 0.85\nsd: 12.5\nitems:\n" + GOOD_ITEM, "utf-8")
    inst = load_instrument(path)
    assert (inst.reliability, inst.sd) == (0.85, 12.5)
