"""Record simulator replies of every venue as parse-test fixtures.

Run from the repo root: `python tests/exchanges/record_replies.py`. Each file in
recordings/<id>/ holds the request, the (trimmed) reply and the ground truth the simulator had
for it ("expected", from `sim.universe`, never from our parsers), so the replay tests in
test_<id>.py (through recorded_replies.py) compare our parse functions with an independent
source. The simulator is seeded and its clock starts at NOW, so a new run changes only the
values that move with the milliseconds the run takes (prices, volumes, `time` stamps).
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
END = datetime(2026, 3, 1, 8, tzinfo=UTC)  # the recorded history ends at this settlement
START = END - timedelta(days=2)
KEEP = 6  # contracts per recorded list, besides the picked ones and the decoys
MINUTE, HALF_HOUR = timedelta(minutes=1), timedelta(minutes=30)  # the adapters' slack
Trim = Callable[[Any, set[str]], Any]


def _ms(value: datetime) -> int:
    return round(value.timestamp() * 1000)


def _reply(sim: SimulatorServer, exchange: str, path: str, params: dict[str, Any] | None,
           body: dict[str, Any] | None) -> Any:
    method = "POST" if body is not None else "GET"
    reply = requests.request(method, f"{sim.url}/{exchange}{path}", params=params, json=body,
                             timeout=10)
    reply.raise_for_status()
    return reply.json()


def _request(path: str, params: dict[str, Any] | None, body: dict[str, Any] | None
             ) -> dict[str, Any]:
    return {"method": "POST" if body is not None else "GET", "path": path, "params": params,
            "body": body}


def _save(exchange: str, name: str, record: dict[str, Any]) -> None:
    folder = OUT / exchange
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")


def _pick(sim: SimulatorServer, exchange: str, intervals: tuple[float, ...]) -> list[str]:
    """Some trading perpetuals (one with a multiplier, one per interval in `intervals` where
    the venue has it) and every decoy the venue lists (pre-launch, delisted, dated)."""
    listed = sim.universe.instruments(exchange)
    decoys = [c.symbol for c in listed if c.status != "trading" or c.kind != "perpetual"]
    live = [c for c in listed if c.status == "trading" and c.kind == "perpetual"]
    picked = [c.symbol for c in live if c.multiplier != 1][:1]  # 1000PEPE, kPEPE...
    for hours in intervals:
        picked += [c.symbol for c in live if c.interval_hours == hours][:1]
    return list(dict.fromkeys([c.symbol for c in live[:KEEP]] + picked + decoys))


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


def _record_list(sim: SimulatorServer, exchange: str, name: str, path: str, trim: Trim, *,
                 params: dict[str, Any] | None = None, body: dict[str, Any] | None = None,
                 intervals: tuple[float, ...] = (1,)) -> list[str]:
    """A contract list or snapshot trimmed to the picked symbols; returns those kept."""
    wanted = _pick(sim, exchange, intervals)
    reply = trim(_reply(sim, exchange, path, params, body), set(wanted))
    kept = [s for s in wanted if f'"{s}"' in json.dumps(reply)]
    _save(exchange, name, {"request": _request(path, params, body),
                           "observed_at_ms": sim.universe.now_ms(), "response": reply,
                           "expected": _truth(sim, exchange, kept)})
    return kept


def _record_history(sim: SimulatorServer, exchange: str, path: str, symbol: str,
                    start: datetime, end: datetime, *, params: dict[str, Any] | None = None,
                    body: dict[str, Any] | None = None, name: str = "history") -> None:
    settlements = sim.universe.settlements(exchange, symbol, start, end)
    _save(exchange, name, {
        "request": _request(path, params, body), "symbol": symbol,
        "interval_hours": sim.universe.contract(exchange, symbol).interval_hours,
        "response": _reply(sim, exchange, path, params, body),
        "expected": {"start_ms": _ms(start), "end_ms": _ms(end),
                     "settlements": [[_ms(t), r] for t, r in settlements]},
    })


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


def _in_markets(reply: Any, keep: set[str]) -> Any:
    return {"markets": {k: v for k, v in reply["markets"].items() if k in keep}}


def _in_universe(reply: Any, keep: set[str]) -> Any:
    """Trim `[meta, assetCtxs]`, keeping the two lists aligned by index."""
    meta, ctxs = reply
    pairs = [(u, c) for u, c in zip(meta["universe"], ctxs, strict=True) if u["name"] in keep]
    return [dict(meta, universe=[u for u, _ in pairs]), [c for _, c in pairs]]


def record_binance(sim: SimulatorServer) -> None:
    every = (1, 4)
    listed = _record_list(sim, "binance", "exchange_info", "/fapi/v1/exchangeInfo",
                          _in_field("symbols", "", "symbol"), params={}, intervals=every)
    _record_list(sim, "binance", "premium_index", "/fapi/v1/premiumIndex", _in_list("symbol"),
                 params={}, intervals=every)
    _save("binance", "funding_info", {"request": {"path": "/fapi/v1/fundingInfo"},
                                      "response": _reply(sim, "binance", "/fapi/v1/fundingInfo",
                                                         {}, None)})
    hourly = next(s for s in listed if sim.universe.contract("binance", s).interval_hours == 1)
    _record_history(sim, "binance", "/fapi/v1/fundingRate", hourly, START, END,
                    params={"symbol": hourly, "startTime": _ms(START - MINUTE),
                            "endTime": _ms(END + MINUTE), "limit": 1000})


def record_aster(sim: SimulatorServer) -> None:
    every = (1, 2, 4)
    listed = _record_list(sim, "aster", "exchange_info", "/fapi/v1/exchangeInfo",
                          _in_field("symbols", "", "symbol"), params={}, intervals=every)
    _record_list(sim, "aster", "premium_index", "/fapi/v1/premiumIndex",
                 lambda reply, keep: [r for r in reply if r["symbol"] in keep
                                      or r["symbol"].endswith("USD")],  # + the USD decoys
                 params={}, intervals=every)
    _save("aster", "funding_info", {"request": {"path": "/fapi/v1/fundingInfo"},
                                    "response": _reply(sim, "aster", "/fapi/v1/fundingInfo",
                                                       {}, None)})
    hourly = next(s for s in listed if sim.universe.contract("aster", s).interval_hours == 1)
    _record_history(sim, "aster", "/fapi/v1/fundingRate", hourly, START, END,
                    params={"symbol": hourly, "startTime": _ms(START - MINUTE),
                            "endTime": _ms(END + MINUTE), "limit": 1000})


def record_backpack(sim: SimulatorServer) -> None:
    listed = _record_list(sim, "backpack", "markets", "/api/v1/markets", _in_list("symbol"))
    _record_list(sim, "backpack", "mark_prices", "/api/v1/markPrices", _in_list("symbol"))
    _save("backpack", "open_interest", {
        "request": _request("/api/v1/openInterest", {}, None),
        "response": _reply(sim, "backpack", "/api/v1/openInterest", {}, None),
        "expected": {c.symbol: sim.universe.current("backpack", c.symbol).open_interest
                     for c in sim.universe.contracts("backpack")}})
    # newest first from the interval still accruing: 60 rows reach back past START
    _record_history(sim, "backpack", "/api/v1/fundingRates", listed[0], START, END,
                    params={"symbol": listed[0], "limit": 60, "offset": 0})


def record_bybit(sim: SimulatorServer) -> None:
    every = (1, 4)
    listed = _record_list(sim, "bybit", "instruments", "/v5/market/instruments-info",
                          _in_field("result", "list", "symbol"),
                          params={"category": "linear", "limit": 1000}, intervals=every)
    _record_list(sim, "bybit", "tickers", "/v5/market/tickers",
                 _in_field("result", "list", "symbol"), params={"category": "linear"},
                 intervals=every)
    _record_history(sim, "bybit", "/v5/market/funding/history", listed[1], START, END,
                    params={"category": "linear", "symbol": listed[1],
                            "startTime": _ms(START - MINUTE), "endTime": _ms(END + MINUTE),
                            "limit": 200})


def record_okx(sim: SimulatorServer) -> None:
    every = (1, 4)
    listed = _record_list(sim, "okx", "instruments", "/api/v5/public/instruments",
                          _in_field("data", "", "instId"), params={"instType": "SWAP"},
                          intervals=every)
    _record_list(sim, "okx", "funding_rate", "/api/v5/public/funding-rate",
                 _in_field("data", "", "instId"), params={"instId": "ANY"}, intervals=every)
    _record_history(sim, "okx", "/api/v5/public/funding-rate-history", listed[2], START, END,
                    params={"instId": listed[2], "before": _ms(START - MINUTE),
                            "after": _ms(END + MINUTE), "limit": 400})


def record_bitget(sim: SimulatorServer) -> None:
    product = {"productType": "USDT-FUTURES"}
    listed = _record_list(sim, "bitget", "contracts", "/api/v2/mix/market/contracts",
                          _in_field("data", "", "symbol"), params=product, intervals=(1, 4))
    for name, path in (("current_fund_rate", "/api/v2/mix/market/current-fund-rate"),
                       ("tickers", "/api/v2/mix/market/tickers")):
        _record_list(sim, "bitget", name, path, _in_field("data", "", "symbol"), params=product,
                     intervals=(1, 4))
    # newest first and no time parameters: page 1 reaches back 100 settlements from now
    _record_history(sim, "bitget", "/api/v2/mix/market/history-fund-rate", listed[0],
                    START - timedelta(days=20), END,
                    params={**product, "symbol": listed[0], "pageNo": 1, "pageSize": 100})


def record_gate(sim: SimulatorServer) -> None:
    listed = _record_list(sim, "gate", "contracts", "/api/v4/futures/usdt/contracts",
                          _in_list("name"))
    _record_history(sim, "gate", "/api/v4/futures/usdt/funding_rate", listed[0], START, END,
                    params={"contract": listed[0], "limit": 1000,
                            "from": int(START.timestamp()),
                            "to": int((END + HALF_HOUR).timestamp())})


def record_kucoin(sim: SimulatorServer) -> None:
    listed = _record_list(sim, "kucoin", "contracts", "/api/v1/contracts/active",
                          _in_field("data", "", "symbol"))
    _record_history(sim, "kucoin", "/api/v1/contract/funding-rates", listed[1], START, END,
                    params={"symbol": listed[1], "from": _ms(START),
                            "to": _ms(END + HALF_HOUR)})


def record_hyperliquid(sim: SimulatorServer) -> None:
    listed = _record_list(sim, "hyperliquid", "meta_and_asset_ctxs", "/info", _in_universe,
                          body={"type": "metaAndAssetCtxs"})
    start = END - timedelta(hours=30)
    _record_history(sim, "hyperliquid", "/info", listed[0], start, END,
                    body={"type": "fundingHistory", "coin": listed[0], "startTime": _ms(start),
                          "endTime": _ms(END + HALF_HOUR)})


def record_dydx(sim: SimulatorServer) -> None:
    listed = _record_list(sim, "dydx", "perpetual_markets", "/v4/perpetualMarkets", _in_markets)
    before = (END + HALF_HOUR).isoformat().replace("+00:00", "Z")
    _record_history(sim, "dydx", f"/v4/historicalFunding/{listed[0]}", listed[0],
                    END - timedelta(hours=29), END,
                    params={"limit": 30, "effectiveBeforeOrAt": before})


def record_mexc(sim: SimulatorServer) -> None:
    every = (1, 4)
    listed = _record_list(sim, "mexc", "detail", "/api/v1/contract/detail",
                          _in_field("data", "", "symbol"), params={}, intervals=every)
    for name, path in (("funding_rate", "/api/v1/contract/funding_rate"),
                       ("ticker", "/api/v1/contract/ticker")):
        _record_list(sim, "mexc", name, path, _in_field("data", "", "symbol"), params={},
                     intervals=every)
    # newest first and no time parameters: page 1 of 100 reaches back past START
    hourly = next(s for s in listed if sim.universe.contract("mexc", s).interval_hours == 1)
    _record_history(sim, "mexc", "/api/v1/contract/funding_rate/history", hourly, START, END,
                    params={"symbol": hourly, "page_num": 1, "page_size": 100})


def record_deribit(sim: SimulatorServer) -> None:
    public = "/api/v2/public"
    trim = _in_field("result", "", "instrument_name")
    listed = _record_list(sim, "deribit", "get_instruments", f"{public}/get_instruments", trim,
                          params={"currency": "any", "kind": "future", "expired": "false"})
    for currency in ("BTC", "USDC"):
        _record_list(sim, "deribit", f"book_summary_{currency.lower()}",
                     f"{public}/get_book_summary_by_currency", trim,
                     params={"currency": currency, "kind": "future"})
    _record_history(sim, "deribit", f"{public}/get_funding_rate_history", listed[0], START, END,
                    params={"instrument_name": listed[0], "start_timestamp": _ms(START - MINUTE),
                            "end_timestamp": _ms(END + MINUTE)})
def _in_hibachi(reply: Any, keep: set[str]) -> Any:
    """Trim exchange-info's `futureContracts` or inventory's `markets` by symbol."""
    if "futureContracts" in reply:
        return dict(reply, futureContracts=[c for c in reply["futureContracts"]
                                            if c["symbol"] in keep])
    return dict(reply, markets=[m for m in reply["markets"] if m["contract"]["symbol"] in keep])


def record_hibachi(sim: SimulatorServer) -> None:
    listed = _record_list(sim, "hibachi", "exchange_info", "/market/exchange-info", _in_hibachi)
    _record_list(sim, "hibachi", "inventory", "/market/inventory", _in_hibachi)
    symbol = listed[0]
    path = "/market/data/funding-rates"
    start = END - timedelta(hours=30)
    _record_history(sim, "hibachi", path, symbol, start, END,
                    params={"symbol": symbol, "startTime": int(start.timestamp()),
                            "endTime": int(END.timestamp()), "limit": 100, "offset": 0})
    # across the venue's 8 h -> 1 h change: each row's interval is in the ground truth
    c = sim.universe.contract("hibachi", symbol)
    changed = datetime.fromtimestamp(c.changed_at_ms / 1000, tz=UTC)
    lo, hi = changed - timedelta(days=2), changed + timedelta(hours=20)
    params = {"symbol": symbol, "startTime": int(lo.timestamp()), "endTime": int(hi.timestamp()),
              "limit": 100, "offset": 0}
    settlements = sim.universe.settlements("hibachi", symbol, lo, hi)
    _save("hibachi", "history_interval_change", {
        "request": _request(path, params, None), "symbol": symbol,
        "response": _reply(sim, "hibachi", path, params, None),
        "expected": {"start_ms": _ms(lo), "end_ms": _ms(hi), "changed_at_ms": c.changed_at_ms,
                     "settlements": [[_ms(t), r] for t, r in settlements],
                     "intervals": [sim.universe.interval_at("hibachi", symbol, t)
                                   for t, _ in settlements]},
    })


def _in_drift(reply: Any, keep: set[str]) -> Any:
    """Trim `/stats/markets` to the kept perps, keeping one spot market (a decoy)."""
    spot = [m for m in reply["markets"] if m["marketType"] == "spot"][:1]
    return dict(reply, markets=[m for m in reply["markets"] if m["symbol"] in keep] + spot)


def record_drift(sim: SimulatorServer) -> None:
    listed = _record_list(sim, "drift", "stats_markets", "/stats/markets", _in_drift)
    symbol = listed[0]
    # newest first from now (12:30): 40 hourly rows reach back past END - 10 h
    _record_history(sim, "drift", f"/market/{symbol}/fundingRates", symbol,
                    END - timedelta(hours=10), END, params={"limit": 40, "page": 1})
    # legacy raw integers: the whole 30 days, trimmed here to the two recorded days
    params = {"marketName": symbol}
    reply = _reply(sim, "drift", "/fundingRates", params, None)
    lo, hi = int((START - HALF_HOUR).timestamp()), int((END + HALF_HOUR).timestamp())
    reply["fundingRates"] = [r for r in reply["fundingRates"] if lo <= int(r["ts"]) <= hi]
    settlements = sim.universe.settlements("drift", symbol, START, END)
    _save("drift", "legacy_history", {
        "request": _request("/fundingRates", params, None), "symbol": symbol,
        "interval_hours": 1, "response": reply,
        "expected": {"start_ms": _ms(START), "end_ms": _ms(END),
                     "settlements": [[_ms(t), r] for t, r in settlements]},
    })
def record_lighter(sim: SimulatorServer) -> None:
    details = _reply(sim, "lighter", "/api/v1/orderBookDetails", {}, None)
    _record_list(sim, "lighter", "order_book_details", "/api/v1/orderBookDetails",
                 _in_field("order_book_details", "", "symbol"), params={})
    # every venue's rows for the picked markets: the relayed ones must be left out
    _record_list(sim, "lighter", "funding_rates", "/api/v1/funding-rates",
                 _in_field("funding_rates", "", "symbol"), params={})
    ids = {row["symbol"]: row["market_id"] for row in details["order_book_details"]}
    # ETH is market 0 (a falsy id that must still be asked for); its rates go negative too
    params = {"market_id": ids["ETH"], "resolution": "1h",
              "start_timestamp": int(START.timestamp()),
              "end_timestamp": int(END.timestamp()) + 1, "count_back": 0}
    _record_history(sim, "lighter", "/api/v1/fundings", "ETH", START, END, params=params)


def _with_spot(reply: Any, keep: set[str]) -> Any:
    """Pacifica's lists trimmed to the picked perpetuals and every spot pair (BASE-QUOTE)."""
    return dict(reply, data=[r for r in reply["data"] if r["symbol"] in keep or "-" in r["symbol"]])


