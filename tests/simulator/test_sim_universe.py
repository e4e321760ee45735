"""Ground truth: sizes, naming, schedules on the UTC grid, magnitudes, lazy bounded memory."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from lib.simulator import VENUES, Universe
from lib.simulator.config import SimClock, dt_to_ms

NOW = datetime(2026, 3, 1, 10, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def universe() -> Universe:
    return Universe(seed=42, clock=SimClock(NOW, time_scale=1.0))


def test_sizes_and_shared_assets(universe: Universe) -> None:
    sizes = {e: len(universe.contracts(e)) for e in universe.exchanges}
    first_eight = {"binance": 400, "bybit": 380, "okx": 220, "bitget": 360, "gate": 400,
                   "kucoin": 240, "hyperliquid": 170, "dydx": 130}
    assert {e: sizes[e] for e in first_eight} == first_eight  # a venue added keeps these
    assert sizes == {e: VENUES[e].default_size for e in universe.exchanges}
    assets = Counter(c.asset for e in universe.exchanges for c in universe.contracts(e))
    assert assets["BTC"] == assets["ETH"] == len(universe.exchanges) == len(VENUES)
    assert sum(1 for n in assets.values() if n >= 3) > 150  # one underlying, many venues


def test_venue_naming_and_multipliers(universe: Universe) -> None:
    def names(e: str) -> set[str]:
        return {c.symbol for c in universe.contracts(e)}

    for e in ("binance", "bybit", "bitget"):
        assert {"BTCUSDT", "1000PEPEUSDT"} <= names(e)
    assert {"1000000MOGUSDT", "1MBABYDOGEUSDT"} <= names("binance")
    assert {"BTC-USDT-SWAP"} <= names("okx") and "BTC_USDT" in names("gate")
    assert "XBTUSDTM" in names("kucoin") and "BTC-USD" in names("dydx")
    kpepe = universe.contract("hyperliquid", "kPEPE")
    assert (kpepe.asset, kpepe.multiplier, kpepe.base) == ("PEPE", 1000, "kPEPE")
    assert universe.contract("kucoin", "XBTUSDTM").base == "XBT"


def test_interval_mix(universe: Universe) -> None:
    for e in ("hyperliquid", "dydx"):
        assert {c.interval_hours for c in universe.contracts(e)} == {1}
    for e in ("binance", "bybit", "gate", "bitget", "kucoin", "okx"):
        mix = Counter(c.interval_hours for c in universe.contracts(e))
        assert mix[8] > 0.7 * sum(mix.values()) and mix[4] > 0 and mix[1] > 0


def test_decoys_are_listed_but_not_contracts(universe: Universe) -> None:
    for e in ("binance", "bybit", "kucoin"):
        assert any(c.kind == "delivery" for c in universe.instruments(e))
    for e in ("binance", "bybit", "okx", "bitget", "gate"):
        pre = [c for c in universe.contracts(e, include_prelaunch=True) if c.status == "prelaunch"]
        assert len(pre) == 2 and all(c.listed_at > NOW for c in pre)
    assert any(c.status == "delisted" for c in universe.instruments("hyperliquid"))


def test_schedule_grid_listing_and_missing(universe: Universe) -> None:
    start, end = NOW - timedelta(days=100), NOW
    total = missing = 0
    for c in universe.contracts("binance"):
        rows = universe.settlements("binance", c.symbol, start, end)
        gone = universe.missing_settlements("binance", c.symbol, start, end)
        assert all(dt_to_ms(t) % (c.interval_hours * 3_600_000) == 0 for t, _ in rows)
        assert rows[0][0] >= max(c.listed_at, NOW - timedelta(days=90))
        assert not set(gone) & {t for t, _ in rows}
        total += len(rows) + len(gone)
        missing += len(gone)
    assert 0.002 < missing / total < 0.01
    recent = [c for c in universe.contracts("binance") if c.listed_at > NOW - timedelta(days=88)]
    assert recent  # some contracts are listed inside the window


def test_magnitudes(universe: Universe) -> None:
    start, end = NOW - timedelta(days=90), NOW
    eight = [r for c in universe.contracts("bybit")[:60] if c.interval_hours == 8
             for _, r in universe.settlements("bybit", c.symbol, start, end)]
    hourly = [r for c in universe.contracts("dydx")[:30]
              for _, r in universe.settlements("dydx", c.symbol, start, end)]
    assert max(abs(r) for r in eight) <= 0.00375
    assert sum(abs(r) < 0.0005 for r in eight) > 0.9 * len(eight)
    assert max(abs(r) for r in hourly) <= 0.00375 / 8 * 1.01
    assert sum(r == 0.0001 for r in eight) > 0.1 * len(eight)  # the interest-rate baseline


def test_current_rate_becomes_the_settled_rate(universe: Universe) -> None:
    for e in universe.exchanges:
        c = universe.contracts(e)[5]
        snap = universe.current(e, c.symbol, at=NOW - timedelta(days=2))
        settled = dict(universe.settlements(e, c.symbol, snap.next_funding_time,
                                            snap.next_funding_time))
        if settled:  # unless this one is missing at the exchange
            assert settled[snap.next_funding_time] == snap.rate


def test_values_stable_under_eviction() -> None:
    u = Universe(seed=9, total_contracts=400, clock=SimClock(NOW), cache_blocks=5)
    c = u.contracts("gate")[0]
    first = u.settlements("gate", c.symbol, NOW - timedelta(days=90), NOW)
    for other in u.contracts("gate")[1:50]:  # evict c's series
        u.settlements("gate", other.symbol, NOW - timedelta(days=1), NOW)
    assert u.cached_series() <= 5
    assert u.settlements("gate", c.symbol, NOW - timedelta(days=90), NOW) == first
    later = u.settlements("gate", c.symbol, NOW - timedelta(days=10), NOW)
    assert later == [x for x in first if x[0] >= NOW - timedelta(days=10)]
    # the value of a settlement does not depend on the simulator's start time either
    u2 = Universe(seed=9, total_contracts=400, clock=SimClock(NOW + timedelta(days=3)))
    c2 = u2.contract("gate", c.symbol)
    assert c2.key == c.key
    assert u2.settlements("gate", c.symbol, NOW - timedelta(days=10), NOW) == later
