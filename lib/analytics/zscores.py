"""How unusual each contract's current rate is: `funding_statistics`, set-based on both engines.

Per contract and window (7 and 30 days) of settled history, all in rate_8h (and as simple APR):
n, the n its schedule expected since the window start or its listing, completeness, mean, std,
min, max, median, the latest settled rate, the current rate (the running interval's, from
`exchange_data`, when fresh) and the exchange's predicted next rate, z of the current rate
against the settled history, its percentile (share of settled rates at or below it), and a
confidence level from n.

Cadence (`ZscoreLoop`): contracts whose |z| was above 2 are recomputed every 30 s, the rest
every 60 s; a contract without statistics (new since the last pass) is due at once.
"""

from __future__ import annotations

import logging
import threading
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
    String,
    Table,
    UniqueConstraint,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)

from lib.analytics.current import fresh_since
from lib.analytics.inputs import require_history
from lib.analytics.loop import repeat
from lib.analytics.series import settled_interval
from lib.analytics.units import APR_PER_8H, confidence_sql, rate_8h_sql
from lib.storage.schema import (
    UTCDateTime,
    contracts,
    exchange_data,
    funding_rates_historical,
    funding_statistics,
)
from lib.storage.sqlfunctions import (
    dialect_insert,
    epoch_hour,
    percentile,
    refresh_planner_statistics,
    tune_for_bulk,
)
from lib.timeutils import HOUR_MS, to_ms, utcnow

logger = logging.getLogger(__name__)

WINDOWS_DAYS: tuple[int, ...] = (7, 30)
HOT_Z = 2.0  # contracts with |z| above this are recomputed on the fast cadence
HOT_EVERY = timedelta(seconds=30)
EVERY = timedelta(seconds=60)