def record_pacifica(sim: SimulatorServer) -> None:
    _record_list(sim, "pacifica", "info", "/api/v1/info", _with_spot, params={})
    _record_list(sim, "pacifica", "prices", "/api/v1/info/prices", _with_spot, params={})
    # newest first from now (12:30), no time filter: 60 rows reach back past START
    params = {"symbol": "BTC", "limit": 60}
    _record_history(sim, "pacifica", "/api/v1/funding_rate/history", "BTC", START, END,
                    params=params)
    first = _reply(sim, "pacifica", "/api/v1/funding_rate/history", params, None)
    older = {**params, "cursor": first["next_cursor"]}  # the page below the first one's oldest
    below = datetime.fromtimestamp(first["data"][-1]["created_at"] // 3_600_000 * 3600, tz=UTC)
    _record_history(sim, "pacifica", "/api/v1/funding_rate/history", "BTC",
                    below - timedelta(hours=50), below - timedelta(hours=1), params=older,
                    name="history_page2")


def main() -> None:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, now=NOW)) as sim:
        for record in (record_aster, record_backpack, record_binance, record_bybit, record_okx,
                       record_bitget, record_gate, record_kucoin, record_hyperliquid,
                       record_dydx, record_mexc, record_deribit, record_hibachi, record_drift,
                       record_lighter, record_pacifica):
            record(sim)


if __name__ == "__main__":
    main()
