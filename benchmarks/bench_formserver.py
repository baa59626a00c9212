"""Benchmark: the form server through an evening rush of check-ins, on loopback.

Run: ``.venv/bin/python benchmarks/bench_formserver.py [--partners 20] [--checkins 100]``

Everything runs on 127.0.0.1 in a temporary data folder, bounded in count and in
time (``--deadline`` seconds for the whole run). Each ``mutuality serve`` is the
real command, started and stopped (SIGTERM) here.

1. Baseline, measured in this run: the server without preheated kernels
   (``--pool 0``: every form starts its own kernel, as before the pool).
2. The form server as shipped (pool, cap, culling): its memory once the pool
   is warm; the page served to the first partner since the start, beside the
   next three; then, one partner at a time, how soon a form is usable: in
   Chromium at 390 px (the form drawn, when Debian's Chromium and Playwright are
   here): a first visit, a returning partner, and a first visit over HTTPS
   through the project's nginx site (when nginx is here); and by a simulated
   partner (the widgets' state received).
3. A warm-up rush (``--warmup`` check-ins), after which idle memory is measured:
   a server in service (its own process keeps what its first busy minutes grew).
   Then the rush: ``--partners`` simulated partners at once open and save
   ``--checkins`` check-ins between them (each partner its own weeks). A partner
   told "busy" comes back after a second. Memory and kernels are sampled all along.
4. Pages left open without closing (a phone put away): the culler reclaims them;
   memory is measured again once they are gone.
5. The store is read back: every check-in must be there, answer for answer.

Figures are printed with ratios against the baseline and the idle server of the
same run, and each target is marked "met" or "missed".
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _targets import report_target  # noqa: E402
from servers import NGINX, TlsProxy, free_port  # noqa: E402
from simulated_partner import check_in, close_page, open_page  # noqa: E402
from tornado.httpclient import AsyncHTTPClient  # noqa: E402

from mutuality_helpers import serve  # noqa: E402
from mutuality_helpers.store import Store  # noqa: E402
from mutuality_helpers.validation import week_of  # noqa: E402

USABLE_TARGET_S = 1.5
IDLE_RETURN_TARGET = 1.10  # memory after the rush, as a ratio of idle
CHROMIUM = Path("/usr/bin/chromium")
MIB = 1024 * 1024


def answers_for(partner: int, visit: int) -> dict:
    """A partner's answers for one week; no slider left where it starts (it would not count)."""
    k = partner * 7 + visit
    return {
        "energy": [0, 1, 2, 3, 4, 6, 7, 8, 9, 10][k % 10],
        "teamwork": [1, 2, 4, 5][k % 4],
        "share_repair": 20 + k % 29,
        "share_connection": 51 + k % 40,
        "share_emotional_labour": 10 + k % 39,
        "share_practical_load": 60 + k % 35,
        "personal_work_self": [0, 1, 3, 4][k % 4],
        "personal_work_partner": [4, 3, 1, 0][k % 4],
        "demands": [["work"], ["illness", "caregiving"], ["children"]][k % 3],
        "reflection": f"Week {visit} of partner {partner}: we talked on Sunday.",
    }


def stored(values: dict) -> dict[str, str]:
    return {k: ";".join(v) if isinstance(v, list) else str(v) for k, v in values.items()}


def p95(values: list[float]) -> float:
    ordered = sorted(v for v in values if not math.isnan(v))
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]


