"""Notebook to PDF: papermill, then nbconvert HTML without code, then WeasyPrint.

The pipeline for one report:

1. validate the request (:func:`mutuality_helpers.report.validate_request`): a bad
   request fails here, before any kernel, with one line and no file;
2. execute ``notebooks/session_report.ipynb`` with papermill in a warm
   :class:`~mutuality_helpers.kernel.ReportKernel` (``km=``), namespace reset first;
3. export HTML through our own nbconvert template (``templates/mutuality_report``:
   no inputs, no prompts, only rich outputs) and print stylesheet;
4. print with WeasyPrint to a temporary file beside the target, owner-only, and
   rename it into place: a PDF exists only once it is complete.

Many reports (:func:`render_reports`) run in ``jobs`` worker processes, each with
its own kernel, so a batch pays one Jupyter start-up per worker, not per report.
Within a worker the kernel runs report n+1 while a printer thread prints report n.
Which sessions are due (no PDF, or one older than the couple's latest change) is
:func:`due_sessions`; :func:`plan` turns a command line into validated requests.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import config
from .exceptions import MutualityError, ReportError
from .kernel import ReportKernel, skip_unused_format_checkers
from .report import ReportRequest

NOTEBOOK = config.NOTEBOOKS_DIR / "session_report.ipynb"
TEMPLATE_NAME = "mutuality_report"
ENGINE_NAME = "mutuality-warm-kernel"
CELL_TIMEOUT = 300
# Notebook furniture that must never reach a clinical record (checked on the HTML before
# printing; typed text cannot produce these, it is escaped).
FORBIDDEN = ("In&nbsp;[", 'class="jp-InputArea', "<script", "<pre")


def _register_engine() -> None:
    """A papermill engine that runs on a kernel *and client* we already hold.

    papermill's stock engine accepts ``km=`` but opens a new client (sockets and a
    heartbeat thread) for every notebook and never closes it; ours hands nbclient
    the warm kernel's one client instead.
    """
    from papermill.clientwrap import PapermillNotebookClient
    from papermill.engines import NBClientEngine, papermill_engines

    class WarmKernelEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man: Any,
            kernel_name: str,
            warm_kernel: ReportKernel | None = None,
            log_output: bool = False,
            execution_timeout: int | None = None,
            **_ignored: Any,
        ) -> Any:
            import logging

            if warm_kernel is None:
                raise ReportError("internal: the warm-kernel engine needs warm_kernel=")
            client = PapermillNotebookClient(
                nb_man,
                km=warm_kernel.km,
                timeout=execution_timeout,
                kernel_name=kernel_name,
                log=logging.getLogger("papermill"),
                log_output=log_output,
            )
            client.kc = warm_kernel.kc
            client.kc.allow_stdin = False
            return client.execute()

    papermill_engines.register(ENGINE_NAME, WarmKernelEngine)


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
            self._prepare()
        except BaseException:
            self.close()
            raise

    def _prepare(self) -> None:
        import nbformat
        import papermill  # noqa: F401 -- imported here so the engine registration finds it
        from nbconvert import HTMLExporter
        from weasyprint.text.fonts import FontConfiguration

        _register_engine()
        # One font configuration per process: fontconfig is set up once, not per report.
        self.fonts = FontConfiguration()
        self._notebook = nbformat.read(NOTEBOOK, as_version=4)
        self._exporter = HTMLExporter(
            template_name=TEMPLATE_NAME,
            extra_template_basedirs=[str(config.TEMPLATES_DIR)],
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
        )
        # Compile the template and load WeasyPrint's stylesheets and fonts now, on a
        # thread, while the kernel starts and runs the first notebook: off the
        # critical path of a single report.
        self._warm = threading.Thread(target=self._warm_up, name="report-warm-up", daemon=True)
        self._warm.start()

    def _warm_up(self) -> None:
        import io

        from nbformat.v4 import new_code_cell, new_notebook, new_output
        from weasyprint import HTML

        cell = new_code_cell(outputs=[new_output("display_data", {"text/html": "<p>x</p>"})])
        html, _ = self._exporter.from_notebook_node(new_notebook(cells=[cell]))
        HTML(string=html, base_url=str(config.TEMPLATES_DIR)).write_pdf(
            io.BytesIO(), font_config=self.fonts
        )

    def _warmed(self) -> None:
        """Wait for the warm-up: the exporter and WeasyPrint are not shared between threads."""
        if self._warm.is_alive():
            self._warm.join()

    def print_pdf(self, html: str, out: Path) -> Path:
        """Print report HTML to ``out`` (atomically, owner-only)."""
        self._warmed()
        return write_pdf(html, out, self.fonts)

    def close(self) -> None:
        if self._owns_kernel:
            self.kernel.stop()

    def restart_kernel(self) -> None:
        """Replace a kernel that died (this renderer then owns the new one)."""
        if self._owns_kernel:
            self.kernel.stop()
        self.kernel = ReportKernel().start()
        self._owns_kernel = True

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def render(self, request: ReportRequest, out: Path | None = None) -> Path:
        """Render one validated request to ``out`` (default: the request's report path)."""
        out = Path(out) if out is not None else request.output
        nb = self.execute(request)
        return self.print_pdf(self.to_html(nb, request), out)

    def execute(self, request: ReportRequest) -> Any:
        """Run the report notebook for ``request``; returns the executed notebook."""
        import copy

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
            raise ReportError(f"{_label(request)}: report failed: {reason}") from None

    def to_html(self, nb: Any, request: ReportRequest) -> str:
        """Export the executed notebook as the report's HTML (no code, no prompts)."""
        self._warmed()
        for cell in nb.cells:
            if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
                raise ReportError(f"{_label(request)}: the report notebook failed; nothing written")
        title = f"Session report {request.couple_id} session {request.session}"
        html, _ = self._exporter.from_notebook_node(nb, resources={"mutuality": {"title": title}})
        for marker in FORBIDDEN:
            if marker in html:
                raise ReportError(
                    f"{_label(request)}: the report would show notebook internals; nothing written"
                )
        return html


def write_pdf(html: str, out: Path, fonts: Any = None) -> Path:
    """Print ``html`` to ``out`` atomically, owner-only, in an owner-only folder.

    ``fonts`` is an optional WeasyPrint ``FontConfiguration`` to reuse.
    """
    from weasyprint import HTML

    out = Path(out)
    config.private_dir(out.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.stem}-", suffix=".pdf.part", dir=out.parent)
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


# -- many reports ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What became of one request in a batch: a path, or a one-line error."""

    request: ReportRequest
    path: Path | None = None
    error: str | None = None


def _pipeline(
    renderer: Renderer,
    items: Iterable[tuple[int, ReportRequest]],
    emit: Callable[[int, Outcome], None],
) -> None:
    """Render ``items`` on one kernel, printing each PDF while the next notebook runs.

    The kernel (its own process) executes report n+1 while a printer thread here runs
    WeasyPrint on report n, so neither waits for the other. One report's failure
    becomes its :class:`Outcome`; a kernel that died is replaced for the next report.
    """
    handoff: queue.Queue = queue.Queue(maxsize=1)

    def printer() -> None:
        while (item := handoff.get()) is not None:
            index, request, html = item
            try:
                emit(index, Outcome(request, path=renderer.print_pdf(html, request.output)))
            except Exception as exc:  # noqa: BLE001 -- one bad PDF must not end the batch
                emit(index, Outcome(request, error=f"{_label(request)}: could not print: {exc}"))

    thread = threading.Thread(target=printer, name="report-printer", daemon=True)
    thread.start()
    try:
        for index, request in items:
            try:
                nb = renderer.execute(request)
                handoff.put((index, request, renderer.to_html(nb, request)))
            except MutualityError as exc:
                emit(index, Outcome(request, error=str(exc)))
            except Exception as exc:  # noqa: BLE001 -- e.g. the kernel died mid-report
                emit(index, Outcome(request, error=f"{_label(request)}: report failed: {exc}"))
                if not renderer.kernel.alive():
                    renderer.restart_kernel()
    finally:
        handoff.put(None)
        thread.join()


def _label(request: ReportRequest) -> str:
    return f"{request.couple_id} session {request.session}"


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _worker_main(tasks: Any, results: Any) -> None:
    """A worker process: one warm kernel, requests from ``tasks``, outcomes to ``results``."""
    # Ctrl-C reaches the whole process group; the parent decides, and stops workers with
    # SIGTERM, which here unwinds normally: the PDF being printed is finished, the kernel
    # and its socket folder are removed.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        renderer = Renderer()
    except Exception as exc:  # noqa: BLE001 -- reported to the parent, which carries on
        results.put((None, f"a report worker could not start: {exc}"))
        return
    try:

        def items() -> Iterable[tuple[int, ReportRequest]]:
            while (item := tasks.get()) is not None:
                yield item

        _pipeline(renderer, items(), lambda index, outcome: results.put((index, outcome)))
    finally:
        renderer.close()


def render_one(request: ReportRequest, out: Path | None = None) -> Path:
    """Render a single validated request in this process (one kernel, stopped after)."""
    with Renderer() as renderer:
        return renderer.render(request, out)


def render_reports(
    requests: Sequence[ReportRequest],
    jobs: int = 1,
    progress: bool = True,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Render many validated requests with ``jobs`` parallel workers (one warm kernel each).

    A failed report does not stop the batch; its :class:`Outcome` carries the error.
    Outcomes come back in the order of ``requests``.
    """
    if not requests:
        return []
    jobs = max(1, min(int(jobs), len(requests)))
    done: dict[int, Outcome] = {}
    lock = threading.Lock()
    bar = None

    def record(index: int, outcome: Outcome) -> None:
        with lock:
            done[index] = outcome
            _tick(bar, outcome, on_done)

    if jobs == 1:
        bar = _progress(len(requests), progress)
        try:
            with Renderer() as renderer:
                _pipeline(renderer, enumerate(requests), record)
        finally:
            _close(bar)
        return [done[i] for i in range(len(requests))]

    # Forked workers inherit the parent's imports; elsewhere they import afresh.
    context = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    _preimport()
    tasks, results = context.Queue(), context.Queue()
    workers = [context.Process(target=_worker_main, args=(tasks, results)) for _ in range(jobs)]
    for worker in workers:
        worker.start()
    trouble: list[str] = []
    finished = False
    try:
        # Only after the forks: the queue's feeder thread and tqdm's monitor thread start
        # here, and a fork must not copy a running thread's locks.
        for item in enumerate(requests):
            tasks.put(item)
        for _ in range(jobs):
            tasks.put(None)
        bar = _progress(len(requests), progress)
        while len(done) < len(requests):
            try:
                index, outcome = results.get(timeout=0.5)
            except queue.Empty:
                if not any(w.is_alive() for w in workers):
                    break
                continue
            if index is None:
                trouble.append(outcome)
                continue
            record(index, outcome)
        finished = True
    finally:
        _close(bar)
        for worker in workers:
            if not finished:
                worker.terminate()  # SIGTERM: the worker cleans up (see _worker_main)
        for worker in workers:
            worker.join(timeout=30)
            if worker.is_alive():
                worker.kill()
                worker.join()
    reason = trouble[0] if trouble else "the report workers stopped"
    return [
        done.get(i) or Outcome(r, error=f"{_label(r)}: not rendered: {reason}")
        for i, r in enumerate(requests)
    ]


def _preimport() -> None:
    """Import the heavy renderer modules once in the parent, so forked workers start warm."""
    skip_unused_format_checkers()
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401
    import weasyprint  # noqa: F401


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total < 2:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="reports", unit="report", file=sys.stderr, leave=True)


def _close(bar: Any) -> None:
    if bar is not None:
        bar.close()


def _tick(bar: Any, outcome: Outcome, on_done: Callable[[Outcome], None] | None) -> None:
    if bar is not None:
        bar.update(1)
    if on_done is not None:
        on_done(outcome)


def paths(outcomes: Iterable[Outcome]) -> list[Path]:
    return [o.path for o in outcomes if o.path is not None]


# -- which reports are due ------------------------------------------------------------------


def last_change(store: Any, couple_id: str) -> str:
    """When the couple's data last changed (ISO timestamp, UTC; "" when never)."""
    import sqlalchemy as sa

    from .schema import answers_table, seasons_table, sessions_table

    stamps = []
    for table in (answers_table, seasons_table, sessions_table):
        rows = store.read(
            sa.select(sa.func.max(table.c.saved_at)).where(table.c.couple_id == couple_id)
        )
        if rows and rows[0][0]:
            stamps.append(str(rows[0][0]))
    return max(stamps, default="")


def is_current(store: Any, couple_id: str, session: int, changed: str | None = None) -> bool:
    """True when the session's PDF exists and is newer than every change to the couple's data."""
    import datetime as dt

    path = config.report_path(couple_id, session, store.data_dir)
    if not path.is_file():
        return False
    changed = last_change(store, couple_id) if changed is None else changed
    written = dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)
    # Strictly newer: a PDF written in the same second as a change may predate it.
    return written.isoformat(timespec="seconds") > changed


def due_sessions(
    store: Any, couple_ids: Sequence[str] | None = None, force: bool = False
) -> list[tuple[str, int]]:
    """``(couple_id, session)`` of every recorded session without a current report."""
    sessions = store.sessions(list(couple_ids) if couple_ids is not None else None)
    due = []
    for couple_id, group in sessions.groupby("couple_id", sort=True):
        changed = last_change(store, couple_id)
        for number in sorted(group["number"].astype(int)):
            if force or not is_current(store, couple_id, number, changed):
                due.append((str(couple_id), number))
    return due


def plan(
    store: Any,
    couple: str | None = None,
    session: int | None = None,
    all_sessions: bool = False,
    force: bool = False,
    **options: Any,
) -> tuple[list[ReportRequest], list[str]]:
    """Turn a ``mutuality report`` command line into validated requests.

    One report (``couple`` with ``session``, default its latest) is validated
    strictly: a bad request raises. With ``all_sessions`` every due session of
    ``couple`` (or of every couple) is validated and the ones that cannot be
    reported (say, no answers yet) come back as one-line reasons instead.

    ``options`` are further report parameters (``as_of``, ``include_reflections``,
    ``paper``, thresholds).
    """
    from .report import validate_request

    base = {"data_dir": str(store.data_dir), **options}
    if not all_sessions:
        if couple is None:
            raise ReportError("name a couple (mutuality report COUPLE --session N) or use --all")
        if session is None:
            couple = store.require_couple(couple)
            numbers = store.sessions(couple)["number"]
            if numbers.empty:
                raise ReportError(f"couple {couple} has no sessions yet (mutuality session ...)")
            session = int(numbers.max())
        return [validate_request({**base, "couple_id": couple, "session": session}, store)], []
    if session is not None:
        raise ReportError("--all renders every due session; leave out --session")
    if options.get("as_of"):
        raise ReportError(
            "--as-of applies to one report; each session is judged as of its own week"
        )
    couples = [store.require_couple(couple)] if couple is not None else None
    requests, skipped = [], []
    for couple_id, number in due_sessions(store, couples, force):
        try:
            params = {**base, "couple_id": couple_id, "session": number}
            requests.append(validate_request(params, store))
        except MutualityError as exc:
            skipped.append(f"{couple_id} session {number}: skipped: {exc}")
    return requests, skipped


def default_jobs(count: int) -> int:
    """Workers for ``count`` reports: one per CPU, at most 4, never more than reports."""
    return max(1, min(4, os.cpu_count() or 1, count))


#: The demo couple whose report ``mutuality demo`` renders: it shows the most (chronic
#: domains, an unagreed season, alerts, a falling mutuality index).
DEMO_REPORT_COUPLE = "D004"


def demo_report(store: Any) -> Path:
    """Render the demo couple's latest session report unless it is current; return its path."""
    requests, _ = plan(store, DEMO_REPORT_COUPLE)
    request = requests[0]
    if is_current(store, request.couple_id, request.session):
        return request.output
    return render_one(request)


def render_report(
    couple_id: str, session: int, data: str | os.PathLike | None = None, **params: Any
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
    from .report import validate_request

    request = validate_request(
        {"couple_id": couple_id, "session": session, "data_dir": data, **params}
    )
    return render_one(request)
