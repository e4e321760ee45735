"""Bybit parse functions on ccxt's recorded real replies, our simulator recordings, the docs'
examples, and malformed replies."""

from __future__ import annotations

from datetime import UTC, datetime
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

from lib.errors import ExchangeDataError, ExchangeError, TemporaryExchangeError
from lib.exchanges.venues.bybit import next_cursor, parse_contracts, parse_current, parse_history
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)
CCXT_INTERVALS = {"1h": 1.0, "4h": 4.0, "8h": 8.0}

# exchange-apis.md §2.4 / §2.1 / §2.2: documented examples (trimmed to what we read).
DOC_INSTRUMENTS = {
    "retCode": 0, "retMsg": "OK",
    "result": {"category": "linear", "list": [
        {"symbol": "BTCUSDT", "contractType": "LinearPerpetual", "status": "Trading",
         "baseCoin": "BTC", "quoteCoin": "USDT", "settleCoin": "USDT",
         "launchTime": "1585526400000", "deliveryTime": "0", "fundingInterval": 480},
        {"symbol": "1000PEPEUSDT", "contractType": "LinearPerpetual", "status": "Trading",
         "baseCoin": "1000PEPE", "quoteCoin": "USDT", "settleCoin": "USDT",
         "launchTime": "1683187200000", "deliveryTime": "0", "fundingInterval": 60},
        {"symbol": "BTCUSDT-09OCT26", "contractType": "LinearFutures", "status": "Trading",
         "baseCoin": "BTC", "quoteCoin": "USDT", "settleCoin": "USDT",
         "launchTime": "1750000000000", "deliveryTime": "1791532800000", "fundingInterval": 0},
        {"symbol": "NEWUSDT", "contractType": "LinearPerpetual", "status": "PreLaunch",
         "baseCoin": "NEW", "quoteCoin": "USDT", "settleCoin": "USDT",
         "launchTime": "1800000000000", "deliveryTime": "0", "fundingInterval": 240},
    ], "nextPageCursor": ""},
    "retExtInfo": {}, "time": 1672712495660,
}
DOC_TICKER = {
    "symbol": "BTCUSD", "lastPrice": "114000.5", "indexPrice": "114012.32",
    "markPrice": "114001.00", "openInterest": "623455437", "turnover24h": "2345.1",
    "volume24h": "267415060", "fundingRate": "0.0001", "nextFundingTime": "1760371200000",
    "deliveryTime": "0", "fundingIntervalHour": "8", "basisRateYear": "", "fundingCap": "0.005",
}
DOC_TICKERS = {"retCode": 0, "retMsg": "OK",
               "result": {"category": "inverse", "list": [DOC_TICKER]},
               "retExtInfo": {}, "time": 1760352369814}
DOC_HISTORY = {
    "retCode": 0, "retMsg": "OK",
    "result": {"category": "linear", "list": [
        {"symbol": "ETHPERP", "fundingRate": "0.0001", "fundingRateTimestamp": "1672041600000"}
    ]},
    "retExtInfo": {}, "time": 1672051897447,
}


def test_every_ccxt_file_is_replayed() -> None:
    assert shared_files("bybit") == ["fetchFundingRate", "fetchFundingRates"]


def _ccxt_expected(entry: dict[str, Any]) -> dict[str, Any]:
    parsed: dict[str, Any] = entry["parsedResponse"]
    return parsed if "fundingRate" in parsed else parsed["BTC/USDT:USDT"]


@pytest.mark.parametrize(
    "entry",
    ccxt_entries("bybit", "fetchFundingRate") + ccxt_entries("bybit", "fetchFundingRates"),
    ids=lambda e: e["description"],
)
def test_ccxt_funding_rates(entry: dict[str, Any]) -> None:
    """These 2024 tickers predate `fundingIntervalHour`: ccxt took 8h from instruments-info
    (fundingInterval 480), which is the map fetch_current passes then."""
    want = _ccxt_expected(entry)
    with pytest.raises(ExchangeDataError, match="BTCUSDT: missing field 'fundingIntervalHour'"):
        parse_current(entry["httpResponse"], None, OBSERVED)
    instruments = mutated(DOC_INSTRUMENTS, ["result", "list"], lambda c, k: c[k][:1])
    intervals = {c.symbol: c.funding_interval_hours for c in parse_contracts(instruments)}
    (s,) = parse_current(entry["httpResponse"], intervals, OBSERVED)
    assert s.symbol == "BTCUSDT"
    assert s.funding_rate == want["fundingRate"] == 0.0001
    assert to_ms(s.next_funding_time) == want["fundingTimestamp"] == 1730736000000  # type: ignore[arg-type]
    assert s.funding_interval_hours == CCXT_INTERVALS[want["interval"]] == 8.0
    assert (s.mark_price, s.index_price) == (want["markPrice"], want["indexPrice"])
    assert to_ms(s.timestamp) == want["timestamp"]  # the envelope's `time`, a string here
    row = entry["httpResponse"]["result"]["list"][0]
    assert s.open_interest == float(row["openInterest"])
    assert s.volume_24h == float(row["turnover24h"])  # quote turnover, not base volume


def test_documented_instruments() -> None:
    btc, pepe = parse_contracts(DOC_INSTRUMENTS)  # dated future and pre-launch left out
    assert (btc.symbol, btc.canonical_symbol, btc.funding_interval_hours) == (
        "BTCUSDT", "BTC/USDT:USDT", 8.0
    )
    assert btc.listed_at == from_ms(1585526400000)
    assert (pepe.canonical_symbol, pepe.multiplier, pepe.funding_interval_hours) == (
        "PEPE/USDT:USDT", 1000.0, 1.0
    )
    assert next_cursor(DOC_INSTRUMENTS) is None
    assert next_cursor(mutated(DOC_INSTRUMENTS, ["result", "nextPageCursor"],
                               set_to("b2Zmc2V0PTUwMA"))) == "b2Zmc2V0PTUwMA"


