"""Per-request fault injection: latency, 5xx, held connections, broken JSON, empty pages.

Drawn from a seeded RNG, and only when a rate is non-zero, so a fault-free run is fully
deterministic.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from lib.simulator.config import FaultConfig
from lib.simulator.http_types import Response, html_response


@dataclass(frozen=True)
class Decision:
    """What to do to one request: extra delay, and at most one of the failure modes."""

    latency_s: float = 0.0
    kind: str = ""  # "" | error | timeout | malformed | empty
    error_status: int = 0
    variant: float = 0.0  # extra randomness for the chosen mode


class FaultInjector:
    """Thread-safe holder of the current FaultConfig plus the RNG that draws from it."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self._config = config
        self._rng = random.Random(seed ^ 0xFA017)
        self._lock = threading.Lock()

    @property
    def config(self) -> FaultConfig:
        return self._config

    def set(self, config: FaultConfig) -> None:
        with self._lock:
            self._config = config

    def decide(self) -> Decision:
        cfg = self._config
        latency = cfg.latency_ms / 1000.0
        if not cfg.any_random:
            return Decision(latency_s=latency)
        with self._lock:
            x = self._rng.random()
            variant = self._rng.random()
        edges = (
            ("timeout", cfg.timeout_rate),
            ("error", cfg.error_rate),
            ("malformed", cfg.malformed_rate),
            ("empty", cfg.empty_rate),
        )
        acc = 0.0
        for kind, rate in edges:
            acc += rate
            if x < acc:
                status = (500, 502, 503)[int(variant * 3)] if kind == "error" else 0
                return Decision(latency, kind, status, variant)
        return Decision(latency_s=latency)


def malformed(resp: Response, variant: float) -> Response:
    """200 with a body that is not valid JSON: truncated mid-way, or an HTML page."""
    body = resp.encode()
    if variant < 0.7 and len(body) > 2:
        cut = max(1, int(len(body) * (0.2 + 0.6 * variant)))
        raw = body[:cut]
    else:
        raw = b"<html><body>upstream returned an invalid response</body></html>"
    return Response(status=200, raw=raw, headers=dict(resp.headers))


def gateway_error(status: int) -> Response:
    text = {502: "Bad Gateway", 503: "Service Temporarily Unavailable"}.get(status, "Error")
    return html_response(status, text)
