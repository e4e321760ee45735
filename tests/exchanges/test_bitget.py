"""Bitget parse functions on ccxt's recorded real replies, our simulator recordings, the docs'
examples, and malformed replies; the page estimate for history."""

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

from lib.errors import ExchangeDataError, ExchangeError, TemporaryExchangeError
from lib.exchanges.base import first_page
from lib.exchanges.venues.bitget import (
    CURRENT,
    parse_contracts,
    parse_current,
    parse_history,
    parse_schedule,
    parse_tickers,
)
from lib.models import Contract
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)
CCXT_INTERVALS = {"1h": 1.0, "2h": 2.0, "4h": 4.0, "8h": 8.0}

# exchange-apis.md §4.4 / §4.1b: documented examples (trimmed to what we read).
DOC_CONTRACTS = {
    "code": "00000", "msg": "success", "requestTime": 1695793701269,
    "data": [
        {"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT",
         "supportMarginCoins": ["USDT"], "symbolType": "perpetual", "symbolStatus": "normal",
         "offTime": "-1", "launchTime": "", "fundInterval": "8", "sizeMultiplier": "0.01"},
        {"symbol": "1000SATSUSDT", "baseCoin": "1000SATS", "quoteCoin": "USDT",
         "supportMarginCoins": ["USDT"], "symbolType": "perpetual",
         "symbolStatus": "limit_open", "launchTime": "1702000000000", "fundInterval": "4"},
        {"symbol": "NEWUSDT", "baseCoin": "NEW", "quoteCoin": "USDT",
         "supportMarginCoins": ["USDT"], "symbolType": "perpetual", "symbolStatus": "listed",
         "launchTime": "1800000000000", "fundInterval": "8"},
        {"symbol": "OLDUSDT", "baseCoin": "OLD", "quoteCoin": "USDT",
         "supportMarginCoins": ["USDT"], "symbolType": "perpetual", "symbolStatus": "off",
         "launchTime": "", "fundInterval": "8"},
        {"symbol": "ETHUSD_231229", "baseCoin": "ETH", "quoteCoin": "USD",
         "supportMarginCoins": ["ETH"], "symbolType": "delivery", "symbolStatus": "normal",
         "launchTime": "", "fundInterval": "8"},
    ],
}
DOC_TICKERS = {
    "code": "00000", "msg": "success", "requestTime": 1700533773477,
    "data": [{"symbol": "BTCUSDT", "lastPr": "29904.5", "ts": "1695794271400",
              "baseVolume": "12.5", "quoteVolume": "373806.25", "indexPrice": "29132.353333",
              "fundingRate": "-0.0007", "holdingAmount": "125.6844", "markPrice": "12345",
              "deliveryStartTime": None, "deliveryTime": None}],
}


def test_every_ccxt_file_is_replayed() -> None:
    assert shared_files("bitget") == [
        "fetchFundingInterval", "fetchFundingRate", "fetchFundingRateHistory"
    ]


RATE_ENTRIES = ccxt_entries("bitget", "fetchFundingInterval") + ccxt_entries(
    "bitget", "fetchFundingRate"
)


@pytest.mark.parametrize("entry", RATE_ENTRIES, ids=lambda e: e["description"])
def test_ccxt_funding_schedule(entry: dict[str, Any]) -> None:
    """Every reply (current-fund-rate v2 and UTA, funding-time) gives next time + interval."""
    want = entry["parsedResponse"]
    ((symbol, (when, hours)),) = parse_schedule(entry["httpResponse"]).items()
    assert symbol == "BTCUSDT"
    assert to_ms(when) == want["fundingTimestamp"]
    assert hours == CCXT_INTERVALS[want["interval"]] == 8.0


@pytest.mark.parametrize("entry", [e for e in RATE_ENTRIES if e["parsedResponse"]["fundingRate"]
                                   is not None], ids=lambda e: e["description"])
def test_ccxt_funding_rates(entry: dict[str, Any]) -> None:
    want = entry["parsedResponse"]
    (s,) = parse_current(entry["httpResponse"], None, OBSERVED)
    assert s.symbol == "BTCUSDT"
    assert s.funding_rate == want["fundingRate"]
    assert to_ms(s.next_funding_time) == want["fundingTimestamp"]  # type: ignore[arg-type]
    assert s.funding_interval_hours == CCXT_INTERVALS[want["interval"]]
    assert to_ms(s.timestamp) == int(entry["httpResponse"]["requestTime"])  # number or string
    assert (s.mark_price, s.index_price) == (want["markPrice"], want["indexPrice"]) == (None, None)


def test_ccxt_funding_time_reply_is_not_a_rate() -> None:
    (entry,) = [e for e in RATE_ENTRIES if e["parsedResponse"]["fundingRate"] is None]
    with pytest.raises(ExchangeDataError, match="missing field 'fundingRate'"):
        parse_current(entry["httpResponse"], None, OBSERVED)


@pytest.mark.parametrize("entry", ccxt_entries("bitget", "fetchFundingRateHistory"),
                         ids=lambda e: e["description"])
def test_ccxt_history(entry: dict[str, Any]) -> None:
    (want,) = entry["parsedResponse"]
    (e,) = parse_history(entry["httpResponse"], "BTCUSDT")
    assert (e.funding_rate, to_ms(e.funding_time)) == (want["fundingRate"], want["timestamp"])
    assert (e.funding_rate, to_ms(e.funding_time)) == (-0.000013, 1750435200000)


