"""Benchmark: one current-funding cycle of every registered exchange from the simulator.

With 100 ms of latency injected into every simulated reply, it measures each exchange's own
request chain alone (fetch_current), then one cycle of the real collector (all exchanges
concurrently, rows written to a SQLite file) and prints requests per exchange and wall times.
Targets: requests per exchange equal to the exchange's minimum for a full snapshot (the venue's
declared `snapshot_requests`: the fewest requests that give every contract's rate, next funding
time and interval, plus mark/index price, open interest and volume where the exchange has them
in bulk, per ../shared/exchange-apis.md), and the cycle's wall time within 1.2x of the slowest
single exchange's chain.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

from tabulate import tabulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--latency-ms", type=int, default=100)
    parser.add_argument("--contracts", type=int, default=2300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp, _simulator(args) as sim:
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
            started = time.perf_counter()
            adapter.fetch_current()
            solo[ex] = (time.perf_counter() - started, sim.request_counts().get(ex, 0))
            adapter.close()

        collector = Collector(open_database(), settings=settings)
        collector.run_cycle()  # first cycle also lists contracts
        sim.reset_counts()
        started = time.perf_counter()
        document = collector.run_cycle()
        wall = time.perf_counter() - started
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
    print(f"cycle wall time {wall * 1000:.0f} ms; slowest single exchange {slowest * 1000:.0f} ms;"
          f" ratio {wall / slowest:.2f} (target <= 1.2)")


def _simulator(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from lib.simulator import SimulatorConfig, running_simulator

    return running_simulator(SimulatorConfig(
        seed=42, total_contracts=args.contracts, faults=f"latency={args.latency_ms}ms"))


if __name__ == "__main__":
    main()
