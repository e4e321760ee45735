"""Binance parse functions on the docs' examples (ccxt has no recorded Binance replies), our
simulator recordings, and malformed replies."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from recorded_replies import check_contracts, check_history, drop, mutated, recording, set_to

from lib.errors import ExchangeDataError, ExchangeError
from lib.exchanges.venues.binance import (
    parse_contracts,
    parse_current,
    parse_funding_info,
    parse_history,
)
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)

# exchange-apis.md §1.4, §1.1, §1.2, §1.3: the documented examples.
DOC_EXCHANGE_INFO = {
    "serverTime": 1565613908500,
    "symbols": [
        {"symbol": "BLZUSDT", "pair": "BLZUSDT", "contractType": "PERPETUAL",
         "deliveryDate": 4133404800000, "onboardDate": 1598252400000, "status": "TRADING",
         "baseAsset": "BLZ", "quoteAsset": "USDT", "marginAsset": "USDT"},
        {"symbol": "1000PEPEUSDT", "pair": "1000PEPEUSDT", "contractType": "PERPETUAL",
         "deliveryDate": 4133404800000, "onboardDate": 1683244800000, "status": "TRADING",
         "baseAsset": "1000PEPE", "quoteAsset": "USDT", "marginAsset": "USDT"},
        {"symbol": "BTCUSDT_260925", "pair": "BTCUSDT", "contractType": "CURRENT_QUARTER",
         "deliveryDate": 1790323200000, "onboardDate": 1743148800000, "status": "TRADING",
         "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT"},
        {"symbol": "NEWUSDT", "pair": "NEWUSDT", "contractType": "PERPETUAL",
         "deliveryDate": 4133404800000, "onboardDate": 1800000000000,
         "status": "PENDING_TRADING", "baseAsset": "NEW", "quoteAsset": "USDT",
         "marginAsset": "USDT"},
    ],
}
DOC_FUNDING_INFO = [
    {"symbol": "BLZUSDT", "adjustedFundingRateCap": "0.03000000",
     "adjustedFundingRateFloor": "-0.03000000", "fundingIntervalHours": 4, "disclaimer": False}
]
DOC_PREMIUM_INDEX = [
    {"symbol": "BTCUSDT", "markPrice": "11793.63104562", "indexPrice": "11781.80495970",
     "estimatedSettlePrice": "11781.16138815", "lastFundingRate": "0.00038246",
     "nextFundingTime": 1597392000000, "interestRate": "0.00010000", "time": 1597370495002},
    {"symbol": "BTCUSDT_260925", "markPrice": "11800.1", "indexPrice": "11781.8",
     "estimatedSettlePrice": "11781.1", "lastFundingRate": "", "nextFundingTime": 0,
     "interestRate": "", "time": 1597370495002},
]
DOC_HISTORY = [
    {"symbol": "BTCUSDT", "fundingRate": "-0.03750000", "fundingTime": 1570608000000,
     "markPrice": "34287.54619963"},
    {"symbol": "BTCUSDT", "fundingRate": "0.00010000", "fundingTime": 1570636800000,
     "markPrice": "34287.54619963"},
]


def test_documented_contracts_use_funding_info_and_8h_default() -> None:
    intervals = parse_funding_info(DOC_FUNDING_INFO)
    assert intervals == {"BLZUSDT": 4.0}
    blz, pepe = parse_contracts(DOC_EXCHANGE_INFO, intervals)  # delivery and pending left out
    assert (blz.symbol, blz.canonical_symbol, blz.funding_interval_hours) == (
        "BLZUSDT", "BLZ/USDT:USDT", 4.0
    )
    assert blz.listed_at == from_ms(1598252400000)
    assert (pepe.canonical_symbol, pepe.base, pepe.multiplier) == ("PEPE/USDT:USDT", "PEPE", 1000)
    assert pepe.funding_interval_hours == 8.0  # not adjusted: Binance's documented default
    assert pepe.status == "trading"


def test_documented_premium_index() -> None:
    (s,) = parse_current(DOC_PREMIUM_INDEX, {"BTCUSDT": 4.0}, OBSERVED)  # delivery row left out
    assert (s.symbol, s.funding_rate, s.funding_interval_hours) == ("BTCUSDT", 0.00038246, 4.0)
    assert to_ms(s.next_funding_time) == 1597392000000  # type: ignore[arg-type]
    assert (s.mark_price, s.index_price) == (11793.63104562, 11781.8049597)
    assert to_ms(s.timestamp) == 1597370495002
    (default,) = parse_current(DOC_PREMIUM_INDEX[:1], {}, OBSERVED)
    assert default.funding_interval_hours == 8.0


def test_timestamps_given_as_strings_parse_alike() -> None:
    row = dict(DOC_PREMIUM_INDEX[0], nextFundingTime="1597392000000", time="1597370495002")
    (s,) = parse_current([row], {}, OBSERVED)
    assert to_ms(s.next_funding_time) == 1597392000000  # type: ignore[arg-type]


def test_documented_history() -> None:
    first, second = parse_history(DOC_HISTORY, "BTCUSDT")
    assert (to_ms(first.funding_time), first.funding_rate, first.mark_price) == (
        1570608000000, -0.0375, 34287.54619963
    )
    assert (to_ms(second.funding_time), second.funding_rate) == (1570636800000, 0.0001)
    assert first.funding_interval_hours is None  # fetch_history fills in the contract's


def test_simulator_recorded_contracts() -> None:
    record = recording("binance", "exchange_info")
    intervals = parse_funding_info(recording("binance", "funding_info")["response"])
    contracts = parse_contracts(record["response"], intervals)
    check_contracts(contracts, record)
    truth = {t["symbol"]: t for t in record["expected"]["contracts"]}
    assert {c.funding_interval_hours for c in contracts} == {1.0, 4.0, 8.0}
    for c in contracts:
        assert c.listed_at == from_ms(truth[c.symbol]["listed_at_ms"])
    assert any(c.multiplier == 1e6 and c.symbol.startswith("1000000") for c in contracts)


def test_simulator_recorded_premium_index() -> None:
    record = recording("binance", "premium_index")
    intervals = parse_funding_info(recording("binance", "funding_info")["response"])
    snapshots = {s.symbol: s for s in parse_current(record["response"], intervals, OBSERVED)}
    truth = record["expected"]["current"]
    assert set(snapshots) == {t["symbol"] for t in truth}  # delivery rows left out
    for t in truth:
        s = snapshots[t["symbol"]]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-15)
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]  # type: ignore[arg-type]
        assert s.mark_price == pytest.approx(t["mark_price"], rel=1e-6)  # clock moved a few ms
        assert s.index_price == pytest.approx(t["index_price"], rel=1e-6)
        assert 0 <= record["observed_at_ms"] - to_ms(s.timestamp) < 1000  # the reply's `time`


def test_simulator_recorded_history_with_ms_jitter() -> None:
    record = recording("binance", "history")
    events = parse_history(record["response"], record["symbol"])
    assert any(to_ms(e.funding_time) % 1000 for e in events)  # stamped a few ms late
    assert len(check_history(events, record)) == 49


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (mutated(DOC_PREMIUM_INDEX, [0, "lastFundingRate"], drop),
         "missing field 'lastFundingRate'"),
        (mutated(DOC_PREMIUM_INDEX, [0, "lastFundingRate"], set_to("abc")),
         "field 'lastFundingRate' has bad value 'abc'"),
        (mutated(DOC_PREMIUM_INDEX, [0, "lastFundingRate"], set_to("NaN")),
         "field 'lastFundingRate' has bad value 'NaN'"),
        (mutated(DOC_PREMIUM_INDEX, [0, "nextFundingTime"], drop),
         "missing field 'nextFundingTime'"),
        (mutated(DOC_PREMIUM_INDEX, [0, "symbol"], set_to(None)), "field 'symbol' has bad value"),
        ({"symbols": []}, "expected a JSON array, got dict"),
        (["BTCUSDT"], "expected objects"),
    ],
)
def test_malformed_premium_index(payload: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=r"^binance: /fapi/v1/premiumIndex: ") as e:
        parse_current(payload, {}, OBSERVED)
    assert message in str(e.value)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (mutated(DOC_EXCHANGE_INFO, ["symbols"], drop), "missing field 'symbols'"),
        (mutated(DOC_EXCHANGE_INFO, ["symbols", 0, "contractType"], drop),
         "missing field 'contractType'"),
        (mutated(DOC_EXCHANGE_INFO, ["symbols", 1, "baseAsset"], drop),
         "missing field 'baseAsset'"),
        ([], "expected a JSON object, got list"),
    ],
)
def test_malformed_exchange_info(payload: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=r"^binance: /fapi/v1/exchangeInfo: ") as e:
        parse_contracts(payload, {})
    assert message in str(e.value)


def test_malformed_history_and_funding_info() -> None:
    with pytest.raises(ExchangeDataError, match="fundingRate: missing field 'fundingTime'"):
        parse_history(mutated(DOC_HISTORY, [1, "fundingTime"], drop), "BTCUSDT")
    with pytest.raises(ExchangeDataError, match="'fundingIntervalHours' has bad value 'x'"):
        parse_funding_info(mutated(DOC_FUNDING_INFO, [0, "fundingIntervalHours"], set_to("x")))
    with pytest.raises(ExchangeDataError, match="BLZUSDT: field 'fundingIntervalHours' is 0"):
        parse_funding_info(mutated(DOC_FUNDING_INFO, [0, "fundingIntervalHours"], set_to(0)))
    with pytest.raises(ExchangeDataError, match="fundingInfo: the reply lists no symbol"):
        parse_funding_info([])


@pytest.mark.parametrize("parse", [
    lambda p: parse_current(p, {}, OBSERVED),
    lambda p: parse_history(p, "BTCUSDT"),
    parse_funding_info,
    lambda p: parse_contracts(p, {}),
])
def test_error_envelope_names_the_code(parse: Any) -> None:
    with pytest.raises(ExchangeError, match=r"error -1121: Invalid symbol\.") as e:
        parse({"code": -1121, "msg": "Invalid symbol."})
    assert not isinstance(e.value, ExchangeDataError)


def test_unknown_symbol_is_logged_and_skipped(caplog: pytest.LogCaptureFixture) -> None:
    odd = mutated(DOC_EXCHANGE_INFO, ["symbols", 0, "symbol"], set_to("BLZ/USDT"))
    odd = mutated(odd, ["symbols", 0, "baseAsset"], set_to("BLZ/"))
    contracts = parse_contracts(odd, {})
    assert [c.symbol for c in contracts] == ["1000PEPEUSDT"]
    assert "binance BLZ/USDT: contract skipped" in caplog.text
