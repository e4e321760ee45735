"""Each venue's endpoints: documented shapes and types, page limits, sort order, errors.

Shapes are checked against the recorded real responses in ../shared/exchange-responses and the
examples in ../shared/exchange-apis.md.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from lib.simulator import SimulatorServer

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "exchange-responses"
DAY_MS = 86_400_000


def get(sim: SimulatorServer, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sim.url}{path}", params=params, timeout=10)


def recorded(name: str) -> Any:
    path = RECORDED / name
    if not path.exists():  # the shared folder sits next to the repo; skip gracefully if not
        return None
    return json.loads(path.read_text())["entries"][0]["httpResponse"]


def same_types(
    ours: dict[str, Any], theirs: dict[str, Any], ignore: frozenset[str] = frozenset()
) -> None:
    """Every field of the real response exists in ours with the same JSON type."""
    for key, value in theirs.items():
        if key in ignore:
            continue
        assert key in ours, key
        if value is not None and ours[key] is not None:
            assert type(ours[key]) is type(value), (key, ours[key], value)


def btc_history_span(rows: list[int]) -> None:
    assert rows == sorted(rows, reverse=True)


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
    truth = sim.universe.settlements("binance", "BTCUSDT", _dt(start), sim.universe.now())
    assert 85 <= len(hist) == len(truth)  # 30 days x 3, less the rare missing ones
    times = [h["fundingTime"] for h in hist]
    assert times == sorted(times) and times[0] >= start  # ascending from startTime
    assert isinstance(hist[0]["fundingRate"], str) and isinstance(hist[0]["markPrice"], str)
    default = get(sim, "/binance/fapi/v1/fundingRate", symbol="BTCUSDT").json()
    assert len(default) == 100 and default[-1]["fundingTime"] == times[-1]  # most recent 100
    one_h = next(c for c in sim.universe.contracts("binance") if c.interval_hours == 1)
    big = get(sim, "/binance/fapi/v1/fundingRate", symbol=one_h.symbol, startTime=0, limit=5000)
    assert len(big.json()) == 1000  # capped at the maximum page


def floor_to_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


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


# ----- Aster ----------------------------------------------------------------------------------
def test_aster_shapes_match_the_recorded_replies(clean_sim: SimulatorServer) -> None:
    sim = clean_sim
    for version in ("v1", "v3"):  # the legacy and the recommended paths serve the same
        one = get(sim, f"/aster/fapi/{version}/premiumIndex", symbol="BTCUSDT")
        assert one.headers["X-MBX-USED-WEIGHT-1M"].isdigit()
        real = recorded("aster/fetchFundingRate.json")
        if real is not None:
            same_types(one.json(), real)
        assert one.json()["nextFundingTime"] % (8 * 3_600_000) == 0
    allrows = get(sim, "/aster/fapi/v1/premiumIndex").json()
    assert {"BTCUSD", "ETHUSD"} <= {r["symbol"] for r in allrows}  # no perpetuals, rate "0"
    info = get(sim, "/aster/fapi/v3/fundingInfo").json()
    real_info = recorded("aster/fetchFundingIntervals.json")
    if real_info is not None:
        same_types(info[0], real_info[0])
    intervals = {r["symbol"]: r["fundingIntervalHours"] for r in info}
    perps = sim.universe.contracts("aster")
    assert all(intervals[c.symbol] == c.interval_hours for c in perps)  # every symbol listed
    hist = get(sim, "/aster/fapi/v1/fundingRate", symbol="BTCUSDT", limit=3).json()
    real_hist = recorded("aster/fetchFundingRateHistory.json")
    if real_hist is not None:
        assert set(hist[0]) == set(real_hist[0])  # no markPrice
        same_types(hist[0], real_hist[0])
    assert all(h["fundingTime"] % (8 * 3_600_000) == 0 for h in hist)  # stamped exactly
    listing = get(sim, "/aster/fapi/v3/exchangeInfo").json()["symbols"]
    pending = [r for r in listing if r["status"] == "PENDING_TRADING"]
    assert pending and all(r["contractType"] == "" for r in pending)


def test_aster_history_of_every_symbol(clean_sim: SimulatorServer) -> None:
    """Without `symbol`: every symbol's rows, ascending from startTime, up to 1000 (docs)."""
    sim = clean_sim
    u = sim.universe
    start = u.clock.now_ms() - 2 * DAY_MS
    rows = get(sim, "/aster/fapi/v1/fundingRate", startTime=start, limit=5000).json()
    assert len(rows) == 1000
    times = [r["fundingTime"] for r in rows]
    assert times == sorted(times) and times[0] >= start
    last = times[-1]
    truth = sorted(
        (t, c.symbol) for c in u.contracts("aster")
        for t, _ in u.settlements("aster", c.symbol, _dt(start), _dt(last - 1))
    )
    got = [(_dt(r["fundingTime"]), r["symbol"]) for r in rows if r["fundingTime"] < last]
    assert got == truth  # nothing skipped between startTime and the last row
    def newest() -> datetime:
        now = u.now()
        return max(t for c in u.contracts("aster")
                   for t, _ in u.settlements("aster", c.symbol, now - timedelta(days=1), now))

    before = newest()
    recent = get(sim, "/aster/fapi/v1/fundingRate", limit=10).json()
    after = newest()  # an hour may have settled meanwhile
    assert len(recent) == 10 and [r["fundingTime"] for r in recent] == sorted(
        r["fundingTime"] for r in recent)
    assert _dt(recent[-1]["fundingTime"]) in {before, after}  # without startTime: the latest


