"""How fast are session reports? One command: ``.venv/bin/python benchmarks/bench_reports.py``.

Measures, in one run and on one synthetic caseload:

(a) the naive pipeline for one report: the ``papermill`` CLI, then the
    ``jupyter nbconvert`` CLI (our template, no inputs), then the ``weasyprint`` CLI;
(b) ``mutuality report COUPLE --session N`` for the same report, cold (``--no-worker``: a
    fresh process, imports and kernel) and warm (through the report worker, started and
    warmed up before the timed runs and stopped after: ``mutuality_helpers.worker``);
(b') the first report when no worker runs (it starts one), beside the cold one;
(c) ``mutuality report --all --jobs 2`` over 24 couples (one session each);
(d) ``import altair`` in a fresh report kernel, as installed and with the fix
    (``rfc3987-syntax`` kept out, see ``mutuality_helpers.engine``).

Targets (issue 15): (b) warm at least 5x faster than (a); (c) at most 1/20 of (a) per
report. Each is printed as one ``TARGET`` line (``benchmarks/_targets.py``).
(a), (b) cold, (b) warm and (c) alternate ``--repeat`` times so that all see the same machine
load; the best time of each is compared (the usual benchmark convention: noise
only ever adds time), the median is printed too.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

from _targets import report_target  # noqa: E402

from mutuality_helpers import config, worker  # noqa: E402
from mutuality_helpers.store import Store  # noqa: E402

BIN = Path(sys.executable).parent
COUPLES = 24
TARGET_SINGLE = 5.0
TARGET_BATCH = 20.0


def make_caseload(data: Path, couples: int = COUPLES) -> list[str]:
    """A data folder with ``couples`` couples (the demo stories under new ids), one session each."""
    demo = config.DEMO_DIR
    tmp = data.parent / "csv"
    tmp.mkdir(parents=True, exist_ok=True)
    stories = sorted({row["couple_id"] for row in csv.DictReader(open(demo / "couples.csv"))})
    new_ids = [f"B{n:03d}" for n in range(1, couples + 1)]
    source_of = {new: stories[i % len(stories)] for i, new in enumerate(new_ids)}
    for name in ("couples.csv", "answers.csv", "seasons.csv"):
        with open(demo / name, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
            fields = list(rows[0].keys()) if rows else []
        with open(tmp / name, "w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=fields, lineterminator="\n")
            writer.writeheader()
            for new, old in source_of.items():
                for row in rows:
                    if row["couple_id"] == old:
                        writer.writerow({**row, "couple_id": new})
    last_session = {}
    with open(demo / "sessions.csv", encoding="utf-8", newline="") as fh:
        for row in csv.DictReader(fh):
            last_session[row["couple_id"]] = row
    from mutuality_helpers.interchange import import_files

    with Store(data) as store:
        import_files(store, [tmp / "couples.csv", tmp / "answers.csv", tmp / "seasons.csv"])
        for new, old in source_of.items():
            s = last_session[old]
            store.add_session(new, s["date"], s["notes"], s["agreements"])
    return new_ids


def run(cmd: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return elapsed


def naive(data: Path, couple: str, work: Path, env: dict[str, str]) -> float:
    """papermill CLI, then jupyter nbconvert CLI, then weasyprint CLI (each a fresh process)."""
    executed, html, pdf = work / "executed.ipynb", work / "report.html", work / "report.pdf"
    for path in (executed, html, pdf):
        path.unlink(missing_ok=True)
    start = time.perf_counter()
    run(
        [
            str(BIN / "papermill"), "--no-progress-bar", "-k", "python3",
            str(config.NOTEBOOKS_DIR / "session_report.ipynb"), str(executed),
            "-p", "couple_id", couple, "-p", "session", "1", "-p", "data_dir", str(data),
        ],
        env,
    )  # fmt: skip
    run(
        [
            str(BIN / "jupyter"), "nbconvert", "--to", "html", "--no-input",
            f"--TemplateExporter.extra_template_basedirs={config.TEMPLATES_DIR}",
            "--template", "mutuality_report", str(executed), "--output", str(html),
        ],
        env,
    )  # fmt: skip
    run([str(BIN / "weasyprint"), str(html), str(pdf)], env)
    elapsed = time.perf_counter() - start
    assert pdf.stat().st_size > 10_000, "naive pipeline wrote no real PDF"
    return elapsed


def ours(data: Path, couple: str, env: dict[str, str], *options: str) -> float:
    out = config.report_path(couple, 1, data)
    out.unlink(missing_ok=True)
    command = [str(BIN / "mutuality"), "report", couple, "--session", "1", "--data", str(data)]
    elapsed = run([*command, *options], env)
    assert out.stat().st_size > 10_000, "mutuality report wrote no real PDF"
    return elapsed


def worker_command(data: Path, env: dict[str, str], *args: str) -> None:
    run([str(BIN / "mutuality"), "worker", *args, "--data", str(data)], env)


def batch(data: Path, ids: list[str], env: dict[str, str], jobs: int) -> float:
    shutil.rmtree(config.reports_dir(data), ignore_errors=True)
    elapsed = run(
        [str(BIN / "mutuality"), "report", "--all", "--jobs", str(jobs), "--data", str(data)], env
    )
    written = sorted(config.reports_dir(data).glob("*/session-*.pdf"))
    assert len(written) == len(ids), f"--all wrote {len(written)} PDFs for {len(ids)} couples"
    return elapsed


def kernel_import_altair(block: bool) -> float:
    """Seconds for ``import altair`` in a fresh report kernel (with or without the fix)."""
    from mutuality_helpers.engine import UNUSED_FORMAT_CHECKERS, ReportKernel

    code = "import sys, time\n"
    if block:
        code += f"for n in {UNUSED_FORMAT_CHECKERS!r}: sys.modules.setdefault(n, None)\n"
    code += "t = time.perf_counter(); import altair; print(time.perf_counter() - t)"
    printed: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    with ReportKernel(preload=False) as kernel:
        kernel.wait_ready()
        kernel.kc.execute_interactive(code, timeout=120, output_hook=hook)
    return float("".join(printed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of (a) and (b) each")
    parser.add_argument("--jobs", type=int, default=2, help="workers for (c)")
    args = parser.parse_args()

    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop(config.DATA_ENV, None)
    env.pop(worker.ENABLE_ENV, None)  # the worker on, as for every user
    with tempfile.TemporaryDirectory(prefix="bench-reports-") as tmp:
        work = Path(tmp)
        data = work / "data"
        ids = make_caseload(data)
        couple = ids[3]  # a demo story with a chronic imbalance and an unagreed season
        print(f"caseload: {len(ids)} couples in {data}; load average {os.getloadavg()[0]:.2f}")
        naive_times, cold_times, warm_times, first_times, batch_times = [], [], [], [], []
        worker_command(data, env, "start", "--idle", "3600")
        ours(data, ids[0], env)  # the worker's first report: warm from here on
        try:
            for i in range(args.repeat):
                naive_times.append(naive(data, couple, work, env))
                cold_times.append(ours(data, couple, env, "--no-worker"))
                warm_times.append(ours(data, couple, env))
                batch_times.append(batch(data, ids, env, args.jobs))
                print(
                    f"  run {i + 1}: (a) naive {naive_times[-1]:.2f} s, (b) cold "
                    f"{cold_times[-1]:.2f} s, warm {warm_times[-1]:.2f} s, (c) batch "
                    f"{batch_times[-1]:.2f} s"
                )
        finally:
            worker_command(data, env, "stop")
        for i in range(args.repeat):
            first_times.append(ours(data, couple, env))  # no worker runs: it starts one
            worker_command(data, env, "stop")
            print(f"  run {i + 1}: (b') first report, starting the worker {first_times[-1]:.2f} s")
    slow_import = min(kernel_import_altair(block=False) for _ in range(2))
    fast_import = min(kernel_import_altair(block=True) for _ in range(2))

    a, cold, warm = min(naive_times), min(cold_times), min(warm_times)
    total = min(batch_times)
    per_report = total / len(ids)
    med = statistics.median
    ratio_b = a / warm
    print()
    print(f"(a) naive pipeline, one report:   best {a:6.2f} s  (median {med(naive_times):.2f} s)")
    print(
        f"(b) mutuality report, cold:       best {cold:6.2f} s  (median {med(cold_times):.2f} s, "
        f"{a / cold:.1f}x faster than (a); --no-worker)"
    )
    print(
        f"(b) mutuality report, warm:       best {warm:6.2f} s  (median {med(warm_times):.2f} s, "
        f"{ratio_b:.1f}x faster than (a); the report worker: the 5x target is on this path)"
    )
    first = min(first_times)
    print(
        f"(b') first report, no worker yet: best {first:6.2f} s  (median {med(first_times):.2f} "
        f"s; it starts the worker: {cold / first:.2f}x the cold one's speed)"
    )
    batch_name = f"--all --jobs {args.jobs}, {len(ids)} reports:"
    print(
        f"(c) {batch_name:<30} best {total:6.2f} s  ({per_report:.2f} s each; median "
        f"{med(batch_times):.2f} s)"
    )
    print(
        f"(d) import altair in a report kernel: {slow_import:.2f} s as installed, "
        f"{fast_import:.2f} s without rfc3987-syntax ({slow_import / fast_import:.1f}x)"
    )
    print()
    report_target(
        "one report (warm worker) vs naive chain",
        ratio_b,
        TARGET_SINGLE,
        "x",
        baseline_name="naive chain ratio",
        baseline=1.0,
        higher_is_better=True,
    )
    report_target(
        f"batch of {len(ids)} per report",
        per_report,
        a / TARGET_BATCH,
        "s",
        baseline_name=f"naive chain {a:.2f} s",
        baseline=a,
    )
    print(f"load average after: {os.getloadavg()[0]:.2f} (other work slows every figure)")


if __name__ == "__main__":
    main()
