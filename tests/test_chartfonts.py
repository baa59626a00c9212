import json
import os
import subprocess
import sys

import pytest
from conftest import listed_font_folders, reachable_fonts

from mutuality_helpers.chartfonts import chart_font_config, system_font_roots


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


def test_vl_convert_measures_from_memory_and_places_labels_alike(tmp_path):
    from mutuality_helpers.theme import FONT

    if not any(any(root.rglob("LiberationSans-Regular.ttf")) for root in system_font_roots()):
        pytest.skip("no system copy of Liberation Sans (fonts-liberation) to steer around")
    labels = [f"Week {n} of 26, Sam and Alex" for n in range(40)]
    spec = {
        "data": {"values": [{"label": text, "x": n} for n, text in enumerate(labels)]},
        "mark": "point",
        "encoding": {
            "y": {"field": "label", "type": "nominal", "axis": {"labelFont": FONT}},
            "x": {"field": "x", "type": "quantitative", "axis": {"labelFont": FONT}},
        },
    }
    env = {k: v for k, v in os.environ.items() if k != "FONTCONFIG_FILE"}
    faults_system, svg_system = draw(spec, env)
    config = chart_font_config(tmp_path)
    faults_built_in, svg_built_in = draw(spec, {**env, "FONTCONFIG_FILE": str(config)})
    # The system copy is mapped again for every label (tens of thousands of page faults
    # here); the built-in one is read from memory.
    assert faults_built_in * 4 < faults_system, (faults_built_in, faults_system)
    # Same metrics: every label is placed exactly where it was.
    assert svg_built_in == svg_system
