"""One report, notebook to PDF: papermill on a warm kernel, then :mod:`~mutuality_helpers.pdf`.

The pipeline for one report:

1. validate the request (:func:`mutuality_helpers.report.validate_request`): a bad
   request fails here, before any kernel, with one line and no file;
2. execute ``notebooks/session_report.ipynb`` with papermill on a warm
   :class:`~mutuality_helpers.engine.ReportKernel`, namespace reset first;
3. export it as HTML without code and print it with WeasyPrint (:class:`~pdf.Printer`);
4. record the report with the couple's change count read *before* step 2
   (:mod:`~mutuality_helpers.changes`): that, not the file's time, makes it current.

Many reports at once: :mod:`~mutuality_helpers.batch`; one report after another on one warm
renderer, across commands: :mod:`~mutuality_helpers.worker`.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any, Self

from . import config
from .changes import record_report, report_changes
from .engine import ENGINE_NAME, ReportKernel, register_engine, skip_unused_format_checkers
from .exceptions import ReportError
from .pdf import Printer
from .report import ReportRequest, validate_request

NOTEBOOK = config.NOTEBOOKS_DIR / "session_report.ipynb"
CELL_TIMEOUT = 300


def label(request: ReportRequest) -> str:
    """How a request is named in messages: ``"D004 session 2"``."""
    return f"{request.couple_id} session {request.session}"


class Renderer:
    """Renders report PDFs on one warm kernel (one renderer per process).

    Parameters
    ----------
    kernel
        A started :class:`ReportKernel`; a new one is started (and owned) when None.
    """

    def __init__(self, kernel: ReportKernel | None = None) -> None:
        skip_unused_format_checkers()
        self._owns_kernel = kernel is None
        # Launch first: the kernel imports pandas and Altair while we import the rest.
        self.kernel = kernel or ReportKernel().start()
        try:
            import nbformat
            import papermill  # noqa: F401 -- imported here so the engine registration finds it

            register_engine()
            self._notebook = nbformat.read(NOTEBOOK, as_version=4)
            self.printer = Printer()
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if self._owns_kernel:
            self.kernel.stop()

    def restart_kernel(self) -> None:
        """Replace a kernel that died (this renderer then owns the new one)."""
        if self._owns_kernel:
            self.kernel.stop()
        self.kernel = ReportKernel().start()
        self._owns_kernel = True

    def revive(self) -> bool:
        """Replace the kernel if it died (:meth:`restart_kernel`); True when it was replaced."""
        if self.kernel.alive():
            return False
        self.restart_kernel()
        return True

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, request: ReportRequest, out: Path | None = None) -> Path:
        """Render one validated request to ``out`` (default: the request's report path).

        The couple's change count is read first, before the notebook reads any data, and
        recorded with the report written to its own path (:mod:`~mutuality_helpers.changes`):
        a change that lands while this runs leaves the report due.
        """
        if out is None:
            out = request.output
        elif not _in_couples_report_folder(Path(out), request.output):
            out = config.refuse_owned(out, request.data_dir)  # never over the store, a backup...
        changes = report_changes(request)
        path = self.printer.print_pdf(self.to_html(self.execute(request), request), out)
        record_report(request, changes, path)
        return path

    def execute(self, request: ReportRequest) -> Any:
        """Run the report notebook for ``request``; returns the executed notebook."""
        import papermill
        from papermill.exceptions import PapermillExecutionError

        self.kernel.wait_ready()
        self.kernel.reset()
        try:
            return papermill.execute_notebook(
                copy.deepcopy(self._notebook),
                None,
                parameters=request.notebook_parameters(),
                engine_name=ENGINE_NAME,
                warm_kernel=self.kernel,
                kernel_name="python3",
                progress_bar=False,
                request_save_on_cell_execute=False,
                execution_timeout=CELL_TIMEOUT,
            )
        except PapermillExecutionError as exc:
            reason = f"{exc.ename}: {exc.evalue}" if exc.evalue else exc.ename
            raise ReportError(f"{label(request)}: report failed: {reason}") from None

    def to_html(self, nb: Any, request: ReportRequest) -> str:
        """The executed notebook as the report's HTML (no code, no prompts)."""
        title = f"Session report {request.couple_id} session {request.session}"
        return self.printer.to_html(nb, label(request), title)


# The report worker's warm renderer (:mod:`~mutuality_helpers.worker`), which render_one uses
# instead of starting a kernel of its own.
_warm: Renderer | None = None


def use_renderer(renderer: Renderer | None) -> None:
    """Make :func:`render_one` render on ``renderer`` in this process (None: a kernel each)."""
    global _warm
    _warm = renderer


def render_one(request: ReportRequest, out: Path | None = None) -> Path:
    """Render a single validated request in this process.

    On the process's warm renderer when it has one (:func:`use_renderer`: the report
    worker), else on a kernel of its own, stopped after.
    """
    if _warm is not None:
        return _warm.render(request, out)
    with Renderer() as renderer:
        return renderer.render(request, out)


def render_report(
    couple_id: str, session: int, data: str | os.PathLike[str] | None = None, **params: Any
) -> Path:
    """Validate and render one session report; returns the PDF's path.

    Parameters
    ----------
    couple_id, session
        The couple and the session number.
    data
        The data folder (default: ``$MUTUALITY_DATA``, else the checkout's ``data/``).
    **params
        Further report parameters: ``as_of``, ``include_reflections``, ``paper``
        and the judgement thresholds (see :data:`mutuality_helpers.report.PARAMETERS`).
    """
    request = validate_request(
        {"couple_id": couple_id, "session": session, "data_dir": data, **params}
    )
    return render_one(request)


def _in_couples_report_folder(out: Path, own: Path) -> bool:
    """Whether ``out`` is a PDF in the couple's own report folder (where its reports belong)."""
    return out.suffix.lower() == ".pdf" and out.resolve().parent == own.resolve().parent
