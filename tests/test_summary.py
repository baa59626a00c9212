"""Summaries and the caseload of the demo couples, the summary command, the fast read path."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mutuality_helpers import alerts, analysis
from mutuality_helpers.caseload_table import caseload, caseload_frames
from mutuality_helpers.cli import main
from mutuality_helpers.exceptions import UnknownCouple, ValidationError
from mutuality_helpers.instruments import SHARE_DOMAINS
from mutuality_helpers.summary import summarize


def kinds(summary):
    return [a["kind"] for a in summary["alerts"]]


# -- summaries of the demo couples ---------------------------------------------------------


def statuses(summary):
    return {d: v["status"] for d, v in summary["domains"].items()}


def test_demo_stories(demo_store):
    d001 = summarize(demo_store, "D001")
    assert set(statuses(d001).values()) == {"balanced"} and d001["alerts"] == []
    d002 = summarize(demo_store, "D002")
    assert set(statuses(d002).values()) == {"seasonal"} and d002["alerts"] == []
    assert {v["carried_by"] for v in d002["domains"].values()} == {"A"}
    d003 = summarize(demo_store, "D003")
    assert set(statuses(d003).values()) == {"drifting"}
    assert "season_overstayed" in kinds(d003) and "chronic" not in statuses(d003).values()
    d004 = summarize(demo_store, "D004")
    assert statuses(d004)["repair"] == statuses(d004)["emotional_labour"] == "chronic"
    assert d004["domains"]["repair"]["carried_by"] == "A"
    assert "unagreed_season" in kinds(d004)
    d005 = summarize(demo_store, "D005")
    silence = [a for a in d005["alerts"] if a["kind"] == "silence"]
    assert silence and silence[0]["partner"] == "B" and "Dana" in silence[0]["message"]
    indexes = [s["mutuality_index"] for s in (d001, d002, d003, d004)]
    assert indexes[3] == min(indexes)


def test_summary_json_shape(demo_store):
    summary = summarize(demo_store, "D004", as_of="2026-11-26")
    assert json.loads(json.dumps(summary)) == summary
    assert {"couple_id", "as_of", "window_weeks", "domains", "mutuality_index", "alerts"} <= set(
        summary
    )
    assert summary["as_of"] == "2026-11-23" and summary["window_weeks"] == 8
    assert list(summary["domains"]) == list(SHARE_DOMAINS)
    for d in summary["domains"].values():
        assert {"status", "carried_by", "share_a", "perception_gap"} <= set(d)
        assert d["status"] in analysis.STATUSES and d["carried_by"] in ("A", "B", None)
    for a in summary["alerts"]:
        assert {"kind", "domain", "partner", "message"} <= set(a) and a[
            "kind"
        ] in alerts.ALERT_KINDS
    assert summary["names"] == {"A": "Morgan", "B": "Riley"}
    change = summary["change_since_last_session"]
    assert change["session"] == 1 and change["as_of"] == "2026-08-31"


def test_summary_errors(demo_store):
    with pytest.raises(UnknownCouple):
        summarize(demo_store, "NOPE")
    with pytest.raises(ValidationError):
        summarize(demo_store, "D001", as_of="yesterday")


def test_summary_of_a_couple_without_answers(store):
    store.add_couple("C009", "Ana", "Ben")
    summary = summarize(store, "C009")
    assert set(statuses(summary).values()) == {"insufficient_data"}
    assert summary["mutuality_index"] is None and summary["alerts"] == []


def test_caseload_worst_first(demo_store):
    frame = caseload(demo_store)
    assert frame["couple_id"].tolist()[:2] == ["D004", "D003"]
    assert set(frame["couple_id"]) == {"D001", "D002", "D003", "D004", "D005"}
    d004 = frame.iloc[0]
    assert (d004["repair"], d004["repair_carried_by"], d004["worst"]) == ("chronic", "A", "chronic")
    assert d004["alerts"] == 3 and d004["chronic"] == 2
    one = summarize(demo_store, "D003")
    row = frame.set_index("couple_id").loc["D003"]
    assert row["mutuality_index"] == one["mutuality_index"]
    assert row["alerts"] == len(one["alerts"])


def test_caseload_as_of_an_earlier_week(demo_store):
    frame = caseload(demo_store, as_of="2026-09-07").set_index("couple_id")
    assert (frame["as_of"] == pd.Timestamp("2026-09-07")).all()
    assert (frame.loc["D004", list(SHARE_DOMAINS)] == "insufficient_data").all()


# -- the command ---------------------------------------------------------------------------


def test_cli_summary_table_and_json(demo_data_dir, capsys):
    assert main(["summary", "D003", "--data", str(demo_data_dir)]) == 0
    out = capsys.readouterr().out
    assert "D003 (Jordan & Casey)" in out and "drifting" in out and "mutuality index" in out
    assert "planned to end on 2026-10-26" in out
    assert (
        main(["summary", "D004", "--json", "--as-of", "2026-10-01", "--data", str(demo_data_dir)])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert data["couple_id"] == "D004" and data["as_of"] == "2026-09-28"
    assert data["domains"]["repair"]["status"] == "chronic"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["summary", "NOPE"], "no couple 'NOPE'"),
        (["summary", "D001", "--as-of", "2026-02-30"], "not a real date"),
    ],
)
def test_cli_summary_errors_are_one_line(demo_data_dir, capsys, args, message):
    assert main([*args, "--data", str(demo_data_dir)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


# -- the caseload's fast read path ------------------------------------------------------------


@pytest.mark.parametrize("as_of", [None, "2026-10-14"])
def test_caseload_fast_path_matches_the_frames_path(demo_store, as_of):
    fast = caseload(demo_store, as_of=as_of)
    slow = caseload_frames(demo_store.answers(), demo_store.seasons(), demo_store.couples(), as_of)
    pd.testing.assert_frame_equal(fast, slow)


def test_store_fast_reads(demo_store):
    full = demo_store.answers("D005")
    fast = demo_store.answers_between(None, couple_ids="D005")
    assert len(fast) == len(full)
    cols = ["couple_id", "partner", "week", "item", "value_num", "instrument"]
    key = ["partner", "week", "item"]
    pd.testing.assert_frame_equal(
        fast.sort_values(key).reset_index(drop=True)[cols],
        full.sort_values(key).reset_index(drop=True)[cols],
    )
    some = demo_store.answers_between(["energy"], "2026-09-07", "2026-09-14")
    assert set(some["item"]) == {"energy"}
    assert set(some["week"].dt.strftime("%Y-%m-%d")) == {"2026-09-07", "2026-09-14"}
    spans = demo_store.answer_spans(["energy"]).set_index(["couple_id", "partner"])
    assert spans.loc[("D005", "B"), "last_week"] == pd.Timestamp("2026-10-26")
    assert spans.loc[("D005", "A"), "first_week"] == pd.Timestamp("2026-08-24")
    until = demo_store.answer_spans(["energy"], until="2026-09-09").set_index(
        ["couple_id", "partner"]
    )
    assert until.loc[("D005", "B"), "last_week"] == pd.Timestamp("2026-09-07")
    two = demo_store.answer_spans(["energy"], couple_ids=["D005", "D001"])
    assert set(two["couple_id"]) == {"D001", "D005"}
    assert two.set_index(["couple_id", "partner"]).equals(spans.loc[["D001", "D005"]])
