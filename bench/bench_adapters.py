"""Every registered exchange's adapter against a full-size simulator (about 2,300 contracts over
all venues): requests and wall time for the contract list, the snapshot of every contract, and
30 days of history for a few contracts, plus pure parse throughput of the bulk snapshot reply.

The exchanges come from the registry (`config.settings.SUPPORTED_EXCHANGES`); the request whose
reply `parse_current` reads is the venue's declared `snapshot_call`.

Run: python bench/bench_adapters.py [--exchanges gate,kucoin]  (one line per measurement)
"""

from __future__ import annotations

import argparse
import importlib
import time
from datetime import timedelta
from typing import Any

import requests

from config.settings import SUPPORTED_EXCHANGES, load_settings
from lib.exchanges import get_adapter
from lib.exchanges.base import ExchangeAdapter
from lib.simulator import VENUES, SimulatorConfig, SimulatorServer, running_simulator
from lib.timeutils import floor_to_interval

HISTORY_CONTRACTS = 5
HISTORY_DAYS = 30
PARSE_ROUNDS = 200


def _timed_requests(sim: SimulatorServer, exchange: str, action: Any) -> tuple[Any, int, float]:
    """Run `action()`; return its result, the requests it sent and its wall time."""
    sim.reset_counts()
    t0 = time.perf_counter()
    result = action()
    return result, sim.request_counts().get(exchange, 0), time.perf_counter() - t0


def _snapshot_payload(sim: SimulatorServer, exchange: str) -> Any:
    call = VENUES[exchange].snapshot_call
    reply = requests.request(call.method, f"{sim.url}/{exchange}{call.path}",
                             params=dict(call.query), json=call.body, timeout=30)
    reply.raise_for_status()
    return reply.json()


def bench_exchange(sim: SimulatorServer, adapter: ExchangeAdapter, exchange: str) -> None:
    contracts, n_list, t_list = _timed_requests(sim, exchange, adapter.list_contracts)
    snapshots, n_current, t_current = _timed_requests(sim, exchange, adapter.fetch_current)
    print(f"{exchange}: list_contracts {len(contracts)} contracts, {n_list} requests, "
          f"{t_list * 1000:.0f} ms; fetch_current {len(snapshots)} snapshots, "
          f"{n_current} requests, {t_current * 1000:.0f} ms")

    def history() -> int:
        rows = 0
        for contract in contracts[:HISTORY_CONTRACTS]:
            end = floor_to_interval(sim.universe.now(), contract.funding_interval_hours)
            rows += len(adapter.fetch_history(contract, end - timedelta(days=HISTORY_DAYS), end))
        return rows

    rows, n_history, elapsed = _timed_requests(sim, exchange, history)
    print(f"{exchange}: history {HISTORY_CONTRACTS} contracts x {HISTORY_DAYS} d = "
          f"{rows} rows, {n_history} requests, "
          f"{elapsed * 1000:.0f} ms ({elapsed / HISTORY_CONTRACTS * 1000:.1f} ms/contract)")

    parse = importlib.import_module(type(adapter).__module__).parse_current
    payload = _snapshot_payload(sim, exchange)
    t0 = time.perf_counter()
    for _ in range(PARSE_ROUNDS):
        parse(payload)
    per = (time.perf_counter() - t0) / PARSE_ROUNDS
    print(f"{exchange}: parse_current of the full snapshot {per * 1000:.2f} ms "
          f"({len(snapshots) / per:,.0f} contracts/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--exchanges", default=",".join(SUPPORTED_EXCHANGES))
    args = parser.parse_args()
    with running_simulator(SimulatorConfig(seed=42, total_contracts=2300)) as sim:
        settings = load_settings({"SIMULATOR_URL": sim.url})
        for exchange in args.exchanges.split(","):
            adapter = get_adapter(exchange, settings)
            try:
                bench_exchange(sim, adapter, exchange)
            finally:
                adapter.close()


if __name__ == "__main__":
    main()
