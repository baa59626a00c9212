"""Benchmark: the widgets people wait on: saving a check-in form, opening the session workbook.

Run: ``.venv/bin/python benchmarks/bench_workbook.py [--repeat N]``

Works on a temporary store seeded with the demo couples. Each figure is the best
of ``--repeat`` runs, and is printed both in milliseconds and as a ratio against
a baseline measured in the same run:

- **form save**: building a weekly check-in form, answering it and clicking Save,
  against the baseline of writing the same ten answers with ``Store.save_answers``
  (the form's own cost is validation and widgets on top of the write);
- **workbook open, cold**: a session workbook for one couple with the chart SVG
  cache empty (summary, five charts rendered by vl-convert), against the baseline
  of ``summary.summarize`` alone;
- **workbook open, warm**: the same again with the SVG cache filled (what flipping
  back to a couple or session already seen costs);
- **session switch**: choosing the couple's other session (judged as of a
  different week: new summary, new charts).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from mutuality_helpers import summary  # noqa: E402
from mutuality_helpers.demo import load_demo  # noqa: E402
from mutuality_helpers.forms import InstrumentForm  # noqa: E402
from mutuality_helpers.models import make_answer  # noqa: E402
from mutuality_helpers.session_ui import SessionWorkbook  # noqa: E402
from mutuality_helpers.store import Store  # noqa: E402
from mutuality_helpers.theme import svg_of_spec  # noqa: E402

VALUES = {
    "energy": 4, "teamwork": 2, "share_repair": 70, "share_connection": 35,
    "share_emotional_labour": 80, "share_practical_load": 55, "personal_work_self": 3,
    "personal_work_partner": 1, "demands": ["work", "children"], "reflection": "We talked.",
}  # fmt: skip
TODAY = dt.date(2026, 11, 28)


def best(fn: Callable[[int], object], repeat: int) -> float:
    times = []
    for i in range(repeat):
        start = time.perf_counter()
        fn(i)
        times.append(time.perf_counter() - start)
    return min(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "data") as store:
        load_demo(store)
        for n in range(2 * args.repeat + 2):
            store.add_couple(f"F{n:03d}")

        def baseline_save(i: int) -> None:
            answers = [
                make_answer(f"F{i:03d}", "A", "2026-11-23", item, value)
                for item, value in VALUES.items()
            ]
            store.save_answers(answers, source="bench")

        def form_save(i: int) -> None:
            form = InstrumentForm(
                store, "weekly_checkin", f"F{args.repeat + i:03d}", "A", today=TODAY
            )
            form.set_values(VALUES)
            form.save_button.click()
            assert form.status == "saved", form.message

        def summarize(i: int) -> None:
            summary.summarize(store, "D004")

        def cold(i: int) -> None:
            svg_of_spec.cache_clear()
            SessionWorkbook(store, "D004", today=TODAY)

        def warm(i: int) -> None:
            SessionWorkbook(store, "D004", today=TODAY)

        workbook = SessionWorkbook(store, "D004", today=TODAY)
        numbers = [v for _, v in workbook.session.options if v]

        def switch(i: int) -> None:
            svg_of_spec.cache_clear()
            workbook.session.value = numbers[i % 2]

        # Warm-up: imports, vl-convert's first call.
        summarize(0)
        warm(0)
        figures = {
            "save answers (baseline)": best(baseline_save, args.repeat),
            "form save": best(form_save, args.repeat),
            "summarize (baseline)": best(summarize, args.repeat),
            "workbook open, cold": best(cold, args.repeat),
            "workbook open, warm": best(warm, args.repeat),
            "session switch, cold": best(switch, args.repeat),
        }
    base_save = figures["save answers (baseline)"]
    base_sum = figures["summarize (baseline)"]
    print(f"best of {args.repeat}; ratios against the baseline measured in this run")
    for name, ms in figures.items():
        base = base_save if "save" in name else base_sum
        print(f"  {name:<26} {ms:8.1f} ms   x{ms / base:5.1f}")


if __name__ == "__main__":
    main()