# Keys of the contracts one pass recomputes, when it is not all of them.
_due = Table(
    "tmp_zscore_due", MetaData(),
    Column("exchange", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    prefixes=["TEMPORARY"],
)


@dataclass(frozen=True)
class ZscorePass:
    """What one pass did."""

    contracts: int  # contracts recomputed
    rows: int  # funding_statistics rows written (contracts x windows)
    seconds: float
    all_due: bool

    def format(self) -> str:
        """The one line the script prints."""
        return (f"contracts {self.contracts}, statistics updated {self.rows}, "
                f"{self.seconds:.1f} seconds")


# Each window's aggregates, one statement a window (one pass with FILTER clauses for both is
# slower on SQLite, whose Python aggregates then run twice per row); rows are written from here.
_agg = Table(
    "tmp_zscore_agg", MetaData(),
    Column("exchange", String(32)), Column("symbol", String(64)), Column("window_days", Integer),
    Column("last_time", UTCDateTime), Column("current_8h", Float), Column("predicted_8h", Float),
    Column("n", Integer), Column("mean_8h", Float), Column("std_8h", Float),
    Column("min_8h", Float), Column("max_8h", Float), Column("median_8h", Float),
    Column("le_current", Integer),
    prefixes=["TEMPORARY"],
)


# The current and predicted rate_8h of every contract whose snapshot is fresh, computed once a
# pass rather than once per settled row.
_now = Table(
    "tmp_zscore_now", MetaData(),
    Column("exchange", String(32), nullable=False), Column("symbol", String(64), nullable=False),
    Column("current_8h", Float), Column("predicted_8h", Float),
    UniqueConstraint("exchange", "symbol"), prefixes=["TEMPORARY"],
)


def current_select(since: datetime) -> Any:
    """(exchange, symbol, current rate_8h, predicted rate_8h) of the fresh snapshots."""
    e = exchange_data.c
    return select(e.exchange, e.symbol, rate_8h_sql(e.funding_rate, e.funding_interval_hours),
                  rate_8h_sql(e.predicted_rate, e.funding_interval_hours)).where(
                      e.updated_at >= since, e.funding_interval_hours > 0)


def _history(start: datetime, end: datetime, only_due: bool) -> Any:
    f = funding_rates_historical
    query = (select(f.c.exchange, f.c.symbol, f.c.funding_time,
                    (cast(f.c.funding_rate, Float) * 8.0 / settled_interval()).label("x"))
             .where(f.c.funding_time > start, f.c.funding_time <= end))
    if only_due:
        query = query.join(_due, and_(_due.c.exchange == f.c.exchange,
                                      _due.c.symbol == f.c.symbol))
    return query.subquery("h")


def aggregates_select(window_days: int, now: datetime, only_due: bool) -> Any:
    """Per contract: n, mean, std, min, max, median of its settled rate_8h in the window, how
    many are at or below its current rate, and its current and predicted rate_8h."""
    h = _history(now - timedelta(days=window_days), now, only_due)
    cur = _now.c
    return (
        select(h.c.exchange, h.c.symbol, literal(window_days), func.max(h.c.funding_time),
               func.max(cur.current_8h), func.max(cur.predicted_8h),
               func.count(), func.avg(h.c.x), func.stddev_samp(h.c.x), func.min(h.c.x),
               func.max(h.c.x), percentile(h.c.x, 0.5),
               func.sum(case((h.c.x <= cur.current_8h, 1), else_=0)))
        .select_from(h)
        .outerjoin(_now, and_(cur.exchange == h.c.exchange, cur.symbol == h.c.symbol))
        .group_by(h.c.exchange, h.c.symbol)
    )


def _expected(latest: Any, start: datetime, end: datetime) -> Any:
    """Settlements the schedule had in (start, end]: from the later of start and the listing,
    on the contract's interval grid (the latest settlement's interval if it is not listed)."""
    c = contracts
    interval = cast(func.coalesce(c.c.funding_interval_hours, latest.c.funding_interval_hours),
                    Integer)
    first = case((c.c.listed_at > start, epoch_hour(c.c.listed_at)), else_=to_ms(start) // HOUR_MS)
    end_h = to_ms(end) // HOUR_MS
    return case((interval > 0, end_h / interval - first / interval), else_=None)


def statistics_select(window_days: int, now: datetime) -> Any:
    """One `funding_statistics` row per contract with settlements in the window, from the
    aggregates `aggregates_select` stored."""
    a = _agg.c
    start = now - timedelta(days=window_days)
    latest = funding_rates_historical.alias("latest")
    c = contracts
    latest_8h = cast(latest.c.funding_rate, Float) * 8.0 / settled_interval(latest)
    expected = _expected(latest, start, now)
    zscore = case((a.std_8h > 0, (a.current_8h - a.mean_8h) / a.std_8h), else_=None)
    percentile_now = case((a.current_8h.is_(None), None), else_=100.0 * a.le_current / a.n)
    apr = {"mean": a.mean_8h, "std": a.std_8h, "min": a.min_8h, "max": a.max_8h,
           "median": a.median_8h, "current": a.current_8h, "predicted": a.predicted_8h}
    return (
        select(
            a.exchange, a.symbol, a.window_days, a.n, a.mean_8h, a.std_8h,
            latest_8h.label("latest_8h"), zscore.label("zscore"),
            percentile_now.label("percentile"),
            literal(now, UTCDateTime()).label("calculated_at"), expected.label("expected_n"),
            case((expected <= 0, None), (a.n >= expected, 1.0),
                 else_=cast(a.n, Float) / expected).label("completeness"),
            confidence_sql(a.n).label("confidence"), a.min_8h, a.max_8h, a.median_8h,
            a.current_8h, a.predicted_8h,
            *((value * APR_PER_8H).label(f"{name}_apr") for name, value in apr.items()),
            (latest_8h * APR_PER_8H).label("latest_apr"),
        )
        .select_from(_agg)
        .join(latest, and_(latest.c.exchange == a.exchange, latest.c.symbol == a.symbol,
                           latest.c.funding_time == a.last_time))
        .outerjoin(c, and_(c.c.exchange == a.exchange, c.c.symbol == a.symbol))
        .where(a.window_days == window_days, a.n > 0)
    )


def _due_keys(conn: Connection, now: datetime) -> list[tuple[str, str]] | None:
    """Contracts due now, or None when every contract is: the hot ones (|z| > 2 in any window)
    whose statistics are HOT_EVERY old, the others EVERY old, and listed ones without any."""
    s, c = funding_statistics, contracts
    stale = or_(s.c.calculated_at <= now - EVERY + timedelta(seconds=1),
                and_(func.abs(s.c.zscore) > HOT_Z,
                     s.c.calculated_at <= now - HOT_EVERY + timedelta(seconds=1)))
    due = {(r.exchange, r.symbol) for r in conn.execute(
        select(s.c.exchange, s.c.symbol).where(stale).distinct())}
    known = {(r.exchange, r.symbol) for r in conn.execute(
        select(s.c.exchange, s.c.symbol).distinct())}
    listed = {(r.exchange, r.symbol) for r in conn.execute(select(c.c.exchange, c.c.symbol))}
    due |= listed - known
    return None if due >= listed else sorted(due)


def calculate_zscores(engine: Engine, now: datetime | None = None, only_due: bool = False,
                      max_age: timedelta | None = None, require: bool = False) -> ZscorePass:
    """One pass: every contract, or with `only_due` those the cadence says are due. With
    `require`, an empty database is a NoDataError saying what to run first."""
    now = now or utcnow()
    t0 = time.perf_counter()
    with engine.begin() as conn:
        if require:
            require_history(conn)
        tune_for_bulk(conn)
        keys = _due_keys(conn, now) if only_due else None
        if keys is not None:
            _due.drop(conn, checkfirst=True)
            _due.create(conn)
            if keys:
                conn.execute(_due.insert(), [{"exchange": e, "symbol": s} for e, s in keys])
        refresh_planner_statistics(conn, funding_rates_historical.name)
        for table in (_agg, _now):
            table.drop(conn, checkfirst=True)
            table.create(conn)
        conn.execute(_now.insert().from_select([c.name for c in _now.columns],
                                               current_select(fresh_since(now, max_age))))
        for days in WINDOWS_DAYS:
            conn.execute(_agg.insert().from_select(
                [c.name for c in _agg.columns], aggregates_select(days, now, keys is not None)))
        rows = sum(_upsert(conn, statistics_select(days, now)) for days in WINDOWS_DAYS)
        computed = int(conn.execute(select(func.count()).select_from(_agg).where(
            _agg.c.window_days == max(WINDOWS_DAYS))).scalar_one())
        for table in (_now, _agg):
            table.drop(conn)
        if keys is not None:
            _due.drop(conn)
    result = ZscorePass(computed, rows, time.perf_counter() - t0, keys is None)
    logger.info("z-scores: %d contracts, %d rows in %.2fs%s", result.contracts, rows,
                result.seconds, "" if keys is None else " (due ones only)")
    return result


def _upsert(conn: Connection, query: Any) -> int:
    table = funding_statistics
    keys = ("exchange", "symbol", "window_days")
    stmt = dialect_insert(conn, table).from_select(
        [c.name for c in query.selected_columns], query)
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={c.name: stmt.excluded[c.name] for c in table.columns if c.name not in keys},
    )
    return int(conn.execute(stmt).rowcount or 0)


class ZscoreLoop:
    """`calculate_zscores` on the cadence: a full pass first, then every HOT_EVERY the
    contracts that are due."""

    def __init__(self, engine: Engine, max_age: timedelta | None = None) -> None:
        self.engine = engine
        self.max_age = max_age
        self.passes = 0

    def cycle(self) -> ZscorePass:
        result = calculate_zscores(self.engine, only_due=self.passes > 0, max_age=self.max_age)
        self.passes += 1
        return result

    def run(self, stop: threading.Event, cycles: int | None = None) -> int:
        """Run passes until `stop` is set (or `cycles` ran); return how many ran."""
        return repeat(self.cycle, HOT_EVERY.total_seconds(), stop, cycles)
