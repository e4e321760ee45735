"""dYdX v4 parse functions on ccxt's recorded real reply, our simulator recordings, the docs'
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

from lib.errors import ExchangeDataError, ExchangeError
from lib.exchanges.venues.dydx import iso_ms, parse_contracts, parse_current, parse_history
from lib.timeutils import from_ms, normalise_settlement, to_ms

OBSERVED = datetime(2026, 1, 1, 23, 59, 59, tzinfo=UTC)

DOC_MARKET = {
    "clobPairId": "0", "ticker": "BTC-USD", "status": "ACTIVE", "oraclePrice": "118976.5376",
    "priceChange24H": "659.9736", "volume24H": "1292729.3605", "trades24H": 9387,
    "nextFundingRate": "0.0000125", "initialMarginFraction": "0.02",
    "maintenanceMarginFraction": "0.012", "openInterest": "52.0691", "atomicResolution": -10,
    "marketType": "CROSS", "baseOpenInterest": "50.3776", "defaultFundingRate1H": "0",
}
DOC_MARKETS = {"markets": {"BTC-USD": DOC_MARKET}}


def test_every_ccxt_file_is_replayed() -> None:
    assert shared_files("dydx") == ["fetchFundingRateHistory"]


@pytest.mark.parametrize("entry", ccxt_entries("dydx", "fetchFundingRateHistory"),
                         ids=lambda e: e["description"])
def test_ccxt_funding_rate_history(entry: dict[str, Any]) -> None:
    events = parse_history(entry["httpResponse"], "BTC-USD")
    expected = entry["parsedResponse"]
    assert len(events) == len(expected) == 1
    e, want = events[0], expected[0]
    assert want["symbol"] == "BTC/USDC:USDC"
    assert e.funding_rate == want["fundingRate"] == 0.000176
    assert to_ms(e.funding_time) == want["timestamp"] == 1753765201053
    assert normalise_settlement(e.funding_time) == datetime(2025, 7, 29, 5, tzinfo=UTC)
    assert (e.funding_interval_hours, e.mark_price) == (1.0, 118536.67532)


def test_documented_markets() -> None:
    (c,) = parse_contracts(DOC_MARKETS)
    assert (c.symbol, c.canonical_symbol, c.base, c.quote, c.settle, c.multiplier) == (
        "BTC-USD", "BTC/USDC:USDC", "BTC", "USDC", "USDC", 1.0
    )
    assert (c.funding_interval_hours, c.status) == (1.0, "trading")
    (s,) = parse_current(DOC_MARKETS, OBSERVED)
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == ("BTC-USD", 0.0000125, 1.0)
    assert s.next_funding_time == datetime(2026, 1, 2, tzinfo=UTC)
    assert (s.mark_price, s.index_price) == (None, 118976.5376)
    assert (s.open_interest, s.volume_24h) == (52.0691, 1292729.3605)


def test_initializing_and_final_settlement_markets_are_left_out() -> None:
    markets = {"markets": {
        "BTC-USD": DOC_MARKET,
        "NEW-USD": dict(DOC_MARKET, ticker="NEW-USD", status="INITIALIZING"),
        "OLD-USD": dict(DOC_MARKET, ticker="OLD-USD", status="FINAL_SETTLEMENT"),
        "ETH-USD": dict(DOC_MARKET, ticker="ETH-USD", status="CANCEL_ONLY"),
    }}
    assert [(c.symbol, c.status) for c in parse_contracts(markets)] == [
        ("BTC-USD", "trading"), ("ETH-USD", "cancel_only")
    ]
    assert [s.symbol for s in parse_current(markets, OBSERVED)] == ["BTC-USD", "ETH-USD"]


def test_simulator_markets_recording() -> None:
    record = recording("dydx", "perpetual_markets")
    check_contracts(parse_contracts(record["response"]), record)
    snapshots = parse_current(record["response"], from_ms(record["observed_at_ms"]))
    truth = {t["symbol"]: t for t in record["expected"]["current"]}
    assert sorted(s.symbol for s in snapshots) == sorted(truth)
    for s in snapshots:
        t = truth[s.symbol]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-12), s.symbol
        assert s.funding_interval_hours == t["interval_hours"] == 1
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]


def test_simulator_history_recording() -> None:
    record = recording("dydx", "history")
    events = parse_history(record["response"], record["symbol"])
    times = [e.funding_time for e in events]
    assert times == sorted(times, reverse=True)  # newest first, as the indexer pages
    check_history(events, record)


def test_iso_cursor_form() -> None:
    assert iso_ms(datetime(2025, 7, 29, 5, 0, 1, 53000, tzinfo=UTC)) == "2025-07-29T05:00:01.053Z"


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["markets", "BTC-USD", "nextFundingRate"], drop,
         "dydx: /v4/perpetualMarkets: missing field 'nextFundingRate'"),
        (["markets", "BTC-USD", "nextFundingRate"], set_to("?"), "has bad value '\\?'"),
        (["markets", "BTC-USD", "status"], drop, "missing field 'status'"),
        (["markets", "BTC-USD", "ticker"], set_to(7), "field 'ticker' has bad value 7"),
        (["markets"], set_to([DOC_MARKET]), "field 'markets' is not an object of objects"),
        (["markets"], drop, "missing field 'markets'"),
    ],
)
def test_malformed_markets(path: list[Any], change: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_current(mutated(DOC_MARKETS, path, change), OBSERVED)


@pytest.mark.parametrize("payload", [[DOC_MARKET], "x", 3])
def test_wrong_top_level_shape(payload: object) -> None:
    with pytest.raises(ExchangeDataError, match="expected a JSON object"):
        parse_contracts(payload)


def test_error_envelope() -> None:
    reply = {"errors": [{"msg": "FOO-USD not found in markets of type PERPETUAL"}]}
    with pytest.raises(ExchangeError) as info:
        parse_history(reply, "FOO-USD")
    assert str(info.value) == (
        "dydx: /v4/historicalFunding/{ticker}: error: FOO-USD not found in markets of type "
        "PERPETUAL"
    )


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"rate": "0.1"}, "missing field 'effectiveAt'"),
        ({"effectiveAt": "2025-07-29T05:00:01.053Z"}, "missing field 'rate'"),
        ({"effectiveAt": "29/07/2025", "rate": "0.1"}, "field 'effectiveAt' has bad value"),
        ({"effectiveAt": "2025-07-29T05:00:01.053Z", "rate": ""}, "field 'rate' has bad value"),
    ],
)
def test_malformed_history_rows(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_history({"historicalFunding": [row]}, "BTC-USD")


def test_history_without_its_list() -> None:
    with pytest.raises(ExchangeDataError, match="missing field 'historicalFunding'"):
        parse_history({"funding": []}, "BTC-USD")
    with pytest.raises(ExchangeDataError, match="'historicalFunding' is not a list"):
        parse_history({"historicalFunding": {}}, "BTC-USD")
