"""Each venue's endpoints: documented shapes and types, page limits, sort order, errors (the
first eight venues; test_sim_venues_added.py has the eight added since).

Shapes are checked against the recorded real responses in ../shared/exchange-responses and the
examples in ../shared/exchange-apis.md.
"""

from __future__ import annotations

import requests
from venue_shapes import (
    DAY_MS,
    btc_history_span,
    dt_from_ms,
    get,
    missing_count,
    recorded,
    same_types,
)

from lib.simulator import SimulatorServer


# ----- Binance --------------------------------------------------------------------------------
def test_binance_premium_index_and_history(clean_sim: SimulatorServer) -> None:
    sim = clean_sim
    one = get(sim, "/binance/fapi/v1/premiumIndex", symbol="BTCUSDT")
    assert one.headers["X-MBX-USED-WEIGHT-1M"].isdigit()
    row = one.json()
    assert isinstance(row["lastFundingRate"], str) and isinstance(row["nextFundingTime"], int)
    assert row["nextFundingTime"] % (8 * 3_600_000) == 0
    allrows = get(sim, "/binance/fapi/v1/premiumIndex").json()
    delivery = [r for r in allrows if "_" in r["symbol"]]
    assert delivery and all(r["lastFundingRate"] == "" for r in delivery)

    now = sim.universe.clock.now_ms()
    start = now - 30 * DAY_MS
    hist = get(sim, "/binance/fapi/v1/fundingRate", symbol="BTCUSDT", startTime=start).json()
    truth = sim.universe.settlements("binance", "BTCUSDT", dt_from_ms(start), sim.universe.now())
    assert 85 <= len(hist) == len(truth)  # 30 days x 3, less the rare missing ones
    times = [h["fundingTime"] for h in hist]
    assert times == sorted(times) and times[0] >= start  # ascending from startTime
    assert isinstance(hist[0]["fundingRate"], str) and isinstance(hist[0]["markPrice"], str)
    default = get(sim, "/binance/fapi/v1/fundingRate", symbol="BTCUSDT").json()
    assert len(default) == 100 and default[-1]["fundingTime"] == times[-1]  # most recent 100
    one_h = next(c for c in sim.universe.contracts("binance") if c.interval_hours == 1)
    big = get(sim, "/binance/fapi/v1/fundingRate", symbol=one_h.symbol, startTime=0, limit=5000)
    assert len(big.json()) == 1000  # capped at the maximum page


def test_binance_errors_and_funding_info(clean_sim: SimulatorServer) -> None:
    bad = get(clean_sim, "/binance/fapi/v1/fundingRate", symbol="NOPEUSDT")
    assert bad.status_code == 400 and bad.json() == {"code": -1121, "msg": "Invalid symbol."}
    bad = get(clean_sim, "/binance/fapi/v1/fundingRate", symbol="BTCUSDT", startTime="x")
    assert bad.status_code == 400 and bad.json()["code"] == -1100
    assert get(clean_sim, "/binance/fapi/v9/nothing").status_code == 404
    info = get(clean_sim, "/binance/fapi/v1/fundingInfo").json()
    u = clean_sim.universe
    adjusted = {r["symbol"]: r["fundingIntervalHours"] for r in info}
    for c in u.contracts("binance"):
        assert adjusted.get(c.symbol, 8) == c.interval_hours
    assert len(adjusted) < len(u.contracts("binance")) / 2  # only adjusted symbols are listed


# ----- Bybit ----------------------------------------------------------------------------------
def test_bybit_history_rules(clean_sim: SimulatorServer) -> None:
    path = "/bybit/v5/market/funding/history"
    lone = get(clean_sim, path, category="linear", symbol="BTCUSDT", startTime=1).json()
    assert lone["retCode"] == 10001 and lone["retMsg"] == "Time is invalid"
    page = get(clean_sim, path, category="linear", symbol="BTCUSDT").json()["result"]["list"]
    assert len(page) == 200
    stamps = [int(r["fundingRateTimestamp"]) for r in page]
    btc_history_span(stamps)  # newest first
    older = get(clean_sim, path, category="linear", symbol="BTCUSDT", endTime=stamps[-1] - 1,
                limit=50).json()["result"]["list"]
    assert len(older) == 50 and int(older[0]["fundingRateTimestamp"]) < stamps[-1]
    too_many = get(clean_sim, path, category="linear", symbol="BTCUSDT", limit=201).json()
    assert too_many["retCode"] == 10001


