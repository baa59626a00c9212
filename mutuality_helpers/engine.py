"""The report engine: a warm IPython kernel, and a papermill engine that runs on it.

Starting a Jupyter kernel and importing pandas, Altair and the package costs
seconds; executing a report notebook in a warm kernel costs well under one. So a
:class:`ReportKernel` is started once (per worker), its imports preloaded, and every
report notebook runs on it through :data:`ENGINE_NAME`, a papermill engine that hands
nbclient the kernel *and its one client* (papermill's stock engine accepts ``km=`` but
opens a new client for every notebook and never closes it). The user namespace is reset
between reports, so nothing of one couple survives into the next.

Two details make this safe and fast:

- **Unique IPC sockets.** The kernel talks over Unix sockets inside a private
  temporary folder of its own, not over TCP ports picked at random, so parallel
  workers can never collide on a port or a connection file.
- **No slow, unused format checker.** A full Jupyter install pulls in
  ``rfc3987-syntax`` (through ``jupyter-events`` and ``jsonschema[format-nongpl]``);
  it builds a parser for the ``iri`` formats when ``jsonschema`` is first imported,
  which makes ``import altair`` (and ``import nbformat``) take a second or more.
  Neither the Vega-Lite schema nor the notebook schema uses the ``iri`` formats,
  and ``jsonschema`` treats that checker as optional. :func:`skip_unused_format_checkers`
  marks the module as absent in ``sys.modules`` (the import system's documented way
  to make an import fail) in the processes that render reports, and nowhere else.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from .chartfonts import chart_font_config
from .exceptions import KernelDied, ReportError
from .scratch import kernel_folder

# Modules that only register JSON-schema format checkers nobody here uses, and are
# slow to import. Keep this list short and justified (see the module docstring).
UNUSED_FORMAT_CHECKERS = ("rfc3987_syntax",)

# What every report needs, imported once per kernel while the parent process is busy
# validating parameters and loading nbconvert and WeasyPrint. vl-convert's JavaScript
# engine takes a second to start; it starts on a thread (chartfonts.start_charts)
# while pandas, Altair and the package import, before anything imports jsonschema.
# Then what was imported, which lives as long as the kernel, is moved out of the garbage
# collector's reach (gc.freeze): the full collection about one report in six triggers no
# longer walks it (20 ms a report).
PRELOAD = """\
import sys
for _name in {unused!r}:
    sys.modules.setdefault(_name, None)
from mutuality_helpers import chartfonts as _charts
_charts.start_charts()
import mutuality_helpers.sections
mutuality_helpers.sections.preload()
_charts.charts_ready()
import gc
gc.freeze()
del _name, _charts, gc
"""

# Between two reports: forget every variable of the previous report. Not ``%reset``:
# it runs a full garbage collection each time. Outputs are not cached at all
# (``cache_size=0`` below), so no earlier report survives in ``Out`` or ``_``.
RESET = """\
_ip, _k = get_ipython(), None
for _k in [k for k in _ip.user_ns if not k.startswith("_") and k not in _ip.user_ns_hidden]:
    del _ip.user_ns[_k]
