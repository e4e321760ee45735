"""funding_statistics on both engines: hand-computed figures, confidence, cadence, new contracts."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from analytics_helpers import T0, H, add_contracts, contract, rows_of, settle, snapshot
from sqlalchemy import Engine

from lib.analytics.zscores import calculate_zscores
from lib.storage.schema import funding_statistics

NOW = T0 + 40 * H + timedelta(minutes=5)
SECOND = timedelta(seconds=1)


def _stats(engine: Engine) -> dict[tuple[str, int], object]:
    return {(r.symbol, r.window_days): r for r in rows_of(engine, funding_statistics)}


def _seed_btc(engine: Engine, current: float = 0.0006) -> None:
    """binance BTCUSDT, 8 h, listed at T0: 0.0001..0.0005 settled at T0+8h..T0+40h."""
    add_contracts(engine, [contract("binance", "BTCUSDT", "BTC", 8, listed_at=T0)])
    settle(engine, "binance", "BTCUSDT", 8, [(T0 + 8 * k * H, 0.0001 * k) for k in range(1, 6)])
    snapshot(engine, "binance", "BTCUSDT", current, 8, NOW - 10 * SECOND,
             predicted_rate=0.00055)


def test_statistics_of_one_contract(engine: Engine) -> None:
    _seed_btc(engine)
    result = calculate_zscores(engine, now=NOW)
    assert (result.rows, result.all_due) == (2, True)
    s = _stats(engine)[("BTCUSDT", 7)]
    std = (sum((k - 3) ** 2 for k in range(1, 6)) / 4) ** 0.5 * 1e-4  # sqrt(2.5) x 1e-4
    assert s.n == 5 and s.expected_n == 5 and s.completeness == pytest.approx(1.0)
    assert s.confidence == "none"  # n < 10
    assert s.mean_8h == pytest.approx(3e-4) and s.std_8h == pytest.approx(std)
    assert (s.min_8h, s.max_8h, s.median_8h) == pytest.approx((1e-4, 5e-4, 3e-4))
    assert s.latest_8h == pytest.approx(5e-4)
    assert (s.current_8h, s.predicted_8h) == pytest.approx((6e-4, 5.5e-4))
    assert s.zscore == pytest.approx((6e-4 - 3e-4) / std)  # 1.897
    assert s.percentile == pytest.approx(100.0)  # all five settled rates are below 0.0006
    assert s.mean_apr == pytest.approx(3e-4 * 1095)  # 32.85 % a year, simple
    assert (s.latest_apr, s.current_apr) == pytest.approx((5e-4 * 1095, 6e-4 * 1095))
    assert s.calculated_at == NOW


def test_hourly_contract_in_rate_8h_with_expected_count_and_confidence(engine: Engine) -> None:
    """hyperliquid ETH, 1 h, not listed in the window: 12 settlements of 0.00001..0.00012 in the
    last 12 hours; the schedule expected 7 x 24 and 30 x 24."""
    add_contracts(engine, [contract("hyperliquid", "ETH", "ETH", 1)])
    settle(engine, "hyperliquid", "ETH", 1, [(NOW - k * H, 1e-5 * k) for k in range(1, 13)])
    snapshot(engine, "hyperliquid", "ETH", 2e-5, 1, NOW)  # 0.00016 per 8 h
    calculate_zscores(engine, now=NOW)
    stats = _stats(engine)
    s7, s30 = stats[("ETH", 7)], stats[("ETH", 30)]
    assert (s7.n, s7.expected_n, s30.expected_n) == (12, 7 * 24, 30 * 24)
    assert s7.completeness == pytest.approx(12 / 168)
    assert s7.confidence == "low"  # 10 <= n < 30
    assert s7.mean_8h == pytest.approx(6.5e-5 * 8)
    # 0.00016 per 8 h = 0.00002 per hour: two of the twelve settled rates are at or below it
    assert s7.current_8h == pytest.approx(1.6e-4)
    assert s7.percentile == pytest.approx(100 * 2 / 12)
    assert s7.predicted_8h is None


def test_a_stale_current_rate_gives_no_z(engine: Engine) -> None:
    _seed_btc(engine)
    snapshot(engine, "binance", "BTCUSDT", 0.0006, 8, NOW - timedelta(minutes=10))
    calculate_zscores(engine, now=NOW)
    s = _stats(engine)[("BTCUSDT", 30)]
    assert (s.current_8h, s.zscore, s.percentile) == (None, None, None)
    assert s.n == 5


def _calculated(engine: Engine) -> dict[str, datetime]:
    return {r.symbol: r.calculated_at for r in rows_of(engine, funding_statistics)
            if r.window_days == 30}


def test_cadence_hot_every_30s_others_every_60s_and_new_contracts_at_once(
        engine: Engine) -> None:
    _seed_btc(engine, current=0.0012)  # z = (12 - 3) / 1.58 = 5.7: hot
    add_contracts(engine, [contract("okx", "BTC-USDT-SWAP", "BTC", 8, listed_at=T0)])
    settle(engine, "okx", "BTC-USDT-SWAP", 8, [(T0 + 8 * k * H, 0.0001 * k) for k in range(1, 6)])
    snapshot(engine, "okx", "BTC-USDT-SWAP", 0.0003, 8, NOW)  # z = 0: cold
    calculate_zscores(engine, now=NOW)
    assert _calculated(engine) == {"BTCUSDT": NOW, "BTC-USDT-SWAP": NOW}

    later = NOW + 30 * SECOND
    add_contracts(engine, [contract("bybit", "BTCUSDT", "BTC", 8, listed_at=T0)])
    settle(engine, "bybit", "BTCUSDT", 8, [(T0 + 8 * H, 0.0001)])
    due = calculate_zscores(engine, now=later, only_due=True)
    assert not due.all_due
    # the hot one and the new one are recomputed, the cold one waits for its 60 s
    got = {r.exchange: r.calculated_at for r in rows_of(engine, funding_statistics)
           if r.window_days == 30}
    assert got == {"binance": later, "okx": NOW, "bybit": later}

    # 30 s on: the hot one again, the cold one now 60 s old; the new one is 30 s old and cold
    calculate_zscores(engine, now=NOW + 60 * SECOND, only_due=True)
    got = {r.exchange: r.calculated_at for r in rows_of(engine, funding_statistics)
           if r.window_days == 30}
    assert got == {"binance": NOW + 60 * SECOND, "okx": NOW + 60 * SECOND, "bybit": later}