# ----- Backpack -------------------------------------------------------------------------------
def test_backpack_shapes_match_the_recorded_replies(clean_sim: SimulatorServer) -> None:
    sim = clean_sim
    u = sim.universe
    one = get(sim, "/backpack/api/v1/markPrices", symbol="BTC_USDC_PERP").json()
    assert isinstance(one, list) and len(one) == 1  # an array for one symbol too
    real = recorded("backpack/fetchFundingRate.json")
    if real is not None:
        # documented as an integer; ccxt's 2025 recording had a string
        same_types(one[0], real[0], ignore=frozenset({"nextFundingTimestamp"}))
    assert isinstance(one[0]["nextFundingTimestamp"], int)
    assert {r["symbol"] for r in get(sim, "/backpack/api/v1/markPrices").json()} == {
        c.symbol for c in u.contracts("backpack")
    }
    markets = get(sim, "/backpack/api/v1/markets").json()
    assert {r["orderBookState"] for r in markets} == {"Open", "Closed"}
    assert all(r["fundingInterval"] == 3_600_000 and r["marketType"] == "PERP" for r in markets)
    assert get(sim, "/backpack/api/v1/markets", marketType="SPOT").json() == []
    interest = get(sim, "/backpack/api/v1/openInterest").json()
    assert {r["symbol"] for r in interest} >= {c.symbol for c in u.contracts("backpack")}
    assert all(isinstance(r["openInterest"], str) and isinstance(r["timestamp"], int)
               for r in interest)

    before = u.now()
    hist = get(sim, "/backpack/api/v1/fundingRates", symbol="BTC_USDC_PERP").json()
    after = u.now()
    real_hist = recorded("backpack/fetchFundingRateHistory.json")
    if real_hist is not None:
        same_types(hist[0], real_hist[0])
    assert len(hist) == 100  # the default limit
    ends = [datetime.fromisoformat(h["intervalEndTimestamp"]).replace(tzinfo=UTC) for h in hist]
    assert ends == sorted(ends, reverse=True)  # newest first
    # the interval still accruing comes first (the hour may have turned during the request)
    running = {floor_to_hour(before) + timedelta(hours=1), floor_to_hour(after)
               + timedelta(hours=1)}
    assert ends[0] in running and ends[1] < ends[0]
    truth = u.current("backpack", "BTC_USDC_PERP", at=ends[0] - timedelta(milliseconds=1))
    assert float(hist[0]["fundingRate"]) == truth.rate  # the running rate, still moving
    page2 = get(sim, "/backpack/api/v1/fundingRates", symbol="BTC_USDC_PERP", limit=50,
                offset=50).json()
    assert page2 in (hist[50:], hist[49:99])  # offsets page the same list (or an hour on)
    big = get(sim, "/backpack/api/v1/fundingRates", symbol="BTC_USDC_PERP", limit=5000).json()
    assert len(big) == 1000  # capped at 1000 (ccxt's "api maximum")


def test_backpack_errors(clean_sim: SimulatorServer) -> None:
    missing = get(clean_sim, "/backpack/api/v1/fundingRates")
    assert missing.status_code == 400 and missing.json()["code"] == "INVALID_CLIENT_REQUEST"
    unknown = get(clean_sim, "/backpack/api/v1/fundingRates", symbol="NOPE_USDC_PERP")
    assert unknown.json() == {"code": "INVALID_MARKET", "message": "Market not found"}
    bad = get(clean_sim, "/backpack/api/v1/fundingRates", symbol="BTC_USDC_PERP", offset="x")
    assert bad.status_code == 400 and set(bad.json()) == {"code", "message"}


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
    assert len(page) == 270 - _missing_any(clean_sim, "okx", "BTC-USDT-SWAP")  # ≤ 400, 90 days
    stamps = [int(r["fundingTime"]) for r in page]
    btc_history_span(stamps)
    after = get(clean_sim, path, instId="BTC-USDT-SWAP", after=stamps[9], limit=5).json()["data"]
    assert [int(r["fundingTime"]) for r in after] == stamps[10:15]
    assert page[0]["realizedRate"] != page[0]["fundingRate"] or page[0]["realizedRate"] == "0"
    bad = get(clean_sim, path, instId="BTC-USDT-SWAP", limit=401)
    assert bad.json()["code"] == "51000"
    missing = get(clean_sim, path, instId="NOPE-USDT-SWAP").json()
    assert missing["code"] == "51001"


def _missing_any(sim: SimulatorServer, exchange: str, symbol: str) -> int:
    u = sim.universe
    return len(u.missing_settlements(exchange, symbol, u.now() - timedelta(days=91), u.now()))


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


def test_unknown_exchange_and_path(clean_sim: SimulatorServer) -> None:
    assert get(clean_sim, "/nowhere/api").status_code == 404
    assert get(clean_sim, "/okx/api/v5/unknown").status_code == 404
