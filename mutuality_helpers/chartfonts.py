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
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape

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
