"""From an executed report notebook to a PDF: nbconvert HTML without code, then WeasyPrint.

:class:`Printer` holds what is worth loading once per process: the nbconvert exporter with
our own template (``templates/mutuality_report``: no inputs, no prompts, only rich outputs,
and the print stylesheet whose page margins carry the running title, the page numbers and
the confidentiality footer) and WeasyPrint's font configuration. Chart labels are drawn a
string at a time (:mod:`~mutuality_helpers.svgtext`). :func:`write_pdf` prints
to a temporary file beside the target, owner-only, and renames it into place: a PDF exists
only once it is complete.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from . import config
from .exceptions import ReportError
from .nativelibs import import_weasyprint
from .scratch import scratch_prefix
from .svgtext import draw_text_whole

TEMPLATE_NAME = "mutuality_report"
# Notebook furniture that must never reach a clinical record (checked on the HTML before
# printing; typed text cannot produce these, it is escaped).
FORBIDDEN = ("In&nbsp;[", 'class="jp-InputArea', "<script", "<pre")


def write_pdf(html: str, out: Path, fonts: Any = None, lock_folder: bool = True) -> Path:
    """Print ``html`` to ``out`` atomically, owner-only, in an owner-only folder.

    ``fonts`` is an optional WeasyPrint ``FontConfiguration`` to reuse. With
    ``lock_folder=False`` an existing folder the user chose keeps its permissions (the file
    is owner-only all the same).
    """
    import_weasyprint()
    from weasyprint import HTML

    draw_text_whole()
    out = Path(out)
    if lock_folder or not out.parent.is_dir():
        config.private_dir(out.parent)
    fd, tmp = tempfile.mkstemp(prefix=scratch_prefix(out.stem), suffix=".pdf.part", dir=out.parent)
    try:
        os.fchmod(fd, config.PRIVATE_FILE_MODE)
        with os.fdopen(fd, "wb") as fh:
            HTML(string=html, base_url=str(config.TEMPLATES_DIR)).write_pdf(fh, font_config=fonts)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    os.chmod(out, config.PRIVATE_FILE_MODE)
    return out


class Printer:
    """Executed report notebooks to HTML, and HTML to PDF, for one process.

    The exporter's template is compiled and WeasyPrint's stylesheets and fonts are loaded
    on a thread as soon as the printer is made, while the report kernel starts and runs the
    first notebook: off the critical path of a single report.
    """

    def __init__(self) -> None:
        from nbconvert import HTMLExporter

        import_weasyprint()
        from weasyprint.text.fonts import FontConfiguration

        # One font configuration per process: fontconfig is set up once, not per report.
        self.fonts = FontConfiguration()
        self._exporter = HTMLExporter(
            template_name=TEMPLATE_NAME,
            extra_template_basedirs=[str(config.TEMPLATES_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        self._warm = threading.Thread(target=self._warm_up, name="report-warm-up", daemon=True)
        self._warm.start()

    def _warm_up(self) -> None:
        from nbformat.v4 import new_code_cell, new_notebook, new_output
        from weasyprint import HTML

        draw_text_whole()
        cell = new_code_cell(outputs=[new_output("display_data", {"text/html": "<p>x</p>"})])
        html, _ = self._exporter.from_notebook_node(new_notebook(cells=[cell]))
        HTML(string=html, base_url=str(config.TEMPLATES_DIR)).write_pdf(
            io.BytesIO(), font_config=self.fonts
        )

    def wait_warm(self) -> None:
        """Wait for the warm-up: the exporter and WeasyPrint are not shared between threads."""
        if self._warm.is_alive():
            self._warm.join()

    def to_html(self, nb: Any, label: str, title: str) -> str:
        """The executed notebook as the report's HTML (no code, no prompts).

        Raises
        ------
        ReportError
            When a cell failed, or the HTML would show notebook internals (``label`` says
            which report); nothing is written then.
        """
        self.wait_warm()
        for cell in nb.cells:
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                raise ReportError(f"{label}: the report notebook failed; nothing written")
        html, _ = self._exporter.from_notebook_node(nb, resources={"mutuality": {"title": title}})
        for marker in FORBIDDEN:
            if marker in html:
                raise ReportError(
                    f"{label}: the report would show notebook internals; nothing written"
                )
        return str(html)

    def print_pdf(self, html: str, out: Path) -> Path:
        """Print report HTML to ``out`` (atomically, owner-only)."""
        self.wait_warm()
        return write_pdf(html, out, self.fonts)
