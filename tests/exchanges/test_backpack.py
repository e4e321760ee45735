"""Backpack parse functions on real recorded replies (../shared/exchange-responses/backpack/:
ccxt's static test data, with the values ccxt parsed), documented examples, our simulator
recordings, and malformed replies."""

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

from lib.errors import ExchangeDataError, ExchangeError
from lib.exchanges.venues.backpack import (
    naive_utc,
    parse_contracts,
    parse_current,
    parse_history,
    parse_open_interest,
    parse_rate_bounds,
    row_intervals,
)
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)
LATER = datetime(2030, 1, 1, tzinfo=UTC)
H = timedelta(hours=1)


def _market(symbol: str, base: str, **extra: Any) -> dict[str, Any]:
    """A markets row in the documented shape (ccxt's parse_market comment, 2025)."""
    row = {"baseSymbol": base, "createdAt": "2025-01-21T06:34:54.691858",
           "filters": {"price": {"tickSize": "0.01"}, "quantity": {"stepSize": "0.01"}},
           "fundingInterval": 3600000, "fundingRateLowerBound": "-100",
           "fundingRateUpperBound": "100", "imfFunction": None, "marketType": "PERP",
           "mmfFunction": None, "openInterestLimit": "4000000", "orderBookState": "Open",
           "quoteSymbol": "USDC", "symbol": symbol}
    row.update(extra)
    return row


DOC_MARKETS = [
    _market("SOL_USDC", "SOL", marketType="SPOT", fundingInterval=None,
            fundingRateLowerBound=None, fundingRateUpperBound=None),
    _market("SOL_USDC_PERP", "SOL", fundingInterval="28800000"),  # 8 h, as a string (early 2025)
    _market("kPEPE_USDC_PERP", "kPEPE", fundingRateLowerBound="-150",
            fundingRateUpperBound="150"),
    _market("WIF_USDC_PERP", "WIF", orderBookState="PostOnly"),
    _market("OLD_USDC_PERP", "OLD", orderBookState="Closed"),
    _market("MU.US_USDC_PERP", "MU.US", rwaMarketType="STOCK"),
]


def _ccxt(name: str) -> dict[str, Any]:
    (entry,) = ccxt_entries("backpack", name)
    return entry


def test_every_real_reply_is_replayed() -> None:
    assert shared_files("backpack") == ["fetchFundingRate", "fetchFundingRateHistory"]


def test_real_mark_prices_as_ccxt_parsed_it() -> None:
    """`nextFundingTimestamp` came as a string in this reply (documented as an integer)."""
    entry = _ccxt("fetchFundingRate")
    theirs = entry["parsedResponse"]
    (s,) = parse_current(entry["httpResponse"], {"ETH_USDC_PERP": 1.0}, OBSERVED)
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == ("ETH_USDC_PERP", 0.0001, 1.0)
    assert s.funding_rate == theirs["fundingRate"]
    assert to_ms(s.next_funding_time) == theirs["nextFundingTimestamp"] == 1754956800000  # type: ignore[arg-type]
    assert (s.mark_price, s.index_price) == (theirs["markPrice"], theirs["indexPrice"])
    assert (s.mark_price, s.index_price) == (4307.57627888, 4308.72205352)
    assert s.timestamp == OBSERVED  # the reply has no time: the exchange's clock
    assert theirs["interval"] == "1h"


def test_real_history_as_ccxt_parsed_it() -> None:
    """Newest first, naive ISO ends in UTC, hourly."""
    entry = _ccxt("fetchFundingRateHistory")
    events = parse_history(entry["httpResponse"], "ETH_USDC_PERP", LATER)
    theirs = sorted(entry["parsedResponse"], key=lambda h: -h["timestamp"])
    assert [(to_ms(e.funding_time), e.funding_rate) for e in events] == [
        (h["timestamp"], h["fundingRate"]) for h in theirs
    ]
    assert [(to_ms(e.funding_time), e.funding_rate, e.funding_interval_hours) for e in events] == [
        (1757592000000, 0.0000125, 1.0), (1757588400000, 0.0000125, 1.0),
        (1757584800000, 0.000006196, 1.0),
    ]


def test_the_accruing_newest_row_is_left_out() -> None:
    """At 11:30 the row ending 12:00 is the running interval: its rate is not settled."""
    reply = _ccxt("fetchFundingRateHistory")["httpResponse"]
    events = parse_history(reply, "ETH_USDC_PERP", datetime(2025, 9, 11, 11, 30, tzinfo=UTC))
    assert [e.funding_time.hour for e in events] == [11, 10]
    at_noon = parse_history(reply, "ETH_USDC_PERP", datetime(2025, 9, 11, 12, tzinfo=UTC))
    assert len(at_noon) == 3  # settled exactly at the hour: kept


