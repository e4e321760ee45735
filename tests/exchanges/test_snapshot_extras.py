"""What analytics reads beside the rate: the exchange's predicted next rate, its rate cap and
floor, the unit of open interest and volume, the contract size and the symbol as ccxt writes it.

Replayed through the real parse functions from real replies (../shared/exchange-responses: ccxt's
recordings with the values ccxt parsed, and real captures) and the simulator's recordings, with
the values each reply holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from recorded_replies import ccxt_entries, real_reply, recording

from lib.exchanges.venues import binance, bitget, bybit, dydx, gate, hyperliquid, kucoin, okx
from lib.models import FundingSnapshot

OBSERVED = datetime(2026, 1, 1, tzinfo=UTC)


def _by_symbol(snapshots: list[FundingSnapshot]) -> dict[str, FundingSnapshot]:
    return {s.symbol: s for s in snapshots}


def test_binance_caps_from_funding_info() -> None:
    """Real fundingInfo: GTCUSDT and LPTUSDT have adjusted caps of +-2 %."""
    caps = binance.parse_funding_caps(real_reply("binance", "real-fundingInfo"))
    assert caps["GTCUSDT"] == caps["LPTUSDT"] == (0.02, -0.02)
    premium = [{"symbol": "GTCUSDT", "markPrice": "0.3", "indexPrice": "0.3",
                "lastFundingRate": "0.00010000", "nextFundingTime": 1767225600000,
                "time": 1767222000000},
               {"symbol": "BTCUSDT", "markPrice": "90000", "indexPrice": "90000",
                "lastFundingRate": "0.00005000", "nextFundingTime": 1767225600000,
                "time": 1767222000000}]
    got = _by_symbol(binance.parse_current(premium, None, OBSERVED, caps))
    assert (got["GTCUSDT"].rate_cap, got["GTCUSDT"].rate_floor) == (0.02, -0.02)
    assert (got["BTCUSDT"].rate_cap, got["BTCUSDT"].rate_floor) == (None, None)  # not adjusted
    assert got["BTCUSDT"].predicted_rate is None  # lastFundingRate is the running estimate


def test_bybit_symmetric_cap_and_units() -> None:
    record = recording("bybit", "tickers")
    rows = {r["symbol"]: r for r in record["response"]["result"]["list"]}
    for s in bybit.parse_current(record["response"], None, OBSERVED):
        cap = float(rows[s.symbol]["fundingCap"])  # the simulator: 0.005 on 8 h, 0.03 else
        assert (s.rate_cap, s.rate_floor) == (cap, -cap), s.symbol
        assert cap == (0.005 if s.funding_interval_hours == 8 else 0.03)
        assert (s.open_interest_unit, s.volume_unit) == ("base", "quote")
    # ccxt's 2024 ticker predates fundingCap: no cap, never a made-up one
    (entry,) = ccxt_entries("bybit", "fetchFundingRate")
    (s,) = bybit.parse_current(entry["httpResponse"], {"BTCUSDT": 8.0}, OBSERVED)
    assert (s.rate_cap, s.rate_floor) == (None, None)


def test_okx_caps_predicted_and_contract_size() -> None:
    reply = real_reply("okx", "real-funding-rate-ANY")
    btc = _by_symbol(okx.parse_current(reply, None, None, OBSERVED))["BTC-USDT-SWAP"]
    assert (btc.rate_cap, btc.rate_floor) == (0.00375, -0.00375)
    assert btc.predicted_rate is None  # "nextFundingRate": "" (no longer sent)
    assert btc.open_interest_unit == "base"  # oiCcy
    instruments = real_reply("okx", "real-instruments-SWAP")
    rows = {r["instId"]: r for r in instruments["data"]}
    intervals = okx.parse_intervals(reply)
    contracts = {c.symbol: c for c in okx.parse_contracts(instruments, intervals)}
    assert contracts["BTC-USDT-SWAP"].contract_size == float(rows["BTC-USDT-SWAP"]["ctVal"])
    assert contracts["BTC-USDT-SWAP"].ccxt_symbol == "BTC/USDT:USDT"


def test_bitget_caps_and_units() -> None:
    entry = ccxt_entries("bitget", "fetchFundingRate")[0]
    (s,) = bitget.parse_current(entry["httpResponse"], None, OBSERVED)
    assert (s.rate_cap, s.rate_floor) == (0.003, -0.003)
    assert (s.open_interest_unit, s.volume_unit) == ("base", "quote")


def test_gate_cap_from_the_ratio_and_the_limit_and_predicted_rate() -> None:
    """ccxt's BTC_USD row has no funding_rate_limit: (1/100 - 0.005) x 0.75 = 0.00375. The
    simulator's rows carry funding_rate_limit, which wins."""
    (entry,) = ccxt_entries("gate", "fetchFundingRates")
    (row,) = entry["httpResponse"]
    assert gate.rate_cap(row) == pytest.approx((1 / 100 - 0.005) * 0.75)
    record = recording("gate", "contracts")
    rows = {r["name"]: r for r in record["response"]}
    for s in gate.parse_current(record["response"], OBSERVED):
        limit = float(rows[s.symbol]["funding_rate_limit"])
        assert (s.rate_cap, s.rate_floor) == (limit, -limit), s.symbol
        assert s.predicted_rate == float(rows[s.symbol]["funding_rate_indicative"])
        assert s.open_interest_unit == "contracts" and s.volume_unit is None
    contracts = {c.symbol: c for c in gate.parse_contracts(record["response"])}
    assert contracts["BTC_USDT"].contract_size == 0.0001  # quanto_multiplier


