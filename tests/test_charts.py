"""The chart set: encodings, data sizes, theme, and SVG for every demo couple."""

from __future__ import annotations

import itertools
import json
import re
import subprocess
import sys

import altair as alt
import pandas as pd
import pytest

from mutuality_helpers import analysis, charts, theme
from mutuality_helpers.caseload_table import caseload
from mutuality_helpers.demo import demo_couple_ids
from mutuality_helpers.exceptions import UnknownCouple
from mutuality_helpers.leansvg import lean_svg
from mutuality_helpers.store import SEASON_COLUMNS
from mutuality_helpers.store_answers import ANSWER_COLUMNS
from mutuality_helpers.summary import summarize

NAMES = {"A": "Ana", "B": "Ben"}
#: An axis label of the weekly charts ("6 Sep").
DATE_LABEL = re.compile(r"\d{1,2} [A-Z][a-z]{2}")
KEYS = {"lifting", "timeline", "perception", "wellbeing", "personal_work"}


def datasets(spec: dict) -> dict[str, list]:
    return spec.get("datasets", {})


def rows_with(spec: dict, key: str) -> list[dict]:
    """Rows of every dataset whose rows carry ``key``."""
    return [r for rows in datasets(spec).values() for r in rows if key in r]


def all_encodings(spec: dict) -> list[dict]:
    """Every encoding block of a (possibly nested) spec."""
    found = []
    if isinstance(spec, dict):
        if "encoding" in spec:
            found.append(spec["encoding"])
        for value in spec.values():
            found.extend(all_encodings(value))
    elif isinstance(spec, list):
        for value in spec:
            found.extend(all_encodings(value))
    return found


