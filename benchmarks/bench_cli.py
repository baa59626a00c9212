"""How fast does the command line answer? One command: ``.venv/bin/python benchmarks/bench_cli.py``.

Measures, in one run and interleaved (so every figure sees the same machine load):

- the baselines: ``python -c pass`` (the interpreter alone) and ``python -c "import click"``
  (the command-line library alone);
- ``mutuality --help``;
- ``mutuality couples`` on the demo couples (a real store opened, read and printed).

Targets (issue 13): ``--help`` under 0.3 s and ``couples`` under 0.8 s on this machine.
Each figure is the best of ``--repeat`` runs (noise only ever adds time) and is also
printed as a ratio to the baselines measured in this run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _targets import report_target  # noqa: E402

from mutuality_helpers.demo import load_demo  # noqa: E402
from mutuality_helpers.store import Store  # noqa: E402

BIN = Path(sys.executable).parent
TARGETS = {"mutuality --help": 0.3, "mutuality couples": 0.8}


def seconds(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of each command")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != "MUTUALITY_DATA"}
    with tempfile.TemporaryDirectory(prefix="bench-cli-") as tmp:
        data = Path(tmp) / "data"
        with Store(data) as store:
            load_demo(store)
        commands = {
            "python -c pass": [sys.executable, "-c", "pass"],
            'python -c "import click"': [sys.executable, "-c", "import click"],
            "mutuality --help": [str(BIN / "mutuality"), "--help"],
            "mutuality couples": [str(BIN / "mutuality"), "couples", "--data", str(data)],
        }
        for command in commands.values():  # warm the file cache once
            seconds(command, env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.repeat):
            for name, command in commands.items():
                times[name].append(seconds(command, env))
    best = {name: min(runs) for name, runs in times.items()}
    python, click = best["python -c pass"], best['python -c "import click"']
    print(f"best of {args.repeat} runs; load average {os.getloadavg()[0]:.2f}")
    for name, value in best.items():
        print(
            f"  {name:<26} {value:6.3f} s  = {value / python:5.1f}x python -c pass, "
            f"{value / click:5.1f}x import click"
        )
    print()
    for name, target in TARGETS.items():
        report_target(
            name, best[name], target, "s", baseline_name="python -c pass", baseline=python
        )


if __name__ == "__main__":
    main()
