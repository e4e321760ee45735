"""Pacifica parse functions on the recorded real replies (../shared/exchange-responses/pacifica/:
ccxt's fetchMarkets and captures of info, info/prices and funding_rate/history), our simulator
recordings and malformed replies.

What Pacifica gets wrong elsewhere, each tested here: info/prices rates are per hour (and
`funding` is the rate fixed for the next settlement); history is cursor-paged newest first with
no time filter (read down until the window start: tests/exchanges/test_pacifica_live.py); open
interest is in base units, not the USD the docs claim.
"""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

import pytest
from recorded_replies import (
    ccxt_entries,
    check_contracts,
    check_history,
    drop,
    mutated,
    real_reply,
    recording,
    set_to,
    shared_files,
)

from lib.analytics.units import to_usd
from lib.errors import ExchangeDataError, ExchangeError, TemporaryExchangeError
from lib.exchanges.venues.pacifica import (
    INTERVAL_HOURS,
    parse_contracts,
    parse_current,
    parse_history,
    parse_history_page,
)
from lib.timeutils import from_ms, normalise_settlement, to_ms

OBSERVED = datetime(2026, 9, 13, 22, 12, 31, 583000, tzinfo=UTC)  # the capture's timestamp
PERPS = ["ETH", "BTC", "kBONK", "XPL", "PAXG", "NVDA", "XAU", "EURUSD", "SP500"]


def test_every_real_reply_is_replayed() -> None:
    assert shared_files("pacifica") == [
        "fetchMarkets", "real-funding_rate-history-BTC", "real-info-prices", "real-info",
    ]


def test_ccxt_markets_leave_the_spot_pair_out() -> None:
    (entry,) = ccxt_entries("pacifica", "fetchMarkets")
    (c,) = parse_contracts(entry["httpResponse"])
    btc = next(m for m in entry["parsedResponse"] if m["type"] == "swap")
    assert (c.symbol, c.canonical_symbol, c.ccxt_symbol) == ("BTC", btc["symbol"],
                                                             "BTC/USDC:USDC")
    assert (c.contract_size, c.funding_interval_hours) == (btc["contractSize"], 1.0)
    assert to_ms(c.listed_at) == btc["created"] == 1748881333944


def test_real_info() -> None:
    """Nine perpetuals (stocks, gold, FX and an index among them), kBONK = 1000 BONK, listing
    times from `created_at`; the spot pair SOL-USDC is not a contract."""
    reply = real_reply("pacifica", "real-info")
    contracts = parse_contracts(reply)
    assert [c.symbol for c in contracts] == PERPS
    bonk = contracts[2]
    assert (bonk.base, bonk.multiplier, bonk.canonical_symbol) == ("BONK", 1000.0,
                                                                   "BONK/USDC:USDC")
    assert all((c.quote, c.settle, c.funding_interval_hours) == ("USDC", "USDC", 1.0)
               for c in contracts)
    rows = {r["symbol"]: r for r in reply["data"]}
    for c in contracts:
        assert to_ms(c.listed_at) == rows[c.symbol]["created_at"], c.symbol
    assert contracts[0].listed_at == datetime(2025, 6, 2, 16, 22, 13, 944000, tzinfo=UTC)


def test_real_prices_are_hourly_with_open_interest_in_base_units() -> None:
    reply = real_reply("pacifica", "real-info-prices")
    snapshots = {s.symbol: s for s in parse_current(reply, OBSERVED)}
    assert sorted(snapshots) == sorted(PERPS)  # SOL-USDC (spot, rates "0") left out
    btc = snapshots["BTC"]
    assert (btc.funding_rate, btc.predicted_rate, btc.funding_interval_hours) == (
        0.00000475, -0.00000336, 1.0)
    assert (btc.mark_price, btc.index_price, btc.volume_24h) == (
        76922.3, 76956.945987, 158617298.66148)
    assert btc.next_funding_time == datetime(2026, 9, 13, 23, tzinfo=UTC)
    # 412 BTC, not $412: $31.7 M at the mark against $158.6 M traded in the day
    assert (btc.open_interest, btc.open_interest_unit, btc.volume_unit) == (
        412.34157, "base", "quote")
    usd = to_usd(btc.open_interest, btc.open_interest_unit, price=btc.mark_price)
    assert usd == pytest.approx(412.34157 * 76922.3) == pytest.approx(31_718_261.95)
    info = {r["symbol"]: r for r in real_reply("pacifica", "real-info")["data"]}
    for s in snapshots.values():  # the same capture: /info carries the same two rates
        assert (s.funding_rate, s.predicted_rate) == (
            float(info[s.symbol]["funding_rate"]), float(info[s.symbol]["next_funding_rate"]))


def test_real_history_page() -> None:
    """Newest first, `created_at` ~0.4 s after the hour; each row's next_funding_rate is the
    newer row's rate, and the newest one's is the `funding` of the prices capture."""
    reply = real_reply("pacifica", "real-funding_rate-history-BTC")
    events, cursor = parse_history_page(reply, "BTC")
    assert cursor == "1111Yd1mZ"  # has_more: an older page exists
    assert [(to_ms(e.funding_time), e.funding_rate) for e in events] == [
        (1789336800497, 0.00000383), (1789333200405, 0.00000632), (1789329600426, 0.00000466)]
    times = [normalise_settlement(e.funding_time) for e in events]
    assert times[0] == datetime(2026, 9, 13, 22, tzinfo=UTC)
    assert times == sorted(times, reverse=True)
    assert all(e.funding_interval_hours == INTERVAL_HOURS for e in events)  # from the spacing
    rows = reply["data"]
    for newer, older in pairwise(rows):
        assert older["next_funding_rate"] == newer["funding_rate"]
    prices = {r["symbol"]: r for r in real_reply("pacifica", "real-info-prices")["data"]}
    assert rows[0]["next_funding_rate"] == prices["BTC"]["funding"]


