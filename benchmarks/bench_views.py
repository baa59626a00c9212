"""Benchmark: Run All on the two views people wait on, each in a fresh kernel.

Run: ``.venv/bin/python benchmarks/bench_views.py [--repeat N] [--quick]``

A temporary data folder is seeded with the demo couples (``mutuality demo``'s data).
The real notebooks, ``notebooks/session_workbook.ipynb`` and ``notebooks/caseload.ipynb``,
are executed through nbclient exactly as Run All does, each in a kernel started fresh
for the run (kernel start-up is not counted: it happens before Run All). Each figure is
the time from the first code cell starting to the cell that shows the view being done:

- **session workbook**: the cell that opens the workbook (summary and its charts, drawn
  as SVG by vl-convert) -- target < 3 s;
- **caseload**: the cell that shows the caseload table -- target < 2 s;
- **baseline**: a notebook of one cell, ``import pandas``, in a fresh kernel the same way
  (what any notebook of this project pays before it does its own work).

The best of ``--repeat`` runs counts (the machine is shared; the best run is the one
least disturbed). ``--quick`` (or ``BENCH_QUICK=1``) runs each once.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _targets import report_target  # noqa: E402

from mutuality_helpers.demo import load_demo  # noqa: E402
from mutuality_helpers.store import Store  # noqa: E402

TARGET_WORKBOOK_S = 3.0
TARGET_CASELOAD_S = 2.0


def run_all(nb: nbformat.NotebookNode, data: Path) -> float:
    """Run All on ``nb`` in a fresh kernel: seconds from the first code cell's start to the
    last one's reply (kernel start-up not counted)."""
    marks: dict[str, float] = {}

    def started(**_: Any) -> None:
        marks.setdefault("start", time.perf_counter())

    def completed(**_: Any) -> None:
        marks["end"] = time.perf_counter()

    env = dict(os.environ, MUTUALITY_DATA=str(data))
    # The kernel starts in the data folder's parent, so nothing reads the checkout's data.
    client = NotebookClient(
        nb,
        timeout=120,
        kernel_name="python3",
        resources={"metadata": {"path": str(data.parent)}},
        on_cell_execute=started,
        on_cell_executed=completed,
    )
    client.execute(env=env)
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                raise SystemExit(f"the notebook failed: {out['ename']}: {out['evalue']}")
    return marks["end"] - marks["start"]


def notebook(name: str) -> nbformat.NotebookNode:
    return nbformat.read(ROOT / "notebooks" / name, as_version=4)


def baseline_notebook() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import pandas")]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with Store(data) as store:
            load_demo(store)
        figures: dict[str, float] = {}
        for _ in range(repeat):
            # Interleaved, so a busy moment on the shared machine hits every measure alike.
            for key, make in (
                ("baseline", baseline_notebook),
                ("workbook", lambda: notebook("session_workbook.ipynb")),
                ("caseload", lambda: notebook("caseload.ipynb")),
            ):
                seconds = run_all(make(), data)
                figures[key] = min(figures.get(key, float("inf")), seconds)
        base = figures["baseline"]
        print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        print(
            f"{'Run All, fresh kernel (best of ' + str(repeat) + ')':<46}{'wall':>9}{'vs base':>9}"
        )
        for key, label in (
            ("baseline", "baseline: import pandas"),
            ("workbook", "session workbook: summary and charts shown"),
            ("caseload", "caseload: table shown"),
        ):
            print(f"{label:<46}{figures[key]:>7.2f} s{figures[key] / base:>8.2f}x")
        report_target(
            "session workbook Run All to charts",
            figures["workbook"],
            TARGET_WORKBOOK_S,
            "s",
            baseline_name="import pandas in a fresh kernel",
            baseline=base,
        )
        report_target(
            "caseload Run All to table",
            figures["caseload"],
            TARGET_CASELOAD_S,
            "s",
            baseline_name="import pandas in a fresh kernel",
            baseline=base,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
