"""Records that flow between the exchange adapters, the database and the analytics.

Rates are decimal fractions per funding interval (0.0001 = 0.01 % each interval); times are
timezone-aware UTC datetimes; intervals are hours (1, 2, 4, 8...).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Contract:
    """A perpetual contract as listed by its exchange."""

    exchange: str
    symbol: str  # exchange-native, e.g. "1000PEPEUSDT", "BTC-USDT-SWAP", "kPEPE"
    canonical_symbol: str  # ccxt form "BASE/QUOTE:SETTLE", multiplier removed from BASE
    base: str  # canonical base asset, e.g. "PEPE"
    quote: str
    settle: str
    multiplier: float  # 1000 for 1000PEPEUSDT / kPEPE, else 1
    funding_interval_hours: float
    listed_at: datetime | None = None
    status: str = "trading"
    ccxt_symbol: str | None = None  # as ccxt writes it: "1000PEPE/USDT:USDT", names one contract
    contract_size: float | None = None  # base units per contract (USD for inverse contracts)


@dataclass(frozen=True, slots=True)
class FundingSnapshot:
    """The current (not yet settled) funding of one contract, as the exchange shows it now."""

    exchange: str
    symbol: str
    funding_rate: float
    funding_interval_hours: float
    next_funding_time: datetime | None
    timestamp: datetime  # when the exchange (or we) observed it
    mark_price: float | None = None
    index_price: float | None = None
    open_interest: float | None = None  # in the venue's unit: open_interest_unit
    volume_24h: float | None = None  # 24 h turnover in the venue's unit: volume_unit
    predicted_rate: float | None = None  # the exchange's predicted next rate, where it gives one
    rate_cap: float | None = None  # the highest rate per interval the exchange allows now
    rate_floor: float | None = None  # the lowest
    open_interest_unit: str | None = None  # "contracts", "base" or "quote" (lib.analytics.units)
    volume_unit: str | None = None


@dataclass(frozen=True, slots=True)
class FundingEvent:
    """One settled funding payment; funding_time is the scheduled settlement instant."""

    exchange: str
    symbol: str
    funding_time: datetime
    funding_rate: float
    funding_interval_hours: float | None = None
    mark_price: float | None = None


def rate_8h(rate: float, interval_hours: float) -> float:
    """A per-interval rate expressed per 8 hours, so venues with different intervals compare."""
    return rate * 8.0 / interval_hours


def rate_apr(rate: float, interval_hours: float) -> float:
    """Simple (not compounded) annualised rate: rate × 8760 / interval."""
    return rate * 8760.0 / interval_hours
