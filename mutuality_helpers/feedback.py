"""Where forms and workbooks talk to people: one message line, or a notice instead of a form.

Every form and the session workbook write their feedback to one :class:`ipywidgets.Output`
through :func:`show_message`; a notebook that cannot show its form shows :func:`notice`.
Both escape the message (it may quote what was typed).
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets

from .exceptions import MutualityError
from .presentation import fragment

TEMPLATE = "forms.html.j2"
#: Where a widget says something: ``say(message, ok)``.
Say = Callable[[str, bool], None]


def show_message(output: widgets.Output, message: str, ok: bool = False) -> None:
    """Replace what ``output`` shows with one message."""
    body = fragment(TEMPLATE, "message", message, ok)
    # Set outputs directly rather than `with output:`: works in a kernel and headless.
    output.outputs = (
        {
            "output_type": "display_data",
            "data": {"text/plain": message, "text/html": body},
            "metadata": {},
        },
    )


def notice(message: str, urgent_help: str | None = None) -> widgets.HTML:
    """A friendly message shown instead of a form (no code, no traceback).

    ``urgent_help`` (for a partner's page): the practice's line on reaching urgent help.
    """
    box = widgets.HTML(fragment(TEMPLATE, "notice", message, urgent_help))
    box.add_class("mutuality-notice")
    return box


def attempt(say: Say, failure: str, action: Callable[[], str | None]) -> None:
    """Run one change, then ``say`` what was done, or why not.

    ``action`` returns the message for success (or None for none); a
    :class:`MutualityError` it raises is said as ``"<failure>: <reason>"`` (the reason
    alone when ``failure`` is empty).
    """
    try:
        done = action()
    except MutualityError as exc:
        say(f"{failure}: {exc}" if failure else str(exc), False)
        return
    if done:
        say(done, True)
