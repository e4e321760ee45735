"""Hibachi parse functions on real captures (../shared/exchange-responses/hibachi/), our
simulator recordings (one across the venue's 8 h -> 1 h change), interval inference and
malformed replies."""

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

from lib.errors import ExchangeDataError, ExchangeError
from lib.exchanges.venues.hibachi import (
    infer_intervals,
    live_symbols,
    parse_contracts,
    parse_current,
    parse_history,
    venue_interval,
)
from lib.models import FundingEvent
from lib.timeutils import from_ms, to_ms

INVENTORY_SEEN = datetime(2026, 9, 13, 22, 29, tzinfo=UTC)  # ai-rates' note on the capture
LIVE_INVENTORY = ["BTC/USDT-P", "ETH/USDT-P", "XAG/USDT-P", "EUR/USDT-P", "PAXG/USDT-P"]


def test_every_real_capture_is_replayed() -> None:
    assert shared_files("hibachi") == [
        "real-exchange-info", "real-funding-rates-BTC", "real-inventory"
    ]


def test_real_exchange_info() -> None:
    payload = real_reply("hibachi", "real-exchange-info")
    assert live_symbols(payload) == ["ETH/USDT-P"]
    (c,) = parse_contracts(payload, {"ETH/USDT-P": 1.0})
    assert (c.symbol, c.canonical_symbol, c.base, c.quote, c.settle, c.multiplier) == (
        "ETH/USDT-P", "ETH/USDT:USDT", "ETH", "USDT", "USDT", 1.0
    )
    assert (c.funding_interval_hours, c.status, c.contract_size) == (1.0, "trading", 1.0)
    assert c.ccxt_symbol == "ETH/USDT:USDT"
    # "1727701319.73488": seconds with a fraction
    assert c.listed_at == datetime(2024, 9, 30, 13, 1, 59, 734880, tzinfo=UTC)
    with pytest.raises(ExchangeDataError, match="ETH/USDT-P: funding interval unknown"):
        parse_contracts(payload, {})


def test_real_inventory_snapshot() -> None:
    payload = real_reply("hibachi", "real-inventory")
    assert live_symbols(payload) == LIVE_INVENTORY  # FARTCOIN is CLOSED, info all null
    snapshots = parse_current(payload, dict.fromkeys(LIVE_INVENTORY, 1.0), INVENTORY_SEEN)
    assert [s.symbol for s in snapshots] == LIVE_INVENTORY
    btc, eth = snapshots[0], snapshots[1]
    assert (btc.funding_rate, btc.mark_price, btc.index_price) == (
        0.000006, 76763.73316, 76758.93936
    )
    assert (btc.open_interest, btc.open_interest_unit) == (9.1104214497, "base")
    assert (btc.volume_24h, btc.volume_unit) == (7503062.407919, "quote")
    assert eth.funding_rate == -0.000008
    assert all(s.funding_interval_hours == 1.0 for s in snapshots)
    assert {s.next_funding_time for s in snapshots} == {datetime(2026, 9, 13, 23, tzinfo=UTC)}
    contracts = parse_contracts(payload, dict.fromkeys(LIVE_INVENTORY, 1.0))
    assert [c.canonical_symbol for c in contracts][2:4] == ["XAG/USDT:USDT", "EUR/USDT:USDT"]


def test_an_8h_interval_gives_the_next_8h_boundary() -> None:
    payload = real_reply("hibachi", "real-inventory")
    intervals = dict.fromkeys(LIVE_INVENTORY, 1.0) | {"BTC/USDT-P": 8.0}
    btc = parse_current(payload, intervals, INVENTORY_SEEN)[0]
    assert (btc.funding_interval_hours, btc.next_funding_time) == (
        8.0, datetime(2026, 9, 14, tzinfo=UTC)
    )


def test_a_live_market_without_a_rate_is_left_out_never_zero() -> None:
    payload = mutated(real_reply("hibachi", "real-inventory"),
                      ["markets", 0, "info", "estimatedFundingRate"], set_to(None))
    snapshots = parse_current(payload, dict.fromkeys(LIVE_INVENTORY, 1.0), INVENTORY_SEEN)
    assert [s.symbol for s in snapshots] == LIVE_INVENTORY[1:]
    assert all(s.funding_rate != 0 for s in snapshots)


