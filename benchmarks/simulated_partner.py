"""A simulated partner: opens a check-in link and saves it, speaking the browser's protocol.

What a partner's browser does, without the browser: fetch the page (Voila renders
the worksheet in a kernel), connect to that kernel's websocket, ask for the
widgets' state (ipywidgets' ``jupyter.widget.control`` comm), set every answer
(``update`` messages), click Save (a ``custom`` click), wait for "Saved.", then
close the page as Voila's page does (the shutdown beacon with the ``_xsrf`` cookie).

"Usable" is when the widgets' state has arrived: the moment a browser can draw
the form. A real browser adds its JavaScript on top (measured separately).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import time
import uuid
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import websockets
from jupyter_server.services.kernels.connection.base import deserialize_binary_message
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

_CONFIG = re.compile(
    r'<script id="jupyter-config-data" type="application/json">\s*(\{.*?\})\s*</script>', re.S
)


class Busy(Exception):
    """The server said "busy, try again in a minute" (HTTP 503)."""


@dataclass
class Visit:
    """One check-in, opened and saved (or not)."""

    usable_s: float = float("nan")
    saved: bool = False
    busy_answers: int = 0
    error: str = ""
    kernel_id: str = ""
    timings: dict[str, float] = field(default_factory=dict)


def _message(msg_type: str, content: dict, session: str) -> str:
    return json.dumps(
        {
            "header": {
                "msg_id": uuid.uuid4().hex,
                "username": "simulated-partner",
                "session": session,
                "msg_type": msg_type,
                "version": "5.3",
                "date": dt.datetime.now(dt.UTC).isoformat(),
            },
            "parent_header": {},
            # ipywidgets 8 checks the control protocol version on the comm it is asked on.
            "metadata": {"version": "1.0.0"} if msg_type == "comm_open" else {},
            "content": content,
            "channel": "shell",
            "buffers": [],
        }
    )


def _decode(raw: Any) -> dict:
    if isinstance(raw, bytes):
        return deserialize_binary_message(raw)
    return json.loads(raw)


def _by_class(states: dict) -> dict[str, str]:
    """``{css class: model id}`` for every widget carrying a ``mutuality-*`` class."""
    found = {}
    for model_id, model in states.items():
        for css in model["state"].get("_dom_classes", []):
            if css.startswith("mutuality-"):
                found[css] = model_id
    return found


def _said(state: dict, words: str) -> bool:
    """Whether an Output widget's new state shows ``words``."""
    outputs = state.get("outputs", [])
    return any(words in o.get("data", {}).get("text/plain", "") for o in outputs)


async def open_page(http: AsyncHTTPClient, url: str) -> tuple[str, str]:
    """GET the link; return (kernel id, _xsrf cookie). Raises :class:`Busy` on a 503."""
    try:
        response = await http.fetch(url, request_timeout=120, follow_redirects=False)
    except HTTPClientError as exc:
        if exc.code == 503:
            raise Busy() from None
        raise
    match = _CONFIG.search(response.body.decode())
    if not match:
        raise RuntimeError("no kernel on the page (the link was refused?)")
    kernel_id = json.loads(match.group(1))["kernelId"]
    cookies = SimpleCookie()
    for header in response.headers.get_list("Set-Cookie"):
        cookies.load(header)
    xsrf = cookies["_xsrf"].value if "_xsrf" in cookies else ""
    return kernel_id, xsrf


async def close_page(http: AsyncHTTPClient, base: str, kernel_id: str, xsrf: str) -> None:
    """What Voila's page does on ``beforeunload``: ask the server to shut its kernel down."""
    body = f"_xsrf={xsrf}"
    await http.fetch(
        f"{base}/voila/api/shutdown/{kernel_id}",
        method="POST",
        body=body,
        headers={"Cookie": f"_xsrf={xsrf}", "Content-Type": "application/x-www-form-urlencoded"},
        request_timeout=30,
        raise_error=False,
    )


async def check_in(
    base: str,
    url: str,
    answers: dict[str, Any],
    retry_delay: float = 1.0,
    max_busy: int = 120,
    close: bool = True,
) -> Visit:
    """Open ``url``, fill in ``answers`` (item id -> value), save, close.

    A busy answer is retried after ``retry_delay`` seconds (the page asks a person
    for a minute; a simulation compresses that), at most ``max_busy`` times.
    """
    visit = Visit()
    http = AsyncHTTPClient()
    while True:
        started = time.perf_counter()
        try:
            kernel_id, xsrf = await open_page(http, url)
            break
        except Busy:
            visit.busy_answers += 1
            if visit.busy_answers > max_busy:
                visit.error = "busy every time"
                return visit
            await asyncio.sleep(retry_delay)
    visit.kernel_id = kernel_id
    visit.timings["page"] = time.perf_counter() - started
    session = uuid.uuid4().hex
    ws_url = (
        f"{base.replace('http', 'ws', 1)}/api/kernels/{kernel_id}/channels?session_id={session}"
    )
    try:
        async with websockets.connect(ws_url, max_size=None, open_timeout=60) as ws:

            async def send(msg_type: str, comm_id: str, data: dict, **extra: Any) -> None:
                content = {"comm_id": comm_id, "data": data, **extra}
                await ws.send(_message(msg_type, content, session))

            async def next_comm_msg() -> dict:
                while True:
                    msg = _decode(await asyncio.wait_for(ws.recv(), 120))
                    if msg.get("msg_type") == "comm_msg":
                        return msg["content"]

            control = uuid.uuid4().hex
            await send("comm_open", control, {}, target_name="jupyter.widget.control")
            await send("comm_msg", control, {"method": "request_states"})
            content = await next_comm_msg()
            while content["data"].get("method") != "update_states":
                content = await next_comm_msg()
            visit.usable_s = time.perf_counter() - started
            widgets = _by_class(content["data"]["states"])
            for item, value in answers.items():
                if item == "demands":
                    targets = [(widgets[f"mutuality-tag-{tag}"], True) for tag in value]
                else:
                    targets = [(widgets[f"mutuality-input-{item}"], value)]
                for model_id, new in targets:
                    update = {"method": "update", "state": {"value": new}, "buffer_paths": []}
                    await send("comm_msg", model_id, update)
            click = {"method": "custom", "content": {"event": "click"}}
            await send("comm_msg", widgets["mutuality-save"], click)
            feedback = widgets["mutuality-feedback"]
            while not visit.saved:
                content = await next_comm_msg()
                if content["comm_id"] == feedback:
                    state = content["data"].get("state", {})
                    visit.saved = _said(state, "Saved.")
                    if _said(state, "Replace them"):  # a week answered before: confirm
                        await send("comm_msg", widgets["mutuality-replace"], click)
            visit.timings["saved"] = time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 -- a benchmark counts failures, it does not stop
        visit.error = f"{type(exc).__name__}: {exc}"
    if close:
        await close_page(http, base, kernel_id, xsrf)
    return visit
