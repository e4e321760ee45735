"""KuCoin Futures parse functions on ccxt's recorded real reply, our simulator recordings, the
docs' examples, and malformed replies."""

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
from lib.exchanges.venues.kucoin import (
    parse_contracts,
    parse_current,
    parse_current_one,
    parse_history,
)
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)

# exchange-apis.md §6.1: the documented contracts/active entry (trimmed).
DOC_ROW = {
    "symbol": "XBTUSDTM", "rootSymbol": "USDT", "type": "FFWCSX", "firstOpenDate": 1585555200000,
    "expireDate": None, "baseCurrency": "XBT", "quoteCurrency": "USDT", "settleCurrency": "USDT",
    "multiplier": 0.001, "isInverse": False, "status": "Open", "fundingFeeRate": 0.000132,
    "predictedFundingFeeRate": 0.000176, "fundingRateGranularity": 28800000,
    "currentFundingRateGranularity": 28800000, "nextFundingRateTime": 7466987,
    "nextFundingRateDateTime": 1750176000000, "openInterest": "8306597",
    "turnoverOf24h": 560148040.312645, "volumeOf24h": 8544.241, "markPrice": 64681.31,
    "indexPrice": 64681.1,
}
DOC_REPLY = {"code": "200000", "data": [DOC_ROW]}


def test_every_ccxt_file_is_replayed() -> None:
    assert shared_files("kucoinfutures") == ["fetchFundingRate"]


@pytest.mark.parametrize("entry", ccxt_entries("kucoinfutures", "fetchFundingRate"),
                         ids=lambda e: e["description"])
def test_ccxt_funding_rate(entry: dict[str, Any]) -> None:
    s = parse_current_one(entry["httpResponse"], "XBTUSDTM", OBSERVED)
    want = entry["parsedResponse"]
    assert want["symbol"] == "BTC/USDT:USDT"
    assert s.symbol == "XBTUSDTM"
    assert s.funding_rate == want["fundingRate"] == 0.000136
    assert s.funding_interval_hours == 8.0 and want["interval"] == "8h"
    # ccxt calls timePoint the funding timestamp; KuCoin documents it as the start of the
    # running period, which settles one granularity later.
    assert to_ms(s.next_funding_time) == want["fundingTimestamp"] + 28_800_000
    assert s.next_funding_time == datetime(2024, 1, 22, 12, tzinfo=UTC)


def test_current_one_prefers_funding_time() -> None:
    reply = {"code": "200000", "data": {
        "symbol": ".ETHUSDTMFPI8H", "granularity": 28800000, "timePoint": 1776672000000,
        "value": -3.2e-5, "fundingTime": 1776700800000}}
    s = parse_current_one(reply, "ETHUSDTM", OBSERVED)
    assert (s.funding_rate, s.funding_interval_hours) == (-3.2e-5, 8.0)
    assert s.next_funding_time == from_ms(1776700800000)


def test_documented_contract() -> None:
    (c,) = parse_contracts(DOC_REPLY)
    assert (c.symbol, c.canonical_symbol, c.base, c.quote, c.settle) == (
        "XBTUSDTM", "BTC/USDT:USDT", "BTC", "USDT", "USDT"
    )
    assert (c.multiplier, c.funding_interval_hours, c.status) == (1.0, 8.0, "trading")
    assert c.listed_at == from_ms(1585555200000)
    (s,) = parse_current(DOC_REPLY, OBSERVED)
    assert (s.funding_rate, s.next_funding_time) == (0.000132, from_ms(1750176000000))
    assert (s.mark_price, s.index_price) == (64681.31, 64681.1)
    assert (s.open_interest, s.volume_24h) == (8306597.0, 560148040.312645)


def test_countdown_next_funding_without_absolute_time() -> None:
    row = {k: v for k, v in DOC_ROW.items() if k != "nextFundingRateDateTime"}
    row["nextFundingRateTime"] = 7_466_987  # ms remaining: 2 h 4 min 27 s
    observed = datetime(2026, 1, 1, 5, 55, 33, tzinfo=UTC)
    (s,) = parse_current({"code": "200000", "data": [row]}, observed)
    assert s.next_funding_time == datetime(2026, 1, 1, 8, tzinfo=UTC)


def test_inverse_and_multiplier_names() -> None:
    inverse = dict(DOC_ROW, symbol="XBTUSDM", quoteCurrency="USD", settleCurrency="XBT",
                   multiplier=-1, isInverse=True)
    scaled = dict(DOC_ROW, symbol="1000PEPEUSDTM", baseCurrency="1000PEPE",
                  fundingRateGranularity=14400000)
    a, b = parse_contracts({"code": "200000", "data": [inverse, scaled]})
    assert (a.canonical_symbol, a.settle, a.multiplier) == ("BTC/USD:BTC", "BTC", 1.0)
    assert (b.canonical_symbol, b.multiplier, b.funding_interval_hours) == (
        "PEPE/USDT:USDT", 1000.0, 4.0
    )


