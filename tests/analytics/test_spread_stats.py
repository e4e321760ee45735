"""Per-pair spread statistics on both engines, against hand-computed figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from analytics_helpers import T0, H, add_contracts, contract, rows_of, settle, snapshot
from sqlalchemy import Engine

from lib.analytics.series import build_series
from lib.analytics.spread_stats import update_spread_statistics
from lib.storage.schema import arbitrage_spread_statistics

NOW = T0 + 24 * H + timedelta(minutes=5)


def approx(value: float) -> object:
    """Spreads are stored as REAL: 7 significant digits."""
    return pytest.approx(value, rel=1e-5, abs=1e-10)


def _seed(engine: Engine) -> None:
    """Two 8 h legs, three settlements each: spreads (binance - okx) of +0.0002, -0.0002 and
    +0.0004 per 8 h, each for 8 hours, so 24 hours in all."""
    add_contracts(engine, [contract("binance", "SOLUSDT", "SOL", 8),
                           contract("okx", "SOL-USDT-SWAP", "SOL", 8)])
    settle(engine, "binance", "SOLUSDT", 8,
           [(T0 + 8 * H, 0.0003), (T0 + 16 * H, -0.0001), (T0 + 24 * H, 0.0002)])
    settle(engine, "okx", "SOL-USDT-SWAP", 8,
           [(T0 + 8 * H, 0.0001), (T0 + 16 * H, 0.0001), (T0 + 24 * H, -0.0002)])


def test_statistics_of_a_pair(engine: Engine) -> None:
    _seed(engine)
    snapshot(engine, "binance", "SOLUSDT", 0.0005, 8, NOW - timedelta(seconds=20))
    snapshot(engine, "okx", "SOL-USDT-SWAP", 0.0001, 8, NOW - timedelta(seconds=20))
    build_series(engine, days=2, now=NOW)
    with engine.begin() as conn:
        assert update_spread_statistics(conn, NOW) == 2
    stats = {r.window_days: r for r in rows_of(engine, arbitrage_spread_statistics)}
    assert set(stats) == {7, 30}
    s = stats[7]
    mean = (0.0002 - 0.0002 + 0.0004) / 3
    # sample std over 24 hours: 8 x each squared deviation, / 23
    ss = 8 * ((0.0002 - mean) ** 2 + (-0.0002 - mean) ** 2 + (0.0004 - mean) ** 2)
    std = (ss / 23) ** 0.5
    assert s.n == 24
    assert s.mean_8h == approx(mean) and s.std_8h == approx(std)
    assert std == pytest.approx(2.548088e-4, rel=1e-6)
    # sorted: eight -0.0002, eight 0.0002, eight 0.0004; the median sits in the middle eight,
    # p95 at position 0.95 x 23 = 21.85, inside the last eight
    assert s.median_8h == approx(0.0002) and s.p95_8h == approx(0.0004)
    assert (s.min_8h, s.max_8h) == (approx(-0.0002), approx(0.0004))
    assert s.last_8h == approx(0.0004) and s.last_ts == T0 + 23 * H
    assert (s.share_positive, s.share_negative) == (approx(16 / 24), approx(8 / 24))
    assert s.carry == approx((8 * 0.0002 - 8 * 0.0002 + 8 * 0.0004) / 8)  # = 0.0004
    assert s.current_8h == approx(0.0004)
    assert s.zscore == pytest.approx((0.0004 - mean) / std, rel=1e-4)  # 1.0465
    assert s.calculated_at == NOW
    assert stats[30].n == 24 and stats[30].mean_8h == approx(mean)


def test_a_stale_leg_gives_no_current_spread(engine: Engine) -> None:
    _seed(engine)
    snapshot(engine, "binance", "SOLUSDT", 0.0005, 8, NOW - timedelta(minutes=10))
    snapshot(engine, "okx", "SOL-USDT-SWAP", 0.0001, 8, NOW)
    build_series(engine, days=2, now=NOW)
    with engine.begin() as conn:
        update_spread_statistics(conn, NOW)
    for s in rows_of(engine, arbitrage_spread_statistics):
        assert (s.current_8h, s.zscore) == (None, None)
        assert s.n == 24
