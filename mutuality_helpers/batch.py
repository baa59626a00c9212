"""Many reports at once: ``mutuality report --all``, with a progress bar.

Reports render in ``jobs`` worker processes of a :class:`concurrent.futures.ProcessPoolExecutor`,
each holding one warm :class:`~mutuality_helpers.render.Renderer` for all its reports, so a
batch pays one Jupyter start-up per worker, not per report. With one job everything runs in
this process, and the kernel runs report n+1 while a printer thread prints report n.

A failed report does not stop the batch: its :class:`Outcome` carries a one-line error, and
a kernel that died is replaced for the next report. Ctrl-C stops the batch: reports not
started are cancelled, the ones under way are finished, and every kernel is shut down.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from multiprocessing import util
from pathlib import Path
from typing import Any

from .changes import record_report, report_changes
from .engine import skip_unused_format_checkers
from .exceptions import MutualityError
from .nativelibs import import_weasyprint
from .render import Renderer, label
from .report import ReportRequest


@dataclass(frozen=True)
class Outcome:
    """What became of one request in a batch: a path, or a one-line error."""

    request: ReportRequest
    path: Path | None = None
    error: str | None = None


def default_jobs(count: int) -> int:
    """Workers for ``count`` reports: one per CPU, at most 4, never more than reports."""
    return max(1, min(4, os.cpu_count() or 1, count))


@dataclass(frozen=True)
class _Rendered:
    """A report's HTML, and the couple's change count read before its notebook ran."""

    html: str
    changes: int


def _print(renderer: Renderer, request: ReportRequest, rendered: _Rendered) -> Outcome:
    try:
        path = renderer.printer.print_pdf(rendered.html, request.output)
    except Exception as exc:  # noqa: BLE001 -- one bad PDF must not end the batch
        return Outcome(request, error=f"{label(request)}: could not print: {exc}")
    try:
        record_report(request, rendered.changes, path)
    except MutualityError as exc:  # the PDF is fine; it is only rendered again next time
        return Outcome(request, error=f"{label(request)}: written, but not recorded: {exc}")
    return Outcome(request, path=path)


def _execute(renderer: Renderer, request: ReportRequest) -> _Rendered | Outcome:
    """The report's HTML, or the :class:`Outcome` of its failure (a dead kernel is replaced)."""
    try:
        changes = report_changes(request)  # first: a change after this leaves the report due
        return _Rendered(renderer.to_html(renderer.execute(request), request), changes)
    except MutualityError as exc:
        return Outcome(request, error=str(exc))
    except Exception as exc:  # noqa: BLE001 -- e.g. the kernel died mid-report
        renderer.revive()
        return Outcome(request, error=f"{label(request)}: report failed: {exc}")


def _pipeline(
    renderer: Renderer,
    items: Iterable[tuple[int, ReportRequest]],
    emit: Callable[[int, Outcome], None],
) -> None:
    """Render ``items`` on one kernel, printing each PDF while the next notebook runs."""
    handoff: queue.Queue[tuple[int, ReportRequest, _Rendered] | None] = queue.Queue(maxsize=1)

    def printer() -> None:
        while (item := handoff.get()) is not None:
            index, request, rendered = item
            emit(index, _print(renderer, request, rendered))

    thread = threading.Thread(target=printer, name="report-printer", daemon=True)
    thread.start()
    try:
        for index, request in items:
            rendered = _execute(renderer, request)
            if isinstance(rendered, Outcome):
                emit(index, rendered)
            else:
                handoff.put((index, request, rendered))
    finally:
        handoff.put(None)
        thread.join()


# -- worker processes ------------------------------------------------------------------------

_worker: dict[str, Any] = {}


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


def _start_worker() -> None:
    """Initializer of a worker process: Ctrl-C is the parent's to handle; SIGTERM unwinds."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)


def _worker_renderer() -> Renderer:
    """This worker's renderer, started on its first report and stopped when the worker exits."""
    if "renderer" not in _worker:
        renderer = Renderer()
        # Run at the worker's exit (multiprocessing's finalizers): kernel and sockets removed.
        util.Finalize(renderer, renderer.close, exitpriority=10)
        _worker["renderer"] = renderer
    return _worker["renderer"]


def _render_in_worker(request: ReportRequest) -> Outcome:
    try:
        renderer = _worker_renderer()
    except Exception as exc:  # noqa: BLE001 -- reported with the request, the batch goes on
        return Outcome(request, error=f"{label(request)}: a report worker could not start: {exc}")
    rendered = _execute(renderer, request)
    return rendered if isinstance(rendered, Outcome) else _print(renderer, request, rendered)


def _preimport() -> None:
    """Import the heavy renderer modules once in the parent, so forked workers start warm."""
    skip_unused_format_checkers()
    import nbconvert  # noqa: F401
    import papermill  # noqa: F401

    import_weasyprint()


def _progress(total: int, enabled: bool) -> Any:
    if not enabled or total < 2:
        return None
    from tqdm import tqdm

    return tqdm(total=total, desc="reports", unit="report", file=sys.stderr, leave=True)


def render_reports(
    requests: Sequence[ReportRequest],
    jobs: int = 1,
    progress: bool = True,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Render many validated requests with ``jobs`` parallel workers (one warm kernel each).

    Outcomes come back in the order of ``requests``; ``on_done`` sees each as it lands.
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
            if bar is not None:
                bar.update(1)
            if on_done is not None:
                on_done(outcome)

    try:
        if jobs == 1:
            bar = _progress(len(requests), progress)
            with Renderer() as renderer:
                _pipeline(renderer, enumerate(requests), record)
        else:
            # Forked workers inherit the parent's imports; elsewhere they import afresh.
            method = "fork" if sys.platform.startswith("linux") else "spawn"
            _preimport()
            # What the workers inherit lives as long as they do: out of the collector's
            # reach, a full collection (about one report in four) does not walk it again.
            gc.freeze()
            with ProcessPoolExecutor(
                jobs, mp_context=multiprocessing.get_context(method), initializer=_start_worker
            ) as pool:
                futures: dict[Future[Outcome], int] = {}
                try:
                    for index, request in enumerate(requests):
                        futures[pool.submit(_render_in_worker, request)] = index
                    # Only now: every worker is forked, so none copies the bar's thread.
                    bar = _progress(len(requests), progress)
                    for future in as_completed(futures):
                        record(futures[future], future.result())
                except BaseException:
                    pool.shutdown(wait=True, cancel_futures=True)
                    raise
    except BrokenProcessPool as exc:
        reason = f"the report workers stopped ({exc})"
        return [
            done.get(i) or Outcome(r, error=f"{label(r)}: not rendered: {reason}")
            for i, r in enumerate(requests)
        ]
    finally:
        if bar is not None:
            bar.close()
    return [done[i] for i in range(len(requests))]
