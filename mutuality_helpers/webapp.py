"""The form server: Voila's own application, bounded and private.

``mutuality serve`` runs :class:`FormServer`: Voila (the standalone app) over a
folder holding only the two worksheets, configured and extended in Voila's,
jupyter_server's and Tornado's own terms. Nothing here reaps kernels itself.

Bounded
    - jupyter_server's culler shuts down a kernel idle for ``idle_timeout``
      seconds, connected or not (``cull_connected``); Voila's page shuts its own
      kernel down when it is closed (a beacon on ``beforeunload``).
    - Voila's pool keeps ``pool`` preheated check-in kernels (one for the
      inventory): the worksheet has imported everything and waits for its link
      (``voila.utils.wait_for_request``), so a partner's form is ready at once.
    - At most ``max_forms`` forms are open at once; beyond that the partner gets
      a "busy, try again in a minute" page (HTTP 503, ``Retry-After``) and no
      kernel. A page still being rendered counts too, so a burst cannot overshoot.
    - A link this practice did not sign gets a plain page and no kernel at all.

Private
    - Every asset is served from this origin: the ``mutuality_form`` Voila
      template points Voila's CDN links at a vendored Font Awesome.
    - A ``Host`` allow-list (against DNS rebinding): loopback, the bound address
      and the public URL's host; anything else is refused before any handler.
    - Security headers on every response (:data:`SECURITY_HEADERS`).
    - No directory listing: ``/`` is a welcome page; the contents API is gone.

Service
    - ``GET /health`` answers ``{"status": "ok", "accepting": bool, "warm": n}``,
      without a token.
    - SIGTERM and Ctrl-C stop Voila, which shuts every kernel down (pool included).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import tornado.ioloop
import tornado.routing
import tornado.web
from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.utils import url_path_join
from markupsafe import Markup
from tornado.httputil import split_host_and_port
from traitlets import Integer, List, Unicode
from traitlets.config import Config
from voila.app import Voila
from voila.handler import BaseVoilaHandler
from voila.tornado.contentshandler import VoilaContentsHandler
from voila.tornado.handler import TornadoVoilaHandler
from voila.tornado.treehandler import TornadoVoilaTreeHandler

from . import notices
from .exceptions import LinkError, MutualityError
from .links import parse_link_query
from .practice import urgent_help_for_forms
from .presentation import fragment
from .serve import SERVED_NOTEBOOKS, ServeOptions

#: The Voila template the worksheets are rendered with (``share/voila/templates/``).
TEMPLATE = "mutuality_form"

#: Sent with every response. The worksheet page needs inline scripts and styles
#: (Voila's template and the widgets write them) but nothing from another origin:
#: ``'self'`` also covers the kernel's websocket on the same host.
SECURITY_HEADERS = {
    "Content-Security-Policy": "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' 'unsafe-inline'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}

#: Seconds before Voila starts the kernel that refills the pool after one is taken: not
#: while the partner's browser is still loading the page (a kernel's start takes a core).
FILL_DELAY = 3.0

#: Seconds a busy partner is asked to wait (the page says "a minute").
RETRY_AFTER = 60


# -- kernels in use ---------------------------------------------------------------------


def pooled_kernel_ids(kernel_manager: Any) -> set[str]:
    """The kernels waiting in Voila's pool (started, preheated, not yet handed out)."""
    ids = set()
    for pool in getattr(kernel_manager, "_pools", {}).values():
        for task in pool:
            if task.done() and not task.cancelled() and task.exception() is None:
                ids.add(task.result()["kernel_id"])
    return ids


def kernels_in_use(kernel_manager: Any) -> int:
    """Kernels holding a partner's page: every running kernel but the pool's."""
    return len(set(kernel_manager.list_kernel_ids()) - pooled_kernel_ids(kernel_manager))


# -- handlers ---------------------------------------------------------------------------


def _render_notice(handler: BaseVoilaHandler, status: int, title: str, message: str) -> None:
    """A page with one message, and the practice's line on urgent help, as every form has."""
    help_line = urgent_help_for_forms(handler.settings["mutuality_data"])
    body = fragment("forms.html.j2", "notice", message, help_line)  # escaped there
    handler.set_status(status)
    handler.set_header("Content-Type", "text/html; charset=UTF-8")
    handler.set_header("Cache-Control", "no-store")
    handler.finish(handler.render_template("notice.html", title=title, body=Markup(body)))


