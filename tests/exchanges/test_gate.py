"""Gate parse functions on ccxt's recorded real replies, our simulator recordings, the docs'
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
from lib.exchanges.venues.gate import parse_contracts, parse_current, parse_history
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)
CCXT_INTERVALS = {"1h": 1.0, "4h": 4.0, "8h": 8.0}

# exchange-apis.md §5.1: the documented contract entry (trimmed to what we read).
DOC_CONTRACT = {
    "name": "0G_USDT", "type": "direct", "quanto_multiplier": "1", "mark_price": "0.2048",
    "index_price": "0.2077", "funding_rate": "-0.003216", "funding_interval": 28800,
    "funding_next_apply": 1784131200, "status": "trading", "is_pre_market": False,
    "create_time": 1758124392, "launch_time": 1758124392, "position_size": 783779,
}


def test_every_ccxt_file_is_replayed() -> None:
    assert shared_files("gate") == ["fetchFundingRates"]


@pytest.mark.parametrize("entry", ccxt_entries("gate", "fetchFundingRates"),
                         ids=lambda e: e["description"])
def test_ccxt_funding_rates(entry: dict) -> None:
    snapshots = parse_current(entry["httpResponse"], OBSERVED)
    expected = entry["parsedResponse"]
    assert len(snapshots) == len(expected) == 1
    s, want = snapshots[0], expected["BTC/USD:BTC"]
    assert s.symbol == "BTC_USD"
    assert s.funding_rate == want["fundingRate"] == 0.0001
    assert to_ms(s.next_funding_time) == want["fundingTimestamp"] == 1741363200000
    assert s.funding_interval_hours == CCXT_INTERVALS[want["interval"]] == 8.0
    assert s.mark_price == want["markPrice"]
    assert s.index_price == pytest.approx(want["indexPrice"], rel=1e-12)
    assert s.open_interest == 11835253
    assert s.timestamp == OBSERVED


def test_ccxt_reply_as_contract_list() -> None:
    entry = ccxt_entries("gate", "fetchFundingRates")[0]
    (c,) = parse_contracts(entry["httpResponse"])
    assert (c.symbol, c.canonical_symbol, c.base, c.quote, c.settle) == (
        "BTC_USD", "BTC/USD:BTC", "BTC", "USD", "BTC"
    )
    assert list(entry["input"][0]) == [c.canonical_symbol]
    assert (c.multiplier, c.funding_interval_hours, c.status) == (1.0, 8.0, "trading")
    assert c.listed_at == datetime(2018, 12, 19, 16, tzinfo=UTC)  # create_time 1545235200


def test_documented_contract() -> None:
    (c,) = parse_contracts([DOC_CONTRACT])
    assert (c.canonical_symbol, c.base, c.multiplier) == ("0G/USDT:USDT", "0G", 1.0)
    assert c.listed_at == from_ms(1758124392000)
    (s,) = parse_current([DOC_CONTRACT], OBSERVED)
    assert (s.funding_rate, s.funding_interval_hours) == (-0.003216, 8.0)
    assert s.next_funding_time == from_ms(1784131200000)
    assert (s.mark_price, s.index_price) == (0.2048, 0.2077)


@pytest.mark.parametrize(
    ("interval", "hours"), [(3600, 1.0), (14400, 4.0), (28800, 8.0), (7200, 2.0)]
)
def test_interval_comes_from_funding_interval_seconds(interval: int, hours: float) -> None:
    row = dict(DOC_CONTRACT, funding_interval=interval)
    assert parse_contracts([row])[0].funding_interval_hours == hours
    assert parse_current([row], OBSERVED)[0].funding_interval_hours == hours


def test_documented_history() -> None:
    events = parse_history([{"t": 1543968000, "r": "0.000157"},
                            {"t": 1543939200, "r": "0.000100"}], "BTC_USDT")
    assert [(e.funding_time, e.funding_rate) for e in events] == [
        (datetime(2018, 12, 5, 0, tzinfo=UTC), 0.000157),
        (datetime(2018, 12, 4, 16, tzinfo=UTC), 0.0001),
    ]
    assert all(e.symbol == "BTC_USDT" and e.exchange == "gate" for e in events)


def test_simulator_contracts_recording() -> None:
    record = recording("gate", "contracts")
    check_contracts(parse_contracts(record["response"]), record)
    snapshots = parse_current(record["response"], OBSERVED)
    truth = {t["symbol"]: t for t in record["expected"]["current"]}
    assert sorted(s.symbol for s in snapshots) == sorted(truth)
    for s in snapshots:
        t = truth[s.symbol]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-12), s.symbol
        assert s.funding_interval_hours == t["interval_hours"]
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]


def test_prelaunch_contracts_are_left_out() -> None:
    record = recording("gate", "contracts")
    prelaunch = {r["name"] for r in record["response"] if r["status"] == "prelaunch"}
    assert prelaunch
    assert not prelaunch & {c.symbol for c in parse_contracts(record["response"])}
    assert not prelaunch & {s.symbol for s in parse_current(record["response"], OBSERVED)}


def test_simulator_history_recording() -> None:
    record = recording("gate", "history")
    events = parse_history(record["response"], record["symbol"])
    assert [e.funding_time for e in events] == sorted(
        (e.funding_time for e in events), reverse=True
    )  # newest first, as Gate pages
    check_history(events, record)


def test_unknown_symbol_skips_that_contract_only(caplog: pytest.LogCaptureFixture) -> None:
    odd = dict(DOC_CONTRACT, name="BTC-USDT")
    contracts = parse_contracts([odd, DOC_CONTRACT])
    assert [c.symbol for c in contracts] == ["0G_USDT"]
    assert "gate BTC-USDT: contract skipped" in caplog.text


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        ([0, "funding_rate"], drop, "gate: /api/v4/futures/usdt/contracts: missing field "
                                    "'funding_rate'"),
        ([0, "funding_rate"], set_to("abc"), "field 'funding_rate' has bad value 'abc'"),
        ([0, "funding_rate"], set_to("NaN"), "field 'funding_rate' has bad value 'NaN'"),
        ([0, "funding_interval"], drop, "missing field 'funding_interval'"),
        ([0, "funding_interval"], set_to(0), "field 'funding_interval' is 0"),
        ([0, "funding_next_apply"], set_to("soon"), "field 'funding_next_apply' has bad value"),
        ([0, "name"], drop, "missing field 'name'"),
    ],
)
def test_malformed_contract_fields(path: list, change: Any, message: str) -> None:
    payload = mutated([DOC_CONTRACT], path, change)
    with pytest.raises(ExchangeDataError, match=message.replace("(", r"\(")):
        parse_current(payload, OBSERVED)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"data": []}, "expected a JSON array, got dict"),
        ("oops", "expected a JSON array, got str"),
        ([1, 2], "expected objects, got 1"),
    ],
)
def test_wrong_top_level_shape(payload: object, message: str) -> None:
    for parse in (parse_contracts, lambda p: parse_current(p, OBSERVED)):
        with pytest.raises(ExchangeDataError, match=message):
            parse(payload)


def test_error_envelope_names_the_label() -> None:
    reply = {"label": "INVALID_PARAM_VALUE", "message": "invalid argument: limit"}
    with pytest.raises(ExchangeError) as info:
        parse_history(reply, "BTC_USDT")
    assert str(info.value) == (
        "gate: /api/v4/futures/usdt/funding_rate: error INVALID_PARAM_VALUE: "
        "invalid argument: limit"
    )
    assert not isinstance(info.value, ExchangeDataError)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"r": "0.0001"}, "missing field 't'"),
        ({"t": 1543968000}, "missing field 'r'"),
        ({"t": 1543968000, "r": None}, "field 'r' has bad value None"),
        ({"t": "yesterday", "r": "0.1"}, "field 't' has bad value 'yesterday'"),
    ],
)
def test_malformed_history_rows(row: dict, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_history([row], "BTC_USDT")