@pytest.mark.parametrize(("ms", "hours"), [(3_600_000, 1.0), (14_400_000, 4.0),
                                           (28_800_000, 8.0), (7_200_000, 2.0)])
def test_interval_comes_from_granularity(ms: int, hours: float) -> None:
    reply = {"code": "200000", "data": [dict(DOC_ROW, fundingRateGranularity=ms)]}
    assert parse_contracts(reply)[0].funding_interval_hours == hours
    assert parse_current(reply, OBSERVED)[0].funding_interval_hours == hours


def test_dated_futures_and_prelaunch_are_left_out() -> None:
    record = recording("kucoin", "contracts")
    dated = {r["symbol"] for r in record["response"]["data"] if r["type"] != "FFWCSX"}
    assert dated  # XBTMH26...
    prelaunch = dict(DOC_ROW, symbol="NEWUSDTM", baseCurrency="NEW", status="Init")
    reply = dict(record["response"], data=record["response"]["data"] + [prelaunch])
    names = {c.symbol for c in parse_contracts(reply)}
    assert not (dated | {"NEWUSDTM"}) & names
    assert not (dated | {"NEWUSDTM"}) & {s.symbol for s in parse_current(reply, OBSERVED)}


def test_simulator_contracts_recording() -> None:
    record = recording("kucoin", "contracts")
    check_contracts(parse_contracts(record["response"]), record)
    snapshots = parse_current(record["response"], OBSERVED)
    truth = {t["symbol"]: t for t in record["expected"]["current"]}
    assert sorted(s.symbol for s in snapshots) == sorted(truth)
    for s in snapshots:
        t = truth[s.symbol]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-12), s.symbol
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]


def test_documented_history() -> None:
    reply = {"success": True, "code": "200", "msg": "success", "retry": False,
             "data": [{"symbol": "IDUSDTM", "fundingRate": 0.018750, "timepoint": 1702310700000}]}
    (e,) = parse_history(reply, "IDUSDTM")
    assert (e.symbol, e.funding_rate, e.funding_time) == (
        "IDUSDTM", 0.01875, datetime(2023, 12, 11, 16, 5, tzinfo=UTC)
    )


def test_simulator_history_recording() -> None:
    record = recording("kucoin", "history")
    events = parse_history(record["response"], record["symbol"])
    times = [e.funding_time for e in events]
    assert times == sorted(times, reverse=True)
    got = check_history(events, record)
    assert got[1][0] - got[0][0] in {timedelta(hours=h) for h in (1, 2, 4, 8)}


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["data", 0, "fundingFeeRate"], drop, "kucoin: /api/v1/contracts/active: missing field "
                                              "'fundingFeeRate'"),
        (["data", 0, "fundingFeeRate"], set_to("x"), "field 'fundingFeeRate' has bad value 'x'"),
        (["data", 0, "fundingRateGranularity"], drop, "missing field 'fundingRateGranularity'"),
        (["data", 0, "fundingRateGranularity"], set_to(-1), "'fundingRateGranularity' is -1"),
        (["data", 0, "symbol"], drop, "missing field 'symbol'"),
        (["data"], drop, "missing field 'data'"),
        (["data"], set_to({"symbol": "XBTUSDTM"}), "field 'data' is not a list of objects"),
    ],
)
def test_malformed_contracts(path: list[Any], change: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_current(mutated(DOC_REPLY, path, change), OBSERVED)


def test_missing_next_funding_times() -> None:
    row = {k: v for k, v in DOC_ROW.items()
           if k not in ("nextFundingRateDateTime", "nextFundingRateTime")}
    with pytest.raises(ExchangeDataError, match="missing field 'nextFundingRateTime'"):
        parse_current({"code": "200000", "data": [row]}, OBSERVED)


@pytest.mark.parametrize("payload", [[DOC_ROW], "text", None])
def test_wrong_top_level_shape(payload: object) -> None:
    with pytest.raises(ExchangeDataError, match="expected a JSON object"):
        parse_contracts(payload)


def test_error_envelope_names_the_code() -> None:
    with pytest.raises(ExchangeError) as info:
        parse_history({"code": "400100", "msg": "from and to must not be null"}, "XBTUSDTM")
    assert str(info.value) == (
        "kucoin: /api/v1/contract/funding-rates: error 400100: from and to must not be null"
    )
    with pytest.raises(ExchangeError, match="error 100001: Contract parameter invalid"):
        parse_current_one({"code": "100001", "msg": "Contract parameter invalid."}, "X")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"fundingRate": 0.0001}, "missing field 'timepoint'"),
        ({"timepoint": 1702310700000}, "missing field 'fundingRate'"),
        ({"timepoint": 1702310700000, "fundingRate": "inf"}, "'fundingRate' has bad value"),
    ],
)
def test_malformed_history_rows(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_history({"code": "200", "data": [row]}, "XBTUSDTM")