class BoundedVoilaHandler(TornadoVoilaHandler):
    """Voila's worksheet page, behind the link check and the cap on open forms."""

    #: Pages being rendered right now (their kernel may not be counted as in use yet).
    rendering = 0

    @tornado.web.authenticated
    async def get(self, path: str | None = None) -> None:
        try:
            parse_link_query(self.request.query, store=link_store(self.settings))
        except LinkError as exc:
            # Expired, revoked, erased, foreign: the same plain page, never which internals.
            _render_notice(self, 403, notices.LINK_TITLE, notices.link_refused(exc))
            return
        except MutualityError as exc:  # the store cannot be read: logged, not shown
            _render_notice(self, 503, notices.UNAVAILABLE_TITLE, notices.cannot_open(exc))
            return
        if not accepting(self.settings):
            self.set_header("Retry-After", str(RETRY_AFTER))
            _render_notice(self, 503, notices.BUSY_TITLE, notices.BUSY_MESSAGE)
            return
        # Voila's page shuts its kernel down on close with a beacon that carries the
        # _xsrf cookie; Voila itself never sets that cookie, so the beacon was refused.
        self.xsrf_token  # noqa: B018 -- reading it sets the cookie
        _drop_token(self.request)
        BoundedVoilaHandler.rendering += 1
        try:
            await super().get(path)
        finally:
            BoundedVoilaHandler.rendering -= 1


def _import_link_check() -> None:
    from . import store, weeks  # noqa: F401 -- imported for the first link, not opened


def link_store(settings: dict) -> Any:
    """The store links are checked against, opened once for the server's life.

    Not opened before the first link arrives (the server starts without touching the
    store); one that could not be opened is tried again at the next link. Every check
    reads the file afresh (no connection is kept), so a restored store is seen at once.
    """
    from .store import Store

    if settings.get("mutuality_store") is None:
        settings["mutuality_store"] = Store(settings["mutuality_data"], create=False)
    return settings["mutuality_store"]


def _drop_token(request: Any) -> None:
    """Take the access token out of the request before Voila hands it to the kernel.

    The token opens the door (checked above, and remembered in a cookie); the
    worksheet's kernel gets the query string and URL, and has no use for it.
    """
    if "token" not in request.arguments:
        return
    kept = [(k, v) for k, v in parse_qsl(request.query, keep_blank_values=True) if k != "token"]
    request.query = urlencode(kept)
    request.uri = request.path + (f"?{request.query}" if request.query else "")
    request.arguments.pop("token", None)
    request.query_arguments.pop("token", None)


def accepting(settings: dict) -> bool:
    """Whether another form may open now (open forms + pages rendering < ``max_forms``)."""
    in_use = kernels_in_use(settings["kernel_manager"]) + BoundedVoilaHandler.rendering
    return in_use < settings["mutuality_max_forms"]


class WelcomeHandler(BaseVoilaHandler):
    """``/`` (and Voila's tree URLs): a plain welcome instead of a listing of notebooks."""

    @allow_unauthenticated
    def get(self, path: str | None = None) -> None:
        _render_notice(self, 200, notices.WELCOME_TITLE, notices.WELCOME_MESSAGE)


class HealthHandler(tornado.web.RequestHandler):
    """``/health``: up, whether a form could open now, how many preheated kernels wait.

    No token needed, and nothing about anyone.
    """

    def get(self) -> None:
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        warm = len(pooled_kernel_ids(self.settings["kernel_manager"]))
        status = {"status": "ok", "accepting": accepting(self.settings), "warm": warm}
        self.finish(json.dumps(status))

    def head(self) -> None:
        self.set_header("Cache-Control", "no-store")
        self.finish()


class UnknownHostHandler(tornado.web.RequestHandler):
    """The answer to a request for a host name this server does not serve."""

    def prepare(self) -> None:
        self.set_status(403)
        self.set_header("Content-Type", "text/plain; charset=UTF-8")
        self.finish("Unknown host.\n")


class UnknownHost(tornado.routing.Matcher):
    """Matches a request whose ``Host`` is not on the allow-list (port ignored)."""

    def __init__(self, allowed: set[str]):
        self.allowed = {name.lower() for name in allowed}

    def match(self, request: Any) -> dict | None:
        host, _port = split_host_and_port((request.host or "").lower())
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        return None if host in self.allowed else {}


class SecurityHeaders(tornado.web.OutputTransform):
    """Adds :data:`SECURITY_HEADERS` to every response, whichever handler wrote it."""

    def transform_first_chunk(self, status_code, headers, chunk, finishing):  # noqa: ANN001
        for name, value in SECURITY_HEADERS.items():
            headers[name] = value
        headers.pop("Server", None)  # no software version for a scanner
        return status_code, headers, chunk


