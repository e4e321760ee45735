"""Aster parse functions on real recorded replies (../shared/exchange-responses/aster/: ccxt's
static test data, with the values ccxt parsed), the docs' examples, our simulator recordings,
and malformed replies."""

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
from lib.exchanges.venues.aster import (
    parse_contracts,
    parse_current,
    parse_funding_caps,
    parse_funding_info,
    parse_history,
)
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)

# exchange-apis-more.md §16.3: Aster's docs example of fundingInfo, plus the 1 and 2 h
# intervals seen there (ai-rates' fixture: SUSHIUSDT 1 h, BTCUSD 2 h).
DOC_FUNDING_INFO = [
    {"symbol": "INJUSDT", "interestRate": "0.00010000", "time": 1756197479000,
     "fundingIntervalHours": 8, "fundingFeeCap": 0.03, "fundingFeeFloor": -0.03},
    {"symbol": "ZORAUSDT", "interestRate": "0.00005000", "time": 1756197479000,
     "fundingIntervalHours": 4, "fundingFeeCap": 0.02, "fundingFeeFloor": -0.02},
    {"symbol": "SUSHIUSDT", "interestRate": "0.00010000", "time": 1756197479000,
     "fundingIntervalHours": 1, "fundingFeeCap": None, "fundingFeeFloor": None},
    {"symbol": "BTCUSD", "interestRate": "0", "time": 1756197479000,
     "fundingIntervalHours": 2, "fundingFeeCap": None, "fundingFeeFloor": None},
]
# §16.4: Binance's shape, numbers possibly printed as strings (ccxt's v3 comment).
DOC_EXCHANGE_INFO = {
    "serverTime": 1756197479000,
    "symbols": [
        {"symbol": "INJUSDT", "pair": "INJUSDT", "contractType": "PERPETUAL",
         "deliveryDate": 4133404800000, "onboardDate": 1743148800000, "status": "TRADING",
         "baseAsset": "INJ", "quoteAsset": "USDT", "marginAsset": "USDT"},
        {"symbol": "SUSHIUSDT", "pair": "SUSHIUSDT", "contractType": "PERPETUAL",
         "deliveryDate": "4133404800000", "onboardDate": "1745000000000", "status": "TRADING",
         "baseAsset": "SUSHI", "quoteAsset": "USDT", "marginAsset": "USDT"},
        {"symbol": "CLUSD1", "pair": "CLUSD1", "contractType": "PERPETUAL",
         "deliveryDate": 4133404800000, "onboardDate": 1750000000000, "status": "TRADING",
         "baseAsset": "CL", "quoteAsset": "USD1", "marginAsset": "USD1"},
        {"symbol": "NEWUSDT", "pair": "NEWUSDT", "contractType": "", "deliveryDate": 0,
         "onboardDate": 1800000000000, "status": "PENDING_TRADING", "baseAsset": "NEW",
         "quoteAsset": "USDT", "marginAsset": "USDT"},
        {"symbol": "TMPUSDT", "pair": "TMPUSDT", "contractType": "PERPETUAL",
         "status": "TRADING", "baseAsset": None, "quoteAsset": "USDT", "marginAsset": "USDT"},
    ],
}


def _ccxt(method: str) -> dict[str, Any]:
    (entry,) = ccxt_entries("aster", method)
    return entry


def test_every_real_reply_is_replayed() -> None:
    assert shared_files("aster") == [
        "fetchFundingIntervals", "fetchFundingRate", "fetchFundingRateHistory",
        "fetchFundingRates",
    ]


