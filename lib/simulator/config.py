"""Simulator settings: seed, clock, universe size and the fault mix (the venues list themselves).

Kept apart from the server so that the CLI, tests and benchmarks build the same objects.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class FaultConfig:
    """Per-request fault probabilities; all zero means the server never does anything random."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    malformed_rate: float = 0.0
    timeout_rate: float = 0.0
    empty_rate: float = 0.0
    timeout_s: float = 30.0

    @property
    def any_random(self) -> bool:
        """True when at least one fault is drawn at random."""
        rates = (self.error_rate, self.malformed_rate, self.timeout_rate, self.empty_rate)
        return any(r > 0 for r in rates)

    @classmethod
    def parse(cls, spec: str | dict[str, Any] | FaultConfig | None) -> FaultConfig:
        """Build from `latency=200ms,error_rate=0.05,...`, a dict, an instance or None."""
        if spec is None:
            return cls()
        if isinstance(spec, FaultConfig):
            return spec
        items: dict[str, Any]
        if isinstance(spec, str):
            items = {}
            for part in filter(None, (p.strip() for p in spec.split(","))):
                key, sep, value = part.partition("=")
                if not sep:
                    raise ValueError(f"fault {part!r}: expected name=value")
                items[key.strip()] = value.strip()
        else:
            items = dict(spec)
        return cls(**{_fault_field(k): _fault_value(k, v) for k, v in items.items()})


def _fault_field(name: str) -> str:
    """Map user-facing fault names (latency, timeout) to the dataclass fields."""
    aliases = {"latency": "latency_ms", "timeout": "timeout_s"}
    key = aliases.get(name, name)
    known = {f.name for f in fields(FaultConfig)}
    if key not in known:
        raise ValueError(f"unknown fault {name!r}; known: {sorted(known)}")
    return key


def _fault_value(name: str, value: Any) -> float:
    """Parse `200ms`, `1.5s`, `0.05` to a float (ms for latency, seconds for timeout)."""
    if not isinstance(value, str):
        return float(value)
    text = value.strip().lower()
    if text.endswith("ms"):
        ms = float(text[:-2])
        return ms if _fault_field(name) == "latency_ms" else ms / 1000.0
    if text.endswith("s"):
        sec = float(text[:-1])
        return sec * 1000.0 if _fault_field(name) == "latency_ms" else sec
    return float(text)


@dataclass(frozen=True)
class SimulatorConfig:
    """Everything that determines what the simulator serves.

    `now` pins the simulated clock's start (UTC); None means the real current time.
    `time_scale` makes simulated time (and every rate-limit window) run that many times faster.
    `total_contracts` is the universe's size with the eight first venues (their default sizes
    sum to 2,300); each venue gets its `default_size` × total_contracts / 2300, so a venue
    added later adds its own contracts without shrinking the others'.
    """

    seed: int = 42
    faults: FaultConfig | str | dict[str, Any] | None = None
    time_scale: float = 1.0
    total_contracts: int = 2300
    now: datetime | None = None
    host: str = "127.0.0.1"
    port: int = 0

    def fault_config(self) -> FaultConfig:
        """The faults as a FaultConfig, whatever form they were given in."""
        return FaultConfig.parse(self.faults)


class SimClock:
    """Simulated time: starts at `now` (or real now) and advances time_scale × real time."""

    def __init__(self, start: datetime | None, time_scale: float = 1.0) -> None:
        if time_scale <= 0:
            raise ValueError("time_scale must be positive")
        if start is None:
            start = datetime.now(UTC)
        elif start.tzinfo is None:
            start = start.replace(tzinfo=UTC)
        self.start_ms = int(start.timestamp() * 1000)
        self.time_scale = time_scale
        self._mono0 = time.monotonic()

    def now_ms(self) -> int:
        """Current simulated time in epoch milliseconds."""
        return self.start_ms + int((time.monotonic() - self._mono0) * 1000 * self.time_scale)

    def now(self) -> datetime:
        """Current simulated time as an aware UTC datetime."""
        return ms_to_dt(self.now_ms())


def ms_to_dt(ms: int) -> datetime:
    """Epoch milliseconds → aware UTC datetime."""
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def dt_to_ms(value: datetime) -> int:
    """Aware (or naive = UTC) datetime → epoch milliseconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)