def test_kucoin_predicted_caps_units_and_lot_size() -> None:
    (entry,) = ccxt_entries("kucoinfutures", "fetchFundingRate")
    one = kucoin.parse_current_one(entry["httpResponse"], "XBTUSDTM", OBSERVED)
    assert one.predicted_rate == entry["parsedResponse"]["nextFundingRate"] == 8e-05
    record = recording("kucoin", "contracts")
    rows = {r["symbol"]: r for r in record["response"]["data"]}
    for s in kucoin.parse_current(record["response"], OBSERVED):
        row = rows[s.symbol]
        assert s.predicted_rate == row["predictedFundingFeeRate"], s.symbol
        assert (s.rate_cap, s.rate_floor) == (row["fundingRateCap"], row["fundingRateFloor"])
        assert (s.open_interest_unit, s.volume_unit) == ("contracts", "quote")
    btc = next(c for c in kucoin.parse_contracts(record["response"]) if c.symbol == "XBTUSDTM")
    assert (btc.ccxt_symbol, btc.contract_size) == ("BTC/USDT:USDT",
                                                    rows["XBTUSDTM"]["multiplier"])


@pytest.mark.parametrize(("module", "name", "parse"), [
    (hyperliquid, "meta_and_asset_ctxs",
     lambda r: hyperliquid.parse_current(r, OBSERVED)),
    (dydx, "perpetual_markets", lambda r: dydx.parse_current(r, OBSERVED)),
])
def test_dex_units(module: Any, name: str, parse: Any) -> None:
    record = recording(module.EXCHANGE, name)
    snapshots = parse(record["response"])
    assert snapshots
    assert {(s.open_interest_unit, s.volume_unit) for s in snapshots} == {("base", "quote")}


def test_ccxt_symbols_keep_the_multiplier_spelling() -> None:
    """The stored canonical symbol drops the multiplier (1000000PLEXUSDT is PLEX/USDT:USDT,
    for matching); the ccxt symbol names the contract as ccxt does."""
    record = recording("binance", "exchange_info")
    plex = next(c for c in binance.parse_contracts(record["response"])
                if c.symbol == "1000000PLEXUSDT")
    assert (plex.canonical_symbol, plex.ccxt_symbol, plex.base, plex.multiplier) == (
        "PLEX/USDT:USDT", "1000000PLEX/USDT:USDT", "PLEX", 1e6)
    assert plex.contract_size == 1.0
    hl = {c.symbol: c for c in hyperliquid.parse_contracts(
        recording("hyperliquid", "meta_and_asset_ctxs")["response"])}
    kname = next(s for s in hl if s.startswith("k"))
    assert hl[kname].ccxt_symbol == f"K{kname[1:]}/USDC:USDC"  # ccxt upper-cases the k
    assert hl[kname].canonical_symbol == f"{kname[1:]}/USDC:USDC"
