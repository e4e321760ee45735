"""The ground truth's records: a listed instrument, a running interval, a stored settlement.

Kept apart from `universe` so that venues can read these records while the universe reads the
venues' facts (`venues.Venue`) without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from lib.simulator.config import dt_to_ms

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True)
class Contract:
    """One instrument as the venue lists it.  `kind` is perpetual or delivery."""

    exchange: str
    symbol: str
    base: str  # as the venue names it: 1000PEPE, kPEPE, XBT...
    asset: str  # canonical underlying, multiplier removed: PEPE, BTC
    quote: str
    settle: str
    multiplier: int  # units of `asset` per unit of `base` (1000 for 1000PEPE / kPEPE)
    interval_hours: int
    listed_at: datetime
    status: str  # trading | prelaunch | delisted
    kind: str = "perpetual"
    contract_size: float = 1.0  # venue lot size in base units (OKX ctVal, Gate quanto, KuCoin)
    delivery_at: datetime | None = None
    ref_price: float = 1.0  # USD price of one `asset` unit at the clock start
    rank: int = 0
    key: int = 0
    # An interval change (Hibachi 8 h -> 1 h): up to and including `changed_at_ms` the contract
    # settled every `previous_interval_hours` (0: it never changed).
    previous_interval_hours: int = 0
    changed_at_ms: int = 0

    @property
    def interval_ms(self) -> int:
        return self.interval_hours * HOUR_MS

    def before_change(self) -> Contract:
        """The contract as it settled before its interval changed (its own rate series)."""
        return replace(self, interval_hours=self.previous_interval_hours,
                       previous_interval_hours=0, changed_at_ms=0, key=self.key ^ 0x5EED)

    def interval_at(self, ms: int) -> int:
        """The interval of the settlement scheduled at `ms`."""
        if self.previous_interval_hours and ms <= self.changed_at_ms:
            return self.previous_interval_hours
        return self.interval_hours

    @property
    def listed_ms(self) -> int:
        return dt_to_ms(self.listed_at)


@dataclass(frozen=True)
class Snapshot:
    """The running interval of a contract at some instant."""

    rate: float
    next_funding_time: datetime
    interval_hours: int
    mark_price: float
    index_price: float
    open_interest: float  # in base units
    volume_24h: float  # in base units


class Row(NamedTuple):
    """One settlement as the exchange stores it (ms; reported_ms carries the venue's jitter)."""

    grid: int  # settlement number on the absolute grid (time_ms // interval)
    time_ms: int
    reported_ms: int
    rate: float
