"""Backfill benchmark: 30 days of the default simulator universe (2,300 contracts).

1. Into each engine with rate limits out of the way (simulator and adapters time-scaled by
   1000): wall time, requests and rows/s; a second run right after (requests it still makes).
2. With the simulator's real rate limits time-scaled by --time-scale (20) and adapters built
   with the same scale: wall time against the floor = max over exchanges of the fewest
   history requests (weight) that exchange needs divided by its allowed rate. Target <= 1.2x.

Run: .venv/bin/python bench/bench_backfill.py [--contracts 2300] [--days 30] [--time-scale 20]
     [--engines sqlite,postgresql] [--skip-limited]
PostgreSQL: a scratch database on TEST_DATABASE_URL (default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from config.settings import get_settings
from lib.backfill import run_backfill
from lib.db import normalise_url, open_database
from lib.exchanges import adapter_class
from lib.schema import funding_rates_historical
from lib.simulator import SimulatorConfig, running_simulator

PG_ADMIN = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ALL = ("binance", "bybit", "okx", "bitget", "gate", "kucoin", "hyperliquid", "dydx")

# The history endpoint's budget in the simulator (= the exchange's documentation):
# (weight units, per seconds, weight of one request, extra weight per row returned).
# OKX limits per instrument (10 / 2 s per instId), so no account-wide floor applies there.
HISTORY_BUDGET: dict[str, tuple[float, float, float, float] | None] = {
    "binance": (500, 300, 1, 0),  # /fapi/v1/fundingRate: 500 per 5 min per IP
    "bybit": (600, 5, 1, 0),
    "okx": None,
    "bitget": (20, 1, 1, 0),
    "gate": (200, 10, 1, 0),
    "kucoin": (2000, 30, 5, 0),
    "hyperliquid": (1200, 60, 20, 1 / 20),  # fundingHistory: 20 + 1 per 20 rows
    "dydx": (100, 10, 1, 0),
}


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    if kind == "sqlite":
        yield f"sqlite:///{workdir / f'bench-{uuid.uuid4().hex[:6]}.db'}"
        return
    name = f"bench_backfill_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(PG_ADMIN), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def floor_seconds(sim: object, days: float, time_scale: float) -> tuple[float, str]:
    """The slowest exchange's fewest-requests time at its allowed rate (scaled)."""
    universe = sim.universe  # type: ignore[attr-defined]
    end = universe.now()
    start = end - timedelta(days=days)
    worst, which = 0.0, ""
    for ex in ALL:
        budget = HISTORY_BUDGET[ex]
        if budget is None:
            continue
        units, period, per_request, per_row = budget
        page = adapter_class(ex).history_page_size
        weight = 0.0
        for c in universe.contracts(ex):
            n = len(universe.settlements(ex, c.symbol, start, end))
            requests = max(1, math.ceil(n / page))
            weight += requests * per_request + n * per_row
        seconds = weight / (units / period * time_scale)
        if seconds > worst:
            worst, which = seconds, ex
    return worst, which


def one_run(url: str, days: float, time_scale: float, sim: object) -> dict[str, float]:
    engine = open_database(url)
    try:
        sim.reset_counts()  # type: ignore[attr-defined]
        t0 = time.perf_counter()
        result = run_backfill(engine, days, ALL, parallel=True, stop=threading.Event(),
                              time_scale=time_scale)
        wall = time.perf_counter() - t0
        requests = sum(sim.request_counts().values())  # type: ignore[attr-defined]
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(funding_rates_historical))
            total = int(rows.scalar_one())
        return {"wall": wall, "requests": requests, "rows": total,
                "inserted": result.status["overall"]["records"],
                "completeness": result.status["overall"]["completeness"]}
    finally:
        engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=2300)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--time-scale", type=float, default=20)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--skip-limited", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    os.environ["RUNTIME_DIR"] = str(workdir / "run")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    free = 1000.0
    with running_simulator(SimulatorConfig(seed=42, total_contracts=args.contracts,
                                           time_scale=free)) as sim:
        os.environ["SIMULATOR_URL"] = sim.url
        get_settings.cache_clear()
        for kind in args.engines.split(","):
            with database(kind, workdir) as url:
                first = one_run(url, args.days, free, sim)
                second = one_run(url, args.days, free, sim)
            print(f"{kind:10s} first run: {first['wall']:.1f} s, {first['requests']:.0f} "
                  f"requests, {first['inserted']:.0f} rows, "
                  f"{first['inserted'] / first['wall']:.0f} rows/s, completeness "
                  f"{first['completeness']:.2f}%")
            print(f"{kind:10s} second run: {second['wall']:.1f} s, {second['requests']:.0f} "
                  f"requests, {second['inserted']:.0f} rows")
    if args.skip_limited:
        return
    with running_simulator(SimulatorConfig(seed=42, total_contracts=args.contracts,
                                           time_scale=args.time_scale)) as sim:
        os.environ["SIMULATOR_URL"] = sim.url
        get_settings.cache_clear()
        floor, slowest = floor_seconds(sim, args.days, args.time_scale)
        with database("sqlite", workdir) as url:
            limited = one_run(url, args.days, args.time_scale, sim)
        print(f"rate-limited (time scale {args.time_scale:g}): {limited['wall']:.1f} s, "
              f"{limited['requests']:.0f} requests; floor {floor:.1f} s ({slowest}); "
              f"ratio {limited['wall'] / floor:.2f}x (target <= 1.2x)")


if __name__ == "__main__":
    main()
