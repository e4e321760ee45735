"""MEXC parse functions on real recorded replies (../shared/exchange-responses/mexc/), our
simulator recordings, and malformed or refused replies."""

from __future__ import annotations

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

from lib.errors import ExchangeDataError, ExchangeError, TemporaryExchangeError
from lib.exchanges.venues.mexc import (
    FUNDING,
    parse_contracts,
    parse_current,
    parse_history,
    parse_intervals,
    parse_tickers,
)
from lib.timeutils import from_ms, to_ms

REAL_RATES = ("BTC_USDT", "ETH_USDT", "XAU_USDT")


def test_every_real_file_is_replayed() -> None:
    assert shared_files("mexc") == [
        "real-detail", "real-funding_rate-BTC_USDT", "real-funding_rate-ETH_USDT",
        "real-funding_rate-XAU_USDT", "real-funding_rate-history-BTC_USDT",
    ]


def _real_rate(symbol: str) -> Any:
    return real_reply("mexc", f"real-funding_rate-{symbol}")


@pytest.mark.parametrize(
    ("symbol", "rate", "hours", "next_ms", "at_ms", "mark", "index", "cap"),
    [
        ("BTC_USDT", 0.000029, 8.0, 1789171200000, 1789147684514, 77825.5, 77863.3, 0.0018),
        ("ETH_USDT", 0.00005, 8.0, 1789171200000, 1789147684792, 2575.7, 2577.01, 0.0018),
        ("XAU_USDT", 0.000147, 4.0, 1789156800000, 1789147685070, 4372.35, 4369.55, 0.03),
    ],
)
def test_real_funding_rate(symbol: str, rate: float, hours: float, next_ms: int, at_ms: int,
                           mark: float, index: float, cap: float) -> None:
    """The per-symbol reply (`data` one object) reads like one row of the bulk list."""
    (s,) = parse_current(_real_rate(symbol))
    assert (s.exchange, s.symbol, s.funding_rate, s.funding_interval_hours) == (
        "mexc", symbol, rate, hours)
    assert to_ms(s.next_funding_time) == next_ms  # type: ignore[arg-type]
    assert to_ms(s.timestamp) == at_ms
    assert (s.mark_price, s.index_price, s.rate_cap, s.rate_floor) == (mark, index, cap, -cap)
    assert (s.open_interest, s.volume_24h) == (None, None)  # those come from the ticker


def test_real_detail_with_real_intervals() -> None:
    intervals: dict[str, float] = {}
    for symbol in REAL_RATES:
        intervals.update(parse_intervals(_real_rate(symbol)))
    assert intervals == {"BTC_USDT": 8.0, "ETH_USDT": 8.0, "XAU_USDT": 4.0}
    contracts = parse_contracts(real_reply("mexc", "real-detail"), intervals)
    assert [(c.symbol, c.canonical_symbol, c.contract_size, c.funding_interval_hours)
            for c in contracts] == [
        ("BTC_USDT", "BTC/USDT:USDT", 0.0001, 8.0),
        ("ETH_USDT", "ETH/USDT:USDT", 0.01, 8.0),
        ("XAU_USDT", "XAU/USDT:USDT", 0.001, 4.0),
    ]
    assert all(c.status == "trading" and c.listed_at is None for c in contracts)


def test_real_history_page() -> None:
    events = parse_history(real_reply("mexc", "real-funding_rate-history-BTC_USDT"), "BTC_USDT")
    assert [(to_ms(e.funding_time), e.funding_rate) for e in events] == [
        (1789142400000, 0.000036), (1789113600000, 0.000061), (1789084800000, 0.00003),
        (1789056000000, 0.000071), (1789027200000, 0.000079),
    ]  # newest first, 8 h apart
    assert {(e.exchange, e.symbol, e.funding_interval_hours) for e in events} == {
        ("mexc", "BTC_USDT", 8.0)}


def test_simulator_recorded_contracts() -> None:
    record = recording("mexc", "detail")
    intervals = parse_intervals(recording("mexc", "funding_rate")["response"])
    contracts = parse_contracts(record["response"], intervals)
    check_contracts(contracts, record)  # the offline (state 3) contracts are left out
    assert {c.funding_interval_hours for c in contracts} == {1.0, 4.0, 8.0}
    listed = {t["symbol"]: t["listed_at_ms"] for t in record["expected"]["contracts"]}
    assert all(to_ms(c.listed_at) == listed[c.symbol] for c in contracts)  # type: ignore[arg-type]
    assert any(t["status"] == "delisted" for t in record["expected"]["contracts"])


