"""The hourly series behind every spread, built from settled funding, set-based on both engines.

Each settled rate covers the hours of its own interval before its settlement time: a rate
settled at 16:00 on an 8 h schedule was in force from 08:00 to 16:00, so it fills the hours
08:00 ... 15:00, and a 1 h leg and an 8 h leg compare hour by hour. Rates are stored per leg as
rate_8h (see `lib.storage.schema.arbitrage_leg_hours`); a pair's spread is the join of its legs.
Where two settlements claim one hour (a schedule that changed), the nearest one after the hour
wins.

Incremental by default: only settlements stored since the last build (and every settlement of a
leg that is new since then) are expanded, and hours already built are kept, so a run after an
hour adds that hour and a late repair fills its own hours. `force` deletes the window first and
rebuilds it. Either way the result is the same rows, whatever ran before.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    Float,
    cast,
    delete,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.sql.elements import ColumnElement

from lib.analytics.matching import PairSync, sync_pairs
from lib.analytics.watermarks import read_watermark, write_watermark
from lib.storage.schema import (
    arbitrage_leg_hours,
    arbitrage_legs,
    contracts,
    funding_rates_historical,
)
from lib.storage.sqlfunctions import dialect_insert, epoch_hour, hour_start
from lib.timeutils import HOUR_MS, floor_to_interval, to_ms, utcnow

logger = logging.getLogger(__name__)

JOB = "spreads"
MAX_INTERVAL_HOURS = 24  # longest funding interval a settlement may cover
# Settlements stamped up to this long before the previous build started are read again: a
# writer stamps collected_at before its transaction commits.
RESTAMP_MARGIN = timedelta(hours=1)


@dataclass(frozen=True)
class SeriesBuild:
    """What one build did."""

    mode: str  # "full" (first build), "incremental" or "force"
    window_start: datetime
    window_end: datetime
    pairs: PairSync
    legs: int
    rows_written: int
    rows_deleted: int
    seconds: float


def settled_interval(f: Any = funding_rates_historical) -> ColumnElement[Any]:
    """A settlement's interval: stored with it, else (rows from before version 2) the
    contract's."""
    c = contracts.alias("listed")
    listed = (select(c.c.funding_interval_hours)
              .where(c.c.exchange == f.c.exchange, c.c.symbol == f.c.symbol)
              .correlate_except(c).scalar_subquery())
    return func.coalesce(f.c.funding_interval_hours, listed)


def _offsets() -> Any:
    """Hours 1..MAX_INTERVAL_HOURS before a settlement, as a derived table. (Not a WITH: the
    sqlite3 driver counts rows written only for statements that start with INSERT.)"""
    return union_all(*(select(literal(k).label("k")) for k in range(1, MAX_INTERVAL_HOURS + 1))
                     ).subquery("offsets")


def leg_hours_select(start: datetime, end: datetime, settled_by: datetime,
                     since: datetime | None = None) -> Any:
    """(ts, leg_id, rate_8h) of every leg hour in [start, end) covered by a settlement up to
    `settled_by`; with `since`, only from settlements stored (or of legs new) since then."""
    f, legs = funding_rates_historical, arbitrage_legs
    offsets = _offsets()
    interval = settled_interval()
    hour = epoch_hour(f.c.funding_time) - offsets.c.k
    query = (
        select(hour_start(hour).label("ts"), legs.c.leg_id,
               (cast(f.c.funding_rate, Float) * 8.0 / interval).label("rate_8h"))
        .select_from(f)
        .join(legs, (legs.c.exchange == f.c.exchange) & (legs.c.symbol == f.c.symbol))
        .join(offsets, offsets.c.k <= interval)
        .where(
            f.c.funding_time > start,
            f.c.funding_time <= min(end + timedelta(hours=MAX_INTERVAL_HOURS), settled_by),
            hour >= to_ms(start) // HOUR_MS,
            hour < to_ms(end) // HOUR_MS,
            interval > 0,
        )
        # key order for the index; on a shared hour the nearest settlement comes first and wins
        .order_by(hour, legs.c.leg_id, f.c.funding_time)
    )
    if since is not None:
        query = query.where(or_(f.c.collected_at >= since, legs.c.created_at >= since))
    return query


def build_series(engine: Engine, days: int = 30, force: bool = False,
                 now: datetime | None = None) -> SeriesBuild:
    """Build the hourly leg series for the last `days` days (see the module docstring)."""
    started = utcnow()
    t0 = time.perf_counter()
    end = floor_to_interval(now or started, 1)
    start = end - timedelta(days=days)
    with engine.begin() as conn:
        pairs = sync_pairs(conn, started)
        previous = read_watermark(conn, JOB)
        deleted = 0
        if force:
            mode, since = "force", None
            deleted = int(conn.execute(delete(arbitrage_leg_hours).where(
                arbitrage_leg_hours.c.ts >= start, arbitrage_leg_hours.c.ts < end)).rowcount or 0)
        elif previous is None:
            mode, since = "full", None
        else:
            mode, since = "incremental", previous - RESTAMP_MARGIN
        rows = leg_hours_select(start, end, now or started, since)
        written = _insert_leg_hours(conn, rows)
        write_watermark(conn, JOB, started)
        legs = int(conn.execute(select(func.count()).select_from(arbitrage_legs)).scalar_one())
    build = SeriesBuild(mode, start, end, pairs, legs, written, deleted, time.perf_counter() - t0)
    logger.info("spread series %s build %s..%s: %d rows written, %d deleted, %d pairs (%d new) "
                "in %.2fs", mode, start, end, written, deleted, pairs.pairs, pairs.pairs_added,
                build.seconds)
    return build


def _insert_leg_hours(conn: Connection, rows: Any) -> int:
    stmt = dialect_insert(conn, arbitrage_leg_hours).from_select(
        ["ts", "leg_id", "rate_8h"], rows).on_conflict_do_nothing()
    return int(conn.execute(stmt).rowcount or 0)