@pytest.mark.parametrize("method", ["fetchFundingRates", "fetchFundingRate"])
def test_real_premium_index_as_ccxt_parsed_it(method: str) -> None:
    """The bulk reply (a list) and the one-symbol reply (an object, read as a list of one)."""
    entry = _ccxt(method)
    reply = entry["httpResponse"]
    rows = reply if isinstance(reply, list) else [reply]
    parsed = entry["parsedResponse"]
    theirs = parsed.get("BTC/USDT:USDT", parsed)
    (s,) = parse_current(rows, {"BTCUSDT": 8.0}, OBSERVED)
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == ("BTCUSDT", 0.0001, 8.0)
    assert s.funding_rate == theirs["fundingRate"]
    assert to_ms(s.next_funding_time) == theirs["nextFundingTimestamp"] == 1750176000000  # type: ignore[arg-type]
    assert to_ms(s.timestamp) == theirs["timestamp"] == 1750147224000
    assert (s.mark_price, s.index_price) == (theirs["markPrice"], theirs["indexPrice"])
    assert (s.mark_price, s.index_price) == (106630.71786957, 106678.52086957)


def test_real_funding_info_as_ccxt_parsed_it() -> None:
    """BTCUSDT is listed although 8-hourly, with null caps (none published)."""
    entry = _ccxt("fetchFundingIntervals")
    assert parse_funding_info(entry["httpResponse"]) == {"BTCUSDT": 8.0}
    assert entry["parsedResponse"]["BTC/USDT:USDT"]["interval"] == "8h"
    assert parse_funding_caps(entry["httpResponse"]) == {}


def test_real_history_as_ccxt_parsed_it() -> None:
    entry = _ccxt("fetchFundingRateHistory")
    (e,) = parse_history(entry["httpResponse"], "BTCUSDT")
    (theirs,) = entry["parsedResponse"]
    assert (to_ms(e.funding_time), e.funding_rate) == (theirs["timestamp"],
                                                       theirs["fundingRate"])
    assert (to_ms(e.funding_time), e.funding_rate, e.mark_price) == (1750060800000, 0.0001, None)
    assert e.funding_interval_hours is None  # fetch_history fills in the contract's


def test_documented_intervals_caps_and_default() -> None:
    intervals = parse_funding_info(DOC_FUNDING_INFO)
    assert intervals == {"INJUSDT": 8.0, "ZORAUSDT": 4.0, "SUSHIUSDT": 1.0, "BTCUSD": 2.0}
    assert parse_funding_caps(DOC_FUNDING_INFO) == {
        "INJUSDT": (0.03, -0.03), "ZORAUSDT": (0.02, -0.02)
    }
    inj, sushi, cl = parse_contracts(DOC_EXCHANGE_INFO, intervals)  # pending, no base: out
    assert (inj.canonical_symbol, inj.funding_interval_hours) == ("INJ/USDT:USDT", 8.0)
    assert (sushi.funding_interval_hours, sushi.listed_at) == (1.0, from_ms(1745000000000))
    # missing from fundingInfo: the documented default, 8 h
    assert (cl.canonical_symbol, cl.funding_interval_hours) == ("CL/USD1:USD1", 8.0)
    assert inj.listed_at == from_ms(1743148800000)
    assert {c.status for c in (inj, sushi, cl)} == {"trading"}


def test_non_perpetual_rows_and_caps_in_the_snapshot() -> None:
    rows = [
        {"symbol": "ZORAUSDT", "markPrice": "0.1", "indexPrice": "0.1",
         "estimatedSettlePrice": "0.1", "lastFundingRate": "-0.00050000",
         "interestRate": "0.00005000", "nextFundingTime": "1756200000000",
         "time": 1756197479000},
        {"symbol": "BTCUSD", "markPrice": "0", "indexPrice": "0", "estimatedSettlePrice": "0",
         "lastFundingRate": "0", "interestRate": "0", "nextFundingTime": 1756200000000,
         "time": 1756197479000},
    ]
    (s,) = parse_current(rows, parse_funding_info(DOC_FUNDING_INFO), OBSERVED,
                         parse_funding_caps(DOC_FUNDING_INFO))
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == ("ZORAUSDT", -0.0005, 4.0)
    assert (s.rate_cap, s.rate_floor) == (0.02, -0.02)
    assert to_ms(s.next_funding_time) == 1756200000000  # type: ignore[arg-type]