def test_usdc_perpetual_named_perp() -> None:
    perp = mutated(DOC_INSTRUMENTS, ["result", "list", 0], set_to(
        {"symbol": "ETHPERP", "contractType": "LinearPerpetual", "status": "Trading",
         "baseCoin": "ETH", "quoteCoin": "USDC", "settleCoin": "USD",
         "launchTime": "1650000000000", "deliveryTime": "0", "fundingInterval": 480}))
    eth = parse_contracts(perp)[0]
    assert (eth.symbol, eth.canonical_symbol) == ("ETHPERP", "ETH/USDC:USDC")


def test_documented_ticker_with_interval() -> None:
    (s,) = parse_current(DOC_TICKERS, None, OBSERVED)
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == ("BTCUSD", 0.0001, 8.0)
    assert to_ms(s.next_funding_time) == 1760371200000  # type: ignore[arg-type]
    assert to_ms(s.timestamp) == 1760352369814
    hourly = mutated(DOC_TICKERS, ["result", "list", 0, "fundingIntervalHour"], set_to("1"))
    assert parse_current(hourly, {"BTCUSD": 8.0}, OBSERVED)[0].funding_interval_hours == 1.0


def test_documented_history() -> None:
    (e,) = parse_history(DOC_HISTORY, "ETHPERP")
    assert (to_ms(e.funding_time), e.funding_rate, e.symbol) == (1672041600000, 0.0001, "ETHPERP")


def test_simulator_recorded_instruments() -> None:
    record = recording("bybit", "instruments")
    contracts = parse_contracts(record["response"])
    check_contracts(contracts, record)
    assert {c.funding_interval_hours for c in contracts} == {1.0, 4.0, 8.0}
    assert any(c.multiplier == 1000 for c in contracts)


def test_simulator_recorded_tickers() -> None:
    record = recording("bybit", "tickers")
    snapshots = {s.symbol: s for s in parse_current(record["response"], None, OBSERVED)}
    truth = record["expected"]["current"]
    assert set(snapshots) == {t["symbol"] for t in truth}  # dated futures left out
    for t in truth:
        s = snapshots[t["symbol"]]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-15)
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]  # type: ignore[arg-type]
        assert s.open_interest is not None and s.volume_24h is not None


def test_simulator_recorded_history() -> None:
    record = recording("bybit", "history")
    events = parse_history(record["response"], record["symbol"])
    times = [e.funding_time for e in events]
    assert times == sorted(times, reverse=True)  # newest first
    assert len(check_history(events, record)) == 7


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (mutated(DOC_TICKERS, ["result", "list", 0, "fundingRate"], drop),
         "missing field 'fundingRate'"),
        (mutated(DOC_TICKERS, ["result", "list", 0, "fundingRate"], set_to("0.01%")),
         "field 'fundingRate' has bad value '0.01%'"),
        (mutated(DOC_TICKERS, ["result", "list", 0, "nextFundingTime"], set_to("soon")),
         "field 'nextFundingTime' has bad value 'soon'"),
        (mutated(DOC_TICKERS, ["result", "list", 0, "fundingIntervalHour"], set_to("0")),
         "field 'fundingIntervalHour' has bad value '0'"),
        (mutated(DOC_TICKERS, ["result"], drop), "missing field 'result'"),
        (mutated(DOC_TICKERS, ["result", "list"], drop), "missing field 'list'"),
        (mutated(DOC_TICKERS, ["retCode"], drop), "missing field 'retCode'"),
        ([DOC_TICKER], "expected a JSON object, got list"),
    ],
)
def test_malformed_tickers(payload: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=r"^bybit: /v5/market/tickers: ") as e:
        parse_current(payload, None, OBSERVED)
    assert message in str(e.value)


def test_malformed_instruments_and_history() -> None:
    with pytest.raises(ExchangeDataError, match="'fundingInterval' has bad value -480"):
        parse_contracts(mutated(DOC_INSTRUMENTS, ["result", "list", 0, "fundingInterval"],
                                set_to(-480)))
    with pytest.raises(ExchangeDataError, match="missing field 'settleCoin'"):
        parse_contracts(mutated(DOC_INSTRUMENTS, ["result", "list", 1, "settleCoin"], drop))
    with pytest.raises(ExchangeDataError, match="missing field 'fundingRateTimestamp'"):
        parse_history(mutated(DOC_HISTORY, ["result", "list", 0, "fundingRateTimestamp"], drop),
                      "ETHPERP")


def test_error_envelope_names_the_code() -> None:
    refused = {"retCode": 10001, "retMsg": "params error: symbol invalid", "result": {},
               "retExtInfo": {}, "time": 1}
    with pytest.raises(ExchangeError, match="error 10001: params error: symbol invalid") as e:
        parse_history(refused, "NOPEUSDT")
    assert not isinstance(e.value, (ExchangeDataError, TemporaryExchangeError))
    busy = dict(refused, retCode=10006, retMsg="Too many visits!")
    with pytest.raises(TemporaryExchangeError, match="error 10006: Too many visits!"):
        parse_current(busy, None, OBSERVED)


def test_unknown_symbol_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    odd = mutated(DOC_INSTRUMENTS, ["result", "list", 0, "baseCoin"], set_to("BTC-X"))
    assert [c.symbol for c in parse_contracts(odd)] == ["1000PEPEUSDT"]
    assert "bybit BTCUSDT: contract skipped" in caplog.text
