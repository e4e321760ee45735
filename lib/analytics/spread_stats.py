"""Statistics of every pair's hourly spread over 7 and 30 days, set-based on both engines.

Per pair and window: n (hours with both legs settled), mean, std, median, p95, min, max, the
last settled hour, the shares of hours on each side (persistence is the share on the side of
the leg one would short now), the accumulated carry (sum over hours of spread_8h / 8, per unit
of notional, before fees) and z of the current spread (both legs' current rates, when fresh)
against the window. All in the series' orientation, rate_8h(a) - rate_8h(b).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Float, and_, case, cast, delete, func, literal, select

from lib.analytics.current import fresh_rate_8h, fresh_since
from lib.storage.schema import (
    UTCDateTime,
    arbitrage_leg_hours,
    arbitrage_legs,
    arbitrage_pairs,
    arbitrage_spread_statistics,
    exchange_data,
)
from lib.storage.sqlfunctions import dialect_insert, percentile, tune_for_bulk
from lib.timeutils import floor_to_interval

logger = logging.getLogger(__name__)

WINDOWS_DAYS: tuple[int, ...] = (7, 30)


def _spread(a: Any, b: Any) -> Any:
    return cast(a.c.rate_8h, Float) - cast(b.c.rate_8h, Float)


def _window_stats(start: datetime, end: datetime) -> Any:
    """Aggregates of every pair's spread hours in [start, end)."""
    p = arbitrage_pairs
    a, b = arbitrage_leg_hours.alias("a"), arbitrage_leg_hours.alias("b")
    x = _spread(a, b)
    n = func.count()
    hours = (
        select(p.c.pair_id, a.c.ts, x.label("x"))
        .select_from(p)
        .join(a, a.c.leg_id == p.c.leg_a)
        .join(b, and_(b.c.leg_id == p.c.leg_b, b.c.ts == a.c.ts))
        .where(a.c.ts >= start, a.c.ts < end, b.c.ts >= start, b.c.ts < end)
        .subquery("hours")
    )
    h = hours.c
    return (
        select(
            h.pair_id, n.label("n"), func.avg(h.x).label("mean_8h"),
            func.stddev_samp(h.x).label("std_8h"),
            percentile(h.x, 0.5).label("median_8h"), percentile(h.x, 0.95).label("p95_8h"),
            func.min(h.x).label("min_8h"), func.max(h.x).label("max_8h"),
            (func.sum(case((h.x > 0, 1.0), else_=0.0)) / n).label("share_positive"),
            (func.sum(case((h.x < 0, 1.0), else_=0.0)) / n).label("share_negative"),
            (func.sum(h.x) / 8.0).label("carry"),
            func.max(h.ts).label("last_ts"),
        )
        .group_by(h.pair_id)
        .subquery("agg")
    )


def statistics_select(window_days: int, now: datetime, max_age: timedelta | None) -> Any:
    """One `arbitrage_spread_statistics` row per pair with hours in the window ending at the
    hour of `now`."""
    end = floor_to_interval(now, 1)
    agg = _window_stats(end - timedelta(days=window_days), end)
    p = arbitrage_pairs
    la, lb = arbitrage_legs.alias("la"), arbitrage_legs.alias("lb")
    last_a, last_b = arbitrage_leg_hours.alias("last_a"), arbitrage_leg_hours.alias("last_b")
    ea, eb = exchange_data.alias("ea"), exchange_data.alias("eb")
    since = fresh_since(now, max_age)
    current = fresh_rate_8h(ea, "funding_rate", since) - fresh_rate_8h(eb, "funding_rate", since)
    zscore = case((agg.c.std_8h > 0, (current - agg.c.mean_8h) / agg.c.std_8h), else_=None)
    return (
        select(
            agg.c.pair_id, literal(window_days).label("window_days"), agg.c.n, agg.c.mean_8h,
            agg.c.std_8h, agg.c.median_8h, agg.c.p95_8h, agg.c.min_8h, agg.c.max_8h,
            _spread(last_a, last_b).label("last_8h"), agg.c.last_ts, agg.c.share_positive,
            agg.c.share_negative, agg.c.carry, current.label("current_8h"),
            zscore.label("zscore"), literal(now, UTCDateTime()).label("calculated_at"),
        )
        .select_from(agg)
        .join(p, p.c.pair_id == agg.c.pair_id)
        .join(la, la.c.leg_id == p.c.leg_a)
        .join(lb, lb.c.leg_id == p.c.leg_b)
        .join(last_a, and_(last_a.c.leg_id == p.c.leg_a, last_a.c.ts == agg.c.last_ts))
        .join(last_b, and_(last_b.c.leg_id == p.c.leg_b, last_b.c.ts == agg.c.last_ts))
        .outerjoin(ea, and_(ea.c.exchange == la.c.exchange, ea.c.symbol == la.c.symbol))
        .outerjoin(eb, and_(eb.c.exchange == lb.c.exchange, eb.c.symbol == lb.c.symbol))
        .where(agg.c.n > 0)
    )


def update_spread_statistics(conn: Connection, now: datetime,
                             windows: tuple[int, ...] = WINDOWS_DAYS,
                             max_age: timedelta | None = None) -> int:
    """Recompute every pair's statistics for each window; return rows written. Rows of pairs
    with no hour left in a window are removed."""
    table = arbitrage_spread_statistics
    written = 0
    tune_for_bulk(conn)
    for days in windows:
        query = statistics_select(days, now, max_age)
        stmt = dialect_insert(conn, table).from_select([c.name for c in query.selected_columns],
                                                       query)
        keys = ("pair_id", "window_days")
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
        )
        written += int(conn.execute(stmt).rowcount or 0)
        conn.execute(delete(table).where(table.c.window_days == days,
                                         table.c.calculated_at < now))
    logger.info("spread statistics: %d rows for windows %s", written, windows)
    return written
