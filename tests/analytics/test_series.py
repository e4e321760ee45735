"""The hourly spread series on both engines, against hand-computed hours."""

from __future__ import annotations

from datetime import timedelta

import pytest
from analytics_helpers import T0, H, add_contracts, contract, rows_of, settle, spreads
from sqlalchemy import Engine, select

from lib.analytics.series import build_series
from lib.storage.schema import arbitrage_leg_hours, arbitrage_legs, arbitrage_pairs
from lib.timeutils import utcnow

# rate_8h is stored as REAL: 7 significant digits, so 1e-9 on rates of ~1e-3
TOL = 1e-9
NOW = T0 + 16 * H + timedelta(minutes=5)  # window of 1 day: [T0 - 8 h, T0 + 16 h)


def _btc_1h_vs_8h(engine: Engine, skip_hourly: tuple[int, ...] = ()) -> None:
    """binance BTCUSDT on 8 h: 0.0008 settled at T0+8h, -0.0004 at T0+16h.
    hyperliquid BTC on 1 h: 0.0001 x (k mod 4) settled at T0+k h, k = 1..16."""
    add_contracts(engine, [contract("binance", "BTCUSDT", "BTC", 8),
                           contract("hyperliquid", "BTC", "BTC", 1)])
    settle(engine, "binance", "BTCUSDT", 8, [(T0 + 8 * H, 0.0008), (T0 + 16 * H, -0.0004)])
    settle(engine, "hyperliquid", "BTC", 1,
           [(T0 + k * H, 0.0001 * (k % 4)) for k in range(1, 17) if k not in skip_hourly])


def _expected_btc(hour: int) -> float:
    """Hour T0+j: binance's 8 h rate settled after it, minus hyperliquid's settled at T0+j+1,
    both per 8 h (binance is leg a: first by exchange name)."""
    binance_8h = 0.0008 if hour < 8 else -0.0004
    hyperliquid_8h = 0.0001 * ((hour + 1) % 4) * 8
    return binance_8h - hyperliquid_8h


def test_a_1h_leg_and_an_8h_leg_compare_hour_by_hour(engine: Engine) -> None:
    _btc_1h_vs_8h(engine)
    build = build_series(engine, days=1, now=NOW)
    assert (build.mode, build.rows_written, build.pairs.pairs) == ("full", 32, 1)
    assert build.window_start == T0 - 8 * H and build.window_end == T0 + 16 * H
    got = spreads(engine)
    assert [row[0] for row in got] == [T0 + j * H for j in range(16)]
    assert {row[1:5] for row in got} == {("binance", "BTCUSDT", "hyperliquid", "BTC")}
    for j, row in enumerate(got):
        assert row[5] == pytest.approx(_expected_btc(j), abs=TOL), f"hour {j}"
    # e.g. hour 2: 0.0008 - 0.0003 x 8 = -0.0016; hour 8: -0.0004 - 0.0001 x 8 = -0.0012
    assert got[2][5] == pytest.approx(-0.0016, abs=TOL)
    assert got[8][5] == pytest.approx(-0.0012, abs=TOL)


def test_a_rebuild_run_twice_gives_the_same_rows(engine: Engine) -> None:
    _btc_1h_vs_8h(engine)
    build_series(engine, days=1, now=NOW)
    first = sorted(rows_of(engine, arbitrage_leg_hours))
    again = build_series(engine, days=1, now=NOW)
    assert (again.mode, again.rows_written) == ("incremental", 0)
    forced = build_series(engine, days=1, now=NOW, force=True)
    assert (forced.mode, forced.rows_deleted, forced.rows_written) == ("force", 32, 32)
    assert sorted(rows_of(engine, arbitrage_leg_hours)) == first
    forced_again = build_series(engine, days=1, now=NOW, force=True)
    assert forced_again.rows_written == 32
    assert sorted(rows_of(engine, arbitrage_leg_hours)) == first


