"""Where does one report's time go? ``.venv/bin/python benchmarks/bench_stages.py``.

One session report, broken into its stages, for the two paths ``mutuality report`` has:

- **single** (a cold ``mutuality report COUPLE --session N``): process start and imports,
  kernel start (with its preload), notebook execution, chart SVG (``vl-convert``, timed
  inside the kernel and taken out of the execution), HTML export, PDF layout (WeasyPrint's
  ``render``), write (``write_pdf`` to an owner-only file, renamed into place);
- **batch** (``report --all``: a warm renderer): the same stages per report, averaged over
  ``--reports`` couples, with the worker's one-off start (imports, kernel) shared by the
  reports one worker renders in a 24-couple batch at ``--jobs``.

The stages run one after another in a fresh child process (the real command overlaps the
kernel start with its own imports, so the single total here is an upper bound). Prints
seconds and the share of the total per stage. No targets: ``bench_reports.py`` has them.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))

STAGES = (
    "process start and imports",
    "kernel start",
    "notebook execution",
    "chart SVG",
    "HTML export",
    "PDF layout",
    "write",
)

# Run in the report kernel before a notebook: time every theme.to_svg call (the module
# survives the namespace reset, so the total is read after the notebook).
_TIME_SVG = """\
import time as _t, mutuality_helpers.theme as _th
if not hasattr(_th, "_bench_svg"):
    _th._bench_orig = _th.spec_to_svg
    def _timed(chart, *args, _o=_th._bench_orig, _th=_th, _t=_t, **kwargs):
        s = _t.perf_counter()
        try:
            return _o(chart, *args, **kwargs)
        finally:
            _th._bench_svg[0] += _t.perf_counter() - s
    _th.spec_to_svg = _timed
_th._bench_svg = [0.0]
del _t, _th
"""
_READ_SVG = "import mutuality_helpers.theme as _th; print(_th._bench_svg[0]); del _th"


def _kernel_run(kernel: object, code: str) -> str:
    printed: list[str] = []

    def hook(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    kernel.kc.execute_interactive(code, timeout=120, output_hook=hook)  # type: ignore[attr-defined]
    return "".join(printed)


def _one(renderer: object, request: object, times: dict[str, float]) -> None:
    """Render ``request`` stage by stage on ``renderer``, adding each stage's seconds."""
    from weasyprint import HTML

    from mutuality_helpers import config
    from mutuality_helpers.pdf import write_pdf  # noqa: F401 -- the real path, timed below

    kernel = renderer.kernel  # type: ignore[attr-defined]
    kernel.wait_ready()
    _kernel_run(kernel, _TIME_SVG)
    t = time.perf_counter()
    nb = renderer.execute(request)  # type: ignore[attr-defined]
    executed = time.perf_counter() - t
    svg = float(_kernel_run(kernel, _READ_SVG))
    times["notebook execution"] += executed - svg
    times["chart SVG"] += svg
    t = time.perf_counter()
    html = renderer.to_html(nb, request)  # type: ignore[attr-defined]
    times["HTML export"] += time.perf_counter() - t
    t = time.perf_counter()
    doc = HTML(string=html, base_url=str(config.TEMPLATES_DIR)).render(
        font_config=renderer.printer.fonts  # type: ignore[attr-defined]
    )
    times["PDF layout"] += time.perf_counter() - t
    t = time.perf_counter()
    out = Path(request.output)  # type: ignore[attr-defined]
    config.private_dir(out.parent)
    part = out.with_suffix(".pdf.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, config.PRIVATE_FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        doc.write_pdf(fh)
    os.replace(part, out)
    times["write"] += time.perf_counter() - t
    assert out.stat().st_size > 10_000, "no real PDF written"


def child(launched: float, data: str, couples: list[str]) -> None:
    """The measured side: a fresh process, one cold report, then warm reports."""
    t = time.perf_counter()
    from mutuality_helpers.engine import ReportKernel, skip_unused_format_checkers
    from mutuality_helpers.render import Renderer
    from mutuality_helpers.report import validate_request

    skip_unused_format_checkers()
    imports = time.perf_counter() - t
    t = time.perf_counter()
    kernel = ReportKernel().start()
    kernel.wait_ready()
    kernel_start = time.perf_counter() - t
    t = time.perf_counter()
    renderer = Renderer(kernel)
    renderer.printer.wait_warm()  # nbconvert template and WeasyPrint fonts, once per process
    imports += time.perf_counter() - t
    single = dict.fromkeys(STAGES, 0.0)
    single["process start and imports"] = imports
    single["kernel start"] = kernel_start
    first, rest = couples[0], couples[1:]
    _one(renderer, validate_request({"couple_id": first, "session": 1, "data_dir": data}), single)
    warm = dict.fromkeys(STAGES, 0.0)
    for couple in rest:
        request = validate_request({"couple_id": couple, "session": 1, "data_dir": data})
        _one(renderer, request, warm)
    elapsed = time.time() - launched  # from the parent's launch: interpreter start included
    renderer.close()
    kernel.stop()
    warm = {k: v / len(rest) for k, v in warm.items()}
    print(json.dumps({"single": single, "warm": warm, "child": elapsed}))


def show(title: str, times: dict[str, float]) -> None:
    total = sum(times.values())
    print(f"{title}: {total:.2f} s")
    for stage in STAGES:
        share = 100 * times[stage] / total if total else 0.0
        print(f"  {stage:<27} {times[stage]:6.3f} s  {share:5.1f} %")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=6, help="warm reports to average")
    parser.add_argument("--jobs", type=int, default=2, help="workers of the batch shared start")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(float(args.child[0]), args.child[1], args.child[2:])
        return
    from bench_reports import COUPLES, make_caseload

    with tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        data = Path(tmp) / "data"
        ids = make_caseload(data, couples=max(args.reports + 1, 2))
        print(f"{len(ids)} couples in {data}; load average {os.getloadavg()[0]:.2f}")
        env = {k: v for k, v in os.environ.items() if k != "MUTUALITY_DATA"}
        done = subprocess.run(
            [sys.executable, __file__, "--child", repr(time.time()), str(data), *ids],
            env=env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"the measured process failed:\n{done.stderr[-2000:]}")
        result = json.loads(done.stdout.strip().splitlines()[-1])
    single, warm = result["single"], result["warm"]
    # Interpreter start and the child's top-level imports, before its first timer: the
    # child's whole life minus what it timed itself.
    timed = sum(single.values()) + sum(warm.values()) * (len(ids) - 1)
    single["process start and imports"] += max(0.0, result["child"] - timed)
    show("single (cold mutuality report)", single)
    per_worker = COUPLES / max(1, args.jobs)
    batch = dict(warm)
    batch["process start and imports"] = single["process start and imports"] / per_worker
    batch["kernel start"] = single["kernel start"] / per_worker
    print()
    show(
        f"batch (warm renderer, one report of {COUPLES} at --jobs {args.jobs}; "
        f"worker start shared by {per_worker:g})",
        batch,
    )


if __name__ == "__main__":
    main()
