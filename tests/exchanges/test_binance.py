"""Binance parse functions on real recorded replies (../shared/exchange-responses/binance/:
captures from fapi.binance.com by other projects; ccxt has none), the docs' examples, our
simulator recordings, and malformed replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from recorded_replies import (
    check_contracts,
    check_history,
    drop,
    mutated,
    real_reply,
    recording,
    set_to,
    shared_files,
)

from lib.errors import ExchangeDataError, ExchangeError
from lib.exchanges.venues.binance import (
    parse_contracts,
    parse_current,
    parse_funding_info,
    parse_history,
)
from lib.timeutils import from_ms, normalise_settlement, to_ms

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


def test_every_real_reply_is_replayed() -> None:
    assert shared_files("binance") == [
        "real-exchangeInfo", "real-fundingInfo", "real-fundingRate-BTCUSDT",
        "real-premiumIndex-BTCUSDT", "real-premiumIndex-XAUUSDT", "real-premiumIndex-all-trimmed",
        "real-premiumIndex-all",
    ]


def test_real_funding_info() -> None:
    """The first 35 entries of a whole fundingInfo list (2026): 8, 4 and 1 hour intervals."""
    reply = real_reply("binance", "real-fundingInfo")
    intervals = parse_funding_info(reply)
    assert intervals == {row["symbol"]: float(row["fundingIntervalHours"]) for row in reply}
    assert len(intervals) == 35
    assert (intervals["GTCUSDT"], intervals["LPTUSDT"], intervals["ONEUSDT"]) == (8.0, 4.0, 1.0)


def test_real_exchange_info() -> None:
    """A whole exchangeInfo of 2021-07 (122 symbols): the 119 trading perpetuals, USDT- and
    BUSD-margined, every one 8-hourly then; two quarterlies and a pending symbol left out."""
    reply = real_reply("binance", "real-exchangeInfo")
    contracts = parse_contracts(reply, {})
    rows = {row["symbol"]: row for row in reply["symbols"]}
    assert len(rows) == 122 and len(contracts) == 119
    assert not {"BTCUSDT_210924", "ETHUSDT_210924", "BTCSTUSDT"} & {c.symbol for c in contracts}
    for c in contracts:
        row = rows[c.symbol]
        assert (c.quote, c.settle) == (row["quoteAsset"], row["marginAsset"]), c.symbol
        assert c.listed_at == from_ms(row["onboardDate"]), c.symbol
        assert (c.funding_interval_hours, c.status) == (8.0, "trading")
    by_symbol = {c.symbol: c for c in contracts}
    btc, shib = by_symbol["BTCUSDT"], by_symbol["1000SHIBUSDT"]
    assert (btc.canonical_symbol, btc.multiplier) == ("BTC/USDT:USDT", 1.0)
    assert btc.listed_at == datetime(2019, 9, 25, 8, tzinfo=UTC)
    assert (shib.canonical_symbol, shib.base, shib.multiplier) == ("SHIB/USDT:USDT", "SHIB", 1e3)
    assert by_symbol["1INCHUSDT"].base == "1INCH"
    assert by_symbol["BTCBUSD"].canonical_symbol == "BTC/BUSD:BUSD"


def test_real_premium_index_of_every_symbol() -> None:
    """The no-symbol reply of 2024-11-27 (379 rows): the 4 quarterlies (rate "0.00000000",
    nextFundingTime 0) left out, every perpetual's values the reply's own."""
    reply = real_reply("binance", "real-premiumIndex-all")
    snapshots = parse_current(reply, {}, OBSERVED)
    perpetuals = [row for row in reply if "_" not in row["symbol"]]
    assert (len(reply), len(perpetuals), len(snapshots)) == (379, 375, 375)
    for s, row in zip(snapshots, perpetuals, strict=True):
        assert (s.symbol, s.funding_rate) == (row["symbol"], float(row["lastFundingRate"]))
        assert (s.mark_price, s.index_price) == (float(row["markPrice"]), float(row["indexPrice"]))
        assert to_ms(s.next_funding_time) == row["nextFundingTime"] == 1732723200000  # type: ignore[arg-type]
        assert to_ms(s.timestamp) == row["time"] == 1732715655000
    first = snapshots[0]
    assert (first.symbol, first.funding_rate, first.mark_price, first.index_price) == (
        "UXLINKUSDT", 0.00005, 0.5563, 0.55594286
    )


def test_real_premium_index_trimmed_with_funding_info() -> None:
    """Three rows of a 2026 no-symbol reply; LPTUSDT settles every 4 h (fundingInfo)."""
    intervals = parse_funding_info(real_reply("binance", "real-fundingInfo"))
    snapshots = parse_current(real_reply("binance", "real-premiumIndex-all-trimmed"), intervals,
                              OBSERVED)
    assert [(s.symbol, s.funding_rate, s.funding_interval_hours) for s in snapshots] == [
        ("LPTUSDT", 0.00005, 4.0), ("ETHUSDT", -0.00001791, 8.0), ("BTCUSDT", 0.0000668, 8.0)
    ]
    assert {to_ms(s.next_funding_time) for s in snapshots} == {1789315200000}  # type: ignore[arg-type]
    assert {to_ms(s.timestamp) for s in snapshots} == {1789308896002}
    assert (snapshots[2].mark_price, snapshots[2].index_price) == (76979.73397101, 77007.74782609)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("real-premiumIndex-BTCUSDT",
         ("BTCUSDT", 0.00004558, 1790784000000, 1790767764002, 83829.8, 83844.93847826)),
        ("real-premiumIndex-XAUUSDT",
         ("XAUUSDT", 0.0000482, 1790769600000, 1790767763307, 4187.85, 4185.66627452)),
    ],
)
def test_real_premium_index_of_one_symbol(name: str, expected: tuple[Any, ...]) -> None:
    """`?symbol=` answers one object, the same as a row of the no-symbol list (the adapter
    asks for the list, so the object is read as a list of one)."""
    (s,) = parse_current([real_reply("binance", name)], {}, OBSERVED)
    assert (s.symbol, s.funding_rate, to_ms(s.next_funding_time), to_ms(s.timestamp),  # type: ignore[arg-type]
            s.mark_price, s.index_price) == expected


def test_real_funding_rate_history() -> None:
    """100 BTCUSDT rows of 2026, oldest first, 8 h apart, some stamped 1-2 ms late."""
    reply = real_reply("binance", "real-fundingRate-BTCUSDT")
    events = parse_history(reply, "BTCUSDT")
    assert [(to_ms(e.funding_time), e.funding_rate, e.mark_price) for e in events] == [
        (row["fundingTime"], float(row["fundingRate"]), float(row["markPrice"])) for row in reply
    ]
    assert len(events) == 100
    assert (to_ms(events[0].funding_time), events[0].funding_rate, events[0].mark_price) == (
        1787904000000, 0.0001, 79645.6
    )
    assert (to_ms(events[-1].funding_time), events[-1].funding_rate) == (1790755200000, -0.00000244)
    times = [normalise_settlement(e.funding_time) for e in events]
    assert all(b - a == timedelta(hours=8) for a, b in pairwise(times))
    assert any(to_ms(e.funding_time) % 1000 for e in events)  # the jitter fetch_history removes


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