# -- the application --------------------------------------------------------------------


class FormServer(Voila):
    """Voila, with the form server's handlers, Host check and headers (see the module)."""

    max_forms = Integer(10, config=True, help="Forms open at once before 'busy'.")
    allowed_hosts = List(Unicode(), config=True, help="Host names the server answers to.")
    store_dir = Unicode(config=True, help="The data folder the links are checked against.")

    def init_settings(self) -> dict:
        settings = super().init_settings()
        settings["mutuality_max_forms"] = self.max_forms
        settings["mutuality_data"] = self.store_dir
        return settings

    def init_handlers(self) -> list:
        replaced = {
            TornadoVoilaHandler: BoundedVoilaHandler,
            TornadoVoilaTreeHandler: WelcomeHandler,
        }
        handlers = [(url_path_join(self.server_url, "/health"), HealthHandler)]
        for pattern, handler, *params in super().init_handlers():
            if handler is VoilaContentsHandler:
                continue  # a listing of the served folder: nobody needs it
            handlers.append((pattern, replaced.get(handler, handler), *params))
        return handlers

    def listen(self) -> None:
        # Voila has built the Tornado app; before it listens, put the Host check in
        # front of every handler and the headers behind all of them.
        router = self.app.default_router
        router.add_rules([(UnknownHost(set(self.allowed_hosts)), UnknownHostHandler)])
        router.rules.insert(0, router.rules.pop())
        self.app.add_transform(SecurityHeaders)
        # The link check's modules (SQLAlchemy, pandas), imported as soon as the server
        # runs rather than inside the first partner's page: half a second of it otherwise.
        tornado.ioloop.IOLoop.current().add_callback(_import_link_check)
        super().listen()


def voila_config(
    app_dir: Path, bind: str, options: ServeOptions, allowed_hosts: set[str]
) -> Config:
    """The whole server configuration, in one place (no voila.json is read)."""
    c = Config()
    c.Voila.root_dir = str(app_dir)
    c.Voila.ip = bind
    c.Voila.port = int(options.port)
    c.Voila.port_retries = 0
    c.Voila.open_browser = False
    c.Voila.config_file_paths = []  # a stray voila.json must not loosen anything
    c.Voila.token = options.token or ""  # "" asks for none: loopback only (check_bind)
    # The kernel's websocket stays open through proxies that drop silent connections.
    c.Voila.tornado_settings = {
        "websocket_ping_interval": 30,
        "websocket_ping_timeout": 30,
        "xsrf_cookie_kwargs": {"samesite": "Strict"},
    }

    c.VoilaConfiguration.template = TEMPLATE
    c.VoilaConfiguration.strip_sources = True
    c.VoilaConfiguration.show_tracebacks = False
    c.VoilaConfiguration.allow_template_override = "NO"
    c.VoilaConfiguration.allow_theme_override = "NO"
    # The worksheets use core widgets only: load no other JupyterLab extension
    # (fewer requests, and nothing installed later in the venv joins the page).
    c.VoilaConfiguration.extension_allowlist = [
        "@jupyter-widgets/jupyterlab-manager",
        "@voila-dashboards/widgets-manager8",
    ]

    pool = max(int(options.pool), 0)
    c.VoilaConfiguration.preheat_kernel = pool > 0
    c.VoilaConfiguration.default_pool_size = pool
    checkin, inventory = SERVED_NOTEBOOKS
    c.VoilaKernelManager.kernel_pools_config = {
        checkin: {"pool_size": pool},
        # Opened at intake and now and then: one warm kernel is plenty.
        inventory: {"pool_size": min(pool, 1)},
    }
    c.VoilaKernelManager.fill_delay = FILL_DELAY

    c.MappingKernelManager.cull_idle_timeout = int(options.idle_timeout)
    c.MappingKernelManager.cull_interval = max(1, min(60, int(options.idle_timeout) // 3))
    c.MappingKernelManager.cull_connected = True  # a tab left open is idle too

    c.FormServer.max_forms = int(options.max_forms)
    c.FormServer.allowed_hosts = sorted(allowed_hosts)
    return c


def run(app_dir: Path, data_dir: Path, bind: str, options: ServeOptions, allowed: set[str]) -> int:
    """Run the form server in this process until SIGTERM or Ctrl-C; returns 0."""
    c = voila_config(app_dir, bind, options, allowed)
    c.FormServer.store_dir = str(data_dir)
    app = FormServer(config=c)
    app.initialize([str(app_dir)])
    app.start()  # returns once Voila has stopped and shut its kernels down
    return 0
