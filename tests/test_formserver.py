"""The running form server: bounded (pool, cap, culling), private (hosts, headers, assets,
token, plain messages), and a service (health, SIGTERM). Each server is a real
``mutuality serve`` on 127.0.0.1, started and stopped by the test.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from http.cookies import SimpleCookie

import psutil
import pytest
from conftest import live_children
from servers import free_port, stop, wait_for_http

from mutuality_helpers import config, webapp
from mutuality_helpers.links import partner_link
from mutuality_helpers.serve import ServeOptions, prepare_app_dir

TOKEN = "a-long-enough-token-123"
VENDORED = config.VOILA_SHARE_DIR / "voila" / "templates" / webapp.TEMPLATE / "static"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url: str, headers: dict | None = None, method: str = "GET", body: bytes | None = None):
    """(status, headers, body) of a request, whatever the status; redirects not followed."""
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=120) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read().decode()


def kernel_pids(server) -> set[int]:
    return {p.pid for p in live_children(server.proc.pid, "ipykernel")}


def kernel_id_of(page: str) -> str:
    """The kernel a rendered page is connected to (Voila's page config)."""
    config_data = re.search(r'id="jupyter-config-data"[^>]*>\s*(\{.*?\})\s*</script>', page, re.S)
    return json.loads(config_data.group(1))["kernelId"]


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.2)


# -- pieces, without a server ------------------------------------------------------------


class _Task:
    def __init__(self, kernel_id: str | None):
        self.kernel_id = kernel_id

    def done(self) -> bool:
        return self.kernel_id is not None

    def cancelled(self) -> bool:
        return False

    def exception(self):
        return None

    def result(self) -> dict:
        return {"kernel_id": self.kernel_id}


class _KernelManager:
    def __init__(self, running: list[str], pools: dict[str, list]):
        self.running, self._pools = running, pools

    def list_kernel_ids(self) -> list[str]:
        return list(self.running)


def test_kernels_in_use_leave_out_the_pool():
    pools = {"weekly_checkin.ipynb": [_Task("k1"), _Task(None)], "inv.ipynb": [_Task("k2")]}
    manager = _KernelManager(["k1", "k2", "k3", "k4"], pools)
    assert webapp.pooled_kernel_ids(manager) == {"k1", "k2"}
    assert webapp.kernels_in_use(manager) == 2  # k3, k4: partners' pages


@pytest.mark.parametrize(
    "host, refused",
    [
        ("127.0.0.1:8866", False),
        ("localhost", False),
        ("[::1]:8866", False),
        ("CHECKIN.example.org", False),
        ("evil.example", True),
        ("checkin.example.org.evil.example", True),
        ("", True),
    ],
)
def test_unknown_host_matcher(host, refused):
    matcher = webapp.UnknownHost({"127.0.0.1", "localhost", "::1", "checkin.example.org"})

    class Request:
        pass

    request = Request()
    request.host = host
    assert (matcher.match(request) is not None) == refused


def test_server_configuration(tmp_path):
    options = ServeOptions(max_forms=4, pool=3, idle_timeout=600, token=TOKEN)
    c = webapp.voila_config(tmp_path, "127.0.0.1", options, {"127.0.0.1"})
    assert c.VoilaConfiguration.strip_sources is True
    assert c.VoilaConfiguration.show_tracebacks is False
    assert c.VoilaConfiguration.allow_template_override == "NO"
    assert c.VoilaConfiguration.preheat_kernel is True
    assert c.VoilaKernelManager.kernel_pools_config == {
        "weekly_checkin.ipynb": {"pool_size": 3},
        "mutuality_inventory.ipynb": {"pool_size": 1},
    }
    assert c.VoilaKernelManager.fill_delay == webapp.FILL_DELAY  # refill after the page loaded
    assert c.MappingKernelManager.cull_idle_timeout == 600
    assert c.MappingKernelManager.cull_connected is True
    assert c.MappingKernelManager.cull_interval == 60
    assert c.FormServer.max_forms == 4
    assert c.Voila.config_file_paths == []
    assert c.Voila.token == TOKEN
    no_pool = webapp.voila_config(tmp_path, "127.0.0.1", ServeOptions(pool=0), set())
    assert no_pool.VoilaConfiguration.preheat_kernel is False