def test_real_funding_rates_in_seconds_hourly() -> None:
    events = parse_history(real_reply("hibachi", "real-funding-rates-BTC"), "BTC/USDT-P")
    assert [(to_ms(e.funding_time) // 1000, e.funding_rate) for e in events] == [
        (1789326000, 0.000011), (1789329600, 0.000010), (1789333200, 0.000008),
        (1789336800, 0.000019),
    ]
    assert events[0].funding_time == datetime(2026, 9, 13, 19, tzinfo=UTC)
    assert [e.funding_interval_hours for e in events] == [1.0] * 4  # spaced 3600 s apart


def _events(hours_since: list[float]) -> list[FundingEvent]:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    return [FundingEvent("hibachi", "X/USDT-P", base + timedelta(hours=h), 0.0001)
            for h in hours_since]


@pytest.mark.parametrize(
    ("times", "intervals"),
    [
        # 8 h until 24:00, hourly after: the settlement at 24:00 closed an 8 h period
        ([0, 8, 16, 24, 25, 26, 27], [8, 8, 8, 8, 1, 1, 1]),
        # an hourly settlement the venue skipped (03:00) is not a 2 h interval
        ([0, 1, 2, 4, 5, 6], [1, 1, 1, 1, 1, 1]),
        # a skipped 8 h one (16:00), and a skipped one right after the change (25:00)
        ([0, 8, 24, 32, 40, 41, 43, 44], [8, 8, 8, 8, 8, 1, 1, 1]),
        # the last row after a skipped settlement, and the first row before one
        ([0, 2, 3, 4, 6], [1, 1, 1, 1, 1]),
        ([5], [None]),
    ],
)
def test_intervals_are_inferred_from_the_spacing(
    times: list[float], intervals: list[float | None]
) -> None:
    events = infer_intervals(list(reversed(_events(times))))
    assert [e.funding_interval_hours for e in events] == intervals


def test_venue_interval_is_the_most_common() -> None:
    assert venue_interval({"A": 1.0, "B": 1.0, "C": 8.0}) == 1.0
    assert venue_interval({}) is None


def test_simulator_lists_recording() -> None:
    info, inventory = recording("hibachi", "exchange_info"), recording("hibachi", "inventory")
    truth = {t["symbol"]: float(t["interval_hours"]) for t in info["expected"]["contracts"]
             if t["status"] == "trading"}
    contracts = parse_contracts(info["response"], truth)
    check_contracts(contracts, info)
    listed = {t["symbol"]: t["listed_at_ms"] for t in info["expected"]["contracts"]}
    assert all(abs(to_ms(c.listed_at) - listed[c.symbol]) <= 1 for c in contracts)
    snapshots = parse_current(inventory["response"], truth, from_ms(inventory["observed_at_ms"]))
    current = {t["symbol"]: t for t in inventory["expected"]["current"]}
    assert sorted(s.symbol for s in snapshots) == sorted(current)
    for s in snapshots:
        t = current[s.symbol]
        assert s.funding_rate == t["rate"], s.symbol
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]
        assert s.mark_price == pytest.approx(t["mark_price"], rel=1e-6)


def test_simulator_history_recording() -> None:
    record = recording("hibachi", "history")
    events = parse_history(record["response"], record["symbol"])
    check_history(events, record)
    assert {e.funding_interval_hours for e in events} == {1.0}


def test_history_across_the_interval_change_stores_each_rows_interval() -> None:
    record = recording("hibachi", "history_interval_change")
    events = parse_history(record["response"], record["symbol"])
    check_history(events, record)
    assert [e.funding_interval_hours for e in events] == record["expected"]["intervals"]
    assert set(record["expected"]["intervals"]) == {8, 1}
    changed = from_ms(record["expected"]["changed_at_ms"])
    assert all((e.funding_interval_hours == 8) == (e.funding_time <= changed) for e in events)


def test_error_shape() -> None:
    reply = {"errorCode": 3, "status": "failed", "message": "Unknown symbol NOPE/USDT-P"}
    with pytest.raises(ExchangeError) as info:
        parse_history(reply, "NOPE/USDT-P")
    assert str(info.value) == (
        "hibachi: /market/data/funding-rates: error 3: Unknown symbol NOPE/USDT-P"
    )


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["data", 0, "fundingTimestamp"], drop, "missing field 'fundingTimestamp'"),
        (["data", 0, "fundingTimestamp"], set_to("soon"), "'fundingTimestamp' has bad value"),
        (["data", 0, "fundingRate"], set_to(None), "'fundingRate' has bad value None"),
        (["data"], drop, "missing field 'data'"),
    ],
)
def test_malformed_history(path: list[Any], change: Any, message: str) -> None:
    payload = real_reply("hibachi", "real-funding-rates-BTC")
    with pytest.raises(ExchangeDataError, match=message):
        parse_history(mutated(payload, path, change), "BTC/USDT-P")


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["markets", 0, "info", "estimatedFundingRate"], set_to("x"), "has bad value 'x'"),
        (["markets", 0, "contract"], drop, "missing field 'contract'"),
        (["markets"], set_to({}), "field 'markets' is not a list of objects"),
    ],
)
def test_malformed_inventory(path: list[Any], change: Any, message: str) -> None:
    payload = mutated(real_reply("hibachi", "real-inventory"), path, change)
    with pytest.raises(ExchangeDataError, match=message):
        parse_current(payload, dict.fromkeys(LIVE_INVENTORY, 1.0), INVENTORY_SEEN)
