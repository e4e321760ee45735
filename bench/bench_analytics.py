"""Analytics benchmark on both engines: 30 days of the default simulator universe.

The universe is the simulator's ground truth (seed 42, 2,300 contracts, its intervals, listings
inside the window and settlements the exchanges miss), written straight into the database
through the project's write path, as bench_db.py does. Then, per engine, with the targets:

- the full spread rebuild (the hourly leg series of 30 days) against a bare INSERT ... SELECT of
  the same rows into a table of the same shape, in the same run (target: within 2x);
- an incremental hourly update after the next hour's settlements (target: under 1 s), and the
  statistics refresh that follows it (no target);
- current opportunities for the whole universe (target: under 100 ms);
- one z-score pass over every contract, both windows (target: under 2 s);
- storage of the spread series: bytes per stored row and per spread row, and a year of this
  universe projected (target: at most 2 GB on PostgreSQL).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from bench_backfill import database  # the same throwaway databases
from sqlalchemy import Engine, MetaData, Table, UniqueConstraint, func, select, text

from lib.analytics.opportunities import current_opportunities
from lib.analytics.series import build_series
from lib.analytics.spread_stats import update_spread_statistics
from lib.analytics.zscores import calculate_zscores
from lib.simulator.universe import Universe
from lib.storage.engine import insert_ignore, open_database, upsert
from lib.storage.schema import (
    analytics_watermarks,
    arbitrage_leg_hours,
    arbitrage_legs,
    arbitrage_pairs,
    contracts,
    exchange_data,
    funding_rates_historical,
)
from lib.timeutils import floor_to_interval, to_ms, utcnow

DAYS = 30
HOURS_PER_YEAR = 8760
GB = 1e9
# the bench's hour: the next one settles every schedule (8 h, 4 h and 1 h legs all settle)
NOW_HOUR = floor_to_interval(utcnow() - timedelta(days=2), 8) - timedelta(hours=1)
NOW = NOW_HOUR + timedelta(minutes=5)
COLLECTED = utcnow() - timedelta(days=3)  # older than any build's watermark


@dataclass
class Universe30:
    contracts: list[dict[str, Any]]
    history: list[tuple[str, str, datetime, float, float]]
    snapshots: list[dict[str, Any]]
    next_hour: list[tuple[str, str, datetime, float, float]]


def build_dataset() -> Universe30:
    """The default universe's perpetuals, their 30-day history, current rates at NOW and the
    settlements of the hour after NOW."""
    u = Universe(seed=42, total_contracts=2300, now=NOW)
    start, now_ms, next_ms = NOW - timedelta(days=DAYS), to_ms(NOW), to_ms(NOW_HOUR) + 3_600_000
    out = Universe30([], [], [], [])
    for ex in u.exchanges:
        for c in u.contracts(ex):
            interval = float(c.interval_hours)
            out.contracts.append({
                "exchange": ex, "symbol": c.symbol,
                "canonical_symbol": f"{c.asset}/{c.quote}:{c.settle}", "base": c.asset,
                "quote": c.quote, "settle": c.settle, "multiplier": float(c.multiplier),
                "funding_interval_hours": interval, "listed_at": c.listed_at,
                "status": "trading", "first_seen": COLLECTED, "last_seen": COLLECTED,
                "ccxt_symbol": f"{c.base}/{c.quote}:{c.settle}", "contract_size": c.contract_size,
            })
            out.history.extend((ex, c.symbol, t, r, interval)
                               for t, r in u.settlements(ex, c.symbol, start, NOW))
            snap = u.snapshot(c, now_ms)
            out.snapshots.append({
                "exchange": ex, "symbol": c.symbol, "funding_rate": snap.rate,
                "funding_interval_hours": interval, "next_funding_time": snap.next_funding_time,
                "mark_price": snap.mark_price, "index_price": snap.index_price,
                "open_interest": snap.open_interest, "volume_24h": snap.volume_24h,
                "open_interest_unit": "base", "volume_unit": "base", "updated_at": NOW,
                "base": c.asset, "canonical_symbol": f"{c.asset}/{c.quote}:{c.settle}",
            })
            if next_ms % c.interval_ms == 0:
                rate = u.rate_at_index(c, next_ms // c.interval_ms)
                out.next_hour.append((ex, c.symbol, NOW_HOUR + timedelta(hours=1), rate,
                                      interval))
    return out


def _history_rows(items: list[tuple[str, str, datetime, float, float]],
                  collected: datetime) -> Iterator[dict[str, Any]]:
    for ex, sym, when, rate, interval in items:
        yield {"exchange": ex, "symbol": sym, "funding_time": when, "funding_rate": rate,
               "funding_interval_hours": interval, "collected_at": collected,
               "source": "backfill"}


def load(engine: Engine, data: Universe30) -> None:
    with engine.begin() as conn:
        insert_ignore(conn, contracts, data.contracts)
        upsert(conn, exchange_data, data.snapshots)
    rows = _history_rows(data.history, COLLECTED)
    while chunk := list(islice(rows, 100_000)):
        with engine.begin() as conn:
            insert_ignore(conn, funding_rates_historical, chunk)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - t0


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def bare_insert_select(engine: Engine) -> tuple[int, float]:
    """INSERT ... SELECT of every leg-hour row into an empty table of the same shape."""
    copy = Table("bench_copy", MetaData(), *(c._copy() for c in arbitrage_leg_hours.columns),
                 UniqueConstraint("leg_id", "ts", name="uq_bench_copy"))
    with engine.begin() as conn:
        copy.drop(conn, checkfirst=True)
        copy.create(conn)
    with engine.begin() as conn:
        t0 = time.perf_counter()
        n = conn.execute(text("INSERT INTO bench_copy (ts, leg_id, rate_8h) "
                              "SELECT ts, leg_id, rate_8h FROM arbitrage_leg_hours")).rowcount
        seconds = time.perf_counter() - t0
    with engine.begin() as conn:
        copy.drop(conn)
    return int(n), seconds


def empty_series(engine: Engine) -> None:
    """Back to no series at all, as before a first build (TRUNCATE on PostgreSQL: a DELETE would
    leave every row dead in the table and its index until a vacuum)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {arbitrage_leg_hours.name}"))
        else:
            conn.execute(arbitrage_leg_hours.delete())
        conn.execute(analytics_watermarks.delete())