def test_vendored_assets_are_all_there():
    css = (VENDORED / "fontawesome" / "css" / "all.min.css").read_text()
    fonts = set(re.findall(r"url\(\.\./webfonts/([\w.-]+\.woff2)\)", css))
    assert fonts == {"fa-brands-400.woff2", "fa-regular-400.woff2", "fa-solid-900.woff2"}
    for font in fonts:
        assert (VENDORED / "fontawesome" / "webfonts" / font).stat().st_size > 1000
    assert (VENDORED / "fontawesome" / "LICENSE.txt").exists()
    assert (VENDORED / "fontawesome" / "css" / "v4-shims.min.css").exists()


# -- the running server ------------------------------------------------------------------


@pytest.mark.slow
def test_the_form_page_is_private_by_construction(form_server):
    server = form_server(pool=1)
    status, headers, page = fetch(server.link("C001", "A"))
    assert status == 200
    assert "cdn.jsdelivr" not in page and "cdnjs" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)  # nothing from elsewhere
    local_css = re.search(
        r'href="(/voila/templates/mutuality_form/static/fontawesome/[^"]+)"', page
    )
    assert local_css and fetch(server.base + local_css.group(1))[0] == 200
    assert "notebook_form" not in page  # code is stripped

    responses = {
        "form": (status, headers),
        "health": fetch(server.base + "/health")[:2],
        "welcome": fetch(server.base + "/")[:2],
        "asset": fetch(server.base + local_css.group(1))[:2],
        "not found": fetch(server.base + "/nope")[:2],
        "bad link": fetch(server.link("C001", "A").replace("partner=A", "partner=B"))[:2],
    }
    for what, (_status, headers) in responses.items():
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "default-src 'self'" in csp, what
        assert "connect-src 'self'" in csp and "unsafe-eval" not in csp, what
        assert headers["Referrer-Policy"] == "no-referrer", what
        assert headers["X-Content-Type-Options"] == "nosniff", what
        assert headers["X-Frame-Options"] == "DENY", what
        assert "Server" not in headers, what


@pytest.mark.slow
def test_welcome_page_health_and_no_listing(form_server):
    server = form_server(pool=1)
    health = json.loads(fetch(server.base + "/health")[2])
    assert health == {"status": "ok", "accepting": True, "warm": 2}  # check-in and inventory
    for path in ("/", "/voila/tree"):
        status, _headers, page = fetch(server.base + path)
        assert status == 200 and "personal link" in page
        assert "weekly_checkin" not in page and "mutuality_inventory" not in page
    assert fetch(server.base + "/voila/api/contents")[0] == 404


@pytest.mark.slow
def test_an_unknown_host_is_refused(form_server):
    """DNS rebinding: a page on evil.example that resolves to 127.0.0.1 gets nothing."""
    server = form_server(pool=1, public_url="https://checkin.example.org")
    link = server.link("C001", "A")
    before = kernel_pids(server)
    for host in ("evil.example", f"evil.example:{server.port}", "checkin.example.org.evil"):
        for url in (server.base + "/", link, server.base + "/health"):
            status, headers, body = fetch(url, headers={"Host": host})
            assert status == 403 and body == "Unknown host.\n", (host, url)
            assert headers["Referrer-Policy"] == "no-referrer"
    assert kernel_pids(server) == before  # not a single kernel was taken
    assert fetch(server.base + "/", headers={"Host": "checkin.example.org"})[0] == 200
    assert fetch(server.base + "/", headers={"Host": f"localhost:{server.port}"})[0] == 200


