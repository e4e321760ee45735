"""The endpoints of the venues added after the first eight (Aster, Backpack, MEXC, Deribit,
Hibachi, Drift, Lighter, Pacifica): documented shapes and types, page limits, sort order, errors.

Shapes are checked against the recorded real responses in ../shared/exchange-responses and the
examples in ../shared/exchange-apis.md and exchange-apis-more.md.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from venue_shapes import (
    DAY_MS,
    btc_history_span,
    dt_from_ms,
    floor_to_hour,
    get,
    real_capture,
    recorded,
    same_types,
)

from lib.simulator import SimulatorServer


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
        for t, _ in u.settlements("aster", c.symbol, dt_from_ms(start), dt_from_ms(last - 1))
    )
    got = [(dt_from_ms(r["fundingTime"]), r["symbol"]) for r in rows if r["fundingTime"] < last]
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
    assert dt_from_ms(recent[-1]["fundingTime"]) in {before, after}  # without startTime: the latest


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


# ----- Hibachi --------------------------------------------------------------------------------
def test_hibachi_inventory_info_and_history(clean_sim: SimulatorServer) -> None:
    inventory = get(clean_sim, "/hibachi/market/inventory").json()
    live = [m for m in inventory["markets"] if m["contract"]["status"] == "LIVE"]
    closed = [m for m in inventory["markets"] if m["contract"]["status"] == "CLOSED"]
    assert len(live) == len(clean_sim.universe.contracts("hibachi")) and closed
    assert all(v is None for k, v in closed[0]["info"].items() if k != "tags")
    real = real_capture("hibachi/real-inventory.json")
    if real is not None:
        same_types(live[0]["contract"], real["markets"][0]["contract"])
        same_types(live[0]["info"], real["markets"][0]["info"])
    info = get(clean_sim, "/hibachi/market/exchange-info").json()
    assert {c["symbol"] for c in info["futureContracts"]} == {
        m["contract"]["symbol"] for m in inventory["markets"]}
    prices = get(clean_sim, "/hibachi/market/data/prices", symbol="BTC/USDT-P").json()
    assert prices["fundingRateEstimation"]["nextFundingTimestamp"] % 3600 == 0  # seconds
    path = "/hibachi/market/data/funding-rates"
    now_s = clean_sim.universe.clock.now_ms() // 1000
    rows = get(clean_sim, path, symbol="BTC/USDT-P", startTime=now_s - 30 * 86400,
               endTime=now_s, limit=1000).json()
    assert rows["pagination"] == {"limit": 100, "offset": 0}  # above 100 served as 100
    stamps = [r["fundingTimestamp"] for r in rows["data"]]
    assert len(stamps) == 100 and stamps == sorted(stamps)  # oldest first, seconds
    assert {b - a for a, b in itertools.pairwise(stamps)} >= {8 * 3600}  # 8 h era
    later = get(clean_sim, path, symbol="BTC/USDT-P", startTime=now_s - 30 * 86400,
                endTime=now_s, limit=100, offset=100).json()["data"]
    assert later[0]["fundingTimestamp"] > stamps[-1]
    recent = get(clean_sim, path, symbol="BTC/USDT-P", startTime=now_s - 5 * 3600,
                 endTime=now_s).json()["data"]
    gaps = {b["fundingTimestamp"] - a["fundingTimestamp"] for a, b in itertools.pairwise(recent)}
    assert gaps <= {3600, 7200}  # hourly now (7200: a settlement the venue skipped)
    real_rows = real_capture("hibachi/real-funding-rates-BTC.json")
    if real_rows is not None:
        same_types(rows["data"][0], real_rows["data"][0])
    bad = get(clean_sim, path, symbol="NOPE/USDT-P")
    assert bad.status_code == 400 and bad.json()["status"] == "failed"


# ----- Drift ----------------------------------------------------------------------------------
def test_drift_markets_history_and_forbidden(clean_sim: SimulatorServer) -> None:
    markets = get(clean_sim, "/drift/stats/markets").json()["markets"]
    perps = [m for m in markets if m["marketType"] == "perp" and m["status"] == "active"]
    assert len(perps) == len(clean_sim.universe.contracts("drift"))
    assert any(m["marketType"] == "spot" for m in markets)
    real = recorded("drift/fetchMarkets.json")
    if real is not None:
        same_types(perps[0], real["markets"][0], frozenset({"priceHigh", "priceLow"}))
    btc = next(m for m in perps if m["symbol"] == "BTC-PERP")
    truth = clean_sim.universe.current("drift", "BTC-PERP").rate
    assert float(btc["fundingRate"]["long"]) == -float(btc["fundingRate"]["short"])
    assert abs(-float(btc["fundingRate"]["long"]) / 100 - truth) < 1e-15  # longs' P&L, in %
    path = "/drift/market/BTC-PERP/fundingRates"
    page1 = get(clean_sim, path, limit=750).json()
    assert len(page1["records"]) == 750 and page1["meta"]["nextPage"] == 2
    stamps = [r["ts"] for r in page1["records"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first, seconds
    page2 = get(clean_sim, path, limit=750, page=2).json()["records"]
    assert page2[0]["ts"] < stamps[-1]
    assert get(clean_sim, path).json()["records"].__len__() == 20  # default limit
    assert get(clean_sim, path, limit=751).status_code == 400
    legacy = get(clean_sim, "/drift/fundingRates", marketName="BTC-PERP").json()["fundingRates"]
    assert "." not in legacy[0]["fundingRate"] and isinstance(legacy[0]["ts"], str)
    new = {r["ts"]: r for r in page1["records"]}
    row = next(r for r in legacy if int(r["ts"]) in new)
    scaled = (int(row["fundingRate"]) / 1e9) / (int(row["oraclePriceTwap"]) / 1e6)
    match = new[int(row["ts"])]
    assert abs(scaled - float(match["fundingRate"]) / float(match["oraclePriceTwap"])) < 1e-9
    assert get(clean_sim, "/drift/market/NOPE-PERP/fundingRates").status_code == 404
    venue = clean_sim.app.venues["drift"]
    venue.forbidden = True  # type: ignore[attr-defined]
    try:
        refused = get(clean_sim, "/drift/stats/markets")
        assert refused.status_code == 403 and refused.json() == {"message": "Forbidden"}
        assert get(clean_sim, "/hibachi/market/inventory").status_code == 200
    finally:
        venue.forbidden = False  # type: ignore[attr-defined]
# ----- Lighter --------------------------------------------------------------------------------
def test_lighter_markets_rates_and_fundings(clean_sim: SimulatorServer) -> None:
    details = get(clean_sim, "/lighter/api/v1/orderBookDetails").json()
    perps = details["order_book_details"]
    eth = next(p for p in perps if p["symbol"] == "ETH")
    assert (eth["market_id"], eth["market_type"], eth["status"]) == (0, "perp", "active")
    assert next(p for p in perps if p["symbol"] == "BTC")["market_id"] == 1
    assert any(p["status"] == "inactive" for p in perps)
    assert isinstance(eth["mark_price"], str) and isinstance(eth["funding_clamp_big"], str)
    real = recorded("lighter/fetchMarkets.json")
    if real is not None:
        same_types(eth, real["order_book_details"][0], ignore=frozenset({"daily_chart"}))
    rates = get(clean_sim, "/lighter/api/v1/funding-rates").json()["funding_rates"]
    assert {r["exchange"] for r in rates} == {"lighter", "binance", "bybit", "hyperliquid"}
    own = next(r for r in rates if r["exchange"] == "lighter" and r["market_id"] == 0)
    truth = clean_sim.universe.current("lighter", "ETH")
    assert own["rate"] == truth.rate * 8 and isinstance(own["rate"], float)  # 8-hour scale
    real_rates = recorded("lighter/fetchFundingRates.json")
    if real_rates is not None:
        same_types(own, real_rates["funding_rates"][0])
    now_s = clean_sim.universe.clock.now_ms() // 1000
    path = "/lighter/api/v1/fundings"
    window = {"market_id": 0, "resolution": "1h", "start_timestamp": now_s - 40 * 86_400,
              "end_timestamp": now_s}
    rows = get(clean_sim, path, count_back=0, **window).json()["fundings"]
    assert len(rows) == 750  # the silent cap, oldest first from the start
    stamps = [r["timestamp"] for r in rows]
    assert stamps == sorted(stamps) and stamps[0] >= window["start_timestamp"]
    assert all(t % 3600 == 0 for t in stamps)
    assert all(r["direction"] in ("long", "short") and not r["rate"].startswith("-")
               for r in rows)
    newest = get(clean_sim, path, count_back=5, **window).json()["fundings"]
    assert len(newest) == 5 and newest[-1]["timestamp"] < now_s
    edge = dict(window, start_timestamp=stamps[0], end_timestamp=stamps[3])
    assert [r["timestamp"] for r in get(clean_sim, path, count_back=0, **edge).json()[
        "fundings"]] == stamps[:3]  # start inclusive, end exclusive
    missing = get(clean_sim, path, **window)  # count_back is required
    assert missing.status_code == 400 and missing.json()["code"] == 20001


# ----- Pacifica -------------------------------------------------------------------------------
def test_pacifica_info_prices_and_history(clean_sim: SimulatorServer) -> None:
    info = get(clean_sim, "/pacifica/api/v1/info").json()
    assert info["success"] is True and info["error"] is None
    kinds = {r["instrument_type"] for r in info["data"]}
    assert kinds == {"perpetual", "spot"}
    created = [r["created_at"] for r in info["data"] if r["instrument_type"] == "perpetual"]
    assert created == sorted(created)  # oldest first
    real = recorded("pacifica/fetchMarkets.json")
    btc_info = next(r for r in info["data"] if r["symbol"] == "BTC")
    if real is not None:
        same_types(btc_info, real["data"][0])
    prices = get(clean_sim, "/pacifica/api/v1/info/prices").json()["data"]
    btc = next(r for r in prices if r["symbol"] == "BTC")
    assert isinstance(btc["funding"], str) and isinstance(btc["timestamp"], int)
    assert btc["funding"] == btc_info["funding_rate"]
    path = "/pacifica/api/v1/funding_rate/history"
    page = get(clean_sim, path, symbol="BTC", limit=5).json()
    assert page["has_more"] is True and isinstance(page["next_cursor"], str)
    stamps = [r["created_at"] for r in page["data"]]
    assert stamps == sorted(stamps, reverse=True)  # newest first
    assert page["data"][0]["next_funding_rate"] == btc["funding"]
    older = get(clean_sim, path, symbol="BTC", limit=5, cursor=page["next_cursor"]).json()
    assert older["data"][0]["created_at"] < stamps[-1]
    assert older["data"][0]["next_funding_rate"] == page["data"][-1]["funding_rate"]
    assert len(get(clean_sim, path, symbol="BTC").json()["data"]) == 100  # default limit
    assert get(clean_sim, path, symbol="BTC", limit=4001).status_code == 400
    assert get(clean_sim, path, symbol="BTC", cursor="nonsense!").status_code == 400
    gone = get(clean_sim, path, symbol="NOPE")
    assert gone.status_code == 404 and gone.json()["success"] is False


def test_unknown_exchange_and_path(clean_sim: SimulatorServer) -> None:
    assert get(clean_sim, "/nowhere/api").status_code == 404
    assert get(clean_sim, "/okx/api/v5/unknown").status_code == 404


# ----- MEXC -----------------------------------------------------------------------------------
def test_mexc_funding_rates_detail_and_pages(clean_sim: SimulatorServer) -> None:
    base = "/mexc/api/v1/contract"
    one = get(clean_sim, f"{base}/funding_rate/BTC_USDT").json()
    assert (one["success"], one["code"]) == (True, 0) and isinstance(one["data"], dict)
    every = get(clean_sim, f"{base}/funding_rate").json()["data"]
    assert {r["symbol"] for r in every} == {c.symbol for c in clean_sim.universe.contracts("mexc")}
    row = next(r for r in every if r["symbol"] == "BTC_USDT")
    assert row["nextSettleTime"] % (row["collectCycle"] * 3_600_000) == 0
    real = real_capture("mexc/real-funding_rate-BTC_USDT.json")
    if real is not None:
        same_types(one, real)
        same_types(one["data"], real["data"])
    detail = get(clean_sim, f"{base}/detail").json()["data"]
    real_detail = real_capture("mexc/real-detail.json")
    if real_detail is not None:
        same_types(detail[0], real_detail["data"][0])
    assert {d["state"] for d in detail} == {0, 3}  # offline contracts stay listed
    ticker = get(clean_sim, f"{base}/ticker", symbol="BTC_USDT").json()["data"]
    assert isinstance(ticker, dict) and isinstance(ticker["holdVol"], int)
    path = f"{base}/funding_rate/history"
    first = get(clean_sim, path, symbol="BTC_USDT").json()["data"]
    assert first["pageSize"] == 20 and len(first["resultList"]) == 20  # default page_size
    p1 = get(clean_sim, path, symbol="BTC_USDT", page_num=1, page_size=100).json()["data"]
    p2 = get(clean_sim, path, symbol="BTC_USDT", page_num=2, page_size=100).json()["data"]
    stamps = [r["settleTime"] for r in p1["resultList"] + p2["resultList"]]
    btc_history_span(stamps)
    assert len(set(stamps)) == 200 and p1["totalCount"] == p2["totalCount"] > 200
    real_page = real_capture("mexc/real-funding_rate-history-BTC_USDT.json")
    if real_page is not None:
        same_types(p1, real_page["data"])
        same_types(p1["resultList"][0], real_page["data"]["resultList"][0])
    whole = get(clean_sim, path, symbol="BTC_USDT", page_size=1000).json()["data"]
    assert len(whole["resultList"]) == whole["totalCount"] > 260  # 90 days of 8 h on one page
    too_big = get(clean_sim, path, symbol="BTC_USDT", page_size=1001).json()
    assert (too_big["success"], too_big["code"]) == (False, 600)
    assert get(clean_sim, path, symbol="NOPE_USDT").json()["code"] == 1001
    assert get(clean_sim, path).json()["success"] is False


# ----- Deribit --------------------------------------------------------------------------------
def test_deribit_instruments_summaries_and_history(clean_sim: SimulatorServer) -> None:
    public = "/deribit/api/v2/public"
    u = clean_sim.universe
    listed = get(clean_sim, f"{public}/get_instruments", currency="any", kind="future").json()
    rows = {r["instrument_name"]: r for r in listed["result"]}
    assert isinstance(listed["usOut"], int) and listed["jsonrpc"] == "2.0"
    assert rows["BTC-PERPETUAL"]["settlement_currency"] == "BTC"
    assert rows["BTC-PERPETUAL"]["contract_size"] == 10
    assert any(r["settlement_period"] != "perpetual" for r in rows.values())  # dated futures
    real = real_capture("deribit/real-get_instruments-USDC.json")
    linear = next(r for r in rows.values() if r["instrument_name"].endswith("_USDC-PERPETUAL"))
    if real is not None:
        # JSON numbers either way: Deribit writes a whole size as 1 and a fraction as 0.1
        same_types(linear, real["result"][0],
                   frozenset({"min_trade_amount", "contract_size", "tick_size"}))
    assert get(clean_sim, f"{public}/get_instruments").json()["result"]  # ccxt: no currency
    summary = get(clean_sim, f"{public}/get_book_summary_by_currency", currency="BTC",
                  kind="future").json()["result"]
    btc = next(r for r in summary if r["instrument_name"] == "BTC-PERPETUAL")
    assert btc["current_funding"] == 8 * u.current("deribit", "BTC-PERPETUAL").rate
    assert all("current_funding" not in r for r in summary if r is not btc)
    refused = get(clean_sim, f"{public}/get_book_summary_by_currency", currency="any")
    assert refused.status_code == 400 and refused.json()["error"]["code"] == -32602
    path = f"{public}/get_funding_rate_history"
    hour = u.clock.now_ms() // 3_600_000 * 3_600_000
    window = get(clean_sim, path, instrument_name="BTC-PERPETUAL",
                 start_timestamp=hour - 10 * 3_600_000, end_timestamp=hour).json()["result"]
    stamps = [r["timestamp"] for r in window]
    assert stamps == sorted(stamps) and stamps[-1] == hour  # ascending, end inclusive
    assert stamps[0] > hour - 10 * 3_600_000  # start exclusive
    capped = get(clean_sim, path, instrument_name="BTC-PERPETUAL", start_timestamp=0,
                 end_timestamp=hour).json()["result"]
    assert len(capped) == 744 and capped[-1]["timestamp"] == hour  # the newest 744
    assert get(clean_sim, path, instrument_name="BTC-PERPETUAL").status_code == 400
    value = get(clean_sim, f"{public}/get_funding_rate_value", instrument_name="BTC-PERPETUAL",
                start_timestamp=hour - 8 * 3_600_000, end_timestamp=hour).json()["result"]
    assert value == pytest.approx(window[-1]["interest_8h"], abs=1e-15)
    assert value == pytest.approx(sum(r["interest_1h"] for r in window[-8:]), abs=1e-15)
