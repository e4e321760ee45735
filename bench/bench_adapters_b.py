"""Gate, KuCoin, Hyperliquid and dYdX adapters against a full-size simulator (about 2,300
contracts over all venues): requests and wall time for the contract list, the snapshot of every
contract, and 30 days of history for a few contracts, plus pure parse throughput.

Run: python bench/bench_adapters_b.py  (prints one line per measurement)
"""

from __future__ import annotations

import time
from datetime import timedelta

import requests

from config.settings import load_settings
from lib.exchanges import get_adapter
from lib.exchanges.venues import dydx as dydx_module
from lib.exchanges.venues import gate, hyperliquid, kucoin
from lib.simulator import SimulatorConfig, running_simulator
from lib.timeutils import floor_to_interval

EXCHANGES = ("gate", "kucoin", "hyperliquid", "dydx")
SNAPSHOT_CALLS = {
    "gate": ("GET", "/api/v4/futures/usdt/contracts", None, gate.parse_current),
    "kucoin": ("GET", "/api/v1/contracts/active", None, kucoin.parse_current),
    "hyperliquid": ("POST", "/info", {"type": "metaAndAssetCtxs"}, hyperliquid.parse_current),
    "dydx": ("GET", "/v4/perpetualMarkets", None, dydx_module.parse_current),
}
HISTORY_CONTRACTS = 5
HISTORY_DAYS = 30
PARSE_ROUNDS = 200


def main() -> None:
    with running_simulator(SimulatorConfig(seed=42, total_contracts=2300)) as sim:
        settings = load_settings({"SIMULATOR_URL": sim.url})
        for exchange in EXCHANGES:
            adapter = get_adapter(exchange, settings)
            t0 = time.perf_counter()
            contracts = adapter.list_contracts()
            t1 = time.perf_counter()
            snapshots = adapter.fetch_current()
            t2 = time.perf_counter()
            print(f"{exchange}: list_contracts {len(contracts)} contracts, 1 request, "
                  f"{(t1 - t0) * 1000:.0f} ms; fetch_current {len(snapshots)} snapshots, "
                  f"1 request, {(t2 - t1) * 1000:.0f} ms")

            before = adapter.request_count
            rows = 0
            t0 = time.perf_counter()
            for contract in contracts[:HISTORY_CONTRACTS]:
                end = floor_to_interval(sim.universe.now(), contract.funding_interval_hours)
                rows += len(adapter.fetch_history(contract, end - timedelta(days=HISTORY_DAYS),
                                                  end))
            elapsed = time.perf_counter() - t0
            print(f"{exchange}: history {HISTORY_CONTRACTS} contracts x {HISTORY_DAYS} d = "
                  f"{rows} rows, {adapter.request_count - before} requests, "
                  f"{elapsed * 1000:.0f} ms ({elapsed / HISTORY_CONTRACTS * 1000:.1f} ms/contract)")

            method, path, body, parse = SNAPSHOT_CALLS[exchange]
            payload = requests.request(method, f"{sim.url}/{exchange}{path}", json=body,
                                       timeout=30).json()
            t0 = time.perf_counter()
            for _ in range(PARSE_ROUNDS):
                parse(payload)
            per = (time.perf_counter() - t0) / PARSE_ROUNDS
            print(f"{exchange}: parse_current of the full snapshot {per * 1000:.2f} ms "
                  f"({len(snapshots) / per:,.0f} contracts/s)")
            adapter.close()


if __name__ == "__main__":
    main()
