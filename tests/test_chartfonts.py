import json
import os
import subprocess
import sys

import pytest
from conftest import listed_font_folders, reachable_fonts

from mutuality_helpers.chartfonts import chart_font_config, system_font_roots
from mutuality_helpers.theme import FONT


def make_fonts(root, names):
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"\0")


def test_the_config_shows_every_font_but_the_built_in_liberation_sans(tmp_path):
    system = tmp_path / "system"
    make_fonts(
        system,
        [
            "truetype/liberation/LiberationSans-Regular.ttf",
            "truetype/liberation/LiberationSans-BoldItalic.ttf",
            "truetype/liberation/LiberationSerif-Regular.ttf",
            "truetype/liberation/LiberationSansNarrow-Regular.ttf",
            "truetype/noto/NotoSansDevanagari-Regular.ttf",
            "opentype/noto/NotoSansCJK-Regular.ttc",
            "truetype/noto/README",
        ],
    )
    scratch = tmp_path / "kernel"
    scratch.mkdir()
    config = chart_font_config(scratch, [system, tmp_path / "absent"])
    assert reachable_fonts(config) == sorted(
        str((system / name).resolve())
        for name in [
            "truetype/liberation/LiberationSerif-Regular.ttf",
            "truetype/liberation/LiberationSansNarrow-Regular.ttf",
            "truetype/noto/NotoSansDevanagari-Regular.ttf",
            "opentype/noto/NotoSansCJK-Regular.ttc",
        ]
    )
    # The folder of Noto fonts is listed as it is; the other Liberation fonts are linked.
    assert listed_font_folders(config) == [
        str(scratch / "fonts"),
        str(system / "opentype"),
        str(system / "truetype/noto"),
    ]


def test_with_no_system_font_the_config_still_names_a_folder(tmp_path):
    # With no <dir> at all, vl-convert would search the system's font folders again.
    config = chart_font_config(tmp_path, [])
    assert listed_font_folders(config) == [str(tmp_path / "fonts")]
    assert reachable_fonts(config) == []


def test_the_font_roots_follow_the_xdg_folders(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_DIRS", f"{tmp_path}/a:{tmp_path}/b:{tmp_path}/a")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "home"))
    roots = system_font_roots()
    assert roots[:3] == [tmp_path / "a/fonts", tmp_path / "b/fonts", tmp_path / "home/fonts"]


# Draws one label-heavy chart five times and reports the page faults it cost, and its SVG.
MEASURE = """
import json, resource, sys
import vl_convert as vlc
spec = json.loads(sys.argv[1])
vlc.vegalite_to_svg(spec)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    svg = vlc.vegalite_to_svg(spec)
print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before, svg]))
"""


def draw(spec, env):
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(spec)],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return json.loads(out.stdout)


def label_heavy_spec() -> dict:
    """A chart of forty labels in the charts' font."""
    labels = [f"Week {n} of 26, Sam and Alex" for n in range(40)]
    return {
        "data": {"values": [{"label": text, "x": n} for n, text in enumerate(labels)]},
        "mark": "point",
        "encoding": {
            "y": {"field": "label", "type": "nominal", "axis": {"labelFont": FONT}},
            "x": {"field": "x", "type": "quantitative", "axis": {"labelFont": FONT}},
        },
    }


def without_font_config() -> dict[str, str]:
    """This environment without a ``FONTCONFIG_FILE``; skips where there is nothing to
    steer around (no system copy of Liberation Sans)."""
    if not any(any(root.rglob("LiberationSans-Regular.ttf")) for root in system_font_roots()):
        pytest.skip("no system copy of Liberation Sans (fonts-liberation) to steer around")
    return {k: v for k, v in os.environ.items() if k != "FONTCONFIG_FILE"}


def test_vl_convert_measures_from_memory_and_places_labels_alike(tmp_path):
    spec = label_heavy_spec()
    env = without_font_config()
    faults_system, svg_system = draw(spec, env)
    config = chart_font_config(tmp_path)
    faults_built_in, svg_built_in = draw(spec, {**env, "FONTCONFIG_FILE": str(config)})
    # The system copy is mapped again for every label (tens of thousands of page faults
    # here); the built-in one is read from memory.
    assert faults_built_in * 4 < faults_system, (faults_built_in, faults_system)
    # Same metrics: every label is placed exactly where it was.
    assert svg_built_in == svg_system


# A process of its own drawing the same chart through the package (theme.spec_to_svg), as
# the session workbook's kernel does: what it cost, its SVG, and what it left in the
# environment. ``start`` first starts vl-convert in the background, as a report kernel does.
PROCESS = """
import json, os, resource, sys
from pathlib import Path
from mutuality_helpers import chartfonts
from mutuality_helpers.theme import spec_to_svg
spec, start = json.loads(sys.argv[1]), sys.argv[2] == "start"
if start:
    chartfonts.start_charts()
spec_to_svg(spec)
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(5):
    svg = spec_to_svg(spec)
faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
folders = [str(p) for p in Path(os.environ["TMPDIR"]).iterdir()]
print(json.dumps([faults, svg, os.environ.get("FONTCONFIG_FILE"), folders]))
"""


def in_a_process(spec, env, start=False):
    out = subprocess.run(
        [sys.executable, "-c", PROCESS, json.dumps(spec), "start" if start else "draw"],
        env=env, capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return json.loads(out.stdout)


@pytest.mark.parametrize("start", [False, True], ids=["first-chart", "started-in-background"])
def test_a_process_draws_its_charts_with_the_built_in_font_and_leaves_no_trace(tmp_path, start):
    if not sys.platform.startswith("linux"):
        pytest.skip("vl-convert reads fontconfig files on Linux only")
    spec = label_heavy_spec()
    env = without_font_config()
    faults_system, svg_system = draw(spec, env)
    env["TMPDIR"] = str(tmp_path)
    faults, svg, variable, folders = in_a_process(spec, env, start)
    assert faults * 4 < faults_system, (faults, faults_system)
    assert svg == svg_system
    # Gone once vl-convert read it: WeasyPrint in the same process prints with system fonts.
    assert variable is None
    # The config's private folder lives as long as the process, and goes with it.
    assert len(folders) == 1 and folders[0].startswith(str(tmp_path / "mut-k-p"))
    assert list(tmp_path.iterdir()) == []


def test_a_process_with_its_own_font_config_keeps_it(tmp_path):
    spec = label_heavy_spec()
    mine = chart_font_config(tmp_path)
    env = dict(os.environ, FONTCONFIG_FILE=str(mine), TMPDIR=str(tmp_path))
    _faults, _svg, variable, folders = in_a_process(spec, env)
    assert variable == str(mine)
    assert sorted(folders) == [str(tmp_path / "fonts"), str(mine)]  # no folder of its own
