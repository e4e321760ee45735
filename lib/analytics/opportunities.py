"""Current opportunities: every cross-venue pair of the same asset, from the latest snapshot.

From `exchange_data` (the running interval of every contract, refreshed every 30 s): every base
asset listed on two or more venues, every contract-level pair of different venues (pairs whose
rates have the same sign too: a carry exists whenever the rates differ). Each pair has both legs
in comparable units, which leg to short (the one paying more per 8 h) and which to long, and the
spread per 8 h and as simple APR. Legs whose snapshot is older than `max_age` are left out and
counted. Per base asset also the open-interest- and volume-weighted mean rate_8h across venues.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select

from lib.analytics.current import fresh_since
from lib.analytics.matching import pairs_by_base, settlement_label
from lib.analytics.units import APR_PER_8H, apr_from_8h, rate_8h, to_usd
from lib.storage.schema import contracts, exchange_data
from lib.timeutils import utcnow

LegKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Leg:
    """One contract's current funding, in comparable units."""

    exchange: str
    symbol: str
    ccxt_symbol: str | None
    base: str
    quote: str | None
    settle: str | None
    multiplier: float
    interval_hours: float
    rate: float  # per interval, as the exchange shows it
    rate_8h: float
    apr: float  # simple, not compounded
    next_funding_time: datetime | None
    predicted_rate: float | None  # the exchange's predicted next rate, where it gives one
    rate_cap: float | None
    rate_floor: float | None
    mark_price: float | None
    open_interest_usd: float | None
    volume_24h_usd: float | None
    updated_at: datetime

    @property
    def key(self) -> LegKey:
        return (self.exchange, self.symbol)

    @property
    def predicted_8h(self) -> float | None:
        if self.predicted_rate is None:
            return None
        return rate_8h(self.predicted_rate, self.interval_hours)

    def seconds_to_funding(self, now: datetime) -> float | None:
        if self.next_funding_time is None:
            return None
        return (self.next_funding_time - now).total_seconds()


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A pair of legs: short the one paying more, long the other."""

    base: str
    short: Leg
    long: Leg
    spread_8h: float  # rate_8h(short) - rate_8h(long), >= 0
    settlement: str  # "USDT", or "USDT|USDC" when the legs settle in different currencies

    @property
    def spread_apr(self) -> float:
        return apr_from_8h(self.spread_8h)

    @property
    def same_sign(self) -> bool:
        return (self.short.rate >= 0) == (self.long.rate >= 0)

    @property
    def legs(self) -> tuple[LegKey, LegKey]:
        return (self.short.key, self.long.key)


@dataclass(frozen=True, slots=True)
class BaseRates:
    """One asset across venues: the weighted means funding screens lead with."""

    base: str
    venues: int
    legs: int
    oi_weighted_8h: float | None
    volume_weighted_8h: float | None
    open_interest_usd: float | None
    volume_24h_usd: float | None


@dataclass(frozen=True)
class OpportunityScan:
    """Everything `current_opportunities` found at `as_of`."""

    as_of: datetime
    opportunities: list[Opportunity]
    bases: dict[str, BaseRates]
    legs: int  # fresh legs considered
    stale_legs: int  # left out: snapshot older than the limit
    stale: list[LegKey] = field(default_factory=list)


def _leg(row: tuple[Any, ...]) -> Leg | None:
    """A Leg from a `load_legs` row; None when its base or interval is unknown. (Rows are read
    as plain tuples: named access costs more than the rest of building the leg.)"""
    (exchange, symbol, rate, interval, next_time, mark, index, oi, volume, updated, predicted,
     cap, floor, oi_unit, volume_unit, data_base, base, quote, settle, multiplier, size,
     ccxt_symbol, listed_interval) = row
    base = base or data_base
    interval = interval or listed_interval
    if not base or not interval:
        return None
    inverse = settle is not None and settle == base
    price = mark or index  # dYdX gives only its oracle price
    r8 = rate * 8.0 / interval
    return Leg(
        exchange, symbol, ccxt_symbol, base, quote, settle, multiplier or 1.0, float(interval),
        rate, r8, r8 * APR_PER_8H, next_time, predicted, cap, floor, mark,
        to_usd(oi, oi_unit, price=price, contract_size=size, inverse=inverse),
        to_usd(volume, volume_unit, price=price, contract_size=size, inverse=inverse),
        updated,
    )


def load_legs(conn: Connection, exchanges: Sequence[str] | None = None) -> list[Any]:
    """Every snapshot row with its contract's listing facts, in `_leg`'s order."""
    e, c = exchange_data, contracts
    query = (
        select(e.c.exchange, e.c.symbol, e.c.funding_rate, e.c.funding_interval_hours,
               e.c.next_funding_time, e.c.mark_price, e.c.index_price, e.c.open_interest,
               e.c.volume_24h, e.c.updated_at, e.c.predicted_rate, e.c.rate_cap, e.c.rate_floor,
               e.c.open_interest_unit, e.c.volume_unit, e.c.base.label("data_base"),
               c.c.base, c.c.quote, c.c.settle, c.c.multiplier, c.c.contract_size,
               c.c.ccxt_symbol, c.c.funding_interval_hours.label("contract_interval"))
        .select_from(e)
        .outerjoin(c, and_(c.c.exchange == e.c.exchange, c.c.symbol == e.c.symbol))
    )
    if exchanges:
        query = query.where(e.c.exchange.in_(list(exchanges)))
    return list(conn.execute(query))


def _weighted(legs: Iterable[Leg], weight: str) -> tuple[float | None, float | None]:
    """(weighted mean rate_8h, total weight) over legs whose weight is known and positive."""
    total = num = 0.0
    for leg in legs:
        w = getattr(leg, weight)
        if w is not None and w > 0:
            total += w
            num += w * leg.rate_8h
    return (num / total if total else None), (total or None)


def base_rates(legs: Sequence[Leg]) -> dict[str, BaseRates]:
    """Per base asset listed on two or more venues: OI- and volume-weighted mean rate_8h."""
    groups: dict[str, list[Leg]] = defaultdict(list)
    for leg in legs:
        groups[leg.base].append(leg)
    out = {}
    for base, members in groups.items():
        venues = len({m.exchange for m in members})
        if venues < 2:
            continue
        oi_mean, oi = _weighted(members, "open_interest_usd")
        vol_mean, vol = _weighted(members, "volume_24h_usd")
        out[base] = BaseRates(base, venues, len(members), oi_mean, vol_mean, oi, vol)
    return out


def current_opportunities(conn: Connection, now: datetime | None = None,
                          max_age: timedelta | None = None,
                          exchanges: Sequence[str] | None = None) -> OpportunityScan:
    """Every current cross-venue pair, widest spread first (see the module docstring)."""
    now = now or utcnow()
    since = fresh_since(now, max_age)
    fresh: list[Leg] = []
    stale: list[LegKey] = []
    for row in load_legs(conn, exchanges):
        leg = _leg(tuple(row))
        if leg is None:
            continue
        if leg.updated_at < since:
            stale.append(leg.key)
        else:
            fresh.append(leg)
    found = []
    for a, b in pairs_by_base(fresh, lambda leg: leg.base, lambda leg: leg.exchange):
        short, long = (a, b) if a.rate_8h >= b.rate_8h else (b, a)
        label = settlement_label(a.quote, a.settle, b.quote, b.settle)
        found.append(Opportunity(a.base, short, long, short.rate_8h - long.rate_8h, label))
    found.sort(key=lambda o: o.spread_8h, reverse=True)
    return OpportunityScan(now, found, base_rates(fresh), len(fresh), len(stale), sorted(stale))

