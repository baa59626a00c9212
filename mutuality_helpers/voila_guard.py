"""The therapist's notebooks refuse to run inside Voila.

``mutuality serve`` serves only the couples' worksheets. A bare ``voila notebooks/``
(or Voila's preview inside JupyterLab) serves every notebook of the folder to anyone
who reaches the port, without a token by default: the session workbook, the caseload
and the report template would show every couple's data. So those three ask where
their kernel runs, and under Voila show a refusal instead of any client data.

Voila starts every kernel with ``VOILA_*`` variables in its environment
(``VOILA_PREHEAT``, ``VOILA_BASE_URL``, ``VOILA_SERVER_URL``, ``VOILA_APP_PORT``: set by
both its on-request and its pre-heated kernel launch, Voila 0.5) and, per request,
``SERVER_SOFTWARE=voila/<version>``. JupyterLab and papermill set none of them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from .presentation import fragment

#: Environment variables Voila gives the kernels it starts.
VOILA_VARIABLES = ("VOILA_PREHEAT", "VOILA_BASE_URL", "VOILA_SERVER_URL", "VOILA_APP_PORT")


def under_voila(environ: Mapping[str, str] | None = None) -> bool:
    """Whether this kernel was started by Voila (standalone or as a Jupyter server extension)."""
    env = os.environ if environ is None else environ
    if any(name in env for name in VOILA_VARIABLES):
        return True
    return env.get("SERVER_SOFTWARE", "").startswith("voila/")


def refusal_message(what: str) -> str:
    """Why ``what`` (e.g. "The caseload") shows nothing here."""
    return (
        f"{what} holds client data and opens only in the therapist's JupyterLab, not in a "
        "Voila app. Couples' worksheets are served with `mutuality serve`."
    )


def refusal(what: str) -> Any:
    """Under Voila, the refusal to display instead of ``what``; otherwise ``None``.

    A plain HTML output, not a widget: it needs no kernel connection in the browser,
    and the page Voila sends already says it.
    """
    if not under_voila():
        return None
    from IPython.display import HTML

    return HTML(fragment("workbook.html.j2", "refusal", refusal_message(what)))