def test_documented_contracts() -> None:
    btc, sats = parse_contracts(DOC_CONTRACTS)  # pre-launch, off and delivery left out
    assert (btc.canonical_symbol, btc.funding_interval_hours, btc.listed_at, btc.status) == (
        "BTC/USDT:USDT", 8.0, None, "trading"
    )
    assert (sats.canonical_symbol, sats.multiplier, sats.funding_interval_hours) == (
        "SATS/USDT:USDT", 1000.0, 4.0
    )
    assert (sats.listed_at, sats.status) == (from_ms(1702000000000), "limit_open")


def test_documented_tickers_feed_the_snapshot() -> None:
    tickers = parse_tickers(DOC_TICKERS)
    assert tickers == {"BTCUSDT": {"mark": 12345.0, "index": 29132.353333, "oi": 125.6844,
                                   "volume": 373806.25}}
    current = ccxt_entries("bitget", "fetchFundingRate")[0]["httpResponse"]
    (s,) = parse_current(current, tickers, OBSERVED)
    assert (s.mark_price, s.index_price, s.open_interest, s.volume_24h) == (
        12345.0, 29132.353333, 125.6844, 373806.25
    )


def test_simulator_recorded_contracts() -> None:
    record = recording("bitget", "contracts")
    contracts = parse_contracts(record["response"])
    check_contracts(contracts, record)
    assert {c.funding_interval_hours for c in contracts} == {1.0, 4.0, 8.0}
    assert any(c.multiplier == 1000 for c in contracts)


def test_simulator_recorded_current() -> None:
    record = recording("bitget", "current_fund_rate")
    tickers = parse_tickers(recording("bitget", "tickers")["response"])
    snapshots = {s.symbol: s for s in parse_current(record["response"], tickers, OBSERVED)}
    truth = record["expected"]["current"]
    assert set(snapshots) == {t["symbol"] for t in truth}
    for t in truth:
        s = snapshots[t["symbol"]]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-15)
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]  # type: ignore[arg-type]
        assert s.mark_price == pytest.approx(t["mark_price"], rel=1e-4)
        assert s.index_price == pytest.approx(t["index_price"], rel=1e-4)


def test_simulator_recorded_history_page() -> None:
    record = recording("bitget", "history")
    events = parse_history(record["response"], record["symbol"])
    assert len(events) == 100
    assert len(check_history(events, record)) == 67


def _contract(hours: float) -> Contract:
    return Contract("bitget", "BTCUSDT", "BTC/USDT:USDT", "BTC", "USDT", "USDT", 1.0, hours)


@pytest.mark.parametrize(
    ("hours", "back", "page"),
    [(8, timedelta(0), 1), (8, timedelta(days=33), 1), (8, timedelta(days=34), 2),
     (1, timedelta(hours=99), 1), (1, timedelta(hours=100), 2), (1, timedelta(days=60), 15)],
)
def test_first_page_estimate(hours: float, back: timedelta, page: int) -> None:
    now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    end = datetime(2026, 3, 1, 12, tzinfo=UTC) - back
    assert first_page(_contract(hours), end, now, 100) == page


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (mutated(ccxt_entries("bitget", "fetchFundingRate")[0]["httpResponse"],
                 ["data", 0, "fundingRate"], set_to("x")), "field 'fundingRate' has bad value"),
        (mutated(ccxt_entries("bitget", "fetchFundingRate")[0]["httpResponse"],
                 ["data", 0, "fundingRateInterval"], drop), "missing field 'fundingRateInterval'"),
        (mutated(ccxt_entries("bitget", "fetchFundingRate")[0]["httpResponse"],
                 ["data", 0, "nextUpdate"], set_to("tomorrow")), "'nextUpdate' has bad value"),
        (mutated(ccxt_entries("bitget", "fetchFundingRate")[0]["httpResponse"],
                 ["data"], set_to(None)), "field 'data' is not a list of objects"),
        (mutated(ccxt_entries("bitget", "fetchFundingRate")[0]["httpResponse"],
                 ["data"], drop), "missing field 'data'"),
        ([], "expected a JSON object, got list"),
    ],
)
def test_malformed_current(payload: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=f"^bitget: {CURRENT}: ") as e:
        parse_current(payload, None, OBSERVED)
    assert message in str(e.value)


def test_malformed_contracts_and_history() -> None:
    with pytest.raises(ExchangeDataError, match="'fundInterval' has bad value '0'"):
        parse_contracts(mutated(DOC_CONTRACTS, ["data", 0, "fundInterval"], set_to("0")))
    with pytest.raises(ExchangeDataError, match="missing field 'symbolType'"):
        parse_contracts(mutated(DOC_CONTRACTS, ["data", 0, "symbolType"], drop))
    history = ccxt_entries("bitget", "fetchFundingRateHistory")[0]["httpResponse"]
    with pytest.raises(ExchangeDataError, match="missing field 'fundingTime'"):
        parse_history(mutated(history, ["data", 0, "fundingTime"], drop), "BTCUSDT")


def test_error_envelope_names_the_code() -> None:
    refused = {"code": "40034", "msg": "Parameter NOPEUSDT does not exist",
               "requestTime": 1, "data": None}
    with pytest.raises(ExchangeError, match="error 40034: Parameter NOPEUSDT does not exist") as e:
        parse_history(refused, "NOPEUSDT")
    assert not isinstance(e.value, (ExchangeDataError, TemporaryExchangeError))
    with pytest.raises(TemporaryExchangeError, match="error 429: Too Many Requests"):
        parse_contracts(dict(refused, code="429", msg="Too Many Requests"))


def test_unknown_symbol_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    odd = mutated(DOC_CONTRACTS, ["data", 0, "baseCoin"], set_to("BTC.X"))
    assert [c.symbol for c in parse_contracts(odd)] == ["1000SATSUSDT"]
    assert "bitget BTCUSDT: contract skipped" in caplog.text
