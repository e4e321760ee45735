"""Current opportunities from exchange_data on both engines, against hand-computed figures."""

from __future__ import annotations

from datetime import timedelta

import pytest
from analytics_helpers import T0, add_contracts, contract, snapshot
from sqlalchemy import Engine

from lib.analytics.opportunities import current_opportunities

NOW = T0 + timedelta(hours=3, minutes=20)
FRESH = NOW - timedelta(seconds=15)


def _seed(engine: Engine) -> None:
    add_contracts(engine, [
        contract("binance", "BTCUSDT", "BTC", 8), contract("hyperliquid", "BTC", "BTC", 1),
        contract("okx", "BTC-USDT-SWAP", "BTC", 8, contract_size=0.01),
        contract("bybit", "BTCUSDT", "BTC", 8),
        contract("binance", "ETHUSDT", "ETH", 8), contract("okx", "ETH-USDT-SWAP", "ETH", 8),
        contract("bybit", "ETHFIUSDT", "ETHFI", 8),
        contract("binance", "1000PEPEUSDT", "PEPE", 8, multiplier=1000),
        contract("hyperliquid", "kPEPE", "PEPE", 1, multiplier=1000),
        contract("okx", "PEPE-USDT-SWAP", "PEPE", 8),
    ])
    snapshot(engine, "binance", "BTCUSDT", 0.0001, 8, FRESH, mark_price=50_000.0,
             open_interest=100.0, open_interest_unit="base", volume_24h=2e9,
             volume_unit="quote", next_funding_time=T0 + timedelta(hours=8))
    snapshot(engine, "hyperliquid", "BTC", 0.00002, 1, FRESH, mark_price=50_010.0,
             open_interest=50.0, open_interest_unit="base", volume_24h=1e9, volume_unit="quote",
             next_funding_time=T0 + timedelta(hours=4), predicted_rate=0.000025)
    snapshot(engine, "okx", "BTC-USDT-SWAP", -0.0002, 8, FRESH, mark_price=49_990.0,
             open_interest=3000.0, open_interest_unit="contracts")
    snapshot(engine, "bybit", "BTCUSDT", 0.0009, 8, NOW - timedelta(minutes=10))  # stale
    snapshot(engine, "binance", "ETHUSDT", -0.0003, 8, FRESH)
    snapshot(engine, "okx", "ETH-USDT-SWAP", -0.0001, 8, FRESH)
    snapshot(engine, "bybit", "ETHFIUSDT", 0.001, 8, FRESH)
    snapshot(engine, "binance", "1000PEPEUSDT", 0.0003, 8, FRESH)
    snapshot(engine, "hyperliquid", "kPEPE", 0.00001, 1, FRESH)
    snapshot(engine, "okx", "PEPE-USDT-SWAP", 0.0001, 8, FRESH)


def _by_legs(scan: object) -> dict[tuple[str, str], object]:
    return {(f"{o.short.exchange} {o.short.symbol}", f"{o.long.exchange} {o.long.symbol}"): o
            for o in scan.opportunities}  # type: ignore[attr-defined]


