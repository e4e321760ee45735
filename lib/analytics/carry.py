"""Realized carry: what a pair actually paid over the last days, after fees.

For a pair held short on one leg and long on the other over a holding period (1, 7 or 30 days):
the funding each leg actually settled over the period, on its own schedule (the sum of its
settled rates, not hourly averages), per unit of notional: the short leg receives its rates,
the long leg pays its own. Minus the taker fees to enter and leave both legs.

The period ends at the last settlement both legs have reached on a common boundary (for a 1 h
and an 8 h leg, the last 8 h settlement both have), so both legs cover the same hours. Beside
the result stands each leg's completeness: the share of the period's hours its stored
settlements cover. A leg with a missing settlement, or listed inside the period, is incomplete,
and then the carry has no value (`net` is None): a partial sum is never shown as if whole.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Float, cast, select, tuple_

from lib.analytics.fees import FeeSchedule
from lib.analytics.series import settled_interval
from lib.storage.schema import funding_rates_historical
from lib.timeutils import floor_to_interval

PERIODS_DAYS: tuple[int, ...] = (1, 7, 30)
COMPLETE = 1.0 - 1e-9

LegKey = tuple[str, str]  # (exchange, symbol)


@dataclass(frozen=True, slots=True)
class Settlement:
    time: datetime
    rate: float
    interval_hours: float


@dataclass(frozen=True)
class LegFunding:
    """What one leg settled over a period."""

    exchange: str
    symbol: str
    funding: float  # sum of settled rates, per unit of notional
    settlements: int
    covered_hours: float
    period_hours: float

    @property
    def completeness(self) -> float:
        return min(1.0, self.covered_hours / self.period_hours) if self.period_hours else 0.0


@dataclass(frozen=True)
class RealizedCarry:
    """A pair's realized carry over one holding period, short leg minus long leg, after fees."""

    days: int
    start: datetime | None
    end: datetime | None
    short: LegFunding | None
    long: LegFunding | None
    fees: float  # taker fees to enter and leave both legs, per unit of notional

    @property
    def completeness(self) -> float:
        """The less complete leg's share of the period covered (0 without history)."""
        if self.short is None or self.long is None:
            return 0.0
        return min(self.short.completeness, self.long.completeness)

    @property
    def complete(self) -> bool:
        return self.completeness >= COMPLETE

    @property
    def partial_net(self) -> float | None:
        """The sum over what history there is; only ever shown labelled as partial."""
        if self.short is None or self.long is None:
            return None
        return self.short.funding - self.long.funding - self.fees

    @property
    def net(self) -> float | None:
        """Funding received minus paid minus fees; None unless both legs are complete."""
        return self.partial_net if self.complete else None

    @property
    def net_apr(self) -> float | None:
        """`net` as a simple annual rate."""
        return None if self.net is None else self.net * 365.0 / self.days


def load_settlements(conn: Connection, legs: Iterable[LegKey], since: datetime,
                     until: datetime) -> dict[LegKey, list[Settlement]]:
    """Settled rates of the given legs in (since, until], oldest first, one query."""
    f = funding_rates_historical
    keys = sorted(set(legs))
    found: dict[LegKey, list[Settlement]] = defaultdict(list)
    if not keys:
        return found
    query = (select(f.c.exchange, f.c.symbol, f.c.funding_time, cast(f.c.funding_rate, Float),
                    settled_interval())
             .where(tuple_(f.c.exchange, f.c.symbol).in_(keys),
                    f.c.funding_time > since, f.c.funding_time <= until)
             .order_by(f.c.exchange, f.c.symbol, f.c.funding_time))
    for ex, sym, when, rate, interval in conn.execute(query):
        if interval:
            found[(ex, sym)].append(Settlement(when, rate, float(interval)))
    return found


def _leg_funding(key: LegKey, settled: Sequence[Settlement], start: datetime,
                 end: datetime) -> LegFunding:
    funding, count, covered = 0.0, 0, 0.0
    for s in settled:
        if start < s.time <= end:
            funding += s.rate
            count += 1
            begins = max(s.time - timedelta(hours=s.interval_hours), start)
            covered += (s.time - begins).total_seconds() / 3600.0
    period = (end - start).total_seconds() / 3600.0
    return LegFunding(key[0], key[1], funding, count, covered, period)


def _common_end(short: Sequence[Settlement], long: Sequence[Settlement]) -> datetime:
    """The last boundary on both legs' schedules that both legs have settled."""
    step = math.lcm(max(1, round(short[-1].interval_hours)), max(1, round(long[-1].interval_hours)))
    return floor_to_interval(min(short[-1].time, long[-1].time), step)


def carry_for(short_key: LegKey, long_key: LegKey, settled: dict[LegKey, list[Settlement]],
              days: int, fees: FeeSchedule) -> RealizedCarry:
    """Realized carry of holding `short_key` short and `long_key` long for `days` days."""
    cost = fees.round_trip(short_key[0], long_key[0])
    short, long = settled.get(short_key, []), settled.get(long_key, [])
    if not short or not long:
        return RealizedCarry(days, None, None, None, None, cost)
    end = _common_end(short, long)
    start = end - timedelta(days=days)
    return RealizedCarry(days, start, end, _leg_funding(short_key, short, start, end),
                         _leg_funding(long_key, long, start, end), cost)


def realized_carry(conn: Connection, pairs: Sequence[tuple[LegKey, LegKey]], fees: FeeSchedule,
                   now: datetime, periods: Sequence[int] = PERIODS_DAYS,
                   ) -> dict[tuple[LegKey, LegKey], dict[int, RealizedCarry]]:
    """Realized carry of each (short leg, long leg) pair for each holding period."""
    longest = max(periods)
    settled = load_settlements(conn, (leg for pair in pairs for leg in pair),
                               now - timedelta(days=longest + 2), now)
    return {(s, lg): {days: carry_for(s, lg, settled, days, fees) for days in periods}
            for s, lg in pairs}