@pytest.mark.slow
def test_a_link_not_signed_here_gets_a_plain_page_and_no_kernel(form_server):
    server = form_server(pool=1)
    before = kernel_pids(server)
    link = server.link("C001", "A")
    for bad in (link.replace("partner=A", "partner=B"), link.split("&sig=")[0], server.base
                + "/voila/render/weekly_checkin.ipynb"):  # fmt: skip
        status, _headers, page = fetch(bad)
        assert status == 403 and "This link does not work" in page
        assert "mutuality-notice" in page
        assert str(server.data) not in page and "Traceback" not in page
    assert kernel_pids(server) == before


@pytest.mark.slow
def test_a_revoked_expired_or_erased_couples_link_gets_the_plain_page(form_server, monkeypatch):
    from conftest import TODAY

    from mutuality_helpers.erase import erase_couple
    from mutuality_helpers.store import Store

    server = form_server(pool=1)
    with Store(server.data) as store:
        store.add_couple("C007")
        revoked = server.link("C001", "A")
        store.revoke_links("C001", "A")
        fresh = server.link("C001", "A")
        monkeypatch.setenv("MUTUALITY_TODAY", "2026-11-01")  # made a month ago, for a week
        expired = server.link("C001", "B", expires=7)
        monkeypatch.setenv("MUTUALITY_TODAY", TODAY)
        erased = server.link("C007", "A")
        erase_couple(store, "C007")
    with Store(server.data) as store:
        store.reuse_id("C007")  # a new couple under the id: the old link still fails
    before = kernel_pids(server)
    for link, reason in (
        (revoked, "it is no longer in use"),
        (expired, "it has expired"),
        (erased, "it is no longer in use"),
    ):
        status, _headers, page = fetch(link)
        assert status == 403 and f"This link does not work: {reason}." in page, link
        assert str(server.data) not in page and "Traceback" not in page
        assert "generation" not in page and "sqlite" not in page.lower()
    assert kernel_pids(server) == before
    assert fetch(fresh)[0] == 200  # the link made after the revoke opens the form


@pytest.mark.slow
def test_busy_page_at_the_cap_then_culling_frees_the_slot(form_server):
    server = form_server(max_forms=1, pool=1, idle_timeout=3)
    assert fetch(server.link("C001", "A"))[0] == 200  # a page opened and left open
    status, headers, page = fetch(server.link("C001", "B"))
    assert status == 503 and headers["Retry-After"] == "60"
    assert "try again in a minute" in page and "Content-Security-Policy" in headers
    assert server.health()["accepting"] is False
    # Idle (never even connected): jupyter_server's culler shuts it down.
    wait_until(lambda: server.health()["accepting"], 30, "the idle kernel culled")
    assert "Culling" in server.log.read_text()
    server.wait(warm=1)
    assert fetch(server.link("C001", "B"))[0] == 200


@pytest.mark.slow
def test_closing_the_page_shuts_its_kernel_down(form_server):
    """Voila's page sends a beacon on close; it needs the _xsrf cookie the server sets."""
    server = form_server(max_forms=1, pool=1)
    request = urllib.request.Request(server.link("C001", "A"))
    with urllib.request.urlopen(request, timeout=120) as response:
        page = response.read().decode()
        cookies = SimpleCookie()
        for header in response.headers.get_all("Set-Cookie"):
            cookies.load(header)
    kernel_id = kernel_id_of(page)
    assert cookies["_xsrf"]["samesite"] == "Strict"
    xsrf = cookies["_xsrf"].value
    assert server.health()["accepting"] is False
    status, _h, _b = fetch(
        f"{server.base}/voila/api/shutdown/{kernel_id}",
        method="POST",
        body=f"_xsrf={xsrf}".encode(),
        headers={"Cookie": f"_xsrf={xsrf}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 204
    wait_until(lambda: server.health()["accepting"], 10, "the slot freed")


@pytest.mark.slow
def test_sigterm_stops_the_server_and_every_kernel(form_server, tmp_path, monkeypatch):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))  # the served copy and Voila's files land here
    server = form_server(pool=2)
    assert fetch(server.link("C001", "A"))[0] == 200  # one page open, two kernels warm
    processes = psutil.Process(server.proc.pid).children(recursive=True)
    assert len(kernel_pids(server)) >= 3
    assert any(p.name.startswith("mutuality-app-") for p in tmp.iterdir())
    server.proc.send_signal(signal.SIGTERM)
    assert server.proc.wait(timeout=30) == 0
    _gone, alive = psutil.wait_procs(processes, timeout=10)
    assert alive == [], f"left running after SIGTERM: {[p.cmdline() for p in alive]}"
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.port), timeout=2)
    assert list(tmp.iterdir()) == []  # served copy and connection files removed