def long_history(weeks: int = 520) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten years of weekly answers for one couple, with seasons."""
    days = pd.date_range("2016-01-04", periods=weeks, freq="7D")
    rows = []
    for i, week in enumerate(days):
        for partner in "AB":
            values = {
                "share_repair": 60 + i % 30,
                "share_connection": 50,
                "share_emotional_labour": 40,
                "share_practical_load": 55,
                "energy": i % 11,
                "teamwork": 1 + i % 5,
                "personal_work_self": i % 5,
                "personal_work_partner": 2,
            }
            for item, value in values.items():
                rows.append(
                    (
                        "C001",
                        partner,
                        week,
                        item,
                        str(value),
                        float(value),
                        "weekly_checkin",
                        "",
                        "",
                    )
                )
    answers = pd.DataFrame(rows, columns=ANSWER_COLUMNS)
    seasons = pd.DataFrame(
        [(1, "C001", "B", "illness", days[-10], days[-4], True, "", pd.NaT),
         (2, "C001", "A", "work", days[-3], days[-1] + pd.Timedelta(weeks=4), False, "", pd.NaT),
         (3, "C001", "A", "caregiving", days[10], days[20], True, "", pd.NaT)]
        if weeks > 20 else [],
        columns=SEASON_COLUMNS,
    )  # fmt: skip
    return answers, seasons


def test_theme_is_registered_enabled_and_used():
    assert theme.register_theme() == theme.THEME
    assert alt.theme.active == theme.THEME
    config = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x:Q").to_dict()["config"]
    assert config["font"] == theme.FONT == "Liberation Sans"
    for part in ("axis", "legend", "header"):
        assert config[part]["labelFont"] == config[part]["titleFont"] == "Liberation Sans"
    assert config["range"]["category"][:2] == [
        theme.PARTNER_COLOURS["A"],
        theme.PARTNER_COLOURS["B"],
    ]


def test_partner_colours_are_the_same_in_every_partner_chart(demo_store):
    built = charts.couple_charts(demo_store, "D002")
    partner_ranges = []
    for key in ("perception", "wellbeing", "personal_work"):
        for enc in all_encodings(built[key].to_dict()):
            scale = enc.get("color", {}).get("scale", {})
            if scale.get("domain", [None])[0] == "Priya":
                partner_ranges.append(scale["range"])
    assert len(partner_ranges) >= 3
    assert all(
        r == [theme.PARTNER_COLOURS["A"], theme.PARTNER_COLOURS["B"]] for r in partner_ranges
    )


def test_lifting_chart_diverges_around_50_with_status_labels(demo_store):
    summary = summarize(demo_store, "D004")
    spec = charts.lifting_chart(summary).to_dict()
    rows = rows_with(spec, "domain")
    assert len(rows) == 4
    by_domain = {r["domain"]: r for r in rows}
    repair = by_domain["Repair after conflict"]
    assert repair["leans"] == "Morgan" and repair["status"] == "chronic" and repair["centre"] == 50
    assert repair["label"].startswith("chronic")
    bars = spec["layer"][0]["encoding"]
    assert bars["x"]["field"] == "centre" and bars["x2"]["field"] == "share_a"
    assert bars["x"]["scale"]["domain"] == [0, 100]
    assert (
        "Riley carried more" in bars["x"]["title"] and "Morgan carried more" in bars["x"]["title"]
    )
    assert spec["layer"][2]["encoding"]["text"]["field"] == "label"


def test_lifting_chart_without_answers(store):
    store.add_couple("C001")
    spec = charts.lifting_chart(summarize(store, "C001")).to_dict()
    rows = rows_with(spec, "domain")
    assert {r["status"] for r in rows} == {"not enough answers"}
    assert all(r["share_a"] is None and r["leans"] == "even" for r in rows)


def test_timeline_carries_only_the_weeks_it_draws():
    answers, seasons = long_history()
    weekly = analysis.weekly_shares(answers, seasons)
    chart = charts.timeline_chart(weekly, seasons, NAMES, weeks=26)
    spec = chart.to_dict()  # would raise MaxRowsError past 5,000 rows
    sizes = [len(rows) for rows in datasets(spec).values()]
    assert max(sizes) <= 26 and sum(sizes) < 5000
    assert len(spec["vconcat"]) == 4
    text = json.dumps(spec)
    assert "illness (Ben), agreed" in text and "work (Ana), not agreed" in text
    # The old season (weeks 10-20 of ten years ago) is outside the shown weeks.
    assert "caregiving" not in text and "2016-" not in text
    band = [r for rows in datasets(spec).values() for r in rows if "lo" in r and "hi" in r]
    assert band[0] == {"lo": 30, "hi": 70}


def test_timeline_names_each_shared_frame_once():
    # The band, middle line and seasons are the same in all four panels: carried once.
    answers, seasons = long_history()
    weekly = analysis.weekly_shares(answers, seasons)
    spec = charts.timeline_chart(weekly, seasons, NAMES, weeks=26).to_dict()
    assert set(datasets(spec)) == {
        "band", "middle", "agreed-B", "not-agreed", "seasons",
        *(f"weeks-{d}" for d in analysis.SHARE_DOMAINS),
    }  # fmt: skip
    for panel, domain in zip(spec["vconcat"], analysis.SHARE_DOMAINS, strict=True):
        names = [layer["data"]["name"] for layer in panel["layer"]]
        assert names[:2] == ["band", "middle"] and names[-1] == f"weeks-{domain}"


def test_timeline_writes_the_dates_under_the_bottom_panel_only():
    answers, seasons = long_history()
    weekly = analysis.weekly_shares(answers, seasons)
    chart = charts.timeline_chart(weekly, seasons, NAMES, weeks=12)
    spec = chart.to_dict()
    # The same scale and ticks in every panel; labels in the last one only.
    x_axes = [
        [layer["encoding"]["x"].get("axis", {}) for layer in panel["layer"]
         if layer["encoding"].get("x", {}).get("field") == "week"]
        for panel in spec["vconcat"]
    ]  # fmt: skip
    assert all(axis.get("labels") is False for panel in x_axes[:-1] for axis in panel)
    assert all(axis.get("labels", True) and axis["format"] == "%-d %b" for axis in x_axes[-1])
    svg = theme.to_svg(chart)
    texts = re.findall(r">([^<>]+)</text>", svg)
    # Vega hides every other date where they would collide; whichever it keeps, a date
    # is written once, under the bottom panel, not four times.
    dates = [t for t in texts if DATE_LABEL.fullmatch(t)]
    assert len(dates) >= 5 and len(dates) == len(set(dates)), dates


def test_named_rows_are_the_rows_altair_would_embed():
    frame = pd.DataFrame(
        {"n": [1, 2], "x": [1.5, float("nan")], "s": ["a", None], "b": [True, False]}
    )
    (embedded,) = datasets(alt.Chart(frame).mark_point().to_dict()).values()
    assert theme.values(frame) == embedded
    assert theme.values(frame.iloc[0:0]) == []


def test_a_panel_is_the_same_spec_as_a_layer_chart_in_a_concat():
    # Layers with data of their own, as the timeline's (LayerChart would lift data that
    # every layer shares up to the panel: the same picture, another spec).
    layers = [
        alt.Chart(pd.DataFrame({"x": [1, 2], "y": [3, 4]})).mark_line().encode(x="x:Q", y="y:Q"),
        alt.Chart(pd.DataFrame({"y": [50]})).mark_rule().encode(y="y:Q"),
    ]
    props = {"width": 100, "height": 50, "title": alt.Title("Panel", fontSize=12)}
    built = alt.vconcat(theme.panel(layers, **props), spacing=14).to_dict()
    expected = alt.vconcat(alt.layer(*layers).properties(**props), spacing=14).to_dict()
    assert built == expected


def test_timeline_marks_weeks_by_state(demo_store):
    weekly = analysis.weekly_shares(demo_store.answers("D003"), demo_store.seasons("D003"))
    spec = charts.timeline_chart(
        weekly, demo_store.seasons("D003"), {"A": "Jordan", "B": "Casey"}
    ).to_dict()
    points = [r for rows in datasets(spec).values() for r in rows if "state" in r]
    assert {p["state"] for p in points} == {
        "within the band", "imbalanced", "imbalanced, agreed season"
    }  # fmt: skip
    colour = next(
        e["color"] for e in all_encodings(spec) if e.get("color", {}).get("field") == "state"
    )
    assert colour["scale"]["domain"][1] == "imbalanced"


def test_timeline_with_custom_band_and_no_answers():
    empty = analysis.weekly_shares(long_history(1)[0].iloc[0:0], long_history(1)[1].iloc[0:0])
    wide = analysis.Thresholds(imbalance_points=25)
    spec = charts.timeline_chart(empty, None, NAMES, as_of="2026-11-23", thresholds=wide).to_dict()
    band = [r for rows in datasets(spec).values() for r in rows if "lo" in r and "hi" in r]
    assert band[0] == {"lo": 25, "hi": 75}


def test_perception_chart_shows_both_views(demo_store):
    summary = summarize(demo_store, "D003")
    spec = charts.perception_chart(summary).to_dict()
    rows = rows_with(spec, "domain")
    assert len(rows) == 8
    repair = {r["view"]: r["share"] for r in rows if r["domain"] == "Repair after conflict"}
    d = summary["domains"]["repair"]
    assert repair == {"Jordan": d["view_a"], "Casey": d["view_b"]}
    assert repair["Jordan"] - repair["Casey"] == pytest.approx(d["perception_gap"], abs=0.11)


@pytest.mark.parametrize("builder", [charts.wellbeing_chart, charts.personal_work_chart])
def test_per_partner_charts_aggregate_to_the_weeks_shown(builder):
    answers, _ = long_history()
    spec = builder(answers, NAMES, weeks=26).to_dict()
    rows = [r for rs in datasets(spec).values() for r in rs]
    assert 0 < len(rows) <= 26 * 4
    last = answers["week"].max()
    shown = pd.date_range(end=last, periods=26, freq="7D").strftime("%Y-%m-%d")
    assert {r["week"] for r in rows} == set(shown)


@pytest.fixture(scope="module")
def label_width():
    """Width in px of an 11px axis label in the theme's font, as the PDF draws it."""
    from PIL import ImageFont

    found = subprocess.run(
        ["fc-match", "--format=%{file}", theme.FONT], capture_output=True, text=True
    ).stdout
    assert "Liberation" in found, f"fc-match found no {theme.FONT}: {found}"
    font = ImageFont.truetype(found, 11)
    return font.getlength


