"""Lighter parse functions on ccxt's recorded real replies (../shared/exchange-responses/lighter/),
the documented examples (exchange-apis-more.md §18), our simulator recordings and malformed
replies; and the adapter against the simulator where market 0 (ETH) must be asked for.

What Lighter gets wrong elsewhere, each tested here: funding-rates is an 8-hour equivalent
(hourly = rate / 8) and relays other venues' rows; fundings history is an unsigned percent per
hour with the sign in `direction`; market 0 is a real market.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from recorded_replies import (
    ccxt_entries,
    check_contracts,
    check_history,
    drop,
    mutated,
    recording,
    set_to,
    shared_files,
)
from simulator_checks import adapter, live_simulator

from lib.analytics.units import to_usd
from lib.errors import ExchangeDataError, ExchangeError, TemporaryExchangeError
from lib.exchanges.venues.lighter import (
    INTERVAL_HOURS,
    parse_contracts,
    parse_current,
    parse_history,
    parse_market_ids,
)
from lib.timeutils import floor_to_interval, from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, 10, 17, 3, tzinfo=UTC)
NEXT_HOUR = datetime(2026, 1, 1, 11, tzinfo=UTC)

# exchange-apis-more.md §18.1 (ccxt's recording plus the ai-rates fixture)
DOC_RATES = {"code": 200, "funding_rates": [
    {"market_id": 1, "exchange": "binance", "symbol": "BTC", "rate": 0.00002494},
    {"market_id": 1, "exchange": "bybit", "symbol": "BTC", "rate": 0.00004936},
    {"market_id": 1, "exchange": "hyperliquid", "symbol": "BTC", "rate": 0.0000655096},
    {"market_id": 0, "exchange": "lighter", "symbol": "ETH", "rate": 0.00009599999999999999},
    {"market_id": 1, "exchange": "lighter", "symbol": "BTC", "rate": 0.00009599999999999999},
]}
# §18.2 (ai-rates' BTC fixture), the second row's direction turned to "short"
DOC_FUNDINGS = {"code": 200, "resolution": "1h", "fundings": [
    {"timestamp": 1789135200, "value": "0.79227600", "rate": "0.0010", "direction": "long"},
    {"timestamp": 1789138800, "value": "0.07879940", "rate": "0.0001", "direction": "short"},
]}


def test_every_ccxt_file_is_replayed() -> None:
    assert shared_files("lighter") == ["fetchFundingRates", "fetchMarkets"]


def test_ccxt_funding_rates_are_eight_hour_equivalents() -> None:
    """ccxt passes `rate` through (0.000096, an 8-hour figure); the hourly rate is an eighth:
    0.000012 = the 0.0012 % hourly floor that /fundings prints."""
    (entry,) = ccxt_entries("lighter", "fetchFundingRates")
    (s,) = parse_current(entry["httpResponse"], None, OBSERVED)
    parsed = entry["parsedResponse"]["ETH/USDC:USDC"]
    assert (s.symbol, s.funding_interval_hours) == ("ETH", 1.0)
    assert s.funding_rate == parsed["fundingRate"] / 8 == pytest.approx(0.000012, abs=1e-15)
    assert s.next_funding_time == NEXT_HOUR  # no field: the next full hour
    assert (s.mark_price, s.open_interest, s.rate_cap) == (None, None, None)  # no details


def test_ccxt_markets_and_market_zero() -> None:
    (entry,) = ccxt_entries("lighter", "fetchMarkets")
    (c,) = parse_contracts(entry["httpResponse"])
    (market,) = entry["parsedResponse"]
    assert (c.symbol, c.canonical_symbol, c.ccxt_symbol) == ("ETH", market["symbol"],
                                                             "ETH/USDC:USDC")
    assert (c.quote, c.settle, c.multiplier) == ("USDC", "USDC", 1.0)
    assert c.contract_size == market["contractSize"] == 1
    assert (c.funding_interval_hours, c.listed_at) == (INTERVAL_HOURS, None)
    assert parse_market_ids(entry["httpResponse"]) == {"ETH": 0}  # 0 is a market, not "none"
    assert market["id"] == "0"


def test_ccxt_replies_together_give_the_extras() -> None:
    """funding-rates + orderBookDetails: open interest (one side, base units) and the day's
    USDC volume from the recorded market row, joined on market id 0."""
    (rates,) = ccxt_entries("lighter", "fetchFundingRates")
    (markets,) = ccxt_entries("lighter", "fetchMarkets")
    (s,) = parse_current(rates["httpResponse"], markets["httpResponse"], OBSERVED)
    assert (s.symbol, s.open_interest, s.volume_24h) == ("ETH", 39559.3278, 1671431095.263844)
    assert (s.open_interest_unit, s.volume_unit) == ("base", "quote")
    assert s.mark_price is None  # this older reply has no mark_price field


def test_relayed_rows_of_other_venues_are_left_out() -> None:
    snapshots = parse_current(DOC_RATES, None, OBSERVED)
    assert [(s.symbol, s.funding_rate) for s in snapshots] == [
        ("ETH", 0.00009599999999999999 / 8), ("BTC", 0.00009599999999999999 / 8)
    ]
    assert all(s.exchange == "lighter" for s in snapshots)


def test_history_is_unsigned_percent_with_a_direction() -> None:
    """"0.0010" % per hour paid by longs = +0.00001; "0.0001" paid by shorts = -0.000001."""
    events = parse_history(DOC_FUNDINGS, "BTC")
    assert [(e.funding_time, e.funding_rate) for e in events] == [
        (datetime(2026, 9, 11, 14, tzinfo=UTC), 0.00001),
        (datetime(2026, 9, 11, 15, tzinfo=UTC), -0.000001),
    ]
    assert [e.funding_interval_hours for e in events] == [1.0, 1.0]  # from their spacing
    # the floor, 0.01 %/8 h = 0.00125 %/h, prints truncated as "0.0012": exactly 0.000012
    (floor,) = parse_history({"code": 200, "fundings": [
        {"timestamp": 1789135200, "value": "0.9", "rate": "0.0012", "direction": "long"}]}, "BTC")
    assert floor.funding_rate == 0.000012
    assert floor.funding_interval_hours is None  # one row shows no spacing: the contract's


def test_simulator_recordings() -> None:
    details = recording("lighter", "order_book_details")
    check_contracts(parse_contracts(details["response"]), details)  # "inactive" left out
    assert any(row["status"] == "inactive" for row in details["response"]["order_book_details"])
    record = recording("lighter", "funding_rates")
    relayed = [r for r in record["response"]["funding_rates"] if r["exchange"] != "lighter"]
    assert relayed  # the simulator relays other venues' rows like Lighter does
    snapshots = parse_current(record["response"], details["response"],
                              from_ms(record["observed_at_ms"]))
    truth = {t["symbol"]: t for t in record["expected"]["current"]}
    assert sorted(s.symbol for s in snapshots) == sorted(truth)
    rows = {r["symbol"]: r for r in details["response"]["order_book_details"]}
    for s in snapshots:
        t, row = truth[s.symbol], rows[s.symbol]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-15), s.symbol
        assert (s.funding_interval_hours, to_ms(s.next_funding_time)) == (
            t["interval_hours"], t["next_funding_ms"])
        assert s.open_interest == row["open_interest"] and s.open_interest_unit == "base"
        assert to_usd(s.open_interest, s.open_interest_unit, price=s.mark_price) == (
            row["open_interest"] * float(row["mark_price"]))
        assert (s.rate_cap, s.rate_floor) == (0.005, -0.005)  # 4 % per 8 h = 0.5 % an hour
        assert s.index_price == float(row["index_price"])


def test_simulator_history_recording() -> None:
    record = recording("lighter", "history")
    assert record["symbol"] == "ETH" and record["request"]["params"]["market_id"] == 0
    events = parse_history(record["response"], record["symbol"])
    times = [e.funding_time for e in events]
    assert times == sorted(times)  # oldest first
    assert all(to_ms(t) % 3_600_000 == 0 for t in times)  # seconds, on the hour
    got = check_history(events, record)
    assert any(rate < 0 for _, rate in got)  # negative rates come back negative
    rows = record["response"]["fundings"]
    assert all(not r["rate"].startswith("-") for r in rows)  # the reply is unsigned
    assert {r["direction"] for r in rows} == {"long", "short"}


def test_adapter_asks_market_zero_for_eth() -> None:
    """ETH is market 0: the history request carries market_id=0 (a falsy id dropped would be
    refused by the venue, which requires all five parameters) and returns ETH's rows."""
    with live_simulator() as sim:
        a = adapter(sim, "lighter")
        eth = next(c for c in a.list_contracts() if c.symbol == "ETH")
        assert a.market_id("ETH") == 0
        end = floor_to_interval(sim.universe.now(), 1) - timedelta(hours=2)
        start = end - timedelta(days=2)
        events = a.fetch_history(eth, start, end)
        assert [(e.funding_time, e.funding_rate) for e in events] == (
            sim.universe.settlements("lighter", "ETH", start, end))
        assert a.request_count == 2  # the listing, one history page