def test_row_intervals_across_the_switch_to_hourly_and_missing_rows() -> None:
    """8 h until 2025-08-20, hourly since; each row keeps the interval it had."""
    switch = datetime(2025, 8, 20, tzinfo=UTC)
    times = [switch + 3 * H, switch + H, switch, switch - 8 * H, switch - 16 * H,
             switch - 32 * H, switch - 40 * H]  # 02:00 and 19th 00:00 missing at the venue
    assert row_intervals(times) == [1.0, 1.0, 8.0, 8.0, 8.0, 8.0, 8.0]
    assert row_intervals([switch]) == [None]  # no evidence: the contract's interval
    assert row_intervals([]) == []
    rows = [{"fundingRate": "0.0001", "symbol": "BTC_USDC_PERP",
             "intervalEndTimestamp": t.replace(tzinfo=None).isoformat()} for t in times]
    events = parse_history(rows, "BTC_USDC_PERP", LATER)
    assert [e.funding_interval_hours for e in events] == [1.0, 1.0, 8.0, 8.0, 8.0, 8.0, 8.0]


def test_documented_markets() -> None:
    sol, pepe, wif = parse_contracts(DOC_MARKETS)  # spot, closed and the .US stock left out
    assert (sol.symbol, sol.canonical_symbol, sol.funding_interval_hours) == (
        "SOL_USDC_PERP", "SOL/USDC:USDC", 8.0
    )
    assert sol.listed_at == datetime(2025, 1, 21, 6, 34, 54, 691858, tzinfo=UTC)
    assert (pepe.canonical_symbol, pepe.base, pepe.multiplier) == ("PEPE/USDC:USDC", "PEPE", 1e3)
    assert (pepe.ccxt_symbol, pepe.funding_interval_hours) == ("KPEPE/USDC:USDC", 1.0)
    assert wif.status == "trading"  # post-only books still accrue funding
    bounds = parse_rate_bounds(DOC_MARKETS)
    assert bounds["SOL_USDC_PERP"] == (0.01, -0.01)  # basis points
    assert bounds["kPEPE_USDC_PERP"] == (0.015, -0.015)
    assert "SOL_USDC" not in bounds


def test_snapshot_joins_intervals_and_bounds() -> None:
    rows = [{"fundingRate": "-0.000179157", "indexPrice": "2.9405475",
             "markPrice": "2.93637296", "nextFundingTimestamp": 1759489200000,
             "symbol": "kPEPE_USDC_PERP"},
            {"fundingRate": "0.0000125", "indexPrice": "1", "markPrice": "1",
             "nextFundingTimestamp": 1759489200000, "symbol": "NOTLISTED_USDC_PERP"}]
    intervals = {c.symbol: c.funding_interval_hours for c in parse_contracts(DOC_MARKETS)}
    (s,) = parse_current(rows, intervals, OBSERVED, parse_rate_bounds(DOC_MARKETS))
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == (
        "kPEPE_USDC_PERP", -0.000179157, 1.0
    )
    assert (s.rate_cap, s.rate_floor) == (0.015, -0.015)
    assert to_ms(s.next_funding_time) == 1759489200000  # type: ignore[arg-type]


def test_open_interest_of_every_market() -> None:
    """ccxt's documented sample, a prediction market's row (no perpetual: never joined) and a
    row without a number (left out)."""
    rows = [{"openInterest": "1273.85214", "symbol": "BTC_USDC_PERP", "timestamp": 1753105735301},
            {"openInterest": "1520", "symbol": "BTC100K_USDC_PREDICTION", "timestamp": 1},
            {"openInterest": None, "symbol": "NEW_USDC_PERP", "timestamp": 1}]
    interest = parse_open_interest(rows)
    assert interest == {"BTC_USDC_PERP": 1273.85214, "BTC100K_USDC_PREDICTION": 1520.0}
    marks = [{"fundingRate": "0.0001", "indexPrice": "118333.18643195",
              "markPrice": "118343.51853741", "nextFundingTimestamp": 1753113600000,
              "symbol": "BTC_USDC_PERP"}]
    (s,) = parse_current(marks, {"BTC_USDC_PERP": 1.0}, OBSERVED, None, interest)
    assert (s.open_interest, s.open_interest_unit) == (1273.85214, "base")
    with pytest.raises(ExchangeDataError, match="openInterest: missing field 'symbol'"):
        parse_open_interest([{"openInterest": "1"}])