def median(values: list[float]) -> float:
    ordered = sorted(v for v in values if not math.isnan(v))
    return ordered[len(ordered) // 2] if ordered else float("nan")


# -- the server under test ---------------------------------------------------------------


class Server:
    """``mutuality serve`` on a free loopback port, its process tree measured."""

    def __init__(self, data: Path, log: Path, **options: int):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.options = serve.ServeOptions(port=self.port, **options)
        self.log_file = open(log, "wb")  # noqa: SIM115 -- closed in stop()
        self.proc = serve.start(data, self.options, self.log_file, subprocess.STDOUT)
        self.tree = psutil.Process(self.proc.pid)

    def health(self) -> dict:
        with urllib.request.urlopen(self.base + "/health", timeout=10) as response:
            return json.loads(response.read())

    def processes(self) -> list[psutil.Process]:
        try:
            return [self.tree, *self.tree.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def memory_mib(self) -> float:
        """Proportional set size of the server and all its kernels (shared pages split)."""
        total = 0
        for p in self.processes():
            try:
                total += p.memory_full_info().pss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total / MIB

    def kernels(self) -> int:
        count = 0
        for p in self.processes()[1:]:
            try:
                count += "ipykernel" in " ".join(p.cmdline())
            except psutil.NoSuchProcess:
                continue
        return count

    def cpu_percent(self, interval: float = 1.0) -> float:
        procs = self.processes()
        for p in procs:
            try:
                p.cpu_percent(None)
            except psutil.NoSuchProcess:
                pass
        time.sleep(interval)
        total = 0.0
        for p in procs:
            try:
                total += p.cpu_percent(None)
            except psutil.NoSuchProcess:
                pass
        return total

    def wait_warm(self, warm: int, timeout: float = 120) -> None:
        """Until ``warm`` preheated kernels wait in the pool."""
        deadline = time.monotonic() + timeout
        while self.health()["warm"] < warm:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the pool did not refill to {warm}")
            time.sleep(0.2)

    def wait_settled(self, warm: int, timeout: float = 180) -> None:
        """Until ``warm`` preheated kernels wait, no other kernel runs, and the CPU is quiet."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}")
            try:
                health = self.health()
            except OSError:
                time.sleep(0.5)
                continue
            if health["warm"] >= warm and self.kernels() == warm and self.cpu_percent() < 5:
                return
            time.sleep(0.5)
        raise TimeoutError(f"the server did not settle with {warm} warm kernels")

    def stop(self) -> tuple[int, int]:
        """SIGTERM, as systemd stops it; returns (exit code, processes left running)."""
        procs = self.processes()
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        time.sleep(1)
        left = [p for p in procs[1:] if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        for p in left:
            p.kill()
        self.log_file.close()
        return code, len(left)


class Sampler(threading.Thread):
    """Samples the server's memory and kernel count until stopped; keeps the peaks."""

    def __init__(self, server: Server, every: float = 0.25):
        super().__init__(daemon=True)
        self.server, self.every = server, every
        self.peak_mib, self.peak_kernels = 0.0, 0
        self._done = threading.Event()

    def run(self) -> None:
        while not self._done.is_set():
            self.peak_mib = max(self.peak_mib, self.server.memory_mib())
            self.peak_kernels = max(self.peak_kernels, self.server.kernels())
            self._done.wait(self.every)

    def stop(self) -> None:
        self._done.set()
        self.join()


@contextmanager
def running(data: Path, log: Path, **options: int):
    server = Server(data, log, **options)
    try:
        yield server
    finally:
        if server.proc.poll() is None:
            server.stop()


# -- measurements ------------------------------------------------------------------------


#: In the page, from navigation start: when the form's Save button exists (checked every
#: 10 ms; an observer on every DOM change would slow the page it measures).
USABLE_PROBE = """
const mutualityProbe = setInterval(() => {
  if (document.querySelector('.mutuality-form .mutuality-save')) {
    window.mutualityUsableAt = performance.now();
    clearInterval(mutualityProbe);
  }
}, 10);
"""


def browser_usable(links: list[str], settle, returning: bool = False) -> list[float]:
    """Seconds from navigation start to the form drawn in Chromium (390 px, like a phone).

    Each visit in a fresh browser profile (a partner's first visit), or all in one
    (``returning``: the same phone every week; its first visit is not counted).
    """
    from playwright.sync_api import sync_playwright

    times = []
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        options = {"viewport": {"width": 390, "height": 844}, "ignore_https_errors": True}
        kept = browser.new_context(**options) if returning else None
        try:
            for link in ([links[0]] if returning else []) + links:
                context = kept or browser.new_context(**options)
                page = context.new_page()
                page.add_init_script(USABLE_PROBE)
                page.goto(link)
                page.locator(".mutuality-save").wait_for(timeout=60_000)
                times.append(page.evaluate("window.mutualityUsableAt") / 1000)
                page.close(run_before_unload=True)  # the page's beacon shuts its kernel down
                if not kept:
                    context.close()
                settle()
        finally:
            browser.close()
    return times[1:] if returning else times


def pages_served(server: Server, link: str, count: int, settle) -> list[float]:
    """Seconds to serve the page of ``link`` (its HTML, the form not yet drawn), ``count``
    times in turn, each page closed again; the first is the first page since the start."""

    async def visit() -> float:
        http = AsyncHTTPClient()
        t = time.perf_counter()
        kernel_id, xsrf = await open_page(http, link)
        served = time.perf_counter() - t
        await close_page(http, server.base, kernel_id, xsrf)
        return served

    times = []
    for _ in range(count):
        times.append(asyncio.run(visit()))
        settle()
    return times


def sequential_usable(server: Server, links: list[tuple[str, dict]], settle) -> list[float]:
    """One simulated partner after another, each opening and saving a check-in."""
    times = []
    for link, answers in links:
        visit = asyncio.run(check_in(server.base, link, answers))
        if not visit.saved:
            raise RuntimeError(f"a sequential check-in failed: {visit.error}")
        times.append(visit.usable_s)
        settle()
    return times


async def rush(server: Server, plan: list[list[tuple[str, dict]]], timeout: float) -> list:
    """Every partner at once, each going through their own links in turn."""
    AsyncHTTPClient.configure(None, max_clients=len(plan) + 4)

    async def partner(links: list[tuple[str, dict]]) -> list:
        return [await check_in(server.base, link, answers) for link, answers in links]

    done = await asyncio.wait_for(asyncio.gather(*(partner(p) for p in plan)), timeout)
    return [visit for visits in done for visit in visits]


async def abandon(server: Server, links: list[str]) -> None:
    """Open pages and never close them: the phone went back in the pocket."""
    http = AsyncHTTPClient()
    for link in links:
        await open_page(http, link)


def verify_store(data: Path, expected: dict[tuple[str, str, dt.date], dict]) -> int:
    """How many check-ins are in the store exactly as they were entered."""
    landed = 0
    with Store(data, create=False) as store:
        for (couple, partner, week), values in expected.items():
            landed += store.answered_items(couple, partner, week) == stored(values)
    return landed


def mark(ok: bool) -> str:
    return "met" if ok else "missed"


def back_to_idle(mib: float, idle_mib: float) -> str:
    return f"<= {IDLE_RETURN_TARGET:.2f}x: {mark(mib <= IDLE_RETURN_TARGET * idle_mib)}"


def main() -> None:  # noqa: PLR0915 -- one run, read top to bottom
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--partners", type=int, default=20)
    parser.add_argument("--checkins", type=int, default=100)
    parser.add_argument("--max-forms", type=int, default=10)
    parser.add_argument("--pool", type=int, default=2)
    parser.add_argument(
        "--idle-timeout", type=int, default=20, help="seconds (short, to wait less)"
    )
    parser.add_argument("--visits", type=int, default=8, help="one-at-a-time visits measured")
    parser.add_argument("--abandoned", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=40, help="check-ins before idle is measured")
    parser.add_argument("--deadline", type=int, default=1200, help="seconds for the whole run")
    args = parser.parse_args()
    if args.checkins % args.partners:
        parser.error("--checkins must be a multiple of --partners")
    per_partner = args.checkins // args.partners
    if args.partners % 2 or per_partner + args.warmup // args.partners > 8:
        parser.error("partners come in couples, and each answers at most 8 weeks in all")
    signal.signal(
        signal.SIGALRM, lambda *_: sys.exit(f"bench: over the {args.deadline} s deadline")
    )
    signal.alarm(args.deadline)
    with_browser = CHROMIUM.exists()
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        with_browser = False
    with_proxy = Path(NGINX).exists()

    load_at_start = os.getloadavg()[0]
    today_week = week_of(dt.date.today())
    weeks = [today_week - dt.timedelta(weeks=n) for n in range(8)]
    couples = [f"R{c:03d}" for c in range(args.partners // 2)]

    with tempfile.TemporaryDirectory(prefix="bench-formserver-") as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        with Store(data) as store:
            for couple in [*couples, "SEQ"]:
                store.add_couple(couple)
        pool_total = args.pool + min(args.pool, 1)

        def link(base: str, couple: str, partner: str, week: dt.date) -> str:
            return serve.partner_link(base, couple, partner, week=week, data=data)

        seq_plan = [("SEQ", p, w) for w in weeks for p in "AB"]
        print(f"bench: {args.checkins} check-ins from {args.partners} partners at once; ", end="")
        print(f"cap {args.max_forms} forms, pool {args.pool}, idle timeout {args.idle_timeout} s")

        # 1. Baseline: no pool, every form starts its own kernel.
        print("1/5 baseline (no preheated kernels) ...", flush=True)
        with running(data, tmp / "baseline.log", pool=0, max_forms=args.max_forms) as base:
            base.wait_settled(warm=0)
            server_alone_mib = base.memory_mib()
            visits = [
                (link(base.base, *seq_plan[i]), answers_for(99, i)) for i in range(args.visits)
            ]
            base_proto = sequential_usable(base, visits[:5], lambda: base.wait_settled(0))
            base_browser = []
            if with_browser:
                links = [link(base.base, "SEQ", "A", today_week)] * 3
                base_browser = browser_usable(links, lambda: base.wait_settled(0))

        # 2. The form server as shipped.
        print("2/5 the form server: idle, then one partner at a time ...", flush=True)
        options = {
            "pool": args.pool,
            "max_forms": args.max_forms,
            "idle_timeout": args.idle_timeout,
        }
        with running(data, tmp / "server.log", **options) as server:

            def settle() -> None:
                server.wait_settled(pool_total)

            settle()
            cold_idle_mib = server.memory_mib()
            # Before any other request: the first partner after a restart.
            first_page, *later_pages = pages_served(
                server, link(server.base, "SEQ", "A", weeks[-1]), 4, settle
            )
            visits = [
                (link(server.base, *seq_plan[i]), answers_for(98, i)) for i in range(args.visits)
            ]
            seq_proto = sequential_usable(server, visits, settle)
            browser = {}
            if with_browser:
                links = [link(server.base, "SEQ", "B", today_week)] * args.visits
                browser["first visit"] = browser_usable(links, settle)
                browser["returning partner"] = browser_usable(links, settle, returning=True)
                if with_proxy:
                    proxy = TlsProxy(tmp / "nginx", server.port)
                    try:
                        links = [link(proxy.base, "SEQ", "B", today_week)] * args.visits
                        browser["first visit, HTTPS via nginx"] = browser_usable(links, settle)
                    finally:
                        proxy.close()

            one_at_a_time = len(seq_proto) + sum(len(times) for times in browser.values())
            settle()
            after_visits_mib = server.memory_mib()

            # The server's own process grows while it first serves forms, the more so
            # when many render at once (imports, caches, a heap that keeps its high
            # water), then levels off. "Idle" is a server in service: measured after a
            # warm-up rush (weeks the rush does not use; saves checked too).
            print(f"3/5 warm-up: {args.warmup} check-ins, {args.partners} at once ...", flush=True)

            def rush_plan(first_week: int, count: int) -> tuple[dict, list]:
                expected, plan = {}, []
                for i in range(args.partners):
                    couple, partner = couples[i // 2], "AB"[i % 2]
                    links = []
                    for v in range(first_week, first_week + count):
                        values = answers_for(i, v)
                        expected[(couple, partner, weeks[v])] = values
                        links.append((link(server.base, couple, partner, weeks[v]), values))
                    plan.append(links)
                return expected, plan

            warm_expected, warm_plan = rush_plan(per_partner, args.warmup // args.partners)
            asyncio.run(rush(server, warm_plan, timeout=args.deadline / 4))
            settle()
            idle_mib = server.memory_mib()

            # The rush.
            print(
                f"   the rush: {args.checkins} check-ins, {args.partners} at once ...", flush=True
            )
            expected, plan = rush_plan(0, per_partner)
            sampler = Sampler(server)
            sampler.start()
            started = time.perf_counter()
            results = asyncio.run(rush(server, plan, timeout=args.deadline / 2))
            rush_s = time.perf_counter() - started
            settle()
            sampler.stop()
            after_rush_mib = server.memory_mib()

            # 4. Pages left open: culled when idle.
            print(f"4/5 {args.abandoned} pages left open, waiting for the culler ...", flush=True)
            asyncio.run(
                abandon(server, [link(server.base, "SEQ", "A", today_week)] * args.abandoned)
            )
            server.wait_warm(pool_total)
            open_kernels = server.kernels() - pool_total
            culled_at = time.perf_counter()
            settle()
            cull_s = time.perf_counter() - culled_at
            after_cull_mib = server.memory_mib()
            code, left = server.stop()

        # 5. The store, read back.
        print("5/5 reading the store back ...", flush=True)
        landed = verify_store(data, expected)
        warm_landed = verify_store(data, warm_expected)

    failed = [v.error for v in results if not v.saved]
    busy = sum(v.busy_answers for v in results)
    usable = [v.usable_s for v in results]
    print()
    # Other work on the machine slows everything here (the browser most): say how busy it was.
    cores = os.cpu_count()
    print(f"machine: {cores} cores, load average {load_at_start:.1f} at the start, ", end="")
    print(f"{os.getloadavg()[0]:.1f} at the end (1 minute; above {cores} means a queue for CPU)")
    print(f"{'figure':<68} {'value':>10}  {'ratio':>18}  target")
    rows = [
        ("server alone, no kernel (MiB)", f"{server_alone_mib:.0f}", "", ""),
        ("baseline: form usable, simulated, median (s)", f"{median(base_proto):.2f}", "1.00x", ""),
    ]
    if with_browser:
        rows.append(
            (
                "baseline: form usable in Chromium, median (s)",
                f"{median(base_browser):.2f}",
                "1.00x",
                "",
            )
        )
        for what, times in browser.items():
            b95 = p95(times)
            rows.append(
                (
                    f"form usable in Chromium, {what}, p95 of {len(times)} (s)",
                    f"{b95:.2f}",
                    f"{b95 / median(base_browser):.2f}x baseline",
                    f"< {USABLE_TARGET_S} s: {mark(b95 < USABLE_TARGET_S)}",
                )
            )
    else:
        rows.append(("form usable in Chromium", "not measured", "", "no Chromium/Playwright"))
    s95 = p95(seq_proto)
    rows += [
        (
            "page served, the first since the start (s)",
            f"{first_page:.2f}",
            f"{first_page / median(later_pages):.2f}x the next {len(later_pages)} (median)",
            "",
        ),
        (
            f"form usable, simulated, p95 of {len(seq_proto)} (s)",
            f"{s95:.2f}",
            f"{s95 / median(base_proto):.2f}x baseline",
            "",
        ),
        (
            f"rush: saves landed in the store (of {args.checkins})",
            f"{landed}",
            "",
            f"all: {mark(landed == args.checkins and not failed)}",
        ),
        (
            "rush: form usable, simulated, p95 (s)",
            f"{p95(usable):.2f}",
            f"{p95(usable) / median(base_proto):.2f}x baseline",
            "",
        ),
        ("rush: wall time (s) / 'busy' answers", f"{rush_s:.0f} / {busy}", "", ""),
        (
            "memory idle before any form: server + warm pool (MiB)",
            f"{cold_idle_mib:.0f}",
            f"{cold_idle_mib / server_alone_mib:.2f}x server alone",
            "",
        ),
        (
            f"memory idle after {one_at_a_time} forms, one at a time (MiB)",
            f"{after_visits_mib:.0f}",
            f"{after_visits_mib / cold_idle_mib:.2f}x before any form",
            "",
        ),
        (
            f"memory idle in service, after a {args.warmup}-check-in warm-up (MiB)",
            f"{idle_mib:.0f}",
            f"{idle_mib / cold_idle_mib:.2f}x before any form",
            f"warm-up saves landed: {warm_landed}/{len(warm_expected)}",
        ),
        (
            "memory peak during the rush (MiB)",
            f"{sampler.peak_mib:.0f}",
            f"{sampler.peak_mib / idle_mib:.2f}x idle",
            "",
        ),
        (
            "kernels at the peak (cap + pool)",
            f"{sampler.peak_kernels}",
            "",
            f"<= {args.max_forms + pool_total}: "
            f"{mark(sampler.peak_kernels <= args.max_forms + pool_total)}",
        ),
        (
            "memory after the rush (MiB)",
            f"{after_rush_mib:.0f}",
            f"{after_rush_mib / idle_mib:.2f}x idle",
            back_to_idle(after_rush_mib, idle_mib),
        ),
        (
            f"pages left open: {open_kernels} kernels, culled within (s)",
            f"{cull_s:.0f}",
            "",
            f"all culled: {mark(open_kernels == args.abandoned)}",
        ),
        (
            "memory after culling (MiB)",
            f"{after_cull_mib:.0f}",
            f"{after_cull_mib / idle_mib:.2f}x idle",
            back_to_idle(after_cull_mib, idle_mib),
        ),
        (
            "SIGTERM: exit code / processes left",
            f"{code} / {left}",
            "",
            f"clean: {mark(code == 0 and left == 0)}",
        ),
    ]
    for name, value, ratio, target in rows:
        print(f"{name:<68} {value:>10}  {ratio:>18}  {target}")
    for error in sorted(set(failed))[:5]:
        print(f"  failed check-in: {error}")
    print()
    if with_browser:
        for what, times in browser.items():
            report_target(
                f"form server: usable in Chromium, {what}, p95",
                p95(times),
                USABLE_TARGET_S,
                "s",
                baseline_name="usable with no pool (median)",
                baseline=median(base_browser),
            )
    report_target(
        "form server: rush saves landed",
        landed - len(failed),
        args.checkins,
        "saves",
        baseline_name="check-ins sent",
        baseline=args.checkins,
        higher_is_better=True,
    )
    report_target(
        "form server: memory after the rush",
        after_rush_mib,
        IDLE_RETURN_TARGET * idle_mib,
        "MiB",
        baseline_name="idle",
        baseline=idle_mib,
    )


if __name__ == "__main__":
    main()
