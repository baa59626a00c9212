"""Screenshots of both partner forms at desktop and phone widths, for review (``make screenshots``).

Starts the form server on 127.0.0.1 over a throw-away data folder holding one synthetic
couple, opens the weekly check-in and the mutuality inventory in Debian's Chromium
(Playwright, never a downloaded browser) at 1280 and 390 px, and writes one full-page
PNG per form and width into the output folder (git-ignored)::

    python tools/screenshots.py --out screenshots

Each form is shot as a partner first sees it. The server is always stopped.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the tests' server plumbing (servers.py)

CHROMIUM = Path("/usr/bin/chromium")
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
FORMS = ("weekly_checkin", "mutuality_inventory")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "screenshots")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"screenshots: {CHROMIUM} not found (Debian package 'chromium'; make system-deps)")
        return 1
    from playwright.sync_api import sync_playwright
    from servers import FormServer

    from mutuality_helpers.store import Store

    args.out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="mutuality-screenshots-") as tmp:
        data = Path(tmp) / "data"
        with Store(data) as store:
            store.add_couple("C001", "Sam", "Alex")
        started = time.monotonic()
        print("screenshots: starting the form server on 127.0.0.1 ...", flush=True)
        server = FormServer(data, Path(tmp) / "serve.log", pool=1)
        try:
            server.wait(warm=2)
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
                )
                try:
                    for form in FORMS:
                        for name, (width, height) in WIDTHS.items():
                            phone = name == "phone"
                            context = browser.new_context(
                                viewport={"width": width, "height": height},
                                is_mobile=phone,
                                has_touch=phone,
                                device_scale_factor=2 if phone else 1,
                            )
                            page = context.new_page()
                            page.set_default_timeout(90_000)
                            page.goto(server.link("C001", "A", instrument=form))
                            page.locator(".mutuality-form").wait_for()
                            page.wait_for_timeout(500)  # the page's script has run
                            # The whole form in one picture: a viewport as tall as the page.
                            # (Voila scrolls its own panel, not the page: the form's height.)
                            tall = page.evaluate(
                                "Math.ceil(document.querySelector('.mutuality-form')"
                                ".getBoundingClientRect().bottom) + 48"
                            )
                            page.set_viewport_size({"width": width, "height": max(height, tall)})
                            path = args.out / f"{form}-{width}px.png"
                            page.screenshot(path=str(path), full_page=True)
                            written.append(path)
                            print(f"screenshots: wrote {path}", flush=True)
                            context.close()
                finally:
                    browser.close()
        finally:
            server.close()
    print(f"screenshots: {len(written)} PNGs in {args.out} ({time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