@pytest.mark.slow
def test_the_token_never_shows_in_a_command_line(form_server, tmp_path):
    server = form_server(pool=1, token=TOKEN)
    assert fetch(server.link("C001", "A"))[0] in (302, 403)  # no token: no form
    status, _headers, _page = fetch(server.link("C001", "A", token=TOKEN))
    assert status == 200
    assert server.health()["status"] == "ok"  # monitoring needs no token
    seen = [(psutil.Process(server.proc.pid).cmdline(), {})]  # its own environment has it
    for child in live_children(server.proc.pid):
        try:  # the kernels do not inherit it either
            seen.append((child.cmdline(), child.environ()))
        except psutil.NoSuchProcess:  # a short-lived child, gone since it was listed
            continue
    assert len(seen) >= 3
    for command_line, environment in seen:
        assert TOKEN not in " ".join(command_line), command_line
        assert TOKEN not in json.dumps(environment), command_line
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    assert TOKEN not in ps.stdout


@pytest.mark.slow
def test_a_failing_worksheet_shows_neither_code_nor_error(data_dir, tmp_path):
    """Voila's own guard (tracebacks hidden) still holds behind the form server's."""
    import nbformat

    from mutuality_helpers.store import Store

    with Store(data_dir) as s:
        s.add_couple("C001")
    folder = prepare_app_dir(tmp_path / "app")
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("secret_code_line = 1\nraise RuntimeError('SECRET-DETAIL-42')")
    ]
    nbformat.write(nb, folder / "boom.ipynb")
    port = free_port()
    script = (
        "import sys; from pathlib import Path; "
        "from mutuality_helpers.serve import ServeOptions, run_app; "
        f"sys.exit(run_app(Path({str(folder)!r}), {str(data_dir)!r}, ServeOptions(port={port})))"
    )
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=log, stderr=log)
        try:
            base = f"http://127.0.0.1:{port}"
            link = partner_link(base, "C001", "A", data=data_dir).replace("weekly_checkin", "boom")
            page = wait_for_http(link, proc, log_path).decode()
            assert "SECRET-DETAIL-42" not in page
            assert "secret_code_line" not in page
            assert "There was an error when executing cell" in page
        finally:
            stop(proc)


def test_a_preheated_kernel_asks_where_voila_answers():
    from mutuality_helpers import preheat

    env = {"VOILA_APP_IP": "127.0.0.1", "VOILA_APP_PORT": "8870", "VOILA_SERVER_URL": "/"}
    env["VOILA_KERNEL_ID"] = "0b7c-1"
    assert preheat.request_info_url(env) == "ws://127.0.0.1:8870/voila/query/0b7c-1"
    env["VOILA_WS_BASE_URL"] = "/forms/"
    assert preheat.request_info_url(env) == "ws://127.0.0.1:8870/forms/voila/query/0b7c-1"


def test_outside_the_pool_nothing_waits(monkeypatch):
    from mutuality_helpers import preheat

    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    started = time.monotonic()
    preheat.wait_for_request()  # papermill, nbval, a cold kernel: returns at once
    assert time.monotonic() - started < 0.5