@pytest.mark.parametrize("weeks", [8, 13, 26])
@pytest.mark.parametrize(
    "draw",
    [
        lambda a, s, w: charts.timeline_chart(analysis.weekly_shares(a, s), s, NAMES, weeks=w),
        lambda a, s, w: charts.wellbeing_chart(a, NAMES, weeks=w),
        lambda a, s, w: charts.personal_work_chart(a, NAMES, weeks=w),
    ],
    ids=["timeline", "wellbeing", "personal_work"],
)
def test_date_labels_never_touch(draw, weeks, label_width):
    # Measured with the font the PDF draws them in: Vega keeps a gap or hides a label.
    import xml.etree.ElementTree as ET

    answers, seasons = long_history()
    # As printed: lean_svg drops the labels Vega hid (opacity 0).
    svg = ET.fromstring(lean_svg(theme.to_svg(draw(answers, seasons, weeks))))
    rows = 0
    for parent in svg.iter():
        labels = []
        for node in parent:
            text = node.text or ""
            if node.tag.endswith("text") and DATE_LABEL.fullmatch(text):
                x = float(re.match(r"translate\(([-\d.]+)", node.get("transform")).group(1))
                labels.append((x, label_width(text)))
        labels.sort()
        rows += bool(labels)
        for (x1, w1), (x2, w2) in itertools.pairwise(labels):
            assert (x2 - w2 / 2) - (x1 + w1 / 2) >= 3, (labels, weeks)
    assert rows >= 1


def test_personal_work_chart_rates_each_partner_two_ways():
    answers, _ = long_history(4)
    spec = charts.personal_work_chart(answers, NAMES).to_dict()
    (rows,) = datasets(spec).values()
    assert {(r["who"], r["rated_by"]) for r in rows} == {
        ("Ana", "by themselves"), ("Ana", "by their partner"),
        ("Ben", "by themselves"), ("Ben", "by their partner"),
    }  # fmt: skip
    # B's rating of A's work (personal_work_partner from B) is about Ana.
    ana_by_partner = [
        r["rating"] for r in rows if r["who"] == "Ana" and r["rated_by"] == "by their partner"
    ]
    assert ana_by_partner == [2.0] * 4
    assert spec["encoding"]["strokeDash"]["field"] == "rated_by"


