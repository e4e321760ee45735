"""Record simulator replies for binance, bybit, okx and bitget as parse-test fixtures.

Run from the repo root: `python tests/exchanges/record_simulator_a.py`. Each file in
recordings/<id>/ holds the request, the (trimmed) reply and the ground truth the simulator had
for it ("expected", from `sim.universe`, never from our parsers), in the same layout as
record_simulator.py, so replay_b's checks read both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer

OUT = Path(__file__).resolve().parent / "recordings"
NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
KEEP = 6
Trim = Callable[[Any, set[str]], Any]


def _ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def _get(sim: SimulatorServer, exchange: str, path: str, params: dict[str, Any]) -> Any:
    reply = requests.get(f"{sim.url}/{exchange}{path}", params=params, timeout=10)
    reply.raise_for_status()
    return reply.json()


def _pick(sim: SimulatorServer, exchange: str) -> list[str]:
    """Some trading perpetuals (one with a multiplier, a 1 h and a 4 h one) and every decoy."""
    listed = sim.universe.instruments(exchange)
    decoys = [c.symbol for c in listed if c.status != "trading" or c.kind != "perpetual"]
    live = [c for c in listed if c.status == "trading" and c.kind == "perpetual"]
    scaled = [c.symbol for c in live if c.multiplier != 1][:1]
    hourly = [c.symbol for c in live if c.interval_hours == 1][:1]
    four = [c.symbol for c in live if c.interval_hours == 4][:1]
    return list(dict.fromkeys([c.symbol for c in live[:KEEP]] + scaled + hourly + four + decoys))


def _truth(sim: SimulatorServer, exchange: str, symbols: list[str]) -> dict[str, Any]:
    contracts, current = [], []
    for symbol in symbols:
        c = sim.universe.contract(exchange, symbol)
        contracts.append({"symbol": symbol, "asset": c.asset, "multiplier": c.multiplier,
                          "interval_hours": c.interval_hours, "listed_at_ms": _ms(c.listed_at),
                          "status": c.status, "kind": c.kind})
        if c.status == "trading" and c.kind == "perpetual":
            s = sim.universe.current(exchange, symbol)
            current.append({"symbol": symbol, "rate": s.rate, "interval_hours": s.interval_hours,
                            "next_funding_ms": _ms(s.next_funding_time),
                            "mark_price": s.mark_price, "index_price": s.index_price})
    return {"contracts": contracts, "current": current}


def _record(sim: SimulatorServer, exchange: str, name: str, path: str, params: dict[str, Any],
            trim: Trim) -> list[str]:
    wanted = _pick(sim, exchange)
    reply = trim(_get(sim, exchange, path, params), set(wanted))
    kept = [s for s in wanted if f'"{s}"' in json.dumps(reply)]
    _save(exchange, name, {"request": {"method": "GET", "path": path, "params": params},
                           "observed_at_ms": sim.universe.now_ms(), "response": reply,
                           "expected": _truth(sim, exchange, kept)})
    return kept


def _history(sim: SimulatorServer, exchange: str, path: str, params: dict[str, Any],
             symbol: str, start: datetime, end: datetime) -> None:
    settlements = sim.universe.settlements(exchange, symbol, start, end)
    _save(exchange, "history", {
        "request": {"method": "GET", "path": path, "params": params}, "symbol": symbol,
        "interval_hours": sim.universe.contract(exchange, symbol).interval_hours,
        "response": _get(sim, exchange, path, params),
        "expected": {"start_ms": _ms(start), "end_ms": _ms(end),
                     "settlements": [[_ms(t), r] for t, r in settlements]},
    })


def _save(exchange: str, name: str, record: dict[str, Any]) -> None:
    folder = OUT / exchange
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")


def _in_list(key: str) -> Trim:
    """Trim a bare array of objects to the wanted `key` values."""
    return lambda reply, keep: [row for row in reply if row[key] in keep]


def _in_field(outer: str, inner: str, key: str) -> Trim:
    """Trim `reply[outer][inner]` (or `reply[outer]` when inner is "")."""
    def trim(reply: Any, keep: set[str]) -> Any:
        if inner:
            body = dict(reply[outer], **{inner: [r for r in reply[outer][inner] if r[key] in keep]})
        else:
            body = [r for r in reply[outer] if r[key] in keep]
        return dict(reply, **{outer: body})
    return trim


def main() -> None:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, now=NOW)) as sim:
        end = datetime(2026, 3, 1, 8, tzinfo=UTC)
        start = end - timedelta(days=2)
        slack = timedelta(minutes=1)

        binance = _record(sim, "binance", "exchange_info", "/fapi/v1/exchangeInfo", {},
                          _in_field("symbols", "", "symbol"))
        _record(sim, "binance", "premium_index", "/fapi/v1/premiumIndex", {}, _in_list("symbol"))
        _save("binance", "funding_info", {"request": {"path": "/fapi/v1/fundingInfo"},
                                          "response": _get(sim, "binance",
                                                           "/fapi/v1/fundingInfo", {})})
        hourly = next(s for s in binance if sim.universe.contract("binance", s).interval_hours == 1)
        _history(sim, "binance", "/fapi/v1/fundingRate",
                 {"symbol": hourly, "startTime": _ms(start - slack),
                  "endTime": _ms(end + slack), "limit": 1000}, hourly, start, end)

        bybit = _record(sim, "bybit", "instruments", "/v5/market/instruments-info",
                        {"category": "linear", "limit": 1000},
                        _in_field("result", "list", "symbol"))
        _record(sim, "bybit", "tickers", "/v5/market/tickers", {"category": "linear"},
                _in_field("result", "list", "symbol"))
        _history(sim, "bybit", "/v5/market/funding/history",
                 {"category": "linear", "symbol": bybit[1], "startTime": _ms(start - slack),
                  "endTime": _ms(end + slack), "limit": 200}, bybit[1], start, end)

        okx = _record(sim, "okx", "instruments", "/api/v5/public/instruments",
                      {"instType": "SWAP"}, _in_field("data", "", "instId"))
        _record(sim, "okx", "funding_rate", "/api/v5/public/funding-rate", {"instId": "ANY"},
                _in_field("data", "", "instId"))
        _history(sim, "okx", "/api/v5/public/funding-rate-history",
                 {"instId": okx[2], "before": _ms(start - slack), "after": _ms(end + slack),
                  "limit": 400}, okx[2], start, end)

        bitget = _record(sim, "bitget", "contracts", "/api/v2/mix/market/contracts",
                         {"productType": "USDT-FUTURES"}, _in_field("data", "", "symbol"))
        for name, path in (("current_fund_rate", "/api/v2/mix/market/current-fund-rate"),
                           ("tickers", "/api/v2/mix/market/tickers")):
            _record(sim, "bitget", name, path, {"productType": "USDT-FUTURES"},
                    _in_field("data", "", "symbol"))
        # newest first and no time parameters: page 1 reaches back 100 settlements from now
        _history(sim, "bitget", "/api/v2/mix/market/history-fund-rate",
                 {"productType": "USDT-FUTURES", "symbol": bitget[0], "pageNo": 1,
                  "pageSize": 100}, bitget[0], start - timedelta(days=20), end)


if __name__ == "__main__":
    main()
