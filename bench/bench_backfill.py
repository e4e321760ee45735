"""Backfill benchmark: 30 days of the default simulator universe (2,300 contracts).

1. Into each engine with rate limits out of the way (simulator and adapters time-scaled by
   1000): wall time, requests and rows/s; a second run right after (requests it still makes).
2. With the simulator's real rate limits time-scaled by --time-scale (5) and adapters built
   with the same scale: wall time against the floor = max over exchanges of the fewest
   history requests (weight) that exchange needs divided by its allowed rate. Target <= 1.2x.
   Each exchange's history budget is its simulator venue's declared `history_cost` and
   `rate_limits` (= the exchange's documentation); a limit counted per instrument (OKX: 10 / 2 s
   per instId) sets no exchange-wide floor.

The simulator runs in a process of its own, as a remote exchange would: in the client's process
its JSON work would compete with the client's for one interpreter lock, and the wall time would
measure the simulator as much as the backfill.

Run: .venv/bin/python bench/bench_backfill.py [--contracts 2300] [--days 30] [--time-scale 5]
     [--engines sqlite,postgresql] [--skip-limited]

The rate-limited run measures the limiter only while it is rate-bound: its floor must be above
what the same work takes with no limits on this machine (the free first run). With sixteen
venues (3,028 contracts) that run takes 65-85 s on a 2-core machine, hence time scale 5 (floor
about 128 s, Hyperliquid's) rather than 10 (64 s, under the free run: 1.31x that measured the
machine's CPU, not the limiter).
PostgreSQL: a scratch database on TEST_DATABASE_URL (default postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from config.settings import SUPPORTED_EXCHANGES, get_settings
from lib.exchanges import adapter_class
from lib.history.backfill import run_backfill
from lib.simulator import VENUES, SimulatorConfig, Universe, running_simulator
from lib.simulator.server import Simulator
from lib.storage.engine import normalise_url, open_database
from lib.storage.schema import funding_rates_historical

PG_ADMIN = os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
ALL = SUPPORTED_EXCHANGES


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


def floor_seconds(universe: Universe, days: float, time_scale: float) -> tuple[float, str]:
    """The slowest exchange's fewest-requests time at its allowed rate (scaled)."""
    end = universe.now()
    start = end - timedelta(days=days)
    worst, which = 0.0, ""
    for ex in ALL:
        cost = VENUES[ex].history_cost
        limit = VENUES[ex].limit(cost.limit)
        if limit.param:  # counted per instrument: no exchange-wide floor
            continue
        adapter = adapter_class(ex)
        page = adapter.history_page_size
        weight = 0.0
        rows = 0
        for c in universe.contracts(ex):
            n = len(universe.settlements(ex, c.symbol, start, end))
            rows += n
            requests = max(1, math.ceil(n / page))
            weight += requests * cost.per_request + n * cost.per_row
        if adapter.bulk_history_page_size:  # one walk across contracts: pages of all rows
            weight = (math.ceil(rows / adapter.bulk_history_page_size) * cost.per_request
                      + rows * cost.per_row)
        seconds = weight / (limit.weight / limit.window_s * time_scale)
        if seconds > worst:
            worst, which = seconds, ex
    return worst, which


def _serve(config: SimulatorConfig, urls: Queue, stop: Event) -> None:  # type: ignore[type-arg]
    with running_simulator(config) as sim:
        urls.put(sim.url)
        stop.wait()


@contextmanager
def simulator_process(config: SimulatorConfig) -> Iterator[str]:
    """A simulator in its own process; yields its URL."""
    context = multiprocessing.get_context("fork")
    urls: Queue = context.Queue()  # type: ignore[type-arg]
    stop = context.Event()
    process = context.Process(target=_serve, args=(config, urls, stop), daemon=True)
    process.start()
    try:
        yield urls.get(timeout=60)
    finally:
        stop.set()
        process.join(10)


