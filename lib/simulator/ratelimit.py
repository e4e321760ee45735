"""Fixed-window request/weight counters, with windows shrunk by the simulator's time scale.

Exchanges count per IP (and some per endpoint or per instrument) in fixed windows; that is
what this models.  All clients of the simulator share 127.0.0.1, as they would share one IP.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    """Outcome of charging a request: allowed?, weight used in the window, seconds to wait."""

    allowed: bool
    used: int
    limit: int
    retry_after: float
    reset_at: float  # monotonic time the window ends


@dataclass(frozen=True)
class Limit:
    """One of an exchange's documented budgets, by name: `weight` units per `window_s` seconds.

    Counted once for the whole venue (`per="ip"`: all clients share 127.0.0.1) or once per
    endpoint (`per="endpoint"`); with `param` set, separately for each value of that query
    parameter too (OKX counts per instId).
    """

    name: str
    weight: int
    window_s: float
    per: str = "ip"
    param: str | None = None


@dataclass(frozen=True)
class HistoryCost:
    """What one funding-history request costs: which of the venue's limits it is charged to,
    its weight, and extra weight per row returned (Hyperliquid: +1 per 20 rows)."""

    limit: str
    per_request: float = 1.0
    per_row: float = 0.0


class WindowLimiter:
    """Counters keyed by (bucket, key), each in windows of `window_s / time_scale` seconds."""

    def __init__(self, time_scale: float = 1.0) -> None:
        self.time_scale = time_scale
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[int, int]] = {}  # key -> (window id, used)
        self._spans: dict[str, float] = {}  # key -> window length in (scaled) seconds
        self._full_until: dict[str, float] = {}  # key -> monotonic end of a forced-full window

    def charge(self, key: str, limit: int, window_s: float, cost: int = 1) -> Verdict:
        """Add `cost` to the key's current window; refuse (without counting) when over."""
        span = window_s / self.time_scale
        now = time.monotonic()
        wid = math.floor(now / span)
        reset_at = (wid + 1) * span
        with self._lock:
            self._spans[key] = span
            full_until = self._full_until.get(key, 0.0)
            if now < full_until:
                return Verdict(False, limit, limit, full_until - now, full_until)
            cur_id, used = self._windows.get(key, (wid, 0))
            if cur_id != wid:
                used = 0
            if used + cost > limit:
                self._windows[key] = (wid, used)
                return Verdict(False, used, limit, max(reset_at - now, 0.001), reset_at)
            used += cost
            self._windows[key] = (wid, used)
            return Verdict(True, used, limit, 0.0, reset_at)

    def used(self, key: str, window_s: float) -> int:
        """Weight used so far in the key's current window."""
        span = window_s / self.time_scale
        wid = math.floor(time.monotonic() / span)
        with self._lock:
            cur_id, used = self._windows.get(key, (wid, 0))
            return used if cur_id == wid else 0

    def reset_in(self, window_s: float) -> float:
        """Seconds (scaled) until the current window of that length ends and its count resets."""
        span = window_s / self.time_scale
        return span - time.monotonic() % span

    def saturate(self, prefix: str) -> list[str]:
        """Refuse every known key starting with `prefix` for one whole window from now, as
        if another client on the same IP had just used it up; return the keys.

        Filling a window by sending requests races the window's end on a busy machine; this
        makes "the next request meets a 429" certain, which is what tests of back-off need."""
        now = time.monotonic()
        with self._lock:
            keys = sorted(k for k in self._spans if k.startswith(prefix))
            for key in keys:
                self._full_until[key] = now + self._spans[key]
        return keys

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
            self._spans.clear()
            self._full_until.clear()


def retry_after_header(seconds: float) -> str:
    """Retry-After in whole seconds, at least 1 (the header has no fractions)."""
    return str(max(1, math.ceil(seconds)))
