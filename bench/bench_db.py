"""Bulk-load benchmark of the history write path (`storage.engine.insert_ignore`), both engines.

Loads a realistic 30-day history (2,300 contracts, 1 in 20 settling 8-hourly, the rest hourly:
about 1.6 M rows) in backfill order, then loads it again to time insert-or-ignore of rows that
are already stored. Rows come from a generator, so memory must stay flat however many rows.
Prints rows/s and peak RSS growth per engine; the target is >= 100,000 rows/s for the first load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from config.settings import SUPPORTED_EXCHANGES
from lib.storage.engine import insert_ignore, normalise_url, open_database
from lib.storage.schema import funding_rates_historical

EXCHANGES = SUPPORTED_EXCHANGES
CONTRACTS = 2_300
DAYS = 30
ROWS_PER_TRANSACTION = 100_000
START = datetime(2026, 1, 1, tzinfo=UTC)


def full_rows() -> int:
    """Rows in the whole 30-day history."""
    hourly = sum(1 for c in range(CONTRACTS) if c % 20 != 0)
    return hourly * DAYS * 24 + (CONTRACTS - hourly) * DAYS * 3


def history_rows(limit: int) -> Iterator[dict[str, object]]:
    """`limit` history rows, contract by contract, made on demand."""
    collected = START + timedelta(days=DAYS)

    def all_rows() -> Iterator[dict[str, object]]:
        for c in range(CONTRACTS):
            exchange = EXCHANGES[c % len(EXCHANGES)]
            interval = 8 if c % 20 == 0 else 1
            symbol = f"C{c:04d}USDT"
            for i in range(DAYS * 24 // interval):
                yield {
                    "exchange": exchange,
                    "symbol": symbol,
                    "funding_time": START + timedelta(hours=i * interval),
                    "funding_rate": ((c * 7919 + i * 104729) % 2001 - 1000) * 1e-7,
                    "mark_price": 100.0 + (c % 997) + i * 0.01,
                    "funding_interval_hours": float(interval),
                    "collected_at": collected,
                    "source": "backfill",
                }

    return islice(all_rows(), limit)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRss:
    """Samples resident memory in a thread; `growth` is peak minus the level at start."""

    def __init__(self) -> None:
        self.start = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, _rss_bytes())

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())

    @property
    def growth_mib(self) -> float:
        return (self.peak - self.start) / 2**20


def load(url: str, rows: int) -> tuple[int, float, float]:
    """Insert `rows` rows in 100k-row transactions; (inserted, seconds, peak RSS growth MiB)."""
    engine = open_database(url)
    inserted = 0
    source = history_rows(rows)
    try:
        with PeakRss() as mem:
            t0 = time.perf_counter()
            for _ in range(0, rows, ROWS_PER_TRANSACTION):
                with engine.begin() as conn:
                    chunk = islice(source, ROWS_PER_TRANSACTION)  # lazy: never a list here
                    inserted += insert_ignore(conn, funding_rates_historical, chunk)
            seconds = time.perf_counter() - t0
        with engine.connect() as conn:
            stored = conn.execute(
                select(func.count()).select_from(funding_rates_historical)).scalar_one()
        if stored < min(rows, inserted):
            raise SystemExit(f"only {stored} rows stored after inserting {inserted}")
    finally:
        engine.dispose()
    return inserted, seconds, mem.growth_mib


def bench_engine(name: str, url: str, rows: int) -> None:
    rows = min(rows, full_rows())
    for label in ("first load", "reload (all present)"):
        inserted, seconds, growth = load(url, rows)
        print(f"{name:<11} {label:<21} {rows:>10,} rows  {inserted:>10,} inserted  "
              f"{seconds:7.1f} s  {rows / seconds:>10,.0f} rows/s  peak RSS +{growth:.1f} MiB",
              flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_600_000, help="rows to load (cap)")
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    for name in engines:
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench_engine(name, f"sqlite:///{Path(tmp) / 'bench.db'}", args.rows)
        elif name == "postgresql":
            server = os.environ.get("TEST_DATABASE_URL",
                                    "postgresql://postgres@127.0.0.1:5432/postgres")
            db = f"bench_funding_{uuid.uuid4().hex[:10]}"
            admin = create_engine(normalise_url(server), isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{db}"'))
            try:
                url = make_url(server).set(database=db).render_as_string(hide_password=False)
                bench_engine(name, url, args.rows)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
                admin.dispose()
        else:
            raise SystemExit(f"unknown engine {name!r}: use sqlite,postgresql")


if __name__ == "__main__":
    main()
