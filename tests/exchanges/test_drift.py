"""Drift parse functions on ccxt's recorded real `/stats/markets`, the documented examples, our
simulator recordings (the paged history and the legacy raw-integer one: two scales), the
sign convention, a venue that stopped publishing, and malformed replies."""

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
from lib.exchanges.venues.drift import (
    parse_contracts,
    parse_current,
    parse_history,
    parse_legacy_history,
    parse_updates,
    side_percent_to_rate,
)
from lib.timeutils import from_ms, normalise_settlement, to_ms

(MARKETS_ENTRY,) = ccxt_entries("drift", "fetchMarkets")
REAL = MARKETS_ENTRY["httpResponse"]
UPDATED = datetime.fromtimestamp(1770728410, tz=UTC)  # its fundingRateUpdateTs
# the documented new-endpoint record (exchange-apis-more.md §19.2, third-party, 2026-06)
DOC_RECORD = {"ts": 1775066400, "txSig": "P7PJz4E6Adxj", "slot": 410361551, "recordId": "29779",
              "marketIndex": 0, "symbol": "SOL-PERP", "fundingRate": "-0.001024958",
              "fundingRateLong": "-0.001024958", "fundingRateShort": "-0.001024958",
              "oraclePriceTwap": "84.693889", "markPriceTwap": "84.652352"}
# the documented legacy record: raw on-chain integers
DOC_LEGACY = {"ts": "1771383600", "symbol": "SOL-PERP", "fundingRate": "-1889875",
              "oraclePriceTwap": "84642173"}


def test_every_ccxt_file_is_replayed() -> None:
    assert shared_files("drift") == ["fetchMarkets"]


def test_ccxt_markets() -> None:
    (c,) = parse_contracts(REAL)
    (want,) = MARKETS_ENTRY["parsedResponse"]
    assert c.symbol == want["id"] == "BTC-PERP"
    assert c.ccxt_symbol == c.canonical_symbol == want["symbol"] == "BTC/USDC:USDC"
    assert (c.base, c.quote, c.settle) == (want["base"], want["quote"], want["settle"])
    assert (c.multiplier, c.funding_interval_hours, c.status, c.listed_at) == (
        1.0, 1.0, "trading", None
    )


def test_real_snapshot_sign_and_units() -> None:
    (s,) = parse_current(REAL, UPDATED + timedelta(minutes=20))
    # "long": "0.00093" percent per hour is the longs' gain: shorts pay longs, rate < 0
    assert s.funding_rate == pytest.approx(-0.0000093, abs=1e-15)
    assert s.funding_rate < 0
    assert (s.funding_interval_hours, s.next_funding_time) == (
        1.0, datetime(2026, 2, 10, 14, tzinfo=UTC)
    )
    assert (s.mark_price, s.index_price) == (68481.850665, 68525.837797)
    assert (s.open_interest, s.open_interest_unit) == (312.3766, "base")  # the larger side
    assert (s.volume_24h, s.volume_unit) == (20508203.775252, "quote")


def test_real_published_settlements() -> None:
    """`fundingRateUpdateTs` says how far each perp's history goes: the settlement worker asks
    for the hour's record only once this has passed the hour."""
    assert parse_updates(REAL) == {"BTC-PERP": UPDATED}
    without = mutated(REAL, ["markets", 0, "fundingRateUpdateTs"], drop)
    assert parse_updates(without) == {}


@pytest.mark.parametrize(("long", "rate"), [("-0.01", 0.0001), ("0.0025", -0.000025),
                                            ("0", 0.0)])
def test_side_percent_sign_convention(long: str, rate: float) -> None:
    """Longs paying 0.01 % an hour shows as long "-0.01": the project's rate is +0.0001."""
    assert side_percent_to_rate(long) == rate


def test_a_venue_that_stopped_publishing_is_an_error() -> None:
    with pytest.raises(ExchangeError, match="stopped publishing"):
        parse_current(REAL, UPDATED + timedelta(days=2))
    only_spot = mutated(REAL, ["markets", 0, "marketType"], set_to("spot"))
    with pytest.raises(ExchangeError, match="no live perp markets"):
        parse_current(only_spot, UPDATED)


def test_spot_and_inactive_markets_are_left_out() -> None:
    btc = REAL["markets"][0]
    payload = {"success": True, "markets": [
        btc, dict(btc, symbol="SOL", marketType="spot"),
        dict(btc, symbol="OLD-PERP", status="delisted"),
        dict(btc, symbol="1MBONK-PERP", baseAsset="1MBONK", status="fundingPaused"),
    ]}
    contracts = parse_contracts(payload)
    assert [(c.symbol, c.base, c.multiplier) for c in contracts] == [
        ("BTC-PERP", "BTC", 1.0), ("1MBONK-PERP", "BONK", 1e6)
    ]
    assert contracts[1].ccxt_symbol == "1MBONK/USDC:USDC"
    assert [s.symbol for s in parse_current(payload, UPDATED)] == ["BTC-PERP", "1MBONK-PERP"]