def test_pairs_legs_spreads_and_stale_legs(engine: Engine) -> None:
    _seed(engine)
    with engine.connect() as conn:
        scan = current_opportunities(conn, now=NOW)
    assert (scan.legs, scan.stale_legs, scan.stale) == (9, 1, [("bybit", "BTCUSDT")])
    pairs = _by_legs(scan)
    assert set(pairs) == {
        # BTC: binance 0.0001/8h, hyperliquid 0.00016/8h, okx -0.0002/8h
        ("hyperliquid BTC", "binance BTCUSDT"), ("binance BTCUSDT", "okx BTC-USDT-SWAP"),
        ("hyperliquid BTC", "okx BTC-USDT-SWAP"),
        # ETH (never ETHFI): both negative, short the one paying more (-0.0001)
        ("okx ETH-USDT-SWAP", "binance ETHUSDT"),
        # PEPE: 1000PEPE 0.0003, kPEPE 0.00008, PEPE 0.0001, rates per contract
        ("binance 1000PEPEUSDT", "hyperliquid kPEPE"),
        ("binance 1000PEPEUSDT", "okx PEPE-USDT-SWAP"), ("okx PEPE-USDT-SWAP", "hyperliquid kPEPE"),
    }
    spreads = [round(o.spread_8h, 12) for o in scan.opportunities]
    assert spreads == sorted(spreads, reverse=True)

    one_h = pairs[("hyperliquid BTC", "binance BTCUSDT")]
    assert one_h.spread_8h == pytest.approx(0.00016 - 0.0001)  # a 1 h leg against an 8 h leg
    assert one_h.spread_apr == pytest.approx(0.00006 * 1095)
    assert one_h.same_sign and one_h.settlement == "USDT|USDC"
    hl = one_h.short
    assert (hl.rate, hl.interval_hours, hl.rate_8h, hl.apr) == pytest.approx(
        (0.00002, 1, 0.00016, 0.00002 * 8760))
    assert hl.predicted_rate == pytest.approx(0.000025)
    assert hl.predicted_8h == pytest.approx(0.0002)
    assert hl.seconds_to_funding(NOW) == pytest.approx(40 * 60)
    assert hl.ccxt_symbol == "BTC/USDC:USDC"

    negative = pairs[("binance BTCUSDT", "okx BTC-USDT-SWAP")]
    assert negative.spread_8h == pytest.approx(0.0003) and not negative.same_sign
    assert negative.settlement == "USDT"
    eth = pairs[("okx ETH-USDT-SWAP", "binance ETHUSDT")]
    assert eth.spread_8h == pytest.approx(0.0002) and eth.same_sign
    pepe = pairs[("binance 1000PEPEUSDT", "okx PEPE-USDT-SWAP")]
    assert pepe.spread_8h == pytest.approx(0.0002)
    assert (pepe.short.multiplier, pepe.long.multiplier) == (1000, 1)
    assert pepe.short.ccxt_symbol == "1000PEPE/USDT:USDT"


def test_open_interest_and_volume_in_usd_and_weighted_means(engine: Engine) -> None:
    _seed(engine)
    with engine.connect() as conn:
        scan = current_opportunities(conn, now=NOW)
    legs = {o.short.key: o.short for o in scan.opportunities}
    legs |= {o.long.key: o.long for o in scan.opportunities}
    binance, hl = legs[("binance", "BTCUSDT")], legs[("hyperliquid", "BTC")]
    okx = legs[("okx", "BTC-USDT-SWAP")]
    assert binance.open_interest_usd == pytest.approx(100 * 50_000)  # base units x price
    assert hl.open_interest_usd == pytest.approx(50 * 50_010)
    assert okx.open_interest_usd == pytest.approx(3000 * 0.01 * 49_990)  # contracts x size x px
    assert (binance.volume_24h_usd, okx.volume_24h_usd) == (pytest.approx(2e9), None)

    btc = scan.bases["BTC"]
    oi = {0.0001: 5_000_000.0, 0.00016: 2_500_500.0, -0.0002: 1_499_700.0}
    assert (btc.venues, btc.legs) == (3, 3)
    assert btc.oi_weighted_8h == pytest.approx(sum(r * w for r, w in oi.items()) / sum(oi.values()))
    assert btc.volume_weighted_8h == pytest.approx((0.0001 * 2e9 + 0.00016 * 1e9) / 3e9)
    assert btc.open_interest_usd == pytest.approx(sum(oi.values()))
    assert "ETHFI" not in scan.bases and set(scan.bases) == {"BTC", "ETH", "PEPE"}
    assert scan.bases["ETH"].oi_weighted_8h is None  # no venue gave open interest


def test_filter_by_exchanges(engine: Engine) -> None:
    _seed(engine)
    with engine.connect() as conn:
        scan = current_opportunities(conn, now=NOW, exchanges=("binance", "okx"))
    assert {o.short.exchange for o in scan.opportunities} | {
        o.long.exchange for o in scan.opportunities} == {"binance", "okx"}
    assert len(scan.opportunities) == 3