def test_an_off_schedule_row_never_replaces_the_settlement(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The docs' example row is stamped mid-hour (16:35:34); one that rounds to the hour of a
    row stamped on schedule is left out, logged, whichever order they come in."""
    reply = real_reply("pacifica", "real-funding_rate-history-BTC")
    odd = dict(reply["data"][0], funding_rate="0.0009", created_at=1789336800497 - 1_500_000)
    for data in ([odd, *reply["data"]], [reply["data"][0], odd, *reply["data"][1:]]):
        events = parse_history(dict(reply, data=data), "BTC")
        assert [(to_ms(e.funding_time), e.funding_rate) for e in events][:2] == [
            (1789336800497, 0.00000383), (1789333200405, 0.00000632)]
        assert len(events) == 3
    assert "history row stamped 2026-09-13T21:35:00.497000+00:00 left out" in caplog.text


def test_last_page_has_no_cursor() -> None:
    reply = real_reply("pacifica", "real-funding_rate-history-BTC")
    last = dict(reply, has_more=False, next_cursor=None)
    events, cursor = parse_history_page(last, "BTC")
    assert (len(events), cursor) == (3, None)
    assert parse_history(last, "BTC") == events


def test_simulator_recordings() -> None:
    info = recording("pacifica", "info")
    assert any(r["instrument_type"] == "spot" for r in info["response"]["data"])
    check_contracts(parse_contracts(info["response"]), info)
    for c in parse_contracts(info["response"]):
        truth = next(t for t in info["expected"]["contracts"] if t["symbol"] == c.symbol)
        assert to_ms(c.listed_at) == truth["listed_at_ms"], c.symbol
    record = recording("pacifica", "prices")
    snapshots = parse_current(record["response"], from_ms(record["observed_at_ms"]))
    truth = {t["symbol"]: t for t in record["expected"]["current"]}
    assert sorted(s.symbol for s in snapshots) == sorted(truth)  # spot rows left out
    for s in snapshots:
        t = truth[s.symbol]
        assert s.funding_rate == t["rate"], s.symbol
        assert (s.funding_interval_hours, to_ms(s.next_funding_time)) == (
            t["interval_hours"], t["next_funding_ms"])
        assert s.index_price == pytest.approx(t["index_price"], rel=1e-5)


def test_simulator_history_pages() -> None:
    """The first page holds the newest rows, past the recorded range's end; the page its
    cursor names continues below the first page's oldest row."""
    first = recording("pacifica", "history")
    events, cursor = parse_history_page(first["response"], first["symbol"])
    assert cursor is not None and not first["request"]["params"].get("cursor")
    times = [e.funding_time for e in events]
    assert times == sorted(times, reverse=True)
    assert any(to_ms(t) % 3_600_000 for t in times)  # stamped after the hour
    check_history(events, first)
    second = recording("pacifica", "history_page2")
    assert second["request"]["params"]["cursor"] == cursor
    older = parse_history(second["response"], second["symbol"])
    assert max(e.funding_time for e in older) < min(times)
    check_history(older, second)


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["data", 0, "funding"], set_to("x"), "field 'funding' has bad value 'x'"),
        (["data", 0, "funding"], drop, "missing field 'funding'"),
        (["data", 0, "symbol"], set_to(None), "field 'symbol' has bad value None"),
        (["data"], set_to(None), "'data' is not a list of objects"),
    ],
)
def test_malformed_prices(path: list[Any], change: Any, message: str) -> None:
    reply = real_reply("pacifica", "real-info-prices")
    with pytest.raises(ExchangeDataError, match=message):
        parse_current(mutated(reply, path, change), OBSERVED)


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["data", 0, "created_at"], drop, "missing field 'created_at'"),
        (["data", 1, "funding_rate"], set_to("NaN"), "field 'funding_rate' has bad value"),
        (["next_cursor"], set_to(None), "field 'next_cursor' has bad value None"),
    ],
)
def test_malformed_history(path: list[Any], change: Any, message: str) -> None:
    reply = real_reply("pacifica", "real-funding_rate-history-BTC")
    with pytest.raises(ExchangeDataError, match=message):
        parse_history_page(mutated(reply, path, change), "BTC")


def test_error_envelope() -> None:
    failed = {"success": False, "data": None, "error": "Market NOPE not found", "code": 404}
    with pytest.raises(ExchangeError) as info:
        parse_history(failed, "NOPE")
    assert str(info.value) == (
        "pacifica: /api/v1/funding_rate/history: error 404: Market NOPE not found")
    assert not isinstance(info.value, TemporaryExchangeError)
    busy = {"success": False, "data": None, "error": "Rate limit exceeded", "code": 429}
    with pytest.raises(TemporaryExchangeError):
        parse_current(busy, OBSERVED)
    with pytest.raises(ExchangeDataError, match="expected a JSON object, got list"):
        parse_contracts([])
