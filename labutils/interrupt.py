"""Ctrl-C and SIGTERM as a request to stop cleanly after the current batch."""

from __future__ import annotations

import signal
import threading


class StopRequest:
    """While active, SIGINT and SIGTERM set ``requested`` instead of killing the process.

    A second Ctrl-C still raises KeyboardInterrupt at once, for a user who cannot wait for the
    batch to finish. Outside the main thread (where signals cannot be caught) it does nothing.
    """

    def __init__(self) -> None:
        self.requested: str | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum: int, frame) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = signal.Signals(signum).name

    def __enter__(self) -> StopRequest:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
        self._previous.clear()
