"""Benchmark: one current-funding cycle of every registered exchange from the simulator.

With 100 ms of latency injected into every simulated reply, it measures each exchange's own
request chain alone (fetch_current), then one cycle of the real collector (all exchanges
concurrently, rows written to a SQLite file) and prints requests per exchange and wall times.
Targets: requests per exchange equal to the exchange's minimum for a full snapshot (the venue's
declared `snapshot_requests`: the fewest requests that give every contract's rate, next funding
time and interval, plus mark/index price, open interest and volume where the exchange has them
in bulk, per ../shared/exchange-apis.md), and the cycle's wall time within 1.2x of the slowest
single exchange's chain.

The simulator runs in a process of its own, as remote exchanges would: in the collector's
process its JSON work for some 3,000 contracts would compete with the collector's for one
interpreter lock, and the cycle would measure the simulator as much as the collector
(`lib.simulator.testing.simulator_process`; request counts come back over a pipe).

Each measurement starts after `QUIET_S` without requests, longer than the shortest rate-limit
window of any venue (OKX and MEXC count per 2 s): the collector asks each venue once per 30 s,
and back-to-back cycles would time OKX's own limiter (10 per 2 s against its 3 requests a
cycle) rather than the cycle.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Any

from tabulate import tabulate

from lib.simulator import SimulatorConfig
from lib.simulator.testing import simulator_process

QUIET_S = 2.5  # see the docstring: every short rate-limit window has rolled over


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--contracts", type=int, default=2300)
    args = parser.parse_args()

    config = SimulatorConfig(seed=42, total_contracts=args.contracts,
                             faults=f"latency={args.latency_ms}ms")
    with tempfile.TemporaryDirectory() as tmp, simulator_process(config) as sim:
        os.environ.update(SIMULATOR_URL=sim.url, DATABASE_URL=f"sqlite:///{tmp}/cycle.db",
                          RUNTIME_DIR=tmp, LOG_DIR=tmp)
        from config.settings import SUPPORTED_EXCHANGES, get_settings
        from lib.collection.collector import Collector
        from lib.exchanges import get_adapter
        from lib.simulator import VENUES
        from lib.storage.engine import open_database

        settings = get_settings()
        solo: dict[str, tuple[float, int]] = {}
        for ex in SUPPORTED_EXCHANGES:
            adapter = get_adapter(ex, settings)
            adapter.fetch_current()  # warm the simulator's series for this venue
            sim.reset_counts()
            time.sleep(QUIET_S)
            started = time.perf_counter()
            adapter.fetch_current()
            solo[ex] = (time.perf_counter() - started, sim.request_counts().get(ex, 0))
            adapter.close()

        collector = Collector(open_database(), settings=settings)
        collector.run_cycle()  # first cycle also lists contracts
        walls = []
        document: dict[str, Any] = {}
        counts: dict[str, int] = {}
        for _ in range(3):  # the median of three cycles: one alone is at the machine's mercy
            sim.reset_counts()
            time.sleep(QUIET_S)
            started = time.perf_counter()
            document = collector.run_cycle()
            walls.append(time.perf_counter() - started)
            counts = sim.request_counts()
        collector.close()

    rows = []
    for ex in SUPPORTED_EXCHANGES:
        m = document["exchanges"][ex]
        least = VENUES[ex].snapshot_requests
        rows.append([ex, m["record_count"], counts.get(ex, 0), least,
                     "ok" if counts.get(ex, 0) == least else "MORE",
                     f"{solo[ex][0] * 1000:.0f}"])
    print(tabulate(rows, headers=["exchange", "records", "requests/cycle", "minimum", "",
                                  "alone ms"]))
    slowest = max(t for t, _ in solo.values())
    wall = sorted(walls)[1]
    print(f"cycle wall time {wall * 1000:.0f} ms (median of 3); slowest single exchange "
          f"{slowest * 1000:.0f} ms; ratio {wall / slowest:.2f} (target <= 1.2)")


if __name__ == "__main__":
    main()
