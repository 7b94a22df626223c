"""Ctrl-C and SIGTERM: a request to stop, never a traceback or a silent death.

Two behaviours, one for each kind of work:

- ``stops_raise()`` (the command line holds it from the first line of ``main``): a stop
  request raises :class:`Stopped` where the program is, so it unwinds through the code that
  records what happened (SIGTERM would otherwise kill the process without a word).
- ``StopRequest()`` (the training loop): a stop request only sets ``requested``, and training
  stops cleanly after the current batch with its state saved.
"""

from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import final

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# A second request this soon after the first (Ctrl-C pressed twice) is the same request:
# it must not cut short the writes that record the first.
REPEAT_GRACE_S = 2.0


class Stopped(KeyboardInterrupt):
    """A stop request (Ctrl-C, SIGTERM) raised as an exception; a KeyboardInterrupt, so code
    that already handles Ctrl-C handles SIGTERM alike."""

    def __init__(self, signal_name: str = "SIGINT") -> None:
        super().__init__(signal_name)
        self.signal_name = signal_name

    def __str__(self) -> str:
        return f"stopped by {self.signal_name}"


def signal_name(stop: BaseException) -> str:
    """Which signal a KeyboardInterrupt stands for (a plain one is Ctrl-C, SIGINT)."""
    return getattr(stop, "signal_name", "SIGINT")


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


@contextmanager
def stops_raise():
    """While active, SIGINT and SIGTERM raise :class:`Stopped` (in the main thread only)."""
    if not _in_main_thread():
        yield
        return
    last = [float("-inf")]

    def handle(signum: int, frame) -> None:
        now = time.monotonic()
        if now - last[0] < REPEAT_GRACE_S:
            return
        last[0] = now
        raise Stopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handle) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@final
class StopRequest:
    """While active, SIGINT and SIGTERM set ``requested`` instead of raising or killing.

    A second Ctrl-C still raises KeyboardInterrupt at once, for a user who cannot wait for the
    batch to finish (unless ``shield``: then every request only sets ``requested``, for writes
    that must not be cut in half). Outside the main thread (where signals cannot be caught) it
    does nothing.
    """

    def __init__(self, shield: bool = False) -> None:
        self.requested: str | None = None
        self.shield = shield
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame) -> None:
        if self.requested and signum == signal.SIGINT and not self.shield:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __enter__(self) -> StopRequest:
        if _in_main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()


@contextmanager
def shielded():
    """Run a short critical write (or an import) without being cut by a stop request; a request
    that came meanwhile is raised as :class:`Stopped` once it is done."""
    with StopRequest(shield=True) as stop:
        yield
    if stop.requested:
        raise Stopped(stop.requested)