def test_simulator_recorded_current() -> None:
    record = recording("mexc", "funding_rate")
    tickers = parse_tickers(recording("mexc", "ticker")["response"])
    snapshots = {s.symbol: s for s in parse_current(record["response"], tickers)}
    truth = record["expected"]["current"]
    assert set(snapshots) == {t["symbol"] for t in truth} and len(truth) > 5
    for t in truth:
        s = snapshots[t["symbol"]]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-15)
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]  # type: ignore[arg-type]
        assert s.mark_price == pytest.approx(t["mark_price"], rel=1e-4)
        assert s.index_price == pytest.approx(t["index_price"], rel=1e-4)
        assert s.open_interest is not None and s.open_interest > 0
        assert s.volume_24h is not None and s.volume_24h > 0
        assert (s.open_interest_unit, s.volume_unit) == ("contracts", "quote")


def test_simulator_recorded_history_page() -> None:
    record = recording("mexc", "history")
    events = parse_history(record["response"], record["symbol"])
    assert len(events) == 100
    assert len(check_history(events, record)) > 40
    assert {e.funding_interval_hours for e in events} == {record["interval_hours"]}
    times = [e.funding_time for e in events]
    assert times == sorted(times, reverse=True)


def test_listing_keeps_perpetuals_that_settle_funding(caplog: pytest.LogCaptureFixture) -> None:
    detail = real_reply("mexc", "real-detail")
    intervals = {"BTC_USDT": 8.0, "ETH_USDT": 8.0}  # XAU_USDT has none: left out, logged
    paused = mutated(detail, ["data", 0, "state"], set_to(4))
    offline = mutated(paused, ["data", 1, "state"], set_to(3))
    (btc,) = parse_contracts(offline, intervals)
    assert (btc.symbol, btc.status) == ("BTC_USDT", "paused")
    assert "mexc XAU_USDT: no funding interval" in caplog.text
    dated = mutated(detail, ["data", 0, "futureType"], set_to(2))
    assert [c.symbol for c in parse_contracts(dated, intervals)] == ["ETH_USDT"]


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["data", "fundingRate"], set_to("NaN"), "field 'fundingRate' has bad value 'NaN'"),
        (["data", "fundingRate"], drop, "missing field 'fundingRate'"),
        (["data", "collectCycle"], set_to(0), "field 'collectCycle' has bad value 0"),
        (["data", "nextSettleTime"], set_to("soon"), "'nextSettleTime' has bad value"),
        (["data"], set_to("x"), "field 'data' is not a list of objects"),
        (["data"], drop, "missing field 'data'"),
    ],
)
def test_malformed_current(path: list[Any], change: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=f"^mexc: {FUNDING}: ") as e:
        parse_current(mutated(_real_rate("BTC_USDT"), path, change))
    assert message in str(e.value)


def test_malformed_history() -> None:
    page = real_reply("mexc", "real-funding_rate-history-BTC_USDT")
    with pytest.raises(ExchangeDataError, match="missing field 'settleTime'"):
        parse_history(mutated(page, ["data", "resultList", 0, "settleTime"], drop), "BTC_USDT")
    with pytest.raises(ExchangeDataError, match="missing field 'resultList'"):
        parse_history(mutated(page, ["data", "resultList"], drop), "BTC_USDT")


def test_error_replies_name_the_code() -> None:
    with pytest.raises(TemporaryExchangeError, match="error 510: Requests are too frequent"):
        parse_history({"success": False, "code": 510, "message": "Requests are too frequent"},
                      "BTC_USDT")
    with pytest.raises(ExchangeError, match="error 1001: Contract does not exist") as e:
        parse_current({"success": False, "code": 1001, "msg": "Contract does not exist"})
    assert not isinstance(e.value, (ExchangeDataError, TemporaryExchangeError))


def test_listing_time_is_create_time() -> None:
    detail = mutated(real_reply("mexc", "real-detail"), ["data", 0, "createTime"],
                     set_to(1591242684000))
    btc = parse_contracts(detail, {"BTC_USDT": 8.0})[0]
    assert btc.listed_at == from_ms(1591242684000)
