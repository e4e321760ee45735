"""Run an analytics job again and again on a fixed grid until told to stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


def repeat(job: Callable[[], object], interval: float, stop: threading.Event,
           cycles: int | None = None) -> int:
    """Call `job` every `interval` seconds on the grid from the first call (a slow run skips
    the ticks it overran, no drift) until `stop` is set or `cycles` ran; return how many ran."""
    origin = time.monotonic()
    done = 0
    while not stop.is_set():
        job()
        done += 1
        if cycles is not None and done >= cycles:
            break
        ticks = int((time.monotonic() - origin) // interval) + 1
        stop.wait(max(0.0, origin + ticks * interval - time.monotonic()))
    return done
