"""What a partner is told when something goes wrong, and what the server log is told.

A partner sees plain words and what to do next, never a server path, SQL, an
SQLite message or a class name: those help an attacker and frighten a partner.
The details go to the server's log (the kernel's real stderr, which the form
server writes to its own log) under a short reference, which the partner's
message quotes so the therapist can find the log line.

The wording lives here once, for the form (in the kernel) and for the pages the
server answers itself (busy, a link that does not work).
"""

from __future__ import annotations

import secrets
import sys

from .exceptions import (
    ErasedCouple,
    LinkError,
    MutualityError,
    ParameterError,
    UnknownCouple,
    ValidationError,
)

#: Shown when the server already holds as many open forms as it may.
BUSY_TITLE = "Busy right now"
BUSY_MESSAGE = (
    "Many people are filling in their check-in at this moment. "
    "Please try again in a minute: your link stays valid."
)
#: Shown at the server's root, where there is no worksheet.
WELCOME_TITLE = "Your check-in"
WELCOME_MESSAGE = (
    "This is your practice's private check-in page. "
    "Please open the personal link your therapist gave you."
)
LINK_TITLE = "This link does not work"
#: Shown when the server cannot check a link right now (the store cannot be read).
UNAVAILABLE_TITLE = "Not available right now"


def link_refused(reason: object) -> str:
    """A partner link that is not valid here (``reason`` is a LinkError's own, plain text)."""
    return f"This link does not work: {reason}. Please ask your therapist for a new one."


def log_incident(exc: BaseException, doing: str) -> str:
    """Write ``exc`` in full to the server's log; return the short reference to quote."""
    reference = secrets.token_hex(3).upper()
    # sys.__stderr__: in a kernel, sys.stderr is the notebook's output, shown on the page.
    stream = sys.__stderr__ or sys.stderr
    print(
        f"mutuality: incident {reference} while {doing}: {type(exc).__name__}: {exc}",
        file=stream,
        flush=True,
    )
    return reference


def cannot_open(exc: BaseException) -> str:
    """Why a worksheet does not open, in a partner's terms."""
    if isinstance(exc, UnknownCouple):
        return link_refused("it is not in use any more")
    if isinstance(exc, (ParameterError, ValidationError)):
        # Names the worksheet parameter or the value at fault, nothing of the server.
        return f"This worksheet cannot be opened: {exc}"
    reference = log_incident(exc, "opening a worksheet")
    return (
        "This worksheet cannot be opened right now. Please try again later; if it keeps "
        f"happening, tell your therapist (reference {reference})."
    )


def cannot_save(exc: BaseException) -> str:
    """Why answers were not saved; the answers stay on the page for another try."""
    if isinstance(exc, (LinkError, ErasedCouple)):
        # The link expired or was revoked, or the couple erased, since the form opened:
        # trying again will not help, and the partner is not told which.
        reason = exc if isinstance(exc, LinkError) else "it is no longer in use"
        return (
            f"Your answers were not saved: this link does not work any more ({reason}). "
            "Please ask your therapist for a new one."
        )
    doing = "saving answers" if isinstance(exc, MutualityError) else "saving answers (unexpected)"
    reference = log_incident(exc, doing)
    return (
        "Your answers could not be saved just now; they are still on this page. "
        f"Please try again in a moment (reference {reference})."
    )
