"""The one retry policy: what happens while another program holds the store's lock.

Two layers, and both are bounded (on a PostgreSQL store, the first is the server's
``lock_timeout`` on the store's write lock, see :mod:`~mutuality_helpers.database`, and a
serialization failure or deadlock counts as busy too):

1. SQLite's own busy handler waits up to :data:`BUSY_TIMEOUT_S` for the lock on every
   statement (``PRAGMA busy_timeout``, set by :mod:`~mutuality_helpers.sqlitefile`);
2. when the lock is still held after that, or SQLite reports "busy" at once (a store
   being created or recovered by another process), :func:`while_busy` tries again, up to
   :data:`ATTEMPTS` times in all, after a random, growing pause of at most
   :data:`MAX_PAUSE_S` (tenacity's ``wait_random_exponential``: two partners who collided
   do not collide again).

So a write that cannot get the lock fails, with one line, after at most
:data:`WORST_CASE_S` seconds: ``ATTEMPTS * BUSY_TIMEOUT_S + (ATTEMPTS - 1) * MAX_PAUSE_S``
= 3 * 10 + 2 * 1 = **32 seconds**. Only taking the lock is retried: once a transaction
holds it (``BEGIN IMMEDIATE``), its work is never run twice.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import tenacity

from .exceptions import StoreError

T = TypeVar("T")

#: How long SQLite waits for the lock on its own, per attempt.
BUSY_TIMEOUT_S = 10.0
#: Attempts in all (the first one included).
ATTEMPTS = 3
#: The longest pause between two attempts.
MAX_PAUSE_S = 1.0
#: The longest a caller waits for a lock before a :class:`StoreError`.
WORST_CASE_S = ATTEMPTS * BUSY_TIMEOUT_S + (ATTEMPTS - 1) * MAX_PAUSE_S


#: PostgreSQL's SQLSTATEs worth another attempt: lock timeout (the write lock), serialization
#: failure, deadlock detected. The server rolled the transaction back: nothing half-done.
PG_RETRY_STATES = frozenset({"55P03", "40001", "40P01"})


def is_busy(exc: BaseException) -> bool:
    """True for "database is locked" / "busy" (SQLite) or a lock timeout, serialization
    failure or deadlock (PostgreSQL), from SQLAlchemy or the driver."""
    orig = getattr(exc, "orig", exc)
    if getattr(orig, "sqlstate", None) in PG_RETRY_STATES:
        return True
    text = str(orig).lower()
    return "locked" in text or "busy" in text


def one_line(exc: BaseException | None) -> str:
    """A driver's message on one line (PostgreSQL's carry a DETAIL or HINT line)."""
    return " ".join(str(exc).split())


def policy(sleep: Callable[[float], None] | None = None) -> tenacity.Retrying:
    """The retry policy as a tenacity ``Retrying`` (``sleep`` replaceable for tests)."""
    return tenacity.Retrying(
        stop=tenacity.stop_after_attempt(ATTEMPTS),
        wait=tenacity.wait_random_exponential(multiplier=0.05, max=MAX_PAUSE_S),
        retry=tenacity.retry_if_exception(is_busy),
        reraise=True,
        sleep=tenacity.nap.sleep if sleep is None else sleep,
    )


def while_busy(
    attempt: Callable[[], T],
    what: str,
    errors: type[BaseException] | tuple[type[BaseException], ...],
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Run ``attempt`` under the retry policy.

    Raises
    ------
    StoreError
        ``"<what>: <reason>"`` for any of ``errors``: the lock outlasted every attempt, or
        the database failed in another way (which is not retried).
    """
    try:
        return policy(sleep)(attempt)
    except errors as exc:
        raise StoreError(f"{what}: {one_line(getattr(exc, 'orig', exc))}") from None