def one_run(url: str, days: float, time_scale: float) -> dict[str, Any]:
    engine = open_database(url)
    try:
        t0 = time.perf_counter()
        result = run_backfill(engine, days, ALL, parallel=True, stop=threading.Event(),
                              time_scale=time_scale)
        wall = time.perf_counter() - t0
        with engine.connect() as conn:
            rows = conn.execute(select(func.count()).select_from(funding_rates_historical))
            total = int(rows.scalar_one())
        overall = result.status["overall"]
        per_venue = {ex: (e["requests"], e.get("requests_min", 0))
                     for ex, e in result.status["exchanges"].items()}
        return {"wall": wall, "requests": overall["requests"], "rows": total,
                "inserted": overall["records"], "completeness": overall["completeness"],
                "per_venue": per_venue}
    finally:
        engine.dispose()


def print_requests(per_venue: dict[str, tuple[int, int]]) -> None:
    """Requests each venue's first run made against the minimum its plan computed (the
    listing as made plus the fewest history requests: pages across contracts where the venue
    has them, else each contract's ranges in full pages). Target <= 1.2x."""
    parts = [f"{ex} {made}/{least} ({made / least:.2f}x)" if least else f"{ex} {made}/-"
             for ex, (made, least) in per_venue.items()]
    worst = max((made / least for made, least in per_venue.values() if least), default=0.0)
    print(f"requests made/minimum: {', '.join(parts)}; worst {worst:.2f}x (target <= 1.2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contracts", type=int, default=2300)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--time-scale", type=float, default=5)
    parser.add_argument("--engines", default="sqlite,postgresql")
    parser.add_argument("--skip-limited", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench-backfill-"))
    os.environ["RUNTIME_DIR"] = str(workdir / "run")
    os.environ.setdefault("LOG_LEVEL", "WARNING")

    free = 1000.0
    unlimited_wall = 0.0
    with simulator_process(SimulatorConfig(seed=42, total_contracts=args.contracts,
                                           time_scale=free)) as sim_url:
        os.environ["SIMULATOR_URL"] = sim_url
        get_settings.cache_clear()
        for kind in args.engines.split(","):
            with database(kind, workdir) as url:
                first = one_run(url, args.days, free)
                second = one_run(url, args.days, free)
            unlimited_wall = max(unlimited_wall, first["wall"])
            print(f"{kind:10s} first run: {first['wall']:.1f} s, {first['requests']:.0f} "
                  f"requests, {first['inserted']:.0f} rows, "
                  f"{first['inserted'] / first['wall']:.0f} rows/s, completeness "
                  f"{first['completeness']:.2f}%")
            print(f"{kind:10s} second run: {second['wall']:.1f} s, {second['requests']:.0f} "
                  f"requests, {second['inserted']:.0f} rows")
            if kind == args.engines.split(",")[0]:
                print_requests(first["per_venue"])
    if args.skip_limited:
        return
    limited_config = SimulatorConfig(seed=42, total_contracts=args.contracts,
                                     time_scale=args.time_scale)
    floor, slowest = floor_seconds(Simulator(limited_config).universe, args.days,
                                   args.time_scale)
    with simulator_process(limited_config) as sim_url:
        os.environ["SIMULATOR_URL"] = sim_url
        get_settings.cache_clear()
        with database("sqlite", workdir) as url:
            limited = one_run(url, args.days, args.time_scale)
        print(f"rate-limited (time scale {args.time_scale:g}): {limited['wall']:.1f} s, "
              f"{limited['requests']:.0f} requests; floor {floor:.1f} s ({slowest}); "
              f"ratio {limited['wall'] / floor:.2f}x (target <= 1.2x)")
    if unlimited_wall and unlimited_wall > floor:
        print(f"note: with no limits the same work took {unlimited_wall:.1f} s here, above the "
              "floor: the ratio measures this machine's CPU, not the limiter (lower "
              "--time-scale)")


if __name__ == "__main__":
    main()