def test_incremental_builds_a_late_settlement_and_a_new_contract(engine: Engine) -> None:
    _btc_1h_vs_8h(engine, skip_hourly=(5,))  # hour T0+4 has no hyperliquid rate yet
    build_series(engine, days=1, now=NOW)
    assert T0 + 4 * H not in [row[0] for row in spreads(engine)]
    assert len(spreads(engine)) == 15

    settle(engine, "hyperliquid", "BTC", 1, [(T0 + 5 * H, 0.0001)], collected_at=utcnow())
    late = build_series(engine, days=1, now=NOW)
    assert (late.mode, late.rows_written) == ("incremental", 1)
    got = {row[0]: row[5] for row in spreads(engine)}
    assert got[T0 + 4 * H] == pytest.approx(_expected_btc(4), abs=TOL)

    # a contract listed later, its history stored long ago: built on the next run
    add_contracts(engine, [contract("okx", "BTC-USDT-SWAP", "BTC", 8)])
    settle(engine, "okx", "BTC-USDT-SWAP", 8, [(T0 + 8 * H, 0.0002), (T0 + 16 * H, 0.0003)])
    new = build_series(engine, days=1, now=NOW)
    assert (new.pairs.pairs_added, new.pairs.pairs, new.rows_written) == (2, 3, 16)
    okx = {row[0]: row[5] for row in spreads(engine)
           if row[1:5] == ("binance", "BTCUSDT", "okx", "BTC-USDT-SWAP")}
    assert okx[T0] == pytest.approx(0.0008 - 0.0002, abs=TOL)
    assert okx[T0 + 15 * H] == pytest.approx(-0.0004 - 0.0003, abs=TOL)


def _pairs(engine: Engine) -> set[tuple[str, str]]:
    la, lb = arbitrage_legs.alias("la"), arbitrage_legs.alias("lb")
    p = arbitrage_pairs
    query = (select(la.c.symbol, lb.c.symbol).select_from(p)
             .join(la, la.c.leg_id == p.c.leg_a).join(lb, lb.c.leg_id == p.c.leg_b))
    with engine.connect() as conn:
        return {(a, b) for a, b in conn.execute(query)}


def test_eth_never_matches_ethfi_and_multipliers_match(engine: Engine) -> None:
    add_contracts(engine, [
        contract("binance", "ETHUSDT", "ETH", 8), contract("okx", "ETH-USDT-SWAP", "ETH", 8),
        contract("bybit", "ETHFIUSDT", "ETHFI", 8),
        contract("binance", "1000PEPEUSDT", "PEPE", 8, multiplier=1000),
        contract("hyperliquid", "kPEPE", "PEPE", 1, multiplier=1000),
        contract("okx", "PEPE-USDT-SWAP", "PEPE", 8),
    ])
    settle(engine, "binance", "1000PEPEUSDT", 8, [(T0 + 8 * H, 0.0003)])
    settle(engine, "okx", "PEPE-USDT-SWAP", 8, [(T0 + 8 * H, 0.0001)])
    build = build_series(engine, days=1, now=NOW)
    assert _pairs(engine) == {
        ("ETHUSDT", "ETH-USDT-SWAP"),
        ("1000PEPEUSDT", "kPEPE"), ("1000PEPEUSDT", "PEPE-USDT-SWAP"),
        ("kPEPE", "PEPE-USDT-SWAP"),
    }
    assert build.legs == 5  # ETHFI is on one venue only: no leg, no series
    # rates stay per contract: 1000PEPE's 0.0003 against PEPE's 0.0001, not scaled by 1000
    pepe = [row[5] for row in spreads(engine) if row[2] == "1000PEPEUSDT"]
    assert pepe == [pytest.approx(0.0002, abs=TOL)] * 8


def test_an_hour_two_settlements_claim_goes_to_the_nearest_after_it(engine: Engine) -> None:
    """A history row stored with a longer interval than it had: 0.0001 settled at T0+4h on
    4 h (0.0002 per 8 h) claims T0..T0+3h; 0.0008 at T0+8h stored as 8 h claims T0..T0+7h.
    T0..T0+3h belong to the nearer settlement, every time the window is rebuilt."""
    add_contracts(engine, [contract("binance", "BTCUSDT", "BTC", 4),
                           contract("okx", "BTC-USDT-SWAP", "BTC", 8)])
    settle(engine, "binance", "BTCUSDT", 4, [(T0 + 4 * H, 0.0001)])
    settle(engine, "binance", "BTCUSDT", 8, [(T0 + 8 * H, 0.0008)])
    settle(engine, "okx", "BTC-USDT-SWAP", 8, [(T0 + 8 * H, 0.0)])
    now = T0 + 8 * H + timedelta(minutes=5)
    for force in (False, True, True):
        build_series(engine, days=1, now=now, force=force)
        got = [(row[0], row[5]) for row in spreads(engine)]
        assert got == [(T0 + j * H, pytest.approx(0.0002 if j < 4 else 0.0008, abs=TOL))
                       for j in range(8)]