def rebuild_against_bare(name: str, engine: Engine, rounds: int = 3) -> None:
    """Full builds into an empty table and bare copies of the same rows, alternated (the machine
    is shared: alternating keeps both under the same load); medians compared."""
    full_times, bare_times = [], []
    rows = 0
    for _ in range(rounds):
        n, t_bare = bare_insert_select(engine)
        bare_times.append(t_bare)
        empty_series(engine)
        full, t_full = timed(lambda: build_series(engine, DAYS, now=NOW))
        full_times.append(t_full)
        rows = full.rows_written
        assert rows == n, (rows, n)
    t_full, t_bare = statistics.median(full_times), statistics.median(bare_times)
    report(name, f"full spread rebuild ({rows:,} leg hours)",
           f"{t_full:.2f} s (median of {rounds})")
    report(name, f"bare INSERT ... SELECT ({rows:,} rows)", f"{t_bare:.2f} s (median of {rounds})")
    report(name, "  rebuild / bare insert", f"{t_full / t_bare:.2f}x", "target <= 2x")


def sizes(engine: Engine) -> dict[str, int]:
    """Bytes on disk of the spread series' tables, indexes included."""
    names = [t.name for t in (arbitrage_leg_hours, arbitrage_legs, arbitrage_pairs)]
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            return {n: int(conn.execute(text("SELECT pg_total_relation_size(:t)"),
                                        {"t": n}).scalar_one()) for n in names}
        return {n: int(conn.execute(text(
            "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name = :t OR name IN "
            "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = :t)"),
            {"t": n}).scalar_one()) for n in names}