def test_bybit_instruments_cursor_and_tickers(clean_sim: SimulatorServer) -> None:
    path = "/bybit/v5/market/instruments-info"
    seen: list[str] = []
    cursor = ""
    while True:
        params = {"category": "linear", "limit": 150, **({"cursor": cursor} if cursor else {})}
        result = get(clean_sim, path, **params).json()["result"]
        seen += [i["symbol"] for i in result["list"]]
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    u = clean_sim.universe
    assert len(seen) == len(set(seen)) == len(u.instruments("bybit")) - 2  # no pre-launch
    pre = get(clean_sim, path, category="linear", status="PreLaunch").json()["result"]["list"]
    assert len(pre) == 2 and all(i["status"] == "PreLaunch" for i in pre)
    assert isinstance(get(clean_sim, path, category="linear", symbol="BTCUSDT").json()[
        "result"]["list"][0]["fundingInterval"], int)
    tick = get(clean_sim, "/bybit/v5/market/tickers", category="linear").json()
    real = recorded("bybit/fetchFundingRates.json")
    if real is not None:
        same_types(tick["result"]["list"][0], real["result"]["list"][0], frozenset({"timestamp"}))


# ----- OKX ------------------------------------------------------------------------------------
def test_okx_current_and_history(clean_sim: SimulatorServer) -> None:
    rows = get(clean_sim, "/okx/api/v5/public/funding-rate", instId="ANY").json()["data"]
    assert len(rows) == len(clean_sim.universe.contracts("okx"))
    assert all(isinstance(v, str) for v in rows[0].values())
    assert int(rows[0]["nextFundingTime"]) > int(rows[0]["fundingTime"])
    path = "/okx/api/v5/public/funding-rate-history"
    page = get(clean_sim, path, instId="BTC-USDT-SWAP").json()["data"]
    assert len(page) == 270 - missing_count(clean_sim, "okx", "BTC-USDT-SWAP")  # ≤ 400, 90 days
    stamps = [int(r["fundingTime"]) for r in page]
    btc_history_span(stamps)
    after = get(clean_sim, path, instId="BTC-USDT-SWAP", after=stamps[9], limit=5).json()["data"]
    assert [int(r["fundingTime"]) for r in after] == stamps[10:15]
    assert page[0]["realizedRate"] != page[0]["fundingRate"] or page[0]["realizedRate"] == "0"
    bad = get(clean_sim, path, instId="BTC-USDT-SWAP", limit=401)
    assert bad.json()["code"] == "51000"
    missing = get(clean_sim, path, instId="NOPE-USDT-SWAP").json()
    assert missing["code"] == "51001"


# ----- Bitget ---------------------------------------------------------------------------------
def test_bitget_pages(clean_sim: SimulatorServer) -> None:
    path = "/bitget/api/v2/mix/market/history-fund-rate"
    base = {"symbol": "BTCUSDT", "productType": "USDT-FUTURES"}
    first = get(clean_sim, path, **base).json()["data"]
    assert len(first) == 20  # default pageSize
    p1 = get(clean_sim, path, pageSize=100, pageNo=1, **base).json()["data"]
    p2 = get(clean_sim, path, pageSize=100, pageNo=2, **base).json()["data"]
    stamps = [int(r["fundingTime"]) for r in p1 + p2]
    btc_history_span(stamps)
    assert len(set(stamps)) == 200
    assert get(clean_sim, path, pageSize=101, **base).json()["code"] != "00000"
    cur = get(clean_sim, "/bitget/api/v2/mix/market/current-fund-rate",
              productType="USDT-FUTURES").json()
    real = recorded("bitget/fetchFundingRate.json")
    if real is not None:
        same_types(cur["data"][0], real["data"][0])
    assert isinstance(cur["requestTime"], int)


# ----- Gate -----------------------------------------------------------------------------------
def test_gate_contracts_and_history(clean_sim: SimulatorServer) -> None:
    contracts = get(clean_sim, "/gate/api/v4/futures/usdt/contracts").json()
    real = recorded("gate/fetchFundingRates.json")
    if real is not None:
        same_types(contracts[0], real[0])
    assert {c["status"] for c in contracts} == {"trading", "prelaunch"}
    path = "/gate/api/v4/futures/usdt/funding_rate"
    rows = get(clean_sim, path, contract="BTC_USDT").json()
    assert len(rows) == 100 and isinstance(rows[0]["t"], int) and rows[0]["t"] < 10**11
    btc_history_span([r["t"] for r in rows])
    now_s = clean_sim.universe.clock.now_ms() // 1000
    window = get(clean_sim, path, contract="BTC_USDT", **{"from": now_s - 86400, "to": now_s})
    assert all(now_s - 86400 <= r["t"] <= now_s for r in window.json())
    assert get(clean_sim, path).json()["label"] == "MISSING_REQUIRED_PARAM"
    assert get(clean_sim, path, contract="BTC_USDT", limit=1001).status_code == 400


