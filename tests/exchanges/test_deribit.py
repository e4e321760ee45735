"""Deribit parse functions on real recorded replies (../shared/exchange-responses/deribit/),
Deribit's documented history example, our simulator recordings, and malformed or refused
replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
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
from lib.exchanges.venues.deribit import (
    SUMMARY,
    parse_contracts,
    parse_current,
    parse_history,
    reply_time,
)
from lib.timeutils import from_ms, to_ms

# docs.deribit.com, public/get_funding_rate_history (exchange-apis.md §10.2)
DOC_HISTORY = {
    "jsonrpc": "2.0", "id": 7617,
    "result": [
        {"timestamp": 1569891600000, "index_price": 8222.87, "prev_index_price": 8305.72,
         "interest_8h": -0.00009234260068476106, "interest_1h": -4.739622041017375e-7},
        {"timestamp": 1569895200000, "index_price": 8286.49, "prev_index_price": 8222.87,
         "interest_8h": -0.00006720918180255509, "interest_1h": -2.8583510923267753e-7},
    ],
}
USDC_PERPETUALS = {"ADA", "ALGO", "AVAX", "BCH", "BTC", "DOGE", "DOT", "ETH", "LINK", "LTC",
                   "MATIC", "NEAR", "SOL", "TRX", "UNI", "XRP"}


def test_every_real_file_is_replayed() -> None:
    assert shared_files("deribit") == ["real-get_instruments-BTC", "real-get_instruments-USDC"]


def test_real_btc_instruments_hold_one_perpetual() -> None:
    """398 BTC instruments of 2021 (options, dated futures, the perpetual): the perpetual
    alone is listed; that reply has no settlement_currency, and the inverse name says BTC."""
    payload = real_reply("deribit", "real-get_instruments-BTC")
    assert len(payload["result"]) == 398
    (btc,) = parse_contracts(payload)
    assert (btc.symbol, btc.canonical_symbol, btc.quote, btc.settle) == (
        "BTC-PERPETUAL", "BTC/USD:BTC", "USD", "BTC")
    assert (btc.contract_size, btc.funding_interval_hours, btc.multiplier) == (10.0, 1.0, 1.0)
    assert btc.listed_at == from_ms(1534242287000)
    assert btc.ccxt_symbol == "BTC/USD:BTC"


def test_real_usdc_instruments_are_linear_perpetuals() -> None:
    contracts = parse_contracts(real_reply("deribit", "real-get_instruments-USDC"))
    assert {c.base for c in contracts} == USDC_PERPETUALS
    assert all(c.canonical_symbol == f"{c.base}/USDC:USDC" and c.funding_interval_hours == 1.0
               for c in contracts)
    eth = next(c for c in contracts if c.symbol == "ETH_USDC-PERPETUAL")
    assert (eth.contract_size, eth.listed_at) == (0.01, from_ms(1647262800000))


def test_reply_time_is_us_out() -> None:
    payload = real_reply("deribit", "real-get_instruments-USDC")
    assert reply_time(payload) == from_ms(1653848421538)  # usOut 1653848421538333 µs
    assert reply_time({"jsonrpc": "2.0", "result": []}) is None


def test_documented_history_rows_are_hourly_interest() -> None:
    events = parse_history(DOC_HISTORY, "BTC-PERPETUAL")
    assert [(to_ms(e.funding_time), e.funding_rate, e.funding_interval_hours) for e in events] == [
        (1569891600000, -4.739622041017375e-7, 1.0),
        (1569895200000, -2.8583510923267753e-7, 1.0),
    ]


def test_simulator_recorded_contracts() -> None:
    record = recording("deribit", "get_instruments")
    contracts = parse_contracts(record["response"])
    check_contracts(contracts, record)  # the dated futures (BTC-27MAR26...) are left out
    assert {c.canonical_symbol for c in contracts} >= {"BTC/USD:BTC", "ETH/USD:ETH"}
    assert any(t["kind"] == "delivery" for t in record["expected"]["contracts"])
    assert {c.funding_interval_hours for c in contracts} == {1.0}


@pytest.mark.parametrize(("name", "unit"), [("book_summary_btc", "quote"),
                                            ("book_summary_usdc", "base")])
def test_simulator_recorded_current(name: str, unit: str) -> None:
    """current_funding is the 8-hour rate now: the running hour's rate is an eighth of it;
    the next hourly row is at the next full hour after the reply."""
    record = recording("deribit", name)
    snapshots = {s.symbol: s for s in parse_current(record["response"])}
    truth = record["expected"]["current"]
    assert set(snapshots) == {t["symbol"] for t in truth} and truth
    for t in truth:
        s = snapshots[t["symbol"]]
        assert s.funding_rate == t["rate"]
        assert s.funding_interval_hours == t["interval_hours"] == 1
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]  # type: ignore[arg-type]
        assert s.mark_price == pytest.approx(t["mark_price"], rel=1e-4)
        assert s.index_price == pytest.approx(t["index_price"], rel=1e-4)
        assert s.open_interest is not None and s.volume_24h is not None
        assert (s.open_interest_unit, s.volume_unit) == (unit, "quote")


def test_simulator_recorded_history() -> None:
    record = recording("deribit", "history")
    events = parse_history(record["response"], record["symbol"])
    assert len(check_history(events, record)) > 40
    times = [e.funding_time for e in events]
    assert times == sorted(times)  # ascending
    rows = record["response"]["result"]
    # interest_8h is what the 8 hours ending at a row realized
    by_time = {r["timestamp"]: r["interest_1h"] for r in rows}
    last = rows[-1]
    window = [by_time.get(last["timestamp"] - k * 3_600_000, 0.0) for k in range(8)]
    assert last["interest_8h"] == pytest.approx(sum(window), abs=1e-15)


def test_snapshot_without_a_reply_time_uses_the_observed_one() -> None:
    payload = recording("deribit", "book_summary_usdc")["response"]
    observed = datetime(2026, 3, 1, 12, 59, 59, tzinfo=UTC)
    for s in parse_current({"jsonrpc": "2.0", "result": payload["result"]}, observed):
        assert s.timestamp == observed
        assert s.next_funding_time == observed + timedelta(seconds=1)


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["result", 0, "current_funding"], drop, "missing field 'current_funding'"),
        (["result", 0, "current_funding"], set_to(None), "'current_funding' has bad value"),
        (["result", 0, "instrument_name"], set_to(7), "'instrument_name' has bad value 7"),
        (["result"], set_to({}), "field 'result' is not a list of objects"),
        (["result"], drop, "missing field 'result'"),
    ],
)
def test_malformed_current(path: list[Any], change: Any, message: str) -> None:
    payload = recording("deribit", "book_summary_btc")["response"]
    with pytest.raises(ExchangeDataError, match=f"^deribit: {SUMMARY}: ") as e:
        parse_current(mutated(payload, path, change))
    assert message in str(e.value)


def test_malformed_contracts_and_history() -> None:
    usdc = real_reply("deribit", "real-get_instruments-USDC")
    with pytest.raises(ExchangeDataError, match="missing field 'base_currency'"):
        parse_contracts(mutated(usdc, ["result", 0, "base_currency"], drop))
    with pytest.raises(ExchangeDataError, match="missing field 'interest_1h'"):
        parse_history(mutated(DOC_HISTORY, ["result", 1, "interest_1h"], drop), "BTC-PERPETUAL")
    with pytest.raises(ExchangeDataError, match="'timestamp' has bad value"):
        parse_history(mutated(DOC_HISTORY, ["result", 0, "timestamp"], set_to("x")), "BTC")


def test_inactive_and_unknown_instruments_are_left_out(caplog: pytest.LogCaptureFixture) -> None:
    usdc = real_reply("deribit", "real-get_instruments-USDC")
    inactive = mutated(usdc, ["result", 0, "is_active"], set_to(False))
    odd = mutated(inactive, ["result", 1, "base_currency"], set_to("SOL.X"))
    names = {c.symbol for c in parse_contracts(odd)}
    assert len(names) == 14 and not names & {"UNI_USDC-PERPETUAL", "SOL_USDC-PERPETUAL"}
    assert "deribit SOL_USDC-PERPETUAL: contract skipped" in caplog.text


def test_error_replies_name_the_code() -> None:
    throttled = {"jsonrpc": "2.0", "error": {"message": "too_many_requests", "code": 10028},
                 "testnet": False, "usIn": 1, "usOut": 2, "usDiff": 1}
    with pytest.raises(TemporaryExchangeError, match="error 10028: too_many_requests"):
        parse_history(throttled, "BTC-PERPETUAL")
    invalid = mutated(throttled, ["error"], set_to({"message": "Invalid params", "code": -32602}))
    with pytest.raises(ExchangeError, match="error -32602: Invalid params") as e:
        parse_current(invalid)
    assert not isinstance(e.value, (ExchangeDataError, TemporaryExchangeError))
