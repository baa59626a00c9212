"""A preheated worksheet kernel waits here for the partner whose link takes it.

Voila's pool runs a worksheet before anyone asks for it. The worksheet imports
everything, builds nothing, and waits for its request: Voila's server sends the
request's details (``QUERY_STRING`` and friends) over a websocket at
``/voila/query/<kernel id>`` as soon as a partner's link takes this kernel.

Voila's own helper, ``voila.utils.wait_for_request``, does exactly this, but
importing ``voila`` loads its whole server (jupyterlab_server, jsonschema): about
two seconds and 40 MiB in every kernel, paid again for every form. This is the
same client side of the same protocol, on the ``websockets`` package Voila uses.
"""

from __future__ import annotations

import json
import os


def preheated() -> bool:
    """Whether this kernel is one of Voila's pool, run before its request came."""
    return os.environ.get("VOILA_PREHEAT") == "True"


def request_info_url(environ: dict | None = None) -> str:
    """Where the server hands this kernel its request (as ``voila.utils`` builds it)."""
    env = os.environ if environ is None else environ
    protocol = env.get("VOILA_WS_PROTOCOL", "ws")
    host = env.get("VOILA_APP_IP", "127.0.0.1")
    port = env.get("VOILA_APP_PORT", "8866")
    base = env.get("VOILA_WS_BASE_URL", env.get("VOILA_SERVER_URL", "/"))
    return f"{protocol}://{host}:{port}{base}voila/query/{env['VOILA_KERNEL_ID']}"


def wait_for_request() -> None:
    """Block until a partner's request takes this kernel; put its details in ``os.environ``.

    Does nothing outside a preheated kernel (papermill, nbval, a cold Voila kernel).
    """
    if not preheated():
        return
    from websockets.sync.client import connect

    # No timeout: a pooled kernel waits as long as the pool keeps it (never culled).
    with connect(request_info_url(), open_timeout=60, max_size=2**20) as websocket:
        payload = websocket.recv()
    for name, value in json.loads(payload).items():
        os.environ[name] = str(value)