def test_history_without_a_listing_looks_the_market_up_once() -> None:
    with live_simulator() as sim:
        listed = adapter(sim, "lighter").list_contracts()
        a = adapter(sim, "lighter")  # a fresh adapter: contracts from the database, say
        btc = next(c for c in listed if c.symbol == "BTC")
        end = floor_to_interval(sim.universe.now(), 1) - timedelta(hours=2)
        assert len(a.fetch_history(btc, end - timedelta(hours=5), end)) >= 5
        assert len(a.fetch_history(btc, end - timedelta(hours=9), end)) >= 9
        assert a.request_count == 3  # orderBookDetails once, then one page each
        with pytest.raises(ExchangeError, match="NOPE: no active perpetual market"):
            a.market_id("NOPE")


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["fundings", 0, "direction"], set_to("up"), "field 'direction' has bad value 'up'"),
        (["fundings", 0, "direction"], drop, "missing field 'direction'"),
        (["fundings", 0, "rate"], set_to("-0.0010"), "field 'rate' has bad value '-0.0010'"),
        (["fundings", 0, "rate"], set_to("NaN"), "field 'rate' has bad value 'NaN'"),
        (["fundings", 0, "timestamp"], set_to("soon"), "field 'timestamp' has bad value"),
        (["fundings"], set_to({}), "'fundings' is not a list of objects"),
        (["code"], drop, "missing field 'code'"),
    ],
)
def test_malformed_history(path: list[Any], change: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_history(mutated(DOC_FUNDINGS, path, change), "BTC")


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["funding_rates", 3, "rate"], set_to("high"), "field 'rate' has bad value 'high'"),
        (["funding_rates", 3, "rate"], set_to("NaN"), "field 'rate' has bad value 'NaN'"),
        (["funding_rates", 3, "market_id"], drop, "missing field 'market_id'"),
        (["funding_rates", 3, "market_id"], set_to(None), "field 'market_id' has bad value"),
        (["funding_rates", 3, "exchange"], set_to(None), "field 'exchange' has bad value"),
    ],
)
def test_malformed_rates(path: list[Any], change: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_current(mutated(DOC_RATES, path, change), None, OBSERVED)


def test_error_codes() -> None:
    with pytest.raises(TemporaryExchangeError) as busy:
        parse_current({"code": 23000, "message": "Too Many Requests!"}, None, OBSERVED)
    assert str(busy.value) == "lighter: /api/v1/funding-rates: error 23000: Too Many Requests!"
    with pytest.raises(ExchangeError) as bad:
        parse_history({"code": 20001, "message": "invalid param"}, "BTC")
    assert not isinstance(bad.value, TemporaryExchangeError)
    assert str(bad.value) == "lighter: /api/v1/fundings: error 20001: invalid param"
