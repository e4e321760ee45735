"""Hyperliquid parse functions. ccxt has no recorded Hyperliquid replies, so the fixtures are the
documented examples (exchange-apis.md §8) and our simulator recordings."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from recorded_replies import ccxt_files, check_contracts, check_history, mutated, recording, set_to

from lib.errors import ExchangeDataError, ExchangeError
from lib.exchanges.venues.hyperliquid import parse_contracts, parse_current, parse_history
from lib.timeutils import from_ms, to_ms

OBSERVED = datetime(2026, 1, 1, 10, 17, 3, tzinfo=UTC)

DOC_CTXS = [
    {"universe": [{"name": "SOL", "szDecimals": 2, "maxLeverage": 50, "onlyIsolated": False}]},
    [{"dayNtlVlm": "9450588.2273", "funding": "0.0000198", "impactPxs": ["108.04", "108.06"],
      "markPx": "108.04", "midPx": "108.05", "openInterest": "10764.48", "oraclePx": "107.99",
      "premium": "0.00055561", "prevDayPx": "111.81"}],
]
DOC_HISTORY = [{"coin": "ETH", "fundingRate": "0.0000125", "premium": "0.00057962",
                "time": 1704290400031}]


def test_ccxt_has_no_recorded_hyperliquid_replies() -> None:
    assert ccxt_files("hyperliquid") == []


def test_documented_meta_and_asset_ctxs() -> None:
    (s,) = parse_current(DOC_CTXS, OBSERVED)
    assert (s.exchange, s.symbol, s.funding_rate, s.funding_interval_hours) == (
        "hyperliquid", "SOL", 0.0000198, 1.0
    )
    assert s.next_funding_time == datetime(2026, 1, 1, 11, tzinfo=UTC)
    assert (s.mark_price, s.index_price, s.open_interest, s.volume_24h) == (
        108.04, 107.99, 10764.48, 9450588.2273
    )
    (c,) = parse_contracts(DOC_CTXS)
    assert (c.symbol, c.canonical_symbol, c.settle, c.funding_interval_hours) == (
        "SOL", "SOL/USDC:USDC", "USDC", 1.0
    )


def test_next_funding_on_the_hour_is_the_following_hour() -> None:
    (s,) = parse_current(DOC_CTXS, datetime(2026, 1, 1, 10, tzinfo=UTC))
    assert s.next_funding_time == datetime(2026, 1, 1, 11, tzinfo=UTC)


def test_k_prefix_is_a_multiplier_and_delisted_coins_keep_alignment() -> None:
    meta = {"universe": [
        {"name": "kPEPE", "szDecimals": 0, "maxLeverage": 10},
        {"name": "MATIC", "szDecimals": 1, "maxLeverage": 20, "isDelisted": True},
        {"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
    ]}
    ctxs = [{"funding": "0.00001"}, {"funding": "0.0", "markPx": "0.5"}, {"funding": "-0.00002"}]
    contracts = parse_contracts(meta)
    assert [(c.symbol, c.base, c.multiplier) for c in contracts] == [
        ("kPEPE", "PEPE", 1000.0), ("BTC", "BTC", 1.0)
    ]
    assert [(s.symbol, s.funding_rate) for s in parse_current([meta, ctxs], OBSERVED)] == [
        ("kPEPE", 0.00001), ("BTC", -0.00002)
    ]


def test_builder_dex_names_are_skipped_with_a_log(caplog: pytest.LogCaptureFixture) -> None:
    meta = {"universe": [{"name": "xyz:TSLA"}, {"name": "ETH"}]}
    assert [c.symbol for c in parse_contracts(meta)] == ["ETH"]
    assert "hyperliquid xyz:TSLA: contract skipped" in caplog.text


def test_simulator_recording() -> None:
    record = recording("hyperliquid", "meta_and_asset_ctxs")
    check_contracts(parse_contracts(record["response"]), record)
    observed = from_ms(record["observed_at_ms"])
    snapshots = parse_current(record["response"], observed)
    truth = {t["symbol"]: t for t in record["expected"]["current"]}
    assert sorted(s.symbol for s in snapshots) == sorted(truth)
    for s in snapshots:
        t = truth[s.symbol]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-12), s.symbol
        assert s.funding_interval_hours == t["interval_hours"] == 1
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]


def test_documented_history() -> None:
    (e,) = parse_history(DOC_HISTORY, "ETH")
    assert (e.symbol, e.funding_rate, e.funding_interval_hours) == ("ETH", 0.0000125, 1.0)
    assert e.funding_time == from_ms(1704290400031)  # fetch_history normalises to the hour


def test_simulator_history_recording() -> None:
    record = recording("hyperliquid", "history")
    events = parse_history(record["response"], record["symbol"])
    times = [e.funding_time for e in events]
    assert times == sorted(times)  # oldest first, as Hyperliquid pages
    assert any(to_ms(t) % 3_600_000 for t in times)  # reported a little after the hour
    check_history(events, record)


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        ([1, 0, "funding"], set_to("high"), "hyperliquid: /info: field 'funding' has bad value"),
        ([1, 0, "funding"], set_to(None), "field 'funding' has bad value None"),
        ([0, "universe", 0, "name"], set_to(None), "field 'name' has bad value None"),
        ([0, "universe"], set_to("SOL"), "field 'universe' is not a list of objects"),
        ([1], set_to([]), "1 universe entries but 0 assetCtxs"),
    ],
)
def test_malformed_meta_and_asset_ctxs(path: list[Any], change: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_current(mutated(DOC_CTXS, path, change), OBSERVED)


def test_missing_funding_field() -> None:
    payload = [DOC_CTXS[0], [{"markPx": "1"}]]
    with pytest.raises(ExchangeDataError, match="hyperliquid: /info: missing field 'funding'"):
        parse_current(payload, OBSERVED)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"universe": []}, "expected \\[meta, assetCtxs\\], got meta only"),
        ([1, 2, 3], "expected \\[meta, assetCtxs\\]"),
        ("x", "expected \\[meta, assetCtxs\\]"),
        ([{"nouniverse": []}, []], "missing field 'universe'"),
    ],
)
def test_wrong_top_level_shape(payload: object, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_current(payload, OBSERVED)


def test_error_envelope() -> None:
    with pytest.raises(ExchangeError) as info:
        parse_history({"status": "err", "response": "Invalid coin"}, "ETH")
    assert str(info.value) == "hyperliquid: fundingHistory: error: Invalid coin"
    with pytest.raises(ExchangeDataError, match="fundingHistory: expected a JSON array, got dict"):
        parse_history({"rows": []}, "ETH")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"coin": "ETH", "fundingRate": "0.1"}, "missing field 'time'"),
        ({"coin": "ETH", "time": 1704290400031}, "missing field 'fundingRate'"),
        ({"coin": "ETH", "time": 1704290400031, "fundingRate": "n/a"}, "has bad value 'n/a'"),
    ],
)
def test_malformed_history_rows(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_history([row], "ETH")