def test_the_two_history_scales_differ_by_a_thousand() -> None:
    (new,) = parse_history({"success": True, "records": [DOC_RECORD], "meta": {}}, "SOL-PERP")
    assert new.funding_rate == pytest.approx(-0.001024958 / 84.693889, rel=1e-12)
    assert new.funding_rate == pytest.approx(-0.0000121019, rel=1e-5)
    assert (new.funding_time, new.funding_interval_hours) == (
        datetime(2026, 4, 1, 18, tzinfo=UTC), 1.0
    )
    (old,) = parse_legacy_history({"fundingRates": [DOC_LEGACY]}, "SOL-PERP")
    assert old.funding_rate == pytest.approx((-1889875 / 1e9) / (84642173 / 1e6), rel=1e-12)
    assert old.funding_rate == pytest.approx(-0.0000223278, rel=1e-5)
    # the same digits read with the other endpoint's scale are 1000 times off
    (wrong,) = parse_legacy_history({"fundingRates": [DOC_RECORD]}, "SOL-PERP")
    assert wrong.funding_rate == pytest.approx(new.funding_rate / 1000, rel=1e-12)


def test_simulator_markets_recording() -> None:
    record = recording("drift", "stats_markets")
    check_contracts(parse_contracts(record["response"]), record)
    snapshots = parse_current(record["response"], from_ms(record["observed_at_ms"]))
    truth = {t["symbol"]: t for t in record["expected"]["current"]}
    assert sorted(s.symbol for s in snapshots) == sorted(truth)
    for s in snapshots:
        t = truth[s.symbol]
        assert s.funding_rate == pytest.approx(t["rate"], abs=1e-15), s.symbol
        assert to_ms(s.next_funding_time) == t["next_funding_ms"]
        assert s.index_price == pytest.approx(t["index_price"], rel=1e-6)


def test_simulator_history_recording_exact() -> None:
    record = recording("drift", "history")
    events = parse_history(record["response"], record["symbol"])
    times = [e.funding_time for e in events]
    assert times == sorted(times, reverse=True)  # newest first
    # lazy updates: stamped seconds to minutes after the hour they belong to
    assert all(timedelta(0) <= t - normalise_settlement(t) < timedelta(minutes=30)
               for t in times)
    got = check_history(events, record)
    truth = {from_ms(t): r for t, r in record["expected"]["settlements"]}
    assert all(rate == truth[when] for when, rate in got)  # recovered exactly


def test_simulator_legacy_history_recording() -> None:
    """Raw integers at 1e9 / 1e6: the rate per hour to the precision those integers carry."""
    record = recording("drift", "legacy_history")
    events = parse_legacy_history(record["response"], record["symbol"])
    start, end = from_ms(record["expected"]["start_ms"]), from_ms(record["expected"]["end_ms"])
    got = {normalise_settlement(e.funding_time): e.funding_rate for e in events
           if start <= normalise_settlement(e.funding_time) <= end}
    want = {from_ms(t): r for t, r in record["expected"]["settlements"]}
    assert set(got) == set(want) and len(want) > 40
    for when, rate in want.items():
        assert got[when] == pytest.approx(rate, abs=1e-12), when


def test_error_shapes() -> None:
    with pytest.raises(ExchangeError, match="Market NOPE-PERP not found"):
        parse_history({"success": False, "message": "Market NOPE-PERP not found"}, "NOPE-PERP")


@pytest.mark.parametrize(
    ("path", "change", "message"),
    [
        (["markets", 0, "fundingRate", "long"], drop, "missing field 'long'"),
        (["markets", 0, "fundingRate", "long"], set_to("NaN"), "'long' has bad value 'NaN'"),
        (["markets", 0, "fundingRate"], set_to("0.1"), "'fundingRate' has bad value"),
        (["markets", 0, "marketType"], drop, "missing field 'marketType'"),
        (["markets"], drop, "missing field 'markets'"),
    ],
)
def test_malformed_markets(path: list[Any], change: Any, message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_current(mutated(REAL, path, change), UPDATED)


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (dict(DOC_RECORD, oraclePriceTwap="0"), "'oraclePriceTwap' is 0"),
        (dict(DOC_RECORD, fundingRate=None), "'fundingRate' has bad value None"),
        ({k: v for k, v in DOC_RECORD.items() if k != "ts"}, "missing field 'ts'"),
    ],
)
def test_malformed_history(row: dict[str, Any], message: str) -> None:
    with pytest.raises(ExchangeDataError, match=message):
        parse_history({"success": True, "records": [row]}, "SOL-PERP")
