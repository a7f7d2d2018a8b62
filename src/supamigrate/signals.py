"""SIGTERM handled like Ctrl-C, so a CI time-out still stops the servers a run started."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable


def sigterm_as_interrupt() -> Callable[[], None]:
    """Make SIGTERM unwind like Ctrl-C, so servers are stopped; returns a function that undoes it.

    Python's default for SIGTERM exits without running cleanup, and CI time-outs and process
    managers send SIGTERM. A handler someone else installed is left alone.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:
        return lambda: None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"terminated by signal {signum}")

    signal.signal(signal.SIGTERM, interrupt)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous)

    return restore
