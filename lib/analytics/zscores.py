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
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
)

from lib.analytics.current import fresh_rate_8h, fresh_since
from lib.analytics.inputs import require_history
from lib.analytics.loop import repeat
from lib.analytics.series import settled_interval
from lib.analytics.units import APR_PER_8H, confidence_sql
from lib.storage.schema import (
    UTCDateTime,
    contracts,
    exchange_data,
    funding_rates_historical,
    funding_statistics,
)
from lib.storage.sqlfunctions import dialect_insert, epoch_hour, percentile, tune_for_bulk
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


def _history(start: datetime, end: datetime, only_due: bool) -> Any:
    f = funding_rates_historical
    query = (select(f.c.exchange, f.c.symbol, f.c.funding_time,
                    (cast(f.c.funding_rate, Float) * 8.0 / settled_interval()).label("x"))
             .where(f.c.funding_time > start, f.c.funding_time <= end))
    if only_due:
        query = query.join(_due, and_(_due.c.exchange == f.c.exchange,
                                      _due.c.symbol == f.c.symbol))
    return query.subquery("h")


def _aggregates(h: Any, since: datetime) -> Any:
    """Per contract: the statistics of its settled rate_8h and where its current rate falls."""
    e = exchange_data
    current = fresh_rate_8h(e, "funding_rate", since)
    n = func.count()
    return (
        select(
            h.c.exchange, h.c.symbol, n.label("n"), func.avg(h.c.x).label("mean_8h"),
            func.stddev_samp(h.c.x).label("std_8h"), func.min(h.c.x).label("min_8h"),
            func.max(h.c.x).label("max_8h"), percentile(h.c.x, 0.5).label("median_8h"),
            func.max(h.c.funding_time).label("last_time"),
            func.max(current).label("current_8h"),
            func.max(fresh_rate_8h(e, "predicted_rate", since)).label("predicted_8h"),
            case((func.max(current).is_(None), None),
                 else_=100.0 * func.sum(case((h.c.x <= current, 1.0), else_=0.0)) / n,
                 ).label("percentile"),
        )
        .select_from(h)
        .outerjoin(e, and_(e.c.exchange == h.c.exchange, e.c.symbol == h.c.symbol))
        .group_by(h.c.exchange, h.c.symbol)
        .subquery("agg")
    )


def _expected(agg: Any, latest: Any, start: datetime, end: datetime) -> Any:
    """Settlements the schedule had in (start, end]: from the later of start and the listing,
    on the contract's interval grid (the latest settlement's interval if it is not listed)."""
    c = contracts
    interval = cast(func.coalesce(c.c.funding_interval_hours, latest.c.funding_interval_hours),
                    Integer)
    first = case((c.c.listed_at > start, epoch_hour(c.c.listed_at)), else_=to_ms(start) // HOUR_MS)
    end_h = to_ms(end) // HOUR_MS
    return case((interval > 0, end_h / interval - first / interval), else_=None)


def statistics_select(window_days: int, now: datetime, max_age: timedelta | None,
                      only_due: bool = False) -> Any:
    """One `funding_statistics` row per contract with settlements in the window."""
    start = now - timedelta(days=window_days)
    agg = _aggregates(_history(start, now, only_due), fresh_since(now, max_age))
    latest = funding_rates_historical.alias("latest")
    c = contracts
    latest_8h = cast(latest.c.funding_rate, Float) * 8.0 / settled_interval(latest)
    expected = _expected(agg, latest, start, now)
    zscore = case((agg.c.std_8h > 0, (agg.c.current_8h - agg.c.mean_8h) / agg.c.std_8h),
                  else_=None)
    apr = {name: agg.c[f"{name}_8h"] * APR_PER_8H
           for name in ("mean", "std", "min", "max", "median", "current", "predicted")}
    return (
        select(
            agg.c.exchange, agg.c.symbol, literal(window_days).label("window_days"), agg.c.n,
            agg.c.mean_8h, agg.c.std_8h, latest_8h.label("latest_8h"), zscore.label("zscore"),
            agg.c.percentile, literal(now, UTCDateTime()).label("calculated_at"),
            expected.label("expected_n"),
            case((expected <= 0, None), (agg.c.n >= expected, 1.0),
                 else_=cast(agg.c.n, Float) / expected).label("completeness"),
            confidence_sql(agg.c.n).label("confidence"),
            agg.c.min_8h, agg.c.max_8h, agg.c.median_8h, agg.c.current_8h, agg.c.predicted_8h,
            *(value.label(f"{name}_apr") for name, value in apr.items()),
            (latest_8h * APR_PER_8H).label("latest_apr"),
        )
        .select_from(agg)
        .join(latest, and_(latest.c.exchange == agg.c.exchange,
                           latest.c.symbol == agg.c.symbol,
                           latest.c.funding_time == agg.c.last_time))
        .outerjoin(c, and_(c.c.exchange == agg.c.exchange, c.c.symbol == agg.c.symbol))
        .where(agg.c.n > 0)
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
        rows = 0
        for days in WINDOWS_DAYS:
            query = statistics_select(days, now, max_age, only_due=keys is not None)
            rows += _upsert(conn, query)
        if keys is not None:
            _due.drop(conn)
    count = rows // len(WINDOWS_DAYS) if keys is None else len(keys)
    result = ZscorePass(count, rows, time.perf_counter() - t0, keys is None)
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
