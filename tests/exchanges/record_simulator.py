"""Record simulator replies for gate, kucoin, hyperliquid and dydx as parse-test fixtures.

Run from the repo root: `python tests/exchanges/record_simulator.py`. Each file in
recordings/<id>/ holds the request, the (trimmed) reply and the ground truth the simulator
had for it ("expected", from `sim.universe`, never from our parsers), so the replay tests in
test_<id>.py compare our parse functions with an independent source.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer

OUT = Path(__file__).resolve().parent / "recordings"
NOW = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
KEEP = 6  # contracts per recorded list
SLACK = timedelta(minutes=30)  # as the adapters ask: reported times lag the hour


def _ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def _truth_contract(sim: SimulatorServer, exchange: str, symbol: str) -> dict[str, Any]:
    c = sim.universe.contract(exchange, symbol)
    return {"symbol": c.symbol, "asset": c.asset, "multiplier": c.multiplier,
            "interval_hours": c.interval_hours, "listed_at_ms": _ms(c.listed_at),
            "status": c.status, "kind": c.kind}


def _truth_current(sim: SimulatorServer, exchange: str, symbol: str) -> dict[str, Any]:
    s = sim.universe.current(exchange, symbol)
    return {"symbol": symbol, "rate": s.rate, "interval_hours": s.interval_hours,
            "next_funding_ms": _ms(s.next_funding_time)}


def _history_truth(sim: SimulatorServer, exchange: str, symbol: str, start: datetime,
                   end: datetime) -> list[list[Any]]:
    return [[_ms(t), r] for t, r in sim.universe.settlements(exchange, symbol, start, end)]


def _save(exchange: str, name: str, record: dict[str, Any]) -> None:
    folder = OUT / exchange
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")


def _pick(sim: SimulatorServer, exchange: str) -> list[str]:
    """Some trading perpetuals (one with a multiplier, one hourly where the venue has them)
    and every decoy the venue lists (pre-launch, delisted, dated)."""
    listed = sim.universe.instruments(exchange)
    decoys = [c.symbol for c in listed if c.status != "trading" or c.kind != "perpetual"]
    live = [c for c in listed if c.status == "trading" and c.kind == "perpetual"]
    scaled = [c.symbol for c in live if c.multiplier != 1][:1]  # 1000PEPE, kPEPE...
    hourly = [c.symbol for c in live if c.interval_hours == 1][:1]
    return list(dict.fromkeys([c.symbol for c in live[:KEEP]] + scaled + hourly + decoys))


def _record_list(sim: SimulatorServer, exchange: str, name: str, method: str, path: str,
                 body: dict[str, Any] | None, trim: Any) -> list[str]:
    reply = requests.request(method, f"{sim.url}/{exchange}{path}", json=body, timeout=10).json()
    wanted = _pick(sim, exchange)
    reply = trim(reply, set(wanted))
    kept = [s for s in wanted if s in json.dumps(reply)]
    _save(exchange, name, {
        "request": {"method": method, "path": path, "body": body},
        "observed_at_ms": sim.universe.now_ms(),
        "response": reply,
        "expected": {
            "contracts": [_truth_contract(sim, exchange, s) for s in kept],
            "current": [_truth_current(sim, exchange, s) for s in kept
                        if sim.universe.contract(exchange, s).status == "trading"
                        and sim.universe.contract(exchange, s).kind == "perpetual"],
        },
    })
    return kept


def _history(sim: SimulatorServer, exchange: str, path: str, params: dict[str, Any] | None,
             body: dict[str, Any] | None, symbol: str, start: datetime, end: datetime) -> None:
    method = "POST" if body is not None else "GET"
    reply = requests.request(method, f"{sim.url}/{exchange}{path}", params=params, json=body,
                             timeout=10).json()
    _save(exchange, "history", {
        "request": {"method": method, "path": path, "params": params, "body": body},
        "symbol": symbol, "response": reply,
        "expected": {"start_ms": _ms(start), "end_ms": _ms(end),
                     "settlements": _history_truth(sim, exchange, symbol, start, end)},
    })


def main() -> None:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, now=NOW)) as sim:
        end = datetime(2026, 3, 1, 8, tzinfo=UTC)
        start = end - timedelta(days=2)

        gate = _record_list(sim, "gate", "contracts", "GET", "/api/v4/futures/usdt/contracts",
                            None, lambda r, keep: [x for x in r if x["name"] in keep])
        _history(sim, "gate", "/api/v4/futures/usdt/funding_rate",
                 {"contract": gate[0], "limit": 1000, "from": int(start.timestamp()),
                  "to": int((end + SLACK).timestamp())}, None, gate[0], start, end)

        kucoin = _record_list(sim, "kucoin", "contracts", "GET", "/api/v1/contracts/active",
                              None, lambda r, keep: dict(r, data=[x for x in r["data"]
                                                                  if x["symbol"] in keep]))
        _history(sim, "kucoin", "/api/v1/contract/funding-rates",
                 {"symbol": kucoin[1], "from": _ms(start), "to": _ms(end + SLACK)}, None,
                 kucoin[1], start, end)

        def trim_hl(reply: Any, keep: set[str]) -> Any:
            meta, ctxs = reply
            pairs = [(u, c) for u, c in zip(meta["universe"], ctxs, strict=True)
                     if u["name"] in keep]
            return [dict(meta, universe=[u for u, _ in pairs]), [c for _, c in pairs]]

        hl = _record_list(sim, "hyperliquid", "meta_and_asset_ctxs", "POST", "/info",
                          {"type": "metaAndAssetCtxs"}, trim_hl)
        hl_start, hl_end = end - timedelta(hours=30), end
        _history(sim, "hyperliquid", "/info", None,
                 {"type": "fundingHistory", "coin": hl[0], "startTime": _ms(hl_start),
                  "endTime": _ms(hl_end + SLACK)}, hl[0], hl_start, hl_end)

        dydx = _record_list(sim, "dydx", "perpetual_markets", "GET", "/v4/perpetualMarkets",
                            None, lambda r, keep: {"markets": {k: v for k, v in
                                                               r["markets"].items()
                                                               if k in keep}})
        _history(sim, "dydx", f"/v4/historicalFunding/{dydx[0]}",
                 {"limit": 30,
                  "effectiveBeforeOrAt": (end + SLACK).isoformat().replace("+00:00", "Z")},
                 None, dydx[0], end - timedelta(hours=29), end)


if __name__ == "__main__":
    main()
