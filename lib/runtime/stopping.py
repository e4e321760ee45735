"""Graceful stop on SIGINT/SIGTERM: long jobs finish the write in progress, then return."""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

logger = logging.getLogger(__name__)


@contextmanager
def stop_on_signals(
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
) -> Iterator[threading.Event]:
    """An event set by the first of `signals`; the previous handlers are restored on exit.

    Must be entered in the main thread (Python delivers signals there only).
    """
    event = threading.Event()

    def handler(signum: int, _frame: FrameType | None) -> None:
        logger.warning("received %s: stopping after the write in progress",
                       signal.Signals(signum).name)
        event.set()

    previous = {s: signal.signal(s, handler) for s in signals}
    try:
        yield event
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
