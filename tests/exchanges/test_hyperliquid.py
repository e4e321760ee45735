"""Hyperliquid parse functions on real recorded replies (../shared/exchange-responses/
hyperliquid/: metaAndAssetCtxs, fundingHistory and predictedFundings captured from
api.hyperliquid.xyz by other projects), the documented examples (exchange-apis.md §8), our
simulator recordings, and malformed replies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

import pytest
from recorded_replies import (
    check_contracts,
    check_history,
    mutated,
    real_reply,
    recording,
    set_to,
    shared_files,
)

from lib.errors import ExchangeDataError, ExchangeError
from lib.exchanges.venues.hyperliquid import (
    INTERVAL_HOURS,
    parse_contracts,
    parse_current,
    parse_history,
)
from lib.timeutils import from_ms, normalise_settlement, to_ms

OBSERVED = datetime(2026, 1, 1, 10, 17, 3, tzinfo=UTC)

DOC_CTXS = [
    {"universe": [{"name": "SOL", "szDecimals": 2, "maxLeverage": 50, "onlyIsolated": False}]},
    [{"dayNtlVlm": "9450588.2273", "funding": "0.0000198", "impactPxs": ["108.04", "108.06"],
      "markPx": "108.04", "midPx": "108.05", "openInterest": "10764.48", "oraclePx": "107.99",
      "premium": "0.00055561", "prevDayPx": "111.81"}],
]
DOC_HISTORY = [{"coin": "ETH", "fundingRate": "0.0000125", "premium": "0.00057962",
                "time": 1704290400031}]


def test_every_real_reply_is_replayed() -> None:
    assert shared_files("hyperliquid") == [
        "real-fundingHistory-endTime", "real-fundingHistory", "real-metaAndAssetCtxs",
        "real-predictedFundings-first20", "real-predictedFundings",
    ]


def test_real_meta_and_asset_ctxs() -> None:
    """The whole reply (232 assets, 55 delisted): every live coin is a contract and a snapshot
    whose values are the reply's own, the k-prefixed coins are x1000, delisted ones left out."""
    reply = real_reply("hyperliquid", "real-metaAndAssetCtxs")
    pairs = list(zip(reply[0]["universe"], reply[1], strict=True))
    live = [(u, ctx) for u, ctx in pairs if not u.get("isDelisted")]
    assert (len(pairs), len(live)) == (232, 177)
    contracts = parse_contracts(reply)
    assert [c.symbol for c in contracts] == [u["name"] for u, _ in live]
    assert all((c.quote, c.settle, c.funding_interval_hours) == ("USDC", "USDC", 1.0)
               for c in contracts)
    assert [(c.symbol, c.base, c.multiplier) for c in contracts if c.multiplier != 1] == [
        ("kPEPE", "PEPE", 1000.0), ("kSHIB", "SHIB", 1000.0), ("kBONK", "BONK", 1000.0),
        ("kLUNC", "LUNC", 1000.0), ("kFLOKI", "FLOKI", 1000.0), ("kNEIRO", "NEIRO", 1000.0),
    ]  # kDOGS is delisted
    snapshots = parse_current(reply, OBSERVED)
    assert [s.symbol for s in snapshots] == [u["name"] for u, _ in live]
    for s, (_, ctx) in zip(snapshots, live, strict=True):
        assert (s.funding_rate, s.mark_price, s.index_price) == (
            float(ctx["funding"]), float(ctx["markPx"]), float(ctx["oraclePx"])
        ), s.symbol
        assert (s.open_interest, s.volume_24h) == (
            float(ctx["openInterest"]), float(ctx["dayNtlVlm"])
        ), s.symbol
        assert s.next_funding_time == datetime(2026, 1, 1, 11, tzinfo=UTC)
    btc = snapshots[0]
    assert (btc.symbol, btc.funding_rate, btc.mark_price, btc.index_price) == (
        "BTC", 0.0000125, 66303.2, 66330.3
    )
    assert (btc.open_interest, btc.volume_24h) == (36368.34814, 2099966847.0508704)


def test_real_funding_history() -> None:
    """1038 BTC rows, oldest first, `time` a few ms after the settlement: 8-hourly until
    2023-06-08, hourly since (two hours are missing at the exchange). Rates are the reply's."""
    reply = real_reply("hyperliquid", "real-fundingHistory")
    events = parse_history(reply, "BTC")
    assert len(events) == len(reply) == 1038
    assert [(to_ms(e.funding_time), e.funding_rate) for e in events] == [
        (row["time"], float(row["fundingRate"])) for row in reply
    ]
    assert (to_ms(events[0].funding_time), events[0].funding_rate) == (1683849600048, -0.00061334)
    assert (to_ms(events[-1].funding_time), events[-1].funding_rate) == (1689627600065, 0.0000125)
    times = [normalise_settlement(e.funding_time) for e in events]
    assert times[0] == datetime(2023, 5, 12, tzinfo=UTC)
    assert times[-1] == datetime(2023, 7, 17, 21, tzinfo=UTC)
    gaps = [b - a for a, b in pairwise(times)]
    hourly_from = times.index(datetime(2023, 6, 8, tzinfo=UTC))
    assert set(gaps[:hourly_from]) == {timedelta(hours=8)}
    assert set(gaps[hourly_from:]) == {timedelta(hours=1), timedelta(hours=2)}
    assert all(e.funding_interval_hours == INTERVAL_HOURS for e in events[hourly_from:])


def test_real_funding_history_to_an_end_time() -> None:
    """The same request with `endTime` 2023-05-23 03:17:50: the first 34 rows of the above."""
    full = parse_history(real_reply("hyperliquid", "real-fundingHistory"), "BTC")
    events = parse_history(real_reply("hyperliquid", "real-fundingHistory-endTime"), "BTC")
    assert events == full[:34]
    assert to_ms(events[-1].funding_time) == 1684800000022 <= 1684811870000


@pytest.mark.parametrize("name", ["real-predictedFundings", "real-predictedFundings-first20"])
def test_real_predicted_fundings_confirm_the_hourly_schedule(name: str) -> None:
    """predictedFundings is not read by the adapter (metaAndAssetCtxs carries the rate), but
    its Hyperliquid rows say what the adapter assumes: every coin settles every hour, on the
    hour."""
    rows = [venue for _, venues in real_reply("hyperliquid", name) for venue in venues
            if venue[0] == "HlPerp" and venue[1] is not None]
    assert len(rows) >= 4
    for _, predicted in rows:
        assert predicted["fundingIntervalHours"] == INTERVAL_HOURS
        assert predicted["nextFundingTime"] % 3_600_000 == 0


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
