"""The ranked table: current opportunities worth taking, with their history beside them.

Each current pair (see `opportunities`) gets its APR net of the taker fees to enter and leave
both legs, amortised over the holding period; the pair's spread history over the last 30 days
(persistence: share of hours the leg to short now paid more; z of the current spread against
those hours); and what the carry really paid over the last 7 and 30 days (see `carry`), with
its completeness. Ranked by net APR.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select

from config.settings import get_settings
from lib.analytics.carry import RealizedCarry, realized_carry
from lib.analytics.fees import FeeSchedule, fee_schedule
from lib.analytics.inputs import require_snapshots
from lib.analytics.opportunities import LegKey, Opportunity, OpportunityScan, current_opportunities
from lib.storage.schema import arbitrage_legs, arbitrage_pairs, arbitrage_spread_statistics
from lib.timeutils import utcnow

HISTORY_WINDOW_DAYS = 30
CARRY_DAYS: tuple[int, ...] = (7, 30)


@dataclass(frozen=True)
class SpreadHistory:
    """A pair's spread statistics in the orientation short leg minus long leg."""

    n: int
    mean_8h: float | None
    std_8h: float | None
    persistence: float | None  # share of hours the short leg paid more

    def zscore(self, spread_8h: float) -> float | None:
        if self.mean_8h is None or not self.std_8h:
            return None
        return (spread_8h - self.mean_8h) / self.std_8h


@dataclass(frozen=True)
class RankedOpportunity:
    opportunity: Opportunity
    hold_days: int
    fees: float  # taker fees in and out of both legs, per unit of notional
    history: SpreadHistory | None
    carry: dict[int, RealizedCarry] = field(default_factory=dict)

    @property
    def net_apr(self) -> float:
        """Gross APR minus the fees spread over the holding period, as a yearly rate."""
        return self.opportunity.spread_apr - self.fees * 365.0 / self.hold_days

    @property
    def spread_z(self) -> float | None:
        return self.history.zscore(self.opportunity.spread_8h) if self.history else None


@dataclass(frozen=True)
class Ranking:
    rows: list[RankedOpportunity]
    scan: OpportunityScan
    candidates: int  # pairs that passed the filters, before the limit


def spread_history(conn: Connection, pairs: Sequence[tuple[LegKey, LegKey]],
                   window_days: int = HISTORY_WINDOW_DAYS,
                   ) -> dict[tuple[LegKey, LegKey], SpreadHistory]:
    """Stored statistics of (short, long) pairs, turned to face the short leg."""
    wanted = {frozenset(p): p for p in pairs}
    p, s = arbitrage_pairs, arbitrage_spread_statistics
    la, lb = arbitrage_legs.alias("la"), arbitrage_legs.alias("lb")
    query = (
        select(la.c.exchange, la.c.symbol, lb.c.exchange, lb.c.symbol, s.c.n, s.c.mean_8h,
               s.c.std_8h, s.c.share_positive, s.c.share_negative)
        .select_from(s)
        .join(p, p.c.pair_id == s.c.pair_id)
        .join(la, la.c.leg_id == p.c.leg_a)
        .join(lb, lb.c.leg_id == p.c.leg_b)
        .where(s.c.window_days == window_days)
    )
    found = {}
    for ex_a, sym_a, ex_b, sym_b, n, mean, std, pos, neg in conn.execute(query):
        pair = wanted.get(frozenset({(ex_a, sym_a), (ex_b, sym_b)}))
        if pair is None:
            continue
        a_is_short = pair[0] == (ex_a, sym_a)
        sign = 1.0 if a_is_short else -1.0
        found[pair] = SpreadHistory(n, None if mean is None else sign * mean, std,
                                    pos if a_is_short else neg)
    return found


def _passes(o: Opportunity, min_oi_usd: float | None) -> bool:
    if min_oi_usd is None:
        return True
    ois = (o.short.open_interest_usd, o.long.open_interest_usd)
    return all(oi is not None and oi >= min_oi_usd for oi in ois)


def rank_opportunities(conn: Connection, *, min_apr: float | None = None,
                       min_oi_usd: float | None = None, exchanges: Sequence[str] | None = None,
                       hold_days: int = 7, limit: int = 20, fees: FeeSchedule | None = None,
                       now: datetime | None = None, max_age: timedelta | None = None,
                       ) -> Ranking:
    """The best `limit` current pairs by APR net of fees over `hold_days` (fractions: an APR of
    0.1 is 10 %). `min_apr` applies to the net APR, `min_oi_usd` to both legs' open interest."""
    fees = fees or fee_schedule(get_settings().TAKER_FEES)
    now = now or utcnow()
    scan = current_opportunities(conn, now, max_age, exchanges)
    ranked = [
        RankedOpportunity(o, hold_days, fees.round_trip(o.short.exchange, o.long.exchange), None)
        for o in scan.opportunities if _passes(o, min_oi_usd)
    ]
    if min_apr is not None:
        ranked = [r for r in ranked if r.net_apr >= min_apr]
    ranked.sort(key=lambda r: r.net_apr, reverse=True)
    top = ranked[:limit]
    pairs = [r.opportunity.legs for r in top]
    history = spread_history(conn, pairs)
    carry = realized_carry(conn, pairs, fees, now, CARRY_DAYS)
    rows = [RankedOpportunity(r.opportunity, hold_days, r.fees, history.get(r.opportunity.legs),
                              carry.get(r.opportunity.legs, {})) for r in top]
    return Ranking(rows, scan, len(ranked))


def top_opportunities(engine: Engine, **options: Any) -> Ranking:
    """`rank_opportunities` on its own connection; an empty database is a NoDataError saying
    what to run first."""
    with engine.connect() as conn:
        require_snapshots(conn)
        return rank_opportunities(conn, **options)