def test_simulator_recorded_contracts() -> None:
    record = recording("aster", "exchange_info")
    intervals = parse_funding_info(recording("aster", "funding_info")["response"])
    contracts = parse_contracts(record["response"], intervals)
    check_contracts(contracts, record)
    truth = {t["symbol"]: t for t in record["expected"]["contracts"]}
    assert {c.funding_interval_hours for c in contracts} == {1.0, 2.0, 4.0, 8.0}
    for c in contracts:
        assert c.listed_at == from_ms(truth[c.symbol]["listed_at_ms"])
    assert any(c.multiplier == 1e3 and c.symbol.startswith("1000") for c in contracts)


def test_simulator_recorded_premium_index() -> None:
    record = recording("aster", "premium_index")
    info = recording("aster", "funding_info")["response"]
    snapshots = {s.symbol: s for s in parse_current(
        record["response"], parse_funding_info(info), OBSERVED, parse_funding_caps(info))}
    truth = record["expected"]["current"]
    assert {"BTCUSD", "ETHUSD"} <= {r["symbol"] for r in record["response"]}
    assert set(snapshots) == {t["symbol"] for t in truth}  # the USD rows left out
    for t in truth:
        s = snapshots[t["symbol"]]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-15)
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]  # type: ignore[arg-type]
        assert s.mark_price == pytest.approx(t["mark_price"], rel=1e-6)
        assert s.index_price == pytest.approx(t["index_price"], rel=1e-6)
    assert any(s.rate_cap is not None for s in snapshots.values())


def test_simulator_recorded_history_on_the_hour() -> None:
    record = recording("aster", "history")
    events = parse_history(record["response"], record["symbol"])
    assert all(to_ms(e.funding_time) % 3_600_000 == 0 for e in events)  # no jitter
    assert len(check_history(events, record)) == 48  # 49 hours, one missing at the venue


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (mutated(_ccxt("fetchFundingRates")["httpResponse"], [0, "lastFundingRate"], drop),
         "missing field 'lastFundingRate'"),
        (mutated(_ccxt("fetchFundingRates")["httpResponse"], [0, "lastFundingRate"],
                 set_to("NaN")), "field 'lastFundingRate' has bad value 'NaN'"),
        (mutated(_ccxt("fetchFundingRates")["httpResponse"], [0, "nextFundingTime"], drop),
         "missing field 'nextFundingTime'"),
        ({"symbols": []}, "expected a JSON array, got dict"),
    ],
)
def test_malformed_premium_index(payload: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=r"^aster: /fapi/v1/premiumIndex: ") as e:
        parse_current(payload, {}, OBSERVED)
    assert message in str(e.value)


def test_malformed_listing_history_and_funding_info() -> None:
    with pytest.raises(ExchangeDataError, match="missing field 'symbols'"):
        parse_contracts(mutated(DOC_EXCHANGE_INFO, ["symbols"], drop), {})
    with pytest.raises(ExchangeDataError, match="fundingRate: missing field 'fundingTime'"):
        parse_history([{"symbol": "BTCUSDT", "fundingRate": "0.0001"}], "BTCUSDT")
    with pytest.raises(ExchangeDataError, match="'fundingIntervalHours' has bad value 0"):
        parse_funding_info(mutated(DOC_FUNDING_INFO, [0, "fundingIntervalHours"], set_to(0)))
    with pytest.raises(ExchangeDataError, match="fundingInfo: the reply lists no symbol"):
        parse_funding_info([])


@pytest.mark.parametrize("parse", [
    lambda p: parse_current(p, {}, OBSERVED),
    lambda p: parse_history(p, "BTCUSDT"),
    parse_funding_info,
    lambda p: parse_contracts(p, {}),
])
def test_error_body_names_the_code(parse: Any) -> None:
    with pytest.raises(ExchangeError, match=r"error -1121: Invalid symbol\.") as e:
        parse({"code": -1121, "msg": "Invalid symbol."})
    assert not isinstance(e.value, ExchangeDataError)
