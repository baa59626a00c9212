"""Debounced saving: run an action once typing has paused, and at once when asked.

The session workbook keeps what the therapist types as a draft in the store
(:meth:`~mutuality_helpers.store.Store.save_draft`): not on every keystroke (a text box
sends each one), but :data:`DELAY_S` seconds after the last, and at once before the
workbook shows another couple or session (:meth:`Debouncer.flush`), so nothing typed is
lost by switching.

The wait runs on the kernel's event loop when there is one (a callback in a running
Jupyter kernel), else on a timer thread; tests pass a ``call_later`` of their own.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from typing import Any, Protocol

#: Seconds of quiet after the last change before the draft is kept.
DELAY_S = 2.0


class Handle(Protocol):
    def cancel(self) -> Any: ...


#: ``call_later(delay, callback)``: run ``callback`` after ``delay`` seconds; a cancellable.
CallLater = Callable[[float, Callable[[], None]], Handle]


def default_call_later(delay: float, callback: Callable[[], None]) -> Handle:
    """The running event loop's ``call_later`` (a Jupyter kernel has one), else a timer thread."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        timer = threading.Timer(delay, callback)
        timer.daemon = True
        timer.start()
        return timer
    return loop.call_later(delay, callback)


class Debouncer:
    """Run ``action`` once, ``delay`` seconds after the last :meth:`poke`.

    Parameters
    ----------
    action
        What to run (e.g. keep the draft).
    delay
        Seconds of quiet to wait for.
    call_later
        How to wait (default :func:`default_call_later`).
    """

    def __init__(
        self,
        action: Callable[[], None],
        delay: float = DELAY_S,
        call_later: CallLater | None = None,
    ) -> None:
        self.action = action
        self.delay = delay
        self.call_later = call_later or default_call_later
        self._handle: Handle | None = None
        self._lock = threading.Lock()

    @property
    def pending(self) -> bool:
        """True while a change waits to be saved."""
        return self._handle is not None

    def poke(self) -> None:
        """Something changed: (re)start the wait."""
        with self._lock:
            if self._handle is not None:
                self._handle.cancel()
            self._handle = self.call_later(self.delay, self._fire)

    def flush(self) -> None:
        """Run the action now if a change is waiting (before the text boxes change hands)."""
        with self._lock:
            if self._handle is None:
                return
            self._handle.cancel()
            self._handle = None
        self.action()

    def cancel(self) -> None:
        """Forget the waiting change (it was saved another way)."""
        with self._lock:
            if self._handle is not None:
                self._handle.cancel()
            self._handle = None

    def _fire(self) -> None:
        with self._lock:
            if self._handle is None:  # flushed or cancelled meanwhile
                return
            self._handle = None
        self.action()