del _ip, _k
"""

KERNEL_START_TIMEOUT = 60
#: The papermill engine that runs notebooks on a :class:`ReportKernel` (``warm_kernel=``).
ENGINE_NAME = "mutuality-warm-kernel"


def skip_unused_format_checkers() -> None:
    """Keep ``jsonschema`` from importing format-checker modules the reports never use.

    Must run before the first ``import jsonschema`` (nbformat, papermill and Altair
    import it) to have an effect; it is harmless afterwards.
    """
    for name in UNUSED_FORMAT_CHECKERS:
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


class ReportKernel:
    """One IPython kernel, kept warm for many report notebooks.

    Use as a context manager; the kernel and its socket folder are removed on exit.

    Parameters
    ----------
    preload
        Import the report's modules in the kernel right after start-up, without
        waiting for them (the first notebook's execution queues behind the import).
    """

    def __init__(self, preload: bool = True) -> None:
        self.preload = preload
        self.km: Any = None  # jupyter_client's KernelManager, once started
        self.kc: Any = None  # its BlockingKernelClient
        self._folder: Path | None = None
        self._log: IO[bytes] | None = None
        self._ready = False
        self._preload_id: str | None = None

    # -- life cycle ------------------------------------------------------------------

    def start(self) -> ReportKernel:
        """Start the kernel process and connect a client (returns at once after launch)."""
        try:
            return self._start()
        except BaseException:
            # Interrupted or failed half-way: leave no process and no socket folder.
            self.stop()
            raise

    def _start(self) -> ReportKernel:
        from jupyter_client.manager import KernelManager

        # A short private path: Unix socket paths are limited to about 100 bytes.
        # Named after this process: a killed batch's folders are swept (scratch.py).
        self._folder = kernel_folder()
        if os.name == "posix":
            km = KernelManager(
                kernel_name="python3",
                transport="ipc",
                ip=str(self._folder / "s"),
                connection_file=str(self._folder / "kernel.json"),
            )
        else:  # no Unix sockets: TCP on loopback, ports chosen by jupyter_client
            km = KernelManager(
                kernel_name="python3", connection_file=str(self._folder / "kernel.json")
            )
        env = dict(os.environ)
        # ipykernel's debugger warns about frozen modules on every start; reports do not debug.
        env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"
        # The kernel draws charts and prints nothing: vl-convert measures the labels with its
        # own Liberation Sans, from memory, not the system's copy mapped once per label.
        # (Its font database reads fontconfig's files on Linux only.)
        if sys.platform.startswith("linux"):
            env["FONTCONFIG_FILE"] = str(chart_font_config(self._folder))
        self._log = open(self._folder / "kernel.log", "wb")  # noqa: SIM115 -- closed in stop()
        km.start_kernel(
            # History would keep each report's parameters (a couple id) on disk.
            extra_arguments=[
                "--HistoryManager.hist_file=:memory:",
                "--InteractiveShell.cache_size=0",
            ],
            env=env,
            cwd=str(self._folder),
            stdout=self._log,
            stderr=self._log,
        )
        self.km = km
        kc = km.client()
        kc.start_channels()
        self.kc = kc
        if self.preload:
            # Fire and forget: the reply is awaited by whoever runs the next cell.
            code = PRELOAD.format(unused=UNUSED_FORMAT_CHECKERS)
            self._preload_id = kc.execute(code, silent=True, store_history=False)
        return self

    def wait_ready(self, timeout: float = KERNEL_START_TIMEOUT) -> None:
        """Block until the kernel answers (and, with ``preload``, has imported everything).

        One ``pass`` request, answered after the preload (a kernel handles requests in
        order), instead of jupyter_client's ``wait_for_ready``, which polls and then
        waits for 0.2 s of IOPub silence: a single report would pay that every time.
        A failed preload is reported here, not as a puzzling first report.
        """
        self._require()
        if self._ready:
            return
        deadline = time.monotonic() + timeout
        msg_id = self.kc.execute("pass", silent=True, store_history=False)
        while True:
            reply = self._next(self.kc.get_shell_msg, deadline)
            parent = reply["parent_header"].get("msg_id")
            failed = reply["content"].get("status") != "ok"
            if failed and parent in (self._preload_id, msg_id):
                content = reply["content"]
                raise KernelDied(
                    "the report kernel failed to start: "
                    f"{content.get('ename', '')}: {content.get('evalue', '')}"
                )
            if parent == msg_id:
                break
        # IOPub is connected once an "idle" for one of our requests arrives, so no output
        # of the first notebook can be lost. A subscription can lag behind the kernel
        # (ZeroMQ's "slow joiner"): without an answer soon, ask again.
        ours = {msg_id}
        while True:
            try:
                msg = self.kc.get_iopub_msg(timeout=0.5)
            except queue.Empty:
                self._check(deadline)
                ours.add(self.kc.execute("pass", silent=True, store_history=False))
                continue
            if (
                msg["msg_type"] == "status"
                and msg["content"].get("execution_state") == "idle"
                and msg["parent_header"].get("msg_id") in ours
            ):
                break
        self._ready = True

    def _next(self, get: Any, deadline: float) -> dict:
        """The next message from ``get``, watching for a dead kernel and the deadline."""
        while True:
            try:
                return get(timeout=0.25)
            except queue.Empty:
                self._check(deadline)

    def _check(self, deadline: float) -> None:
        if not self.km.is_alive():
            raise KernelDied(f"the report kernel stopped{self._log_tail()}")
        if time.monotonic() > deadline:
            raise KernelDied(f"the report kernel did not start in time{self._log_tail()}")

    def reset(self) -> None:
        """Forget every variable of the previous report (imports stay loaded)."""
        self._require()
        reply = self.kc.execute_interactive(RESET, timeout=KERNEL_START_TIMEOUT, silent=True)
        if reply["content"].get("status") != "ok":
            raise KernelDied(f"could not reset the report kernel{self._log_tail()}")

    def alive(self) -> bool:
        return self.km is not None and self.km.is_alive()

    def stop(self) -> None:
        """Shut the kernel down and remove its sockets and log."""
        if self.kc is not None:
            with contextlib.suppress(Exception):
                self.kc.stop_channels()
            self.kc = None
        if self.km is not None:
            with contextlib.suppress(Exception):
                self.km.shutdown_kernel(now=True)
            with contextlib.suppress(Exception):
                self.km.cleanup_resources()
            self.km = None
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None

    def __enter__(self) -> ReportKernel:
        return self.start() if self.km is None else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------

    def _require(self) -> None:
        if self.km is None or self.kc is None:
            raise KernelDied("the report kernel is not running")
        if not self.km.is_alive():
            raise KernelDied(f"the report kernel stopped{self._log_tail()}")

    def _log_tail(self) -> str:
        if self._folder is None:
            return ""
        try:
            lines = (self._folder / "kernel.log").read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return f" ({lines[-1].strip()})" if lines else ""


# -- the papermill engine ------------------------------------------------------------------


def register_engine() -> None:
    """Register :data:`ENGINE_NAME` with papermill (idempotent)."""
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