def test_simulator_recorded_open_interest() -> None:
    record = recording("backpack", "open_interest")
    interest = parse_open_interest(record["response"])
    truth = record["expected"]
    assert set(interest) == set(truth) | {"BTC100K_USDC_PREDICTION"}
    for symbol, value in truth.items():
        assert interest[symbol] == pytest.approx(value, rel=1e-6)


def test_simulator_recorded_markets() -> None:
    record = recording("backpack", "markets")
    contracts = parse_contracts(record["response"])
    check_contracts(contracts, record)
    truth = {t["symbol"]: t for t in record["expected"]["contracts"]}
    assert any(t["status"] == "delisted" for t in truth.values())  # "Closed": left out
    for c in contracts:
        assert c.listed_at == from_ms(truth[c.symbol]["listed_at_ms"])
        assert c.funding_interval_hours == 1.0


def test_simulator_recorded_mark_prices() -> None:
    record = recording("backpack", "mark_prices")
    intervals = {c.symbol: c.funding_interval_hours
                 for c in parse_contracts(recording("backpack", "markets")["response"])}
    snapshots = {s.symbol: s for s in parse_current(record["response"], intervals, OBSERVED)}
    truth = record["expected"]["current"]
    assert set(snapshots) == {t["symbol"] for t in truth}
    for t in truth:
        s = snapshots[t["symbol"]]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-15)
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]  # type: ignore[arg-type]
        assert s.mark_price == pytest.approx(t["mark_price"], rel=1e-6)
        assert s.index_price == pytest.approx(t["index_price"], rel=1e-6)


def test_simulator_recorded_history_newest_first_with_the_accruing_row() -> None:
    record = recording("backpack", "history")
    reply = record["response"]
    now = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)  # the recording's clock
    assert naive_utc(reply[0]["intervalEndTimestamp"]) == now + timedelta(minutes=30)
    events = parse_history(reply, record["symbol"], now)
    assert len(events) == len(reply) - 1  # the accruing row left out
    times = [e.funding_time for e in events]
    assert times == sorted(times, reverse=True)
    assert {e.funding_interval_hours for e in events} == {1.0}
    assert len(check_history(events, record)) == 49


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (mutated(_ccxt("fetchFundingRate")["httpResponse"], [0, "fundingRate"], drop),
         "markPrices: missing field 'fundingRate'"),
        (mutated(_ccxt("fetchFundingRate")["httpResponse"], [0, "fundingRate"],
                 set_to("NaN")), "field 'fundingRate' has bad value 'NaN'"),
        (mutated(_ccxt("fetchFundingRate")["httpResponse"], [0, "nextFundingTimestamp"],
                 set_to("soon")), "field 'nextFundingTimestamp' has bad value 'soon'"),
        ({"fundingRate": "0.0001"}, "expected a JSON array, got dict"),
    ],
)
def test_malformed_mark_prices(payload: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=r"^backpack: /api/v1/markPrices: ") as e:
        parse_current(payload, {"ETH_USDC_PERP": 1.0}, OBSERVED)
    assert message in str(e.value)


def test_malformed_history_and_markets() -> None:
    reply = _ccxt("fetchFundingRateHistory")["httpResponse"]
    with pytest.raises(ExchangeDataError, match="fundingRates: field 'intervalEndTimestamp'"):
        parse_history(mutated(reply, [1, "intervalEndTimestamp"], set_to(1757588400000)),
                      "ETH_USDC_PERP", LATER)
    with pytest.raises(ExchangeDataError, match="fundingRates: missing field 'fundingRate'"):
        parse_history(mutated(reply, [0, "fundingRate"], drop), "ETH_USDC_PERP", LATER)
    with pytest.raises(ExchangeDataError, match="'fundingInterval' has bad value 0"):
        parse_contracts(mutated(DOC_MARKETS, [1, "fundingInterval"], set_to(0)))
    with pytest.raises(ExchangeDataError, match="markets: missing field 'baseSymbol'"):
        parse_contracts(mutated(DOC_MARKETS, [1, "baseSymbol"], drop))


@pytest.mark.parametrize("parse", [
    lambda p: parse_current(p, {}, OBSERVED),
    lambda p: parse_history(p, "BTC_USDC_PERP", LATER),
    parse_contracts,
    parse_rate_bounds,
])
def test_error_body_names_the_code(parse: Any) -> None:
    with pytest.raises(ExchangeError, match=r"error INVALID_MARKET: Market not found") as e:
        parse({"code": "INVALID_MARKET", "message": "Market not found"})
    assert not isinstance(e.value, ExchangeDataError)
