"""One line per benchmark target, so ``make bench`` can end with every verdict together.

A benchmark calls :func:`report_target` for each target it measures. The line is printed
and, when ``MUTUALITY_BENCH_TARGETS`` names a file (``make bench`` sets it), appended
there too; the Makefile prints that file as the summary once every benchmark has run.
"""

from __future__ import annotations

import os
from pathlib import Path


def report_target(
    name: str,
    measured: float,
    target: float,
    unit: str,
    *,
    baseline_name: str,
    baseline: float,
    higher_is_better: bool = False,
) -> bool:
    """Print and record one target's verdict.

    Parameters
    ----------
    name
        What was measured, e.g. ``"one report"``.
    measured, target
        The figure and its target, in ``unit``.
    unit
        ``"s"``, ``"ms"``, ``"MB"``, ``"x"``...
    baseline_name, baseline
        The baseline measured in the same run (same unit as ``measured``); the
        line shows ``measured / baseline``.
    higher_is_better
        ``True`` for targets like "at least 5x faster" or "saves per second".

    Returns
    -------
    bool
        Whether the target was met.
    """
    met = measured >= target if higher_is_better else measured < target
    op = ">=" if higher_is_better else "<"
    ratio = measured / baseline if baseline else float("nan")
    line = (
        f"TARGET {name}: {measured:.3g} {unit} (target {op} {target:g} {unit}; "
        f"{ratio:.3g}x {baseline_name}) {'met' if met else 'missed'}"
    )
    print(line, flush=True)
    summary = os.environ.get("MUTUALITY_BENCH_TARGETS")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as out:
            out.write(line + "\n")
    return met
