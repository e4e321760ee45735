"""How long de-duplication and cleanup take on a full 30-day history (about 1.6 M rows).

Loads 2,300 contracts x 30 days (95 % hourly, 5 % 8-hourly) plus a small share of defects into a
history table without its unique key (as imports have it) through insert_ignore, then
times fix_duplicates and cleanup_history, dry run and real, on each engine.

    python bench/bench_integrity.py [--engines sqlite,postgresql] [--contracts 2300] [--days 30]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, text
from sqlalchemy.engine import make_url

from config.settings import SUPPORTED_EXCHANGES
from lib.exchanges.symbols import k_prefix_exchanges
from lib.integrity.cleanup import cleanup_history
from lib.integrity.dedupe import fix_duplicates
from lib.storage.engine import insert_ignore, normalise_url, open_database
from lib.storage.schema import funding_rates_historical
from lib.timeutils import utcnow


def _load(relative: str) -> Any:
    """A module of the repository that is not installed (tests/, scripts/), by its path."""
    path = Path(__file__).resolve().parents[1] / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# the tests' defective history table, and the k-prefix exchanges as the script finds them
loose_history_table = _load("tests/integrity/history_fixtures.py").loose_history_table
K_PREFIX = k_prefix_exchanges()

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
EXCHANGES = SUPPORTED_EXCHANGES
H = timedelta(hours=1)


def generate(contracts: int, days: int, defect_every: int) -> Iterator[dict[str, Any]]:
    """Rows lazily; every `defect_every`-th row also yields one defect (dup or invalid)."""
    now_h = utcnow().replace(minute=0, second=0, microsecond=0)
    start = now_h - timedelta(days=days) + H
    n = 0
    for c in range(contracts):
        exchange = EXCHANGES[c % len(EXCHANGES)]
        symbol = f"C{c}USDT"
        interval = 8 if c % 20 == 0 else 1
        for k in range(days * 24 // interval):
            when = start + k * interval * H
            row = {"exchange": exchange, "symbol": symbol, "funding_time": when,
                   "funding_rate": 0.0001, "mark_price": 1.0, "funding_interval_hours": interval,
                   "collected_at": when, "source": "backfill"}
            yield row
            n += 1
            if n % defect_every == 0:
                yield _defect(row, n // defect_every)


def _defect(row: dict[str, Any], i: int) -> dict[str, Any]:
    kind = i % 6
    bad = dict(row)
    if kind == 0:
        bad["funding_time"] = row["funding_time"] + timedelta(milliseconds=1500)  # jitter dup
    elif kind == 1:
        bad["symbol"] = row["symbol"].lower()  # case dup
    elif kind == 2:
        bad["funding_rate"] = None
    elif kind == 3:
        bad["funding_rate"] = 0.5
    elif kind == 4:
        bad["funding_time"] = row["funding_time"] + timedelta(days=40)  # future
    else:
        bad["funding_time"] = row["funding_time"] - timedelta(days=60)  # expired
    return bad


def _timed(label: str, fn: Any) -> Any:
    started = time.perf_counter()
    result = fn()
    print(f"  {label:<28} {time.perf_counter() - started:7.2f} s")
    return result


def bench(url: str, args: argparse.Namespace) -> None:
    engine = open_database(url)
    loose = loose_history_table(MetaData())
    with engine.begin() as conn:
        funding_rates_historical.drop(conn)
        loose.create(conn)
    rows = generate(args.contracts, args.days, args.defect_every)
    with engine.begin() as conn:
        loaded = _timed("load (insert_ignore)", lambda: insert_ignore(conn, loose, rows))
    print(f"  rows loaded                  {loaded:,}")
    dry = _timed("dedupe --dry-run", lambda: fix_duplicates(engine, dry_run=True,
                                                            k_prefix_exchanges=K_PREFIX))
    real = _timed("dedupe", lambda: fix_duplicates(engine, k_prefix_exchanges=K_PREFIX))
    print(f"  duplicate sets {dry.total('sets'):,}, removed {real.removed:,}, "
          f"normalised {real.rewritten:,}, key restored: {real.key_form}")
    found = _timed("cleanup --dry-run", lambda: cleanup_history(engine, dry_run=True))
    done = _timed("cleanup (+ vacuum)", lambda: cleanup_history(engine))
    print(f"  invalid {found.found}, deleted {done.deleted:,}, "
          f"size {done.size_before / 2**20:.0f} MB -> {done.size_after / 2**20:.0f} MB")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--contracts", type=int, default=2300)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--defect-every", type=int, default=200, help="one defect per N rows")
    args = parser.parse_args()
    for name in args.engines.split(","):
        print(f"{name}:")
        if name == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                bench(f"sqlite:///{Path(tmp) / 'bench.db'}", args)
            continue
        db = f"bench_integrity_{uuid.uuid4().hex[:8]}"
        admin = create_engine(normalise_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{db}"'))
        try:
            bench(make_url(TEST_DATABASE_URL).set(database=db)
                  .render_as_string(hide_password=False), args)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            admin.dispose()


if __name__ == "__main__":
    main()
