"""Run an analytics job again and again on a fixed grid until told to stop.

A pass that SQLite refuses as busy (another process, such as the backfill, wrote first) is
skipped with a warning and the next runs on time; any other error ends the loop (and its
process, which start.py restarts).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable

from sqlalchemy.exc import OperationalError

from lib.storage.engine import is_busy

logger = logging.getLogger(__name__)


def repeat(job: Callable[[], object], interval: float, stop: threading.Event,
           cycles: int | None = None) -> int:
    """Call `job` every `interval` seconds on the grid from the first call (a slow run skips
    the ticks it overran, no drift) until `stop` is set or `cycles` ran; return how many ran."""
    origin = time.monotonic()
    done = 0
    while not stop.is_set():
        try:
            job()
        except (OperationalError, sqlite3.OperationalError) as e:
            if not is_busy(e):
                raise
            logger.warning("database busy (another process wrote first): pass skipped, the "
                           "next one runs on time")
        done += 1
        if cycles is not None and done >= cycles:
            break
        ticks = int((time.monotonic() - origin) // interval) + 1
        stop.wait(max(0.0, origin + ticks * interval - time.monotonic()))
    return done
