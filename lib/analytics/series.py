"""The hourly series behind every spread, built from settled funding, set-based on both engines.

Each settled rate covers the hours of its own interval before its settlement time: a rate
settled at 16:00 on an 8 h schedule was in force from 08:00 to 16:00, so it fills the hours
08:00 ... 15:00, and a 1 h leg and an 8 h leg compare hour by hour. Rates are stored per leg as
rate_8h (see `lib.storage.schema.arbitrage_leg_hours`); a pair's spread is the join of its legs.
Where two settlements claim one hour (a history row stored with a longer interval than it had),
the nearest settlement after the hour wins (a later incremental run keeps what is stored:
--force settles it).

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
    Column,
    Connection,
    Engine,
    Float,
    Integer,
    MetaData,
    Table,
    cast,
    delete,
    exists,
    func,
    select,
    tuple_,
)
from sqlalchemy import exc as sa_exc
from sqlalchemy.sql.elements import ColumnElement

from lib.analytics.matching import PairSync, sync_pairs
from lib.analytics.watermarks import read_watermark, write_watermark
from lib.storage.schema import (
    UTCDateTime,
    arbitrage_leg_hours,
    arbitrage_legs,
    contracts,
    funding_rates_historical,
)
from lib.storage.sqlfunctions import (
    dialect_insert,
    epoch_hour,
    refresh_planner_statistics,
    tune_for_bulk,
)
from lib.timeutils import HOUR_MS, floor_to_interval, from_ms, to_ms, utcnow

logger = logging.getLogger(__name__)

JOB = "spreads"
MAX_INTERVAL_HOURS = 24  # longest funding interval a settlement may cover
# Settlements stamped up to this long before the previous build started are read again: a
# writer stamps collected_at before its transaction commits.
RESTAMP_MARGIN = timedelta(hours=1)
# After writing this many rows, refresh the planner's statistics of the series (both engines
# plan the statistics' joins from them; a first build would otherwise be planned as empty).
REPLAN_ROWS = 100_000


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


_temp = MetaData()
# The hours of the window with their stored time form (one conversion per hour, not per row).
_hours = Table("tmp_spread_hours", _temp, Column("h", Integer, primary_key=True),
               Column("ts", UTCDateTime, nullable=False), prefixes=["TEMPORARY"])
# -1 .. -MAX_INTERVAL_HOURS: the hours before a settlement, in ascending order.
_offsets = Table("tmp_spread_offsets", _temp, Column("j", Integer, primary_key=True),
                 prefixes=["TEMPORARY"])
# The settlements being expanded: leg, settlement hour, rate_8h and the hours it covers.
_settled = Table("tmp_spread_settled", _temp, Column("leg_id", Integer), Column("th", Integer),
                 Column("r8", Float), Column("span", Integer), prefixes=["TEMPORARY"])


def _settled_select(start: datetime, settled_by: datetime) -> Any:
    """Each settlement of a leg in (start, settled_by]: its leg, hour, rate_8h and interval, in
    the order the expansion then inserts in."""
    f, legs = funding_rates_historical, arbitrage_legs
    interval = cast(settled_interval(), Integer)
    th = epoch_hour(f.c.funding_time)
    return (
        select(legs.c.leg_id, th, cast(f.c.funding_rate, Float) * 8.0 / settled_interval(),
               interval)
        .join(legs, (legs.c.exchange == f.c.exchange) & (legs.c.symbol == f.c.symbol))
        .where(f.c.funding_time > start, f.c.funding_time <= settled_by, interval > 0)
        # the history key's order: no sort where the planner walks that index, and the legs'
        # order too (ids are given in (exchange, symbol) order, see matching.sync_pairs)
        .order_by(f.c.exchange, f.c.symbol, f.c.funding_time)
    )


def _changed_selects(conn: Connection, start: datetime, settled_by: datetime,
                     since: datetime) -> list[Any]:
    """The settlements an incremental build expands: those stored since shortly before the
    previous build started (found by one pass over collected_at, then read by settlement time
    from the earliest of them), and every settlement of a leg new since it."""
    f, legs = funding_rates_historical, arbitrage_legs
    stored_since = since - RESTAMP_MARGIN
    # no condition on funding_time here: a plain pass over the table beats an index range
    earliest = conn.execute(select(func.min(f.c.funding_time)).where(
        f.c.collected_at >= stored_since)).scalar()
    new_legs = select(legs.c.exchange, legs.c.symbol).where(legs.c.created_at > since)
    selects = [_settled_select(start, settled_by).where(
        tuple_(f.c.exchange, f.c.symbol).in_(new_legs))]
    if earliest is not None:
        selects.append(_settled_select(max(start, earliest - timedelta(microseconds=1)),
                                       settled_by).where(f.c.collected_at >= stored_since,
                                                         legs.c.created_at <= since))
    return selects


def _expand(conn: Connection, start: datetime, end: datetime, settled_by: datetime,
            since: datetime | None, expect_stored: bool) -> int:
    """Insert the leg hours in [start, end) the selected settlements cover; rows written."""
    tune_for_bulk(conn)
    for table in (_hours, _offsets, _settled):
        table.drop(conn, checkfirst=True)
        table.create(conn)
    first, last = to_ms(start) // HOUR_MS, to_ms(end) // HOUR_MS
    conn.execute(_hours.insert(), [{"h": h, "ts": from_ms(h * HOUR_MS)}
                                   for h in range(first, last)])
    conn.execute(_offsets.insert(), [{"j": -k} for k in range(1, MAX_INTERVAL_HOURS + 1)])
    last_settlement = min(end + timedelta(hours=MAX_INTERVAL_HOURS), settled_by)
    selects = ([_settled_select(start, last_settlement)] if since is None
               else _changed_selects(conn, start, last_settlement, since))
    for query in selects:
        conn.execute(_settled.insert().from_select(["leg_id", "th", "r8", "span"], query))
    s, o, h = _settled, _offsets, _hours
    rows = (select(h.c.ts, s.c.leg_id, s.c.r8)
            .select_from(s)
            .join(o, o.c.j >= -s.c.span)
            .join(h, h.c.h == s.c.th + o.c.j)
            .where(s.c.span > 0))
    written = _insert_leg_hours(conn, rows, s.c.th, expect_stored)
    for table in (_settled, _offsets, _hours):
        table.drop(conn)
    return written


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
            mode, since = "incremental", previous
        stored = mode == "incremental" or (mode == "full" and bool(conn.execute(select(exists(
        ).where(arbitrage_leg_hours.c.ts >= start, arbitrage_leg_hours.c.ts < end))).scalar()))
        refresh_planner_statistics(conn, funding_rates_historical.name)
        written = _expand(conn, start, end, now or started, since, expect_stored=stored)
        write_watermark(conn, JOB, started)
        if written > REPLAN_ROWS:
            conn.exec_driver_sql(f"ANALYZE {arbitrage_leg_hours.name}")
        legs = int(conn.execute(select(func.count()).select_from(arbitrage_legs)).scalar_one())
    build = SeriesBuild(mode, start, end, pairs, legs, written, deleted, time.perf_counter() - t0)
    logger.info("spread series %s build %s..%s: %d rows written, %d deleted, %d pairs (%d new) "
                "in %.2fs", mode, start, end, written, deleted, pairs.pairs, pairs.pairs_added,
                build.seconds)
    return build



def _insert_leg_hours(conn: Connection, rows: Any, settled_hour: Any, expect_stored: bool) -> int:
    """Insert the rows; an hour already stored is kept.

    Unless `expect_stored`, first as a plain insert: the fast path (PostgreSQL's ON CONFLICT
    costs twice as much a row), taken by every build of an empty window whose settlements never
    claim one hour twice. Otherwise, or when that meets a stored key, as insert-or-ignore in
    (leg, hour, settlement) order, so that on an hour two settlements claim (a history row
    stored with a longer interval than it had) the nearest settlement after it wins.
    """
    insert = dialect_insert(conn, arbitrage_leg_hours)
    columns = ["ts", "leg_id", "rate_8h"]
    if not expect_stored:
        savepoint = conn.begin_nested()
        try:
            written = int(conn.execute(insert.from_select(columns, rows)).rowcount or 0)
        except sa_exc.IntegrityError:
            savepoint.rollback()
            logger.info("spread series: some hours are claimed twice or stored already")
        else:
            savepoint.commit()
            return written
    ordered = rows.order_by(_settled.c.leg_id, _hours.c.h, settled_hour)
    stmt = insert.from_select(columns, ordered).on_conflict_do_nothing()
    return int(conn.execute(stmt).rowcount or 0)
