"""The fonts vl-convert measures chart labels with, in the process that draws the charts.

vl-convert lays out every chart label to measure it. It carries the charts' font,
Liberation Sans (:data:`~mutuality_helpers.theme.FONT`), in memory. When the system has
its own copy as well (Debian's ``fonts-liberation``, which WeasyPrint prints the labels
with), vl-convert picks the system file instead and maps it from disk again for every
label it measures: about 4,500 ``open``/``mmap``/``munmap`` calls and 40,000 page faults
for one report's five charts, a third of their drawing time.

:func:`chart_font_config` writes a fontconfig file that shows vl-convert every system font
*except* that copy, so Liberation Sans comes from memory and every other script (CJK,
Devanagari, emoji in a name) still finds its system font. vl-convert reads the file named
by ``FONTCONFIG_FILE`` when it first draws a chart. Set it only for a process that draws
charts and prints nothing, such as the report kernel: WeasyPrint's fontconfig reads the
same variable, and would then print without the system's Liberation Sans.

The two copies are the same design with Arial's metrics; they differ by a fraction of a
pixel on a rare glyph (the middle dot is measured a little wider), so labels still fit
where Vega places them.

Every other process that draws charts gets the same fonts through :func:`charts_ready`,
which each chart passes (``theme.spec_to_svg``): the process's first chart, a one-point
warm-up, reads the font database with that file in ``FONTCONFIG_FILE``, and the variable
is removed as soon as it is read. So the session workbook's kernel draws with the
built-in font, and still prints with the system's when its PDF button starts WeasyPrint.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import threading
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

from .scratch import kernel_folder

#: The font files vl-convert carries built in (the charts' font), by file name.
BUILT_IN = frozenset(
    f"LiberationSans-{style}" for style in ("Regular", "Bold", "Italic", "BoldItalic")
)
#: What vl-convert's font database loads.
FONT_SUFFIXES = frozenset({".ttf", ".otf", ".ttc", ".otc"})


def system_font_roots() -> list[Path]:
    """The folders vl-convert would search for system fonts without a fontconfig file."""
    home = Path.home()
    data_home = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    data_dirs = (os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share").split(":")
    roots = [Path(d) / "fonts" for d in data_dirs if d] + [data_home / "fonts", home / ".fonts"]
    return list(dict.fromkeys(roots))  # in order, each once


def chart_font_config(folder: Path, roots: Iterable[Path] | None = None) -> Path:
    """Write a fontconfig file listing every system font but vl-convert's built-in ones.

    A folder of fonts with none of the built-in ones anywhere below it is listed as it is;
    the other fonts of a folder that holds some are linked into ``folder/fonts`` (with
    their file names). That folder is listed even when empty: with no folder at all,
    vl-convert would search the system's folders again.

    Parameters
    ----------
    folder
        An existing private folder that lives as long as the process using the file.
    roots
        Where the system's fonts are (default :func:`system_font_roots`).

    Returns
    -------
    Path
        The fontconfig file, for ``FONTCONFIG_FILE``.
    """
    links = folder / "fonts"
    links.mkdir(mode=0o700, exist_ok=True)
    listed = [links]
    count = 0
    for root in system_font_roots() if roots is None else roots:
        # In path order (a folder before what it holds): the same file from run to run.
        tree = sorted(
            (Path(where), names) for where, _dirs, names in os.walk(root, followlinks=True)
        )
        # The folders holding a built-in font, and every folder above them.
        mixed: set[Path] = set()
        for where, names in tree:
            if any(_is_built_in(name) for name in names):
                mixed.update([where, *where.parents])
        for where, names in tree:
            if where not in mixed:
                if where == Path(root) or where.parent in mixed:  # the top of a clean branch
                    listed.append(where)
                continue
            for name in sorted(names):
                if _is_font(name) and not _is_built_in(name):
                    count += 1
                    (links / f"{count}-{name}").symlink_to(where / name)
    config = folder / "fonts.conf"
    dirs = "".join(f"  <dir>{escape(str(d))}</dir>\n" for d in listed)
    config.write_text(
        f'<?xml version="1.0"?>\n<fontconfig>\n{dirs}</fontconfig>\n', encoding="utf-8"
    )
    return config


def _is_font(name: str) -> bool:
    return Path(name).suffix.lower() in FONT_SUFFIXES


def _is_built_in(name: str) -> bool:
    return _is_font(name) and Path(name).stem in BUILT_IN


#: The smallest chart: drawing it starts vl-convert and reads its font database.
WARM_SPEC = {
    "data": {"values": [{"x": 1}]},
    "mark": "point",
    "encoding": {"x": {"field": "x", "type": "quantitative"}},
}
_start_lock = threading.Lock()
_first_chart: threading.Thread | None = None


def start_charts() -> None:
    """Start vl-convert on a thread (a report kernel, while it imports the package).

    vl-convert releases the GIL as it draws, yet its first chart slows pure Python beside
    it by about as long as it takes (a 0.35 s loop took 0.71 s): starting it early pays
    only beside waiting, such as a kernel's imports reading files, not beside computing.
    """
    global _first_chart
    with _start_lock:
        if _first_chart is None:
            _first_chart = threading.Thread(
                target=_first_draw,
                args=(_chart_font_config_set(),),
                name="vl-convert",
                daemon=True,
            )
            _first_chart.start()


def charts_ready() -> None:
    """Before drawing a chart: wait for :func:`start_charts`, starting it if nothing has.

    The process's first chart is drawn with the chart fonts: on Linux, unless the process
    has a ``FONTCONFIG_FILE`` already (a report kernel's, or the user's own), it reads them
    through a :func:`chart_font_config` file in a private folder of this process (removed
    at exit; a killed process's is swept with the report kernels' folders). The variable is
    set only until vl-convert has read the file: WeasyPrint, started later in the same
    process (the session workbook's PDF button), prints with the system's fonts.
    """
    start_charts()
    assert _first_chart is not None
    _first_chart.join()


def _chart_font_config_set() -> Path | None:
    """Point ``FONTCONFIG_FILE`` at a new chart font config; ``None`` where it is not used."""
    if not sys.platform.startswith("linux") or "FONTCONFIG_FILE" in os.environ:
        return None
    folder = kernel_folder()
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    config = chart_font_config(folder)
    os.environ["FONTCONFIG_FILE"] = str(config)
    return config


def _first_draw(config: Path | None) -> None:
    try:
        import vl_convert as vlc

        vlc.vegalite_to_svg(WARM_SPEC)
    except Exception:  # noqa: BLE001 -- the caller's own chart reports what is wrong
        pass
    finally:
        if config is not None:
            os.environ.pop("FONTCONFIG_FILE", None)