def test_caseload_chart_one_row_per_couple(demo_store):
    frame = caseload(demo_store)
    spec = charts.caseload_chart(frame).to_dict()
    for rows in datasets(spec).values():
        assert [r["couple"] for r in rows] == frame["couple_id"].tolist()
    cells = spec["hconcat"][0]
    assert cells["transform"][0]["fold"] == ["Repair after conflict", "Reaching for connection",
                                             "Emotional labour", "Practical load"]  # fmt: skip
    assert cells["encoding"]["y"]["sort"][0] == "D004"
    assert cells["encoding"]["color"]["scale"]["range"] == list(theme.STATUS_COLOURS.values())
    (limited,) = datasets(charts.caseload_chart(frame, limit=2).to_dict()).values()
    assert len(limited) == 2


def test_caseload_chart_stays_under_the_row_limit():
    n = 4000
    frame = pd.DataFrame({"couple_id": [f"C{i:04d}" for i in range(n)],
                          "mutuality_index": 50.0, "alerts": 0})  # fmt: skip
    for domain in analysis.SHARE_DOMAINS:
        frame[domain] = "balanced"
    spec = charts.caseload_chart(frame).to_dict()
    assert max(len(rows) for rows in datasets(spec).values()) == n


def test_summary_and_charts_share_one_judgement(demo_store):
    # The session workbook shows both: the summary must be summarize's, the charts the set.
    summary, built = charts.couple_summary_and_charts(demo_store, "D003", "2026-10-14")
    assert summary == summarize(demo_store, "D003", "2026-10-14")
    assert set(built) == KEYS
    assert built["lifting"].to_dict() == charts.lifting_chart(summary).to_dict()


def test_couple_charts_unknown_couple(demo_store):
    with pytest.raises(UnknownCouple):
        charts.couple_charts(demo_store, "NOPE")


@pytest.mark.slow
@pytest.mark.parametrize("couple_id", demo_couple_ids())
def test_every_demo_chart_renders_to_svg(demo_store, couple_id):
    built = charts.couple_charts(demo_store, couple_id)
    assert set(built) == KEYS
    couple = demo_store.get_couple(couple_id)
    for key, chart in built.items():
        svg = theme.to_svg(chart)
        assert svg.lstrip().startswith("<svg"), key
        assert "Liberation Sans" in svg, key
        assert couple["name_a"] in svg or key == "timeline", key
    if couple_id == demo_couple_ids()[0]:
        svg = theme.to_svg(charts.caseload_chart(caseload(demo_store)))
        assert "Caseload at a glance" in svg


def test_couple_without_answers_still_gets_every_chart(store):
    store.add_couple("C001", "Ana", "Ben")
    built = charts.couple_charts(store, "C001")
    assert set(built) == KEYS
    for chart in built.values():
        assert "config" in chart.to_dict()


def test_drawing_charts_skips_the_iri_grammars():
    # rfc3987_syntax compiles ~40 Lark grammars on import (seconds before the first chart);
    # the package keeps jsonschema from loading it, and a chart still renders to SVG.
    code = (
        "import sys; import mutuality_helpers.charts, mutuality_helpers.theme as t, altair as alt, "
        "pandas as pd; "
        "svg = t.to_svg(alt.Chart(pd.DataFrame({'x': [1, 2]})).mark_point().encode(x='x:Q')); "
        "print(sys.modules.get('rfc3987_syntax', 'absent'), svg.startswith('<svg'))"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert shown.stdout.strip() == "None True"


def test_svg_never_truncates_an_axis_label_or_a_title():
    # The theme sets no truncation limit (a clinical record shows every label in full; it
    # also spares vl-convert measuring each label twice). Vega's default cuts at 180 px.
    long = "a domain name far longer than any axis would allow by default, printed in full"
    chart = (
        alt.Chart(pd.DataFrame({"d": [long], "v": [1]}))
        .mark_bar()
        .encode(y=alt.Y("d:N", title=None), x=alt.X("v:Q"))
        .properties(title=alt.Title(long, subtitle=long), width=100)
    )
    svg = theme.to_svg(chart)
    assert svg.count(f">{long}</text>") == 3  # label, title, subtitle
    assert "…" not in svg


def test_unvalidated_svg_is_the_same_chart():
    # The report skips the schema check on export (its charts' specs are validated above).
    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x:Q")
    norm = theme.to_svg(chart)
    assert theme.to_svg(chart, validate=False) == norm
    with pytest.raises(Exception, match="is not valid|invalid|Additional properties"):
        theme.to_svg(alt.Chart(pd.DataFrame({"x": [1]})).mark_point(size="big"))