def report(engine_name: str, label: str, figure: str, target: str = "") -> None:
    print(f"{engine_name:<11} {label:<44} {figure:>26}   {target}", flush=True)


def bench_engine(name: str, url: str, data: Universe30) -> None:
    engine = open_database(url)
    try:
        load(engine, data)
        full = build_series(engine, DAYS, now=NOW)
        storage(name, engine)  # as a year of hourly appends leaves it: no dead rows
        rebuild_against_bare(name, engine)
        forced, t_force = timed(lambda: build_series(engine, DAYS, force=True, now=NOW))
        report(name, f"--force rebuild (delete {forced.rows_deleted:,} + insert)",
               f"{t_force:.2f} s")
        with engine.begin() as conn:
            _, t_stats = timed(lambda: update_spread_statistics(conn, NOW))
        report(name, f"spread statistics, {full.pairs.pairs:,} pairs x 2 windows",
               f"{t_stats:.2f} s", "(no target)")

        with engine.begin() as conn:
            insert_ignore(conn, funding_rates_historical,
                          list(_history_rows(data.next_hour, utcnow())))
        later = NOW + timedelta(hours=1)
        hourly, t_hourly = timed(lambda: build_series(engine, DAYS, now=later))
        report(name, f"incremental hourly update (+{hourly.rows_written:,} rows)",
               f"{t_hourly * 1000:.0f} ms", "target < 1 s")
        with engine.begin() as conn:
            _, t_stats = timed(lambda: update_spread_statistics(conn, later))
        report(name, "  then the statistics refresh", f"{t_stats:.2f} s", "(no target)")

        with engine.connect() as conn:
            runs = [timed(lambda: current_opportunities(conn, now=NOW)) for _ in range(6)]
        scan = runs[0][0]
        report(name, f"current opportunities ({len(scan.opportunities):,} pairs, "
               f"{scan.legs:,} legs)",
               f"{statistics.median(t for _, t in runs[1:]) * 1000:.0f} ms "
               f"(first {runs[0][1] * 1000:.0f})", "target < 100 ms")

        passes = [timed(lambda: calculate_zscores(engine, now=NOW)) for _ in range(3)]
        report(name, f"z-score pass ({passes[0][0].contracts:,} contracts x 2 windows)",
               f"{statistics.median(t for _, t in passes):.2f} s (median of 3)",
               "target < 2 s")
    finally:
        engine.dispose()


def storage(name: str, engine: Engine) -> None:
    """Bytes per row of the series and a year of this universe, projected."""
    rows = count(engine, arbitrage_leg_hours)
    legs = count(engine, arbitrage_legs)
    with engine.connect() as conn:
        spread_rows = int(conn.execute(text("SELECT count(*) FROM arbitrage_spreads")).scalar_one())
    size = sizes(engine)
    per_row = size["arbitrage_leg_hours"] / rows
    fixed = size["arbitrage_legs"] + size["arbitrage_pairs"]
    per_spread = (size["arbitrage_leg_hours"] + fixed) / spread_rows
    year = legs * HOURS_PER_YEAR * per_row + fixed
    report(name, f"stored leg-hour rows ({legs:,} legs)", f"{per_row:.1f} bytes/row")
    report(name, f"arbitrage_spreads rows ({spread_rows:,}, a view)",
           f"{per_spread:.1f} bytes/row")
    target = "target <= 2 GB" if engine.dialect.name == "postgresql" else "(target is for PG)"
    report(name, "a year of this universe, projected", f"{year / GB:.2f} GB", target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = build_dataset()
    print(f"dataset: {len(data.contracts):,} contracts, {len(data.history):,} settlements over "
          f"{DAYS} days, {len(data.next_hour):,} in the next hour "
          f"({time.perf_counter() - t0:.0f} s to generate)", flush=True)
    for name in [e.strip() for e in args.engines.split(",") if e.strip()]:
        if name not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown engine {name!r}: use sqlite,postgresql")
        with tempfile.TemporaryDirectory() as tmp, database(name, Path(tmp)) as url:
            bench_engine(name, url, data)


if __name__ == "__main__":
    main()