# ----- KuCoin ---------------------------------------------------------------------------------
def test_kucoin_active_and_history(clean_sim: SimulatorServer) -> None:
    data = get(clean_sim, "/kucoin/api/v1/contracts/active").json()["data"]
    btc = next(d for d in data if d["symbol"] == "XBTUSDTM")
    assert btc["baseCurrency"] == "XBT" and isinstance(btc["fundingFeeRate"], float)
    assert btc["nextFundingRateDateTime"] % 28_800_000 == 0
    assert 0 < btc["nextFundingRateTime"] <= 28_800_000  # a countdown, not a timestamp
    assert {d["type"] for d in data} == {"FFWCSX", "FFICSX"}
    path = "/kucoin/api/v1/contract/funding-rates"
    assert get(clean_sim, path, symbol="XBTUSDTM").json()["code"] == "400100"
    now = clean_sim.universe.clock.now_ms()
    rows = get(clean_sim, path, symbol="XBTUSDTM", **{"from": now - 10 * DAY_MS, "to": now})
    assert 25 <= len(rows.json()["data"]) <= 30
    real = recorded("kucoinfutures/fetchFundingRate.json")
    cur = get(clean_sim, "/kucoin/api/v1/funding-rate/XBTUSDTM/current").json()
    if real is not None:
        same_types(cur["data"], real["data"])


# ----- Hyperliquid ----------------------------------------------------------------------------
def test_hyperliquid_info(clean_sim: SimulatorServer) -> None:
    url = f"{clean_sim.url}/hyperliquid/info"
    meta, ctxs = requests.post(url, json={"type": "metaAndAssetCtxs"}, timeout=10).json()
    assert len(meta["universe"]) == len(ctxs)
    assert any(u.get("isDelisted") for u in meta["universe"])
    assert any(u["name"] == "kPEPE" for u in meta["universe"])
    assert isinstance(ctxs[0]["funding"], str)
    start = clean_sim.universe.clock.now_ms() - 30 * DAY_MS
    rows = requests.post(url, json={"type": "fundingHistory", "coin": "ETH", "startTime": start},
                         timeout=10).json()
    assert len(rows) == 500  # at most 500, ascending from startTime
    times = [r["time"] for r in rows]
    assert times == sorted(times) and times[0] >= start
    assert requests.post(url, data="{", timeout=10).status_code == 422
    assert requests.post(url, json={"type": "fundingHistory", "coin": "ETH"},
                         timeout=10).status_code == 422


# ----- dYdX -----------------------------------------------------------------------------------
def test_dydx_markets_and_history(clean_sim: SimulatorServer) -> None:
    markets = get(clean_sim, "/dydx/v4/perpetualMarkets").json()["markets"]
    assert markets["BTC-USD"]["ticker"] == "BTC-USD"
    assert isinstance(markets["BTC-USD"]["atomicResolution"], int)
    path = "/dydx/v4/historicalFunding/BTC-USD"
    rows = get(clean_sim, path, limit=10).json()["historicalFunding"]
    assert len(rows) == 10
    stamps = [r["effectiveAt"] for r in rows]
    assert stamps == sorted(stamps, reverse=True)
    older = get(clean_sim, path, limit=5, effectiveBeforeOrAt="2000-01-01T00:00:00Z").json()
    assert older["historicalFunding"] == []
    page2 = get(clean_sim, path, limit=5, effectiveBeforeOrAt=stamps[4]).json()
    assert page2["historicalFunding"][0]["effectiveAt"] == stamps[4]
    assert get(clean_sim, path, limit=1001).status_code == 400
    real = recorded("dydx/fetchFundingRateHistory.json")
    if real is not None:
        same_types(rows[0], real["historicalFunding"][0])
    missing = get(clean_sim, "/dydx/v4/historicalFunding/NOPE-USD")
    assert missing.status_code == 404
