"""Symbol normalisation: real native names from every venue, both directions."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from recorded_replies import SHARED

from lib.errors import ConfigurationError, UnknownSymbolError
from lib.exchanges import symbols
from lib.exchanges.symbols import (
    SUPPORTED_EXCHANGES,
    SymbolInfo,
    canonical_base,
    is_dated_future,
    parse_native,
    to_native,
)


def info(canonical: str, multiplier: float = 1.0) -> SymbolInfo:
    base, rest = canonical.split("/")
    quote, settle = rest.split(":")
    return SymbolInfo(canonical, base, quote, settle, multiplier)


# Real names: Binance USD-M and Bybit linear listings (2025), exchange-apis.md, ccxt fixtures.
TABLE: list[tuple[str, str, SymbolInfo]] = [
    ("aster", "BTCUSDT", info("BTC/USDT:USDT")),
    ("aster", "1000PEPEUSDT", info("PEPE/USDT:USDT", 1e3)),
    ("aster", "CLUSD1", info("CL/USD1:USD1")),
    ("aster", "ETHUSDC", info("ETH/USDC:USDC")),
    ("backpack", "BTC_USDC_PERP", info("BTC/USDC:USDC")),
    ("backpack", "kPEPE_USDC_PERP", info("PEPE/USDC:USDC", 1e3)),
    ("backpack", "kBONK_USDC_PERP", info("BONK/USDC:USDC", 1e3)),
    ("backpack", "0G_USDC_PERP", info("0G/USDC:USDC")),
    ("binance", "BTCUSDT", info("BTC/USDT:USDT")),
    ("binance", "ETHUSDC", info("ETH/USDC:USDC")),
    ("binance", "BLZUSDT", info("BLZ/USDT:USDT")),
    ("binance", "BTCBUSD", info("BTC/BUSD:BUSD")),
    ("binance", "1000PEPEUSDT", info("PEPE/USDT:USDT", 1e3)),
    ("binance", "1000SHIBUSDT", info("SHIB/USDT:USDT", 1e3)),
    ("binance", "1000BONKUSDT", info("BONK/USDT:USDT", 1e3)),
    ("binance", "1000XECUSDT", info("XEC/USDT:USDT", 1e3)),
    ("binance", "1000RATSUSDT", info("RATS/USDT:USDT", 1e3)),
    ("binance", "1000SATSUSDT", info("SATS/USDT:USDT", 1e3)),
    ("binance", "1000CATUSDT", info("CAT/USDT:USDT", 1e3)),
    ("binance", "1000XUSDT", info("X/USDT:USDT", 1e3)),
    ("binance", "1000000MOGUSDT", info("MOG/USDT:USDT", 1e6)),
    ("binance", "1000000BOBUSDT", info("BOB/USDT:USDT", 1e6)),
    ("binance", "1MBABYDOGEUSDT", info("BABYDOGE/USDT:USDT", 1e6)),
    ("binance", "1INCHUSDT", info("1INCH/USDT:USDT")),
    ("binance", "TUSDT", info("T/USDT:USDT")),
    ("binance", "USDCUSDT", info("USDC/USDT:USDT")),
    ("binance", "BTCDOMUSDT", info("BTCDOM/USDT:USDT")),
    ("bybit", "BTCUSDT", info("BTC/USDT:USDT")),
    ("bybit", "1000PEPEUSDT", info("PEPE/USDT:USDT", 1e3)),
    ("bybit", "10000SATSUSDT", info("SATS/USDT:USDT", 1e4)),
    ("bybit", "10000WHYUSDT", info("WHY/USDT:USDT", 1e4)),
    ("bybit", "1000000BABYDOGEUSDT", info("BABYDOGE/USDT:USDT", 1e6)),
    ("bybit", "10000000AIDOGEUSDT", info("AIDOGE/USDT:USDT", 1e7)),
    ("bybit", "SHIB1000USDT", info("SHIB/USDT:USDT", 1e3)),
    ("bybit", "SHIB1000PERP", info("SHIB/USDC:USDC", 1e3)),
    ("bybit", "1000PEPEPERP", info("PEPE/USDC:USDC", 1e3)),
    ("bybit", "BTCPERP", info("BTC/USDC:USDC")),
    ("bybit", "ETHBTCUSDT", info("ETHBTC/USDT:USDT")),
    ("bybit", "1INCHUSDT", info("1INCH/USDT:USDT")),
    ("bybit", "BTCUSD", info("BTC/USD:BTC")),
    ("okx", "BTC-USDT-SWAP", info("BTC/USDT:USDT")),
    ("okx", "BTC-USDC-SWAP", info("BTC/USDC:USDC")),
    ("okx", "BTC-USD-SWAP", info("BTC/USD:BTC")),
    ("okx", "ETH-USD-SWAP", info("ETH/USD:ETH")),
    ("okx", "PEPE-USDT-SWAP", info("PEPE/USDT:USDT")),
    ("bitget", "BTCUSDT", info("BTC/USDT:USDT")),
    ("bitget", "BTCPERP", info("BTC/USDC:USDC")),
    ("bitget", "ETHPERP", info("ETH/USDC:USDC")),
    ("bitget", "BTCUSD", info("BTC/USD:BTC")),
    ("gate", "BTC_USDT", info("BTC/USDT:USDT")),
    ("gate", "0G_USDT", info("0G/USDT:USDT")),
    ("gate", "BTC_USD", info("BTC/USD:BTC")),
    ("kucoin", "XBTUSDTM", info("BTC/USDT:USDT")),
    ("kucoin", "ETHUSDTM", info("ETH/USDT:USDT")),
    ("kucoin", "AVAXUSDTM", info("AVAX/USDT:USDT")),
    ("kucoin", "ETHUSDCM", info("ETH/USDC:USDC")),
    ("kucoin", "XBTUSDCM", info("BTC/USDC:USDC")),
    ("kucoin", "XBTUSDM", info("BTC/USD:BTC")),
    ("hyperliquid", "BTC", info("BTC/USDC:USDC")),
    ("hyperliquid", "HYPE", info("HYPE/USDC:USDC")),
    ("hyperliquid", "kPEPE", info("PEPE/USDC:USDC", 1e3)),
    ("hyperliquid", "kSHIB", info("SHIB/USDC:USDC", 1e3)),
    ("hyperliquid", "kBONK", info("BONK/USDC:USDC", 1e3)),
    ("hyperliquid", "kFLOKI", info("FLOKI/USDC:USDC", 1e3)),
    ("hyperliquid", "kNEIRO", info("NEIRO/USDC:USDC", 1e3)),
    ("hyperliquid", "0G", info("0G/USDC:USDC")),
    ("hyperliquid", "2Z", info("2Z/USDC:USDC")),
    ("dydx", "BTC-USD", info("BTC/USDC:USDC")),
    ("dydx", "ETH-USD", info("ETH/USDC:USDC")),
    ("dydx", "PEPE-USD", info("PEPE/USDC:USDC")),
    ("mexc", "BTC_USDT", info("BTC/USDT:USDT")),
    ("mexc", "XAU_USDT", info("XAU/USDT:USDT")),
    ("mexc", "PEPE_USDT", info("PEPE/USDT:USDT")),  # plain name; contractSize carries the scale
    ("mexc", "BTC_USDC", info("BTC/USDC:USDC")),
    ("mexc", "BTC_USD", info("BTC/USD:BTC")),
    ("deribit", "BTC-PERPETUAL", info("BTC/USD:BTC")),
    ("deribit", "ETH-PERPETUAL", info("ETH/USD:ETH")),
    ("deribit", "ETH_USDC-PERPETUAL", info("ETH/USDC:USDC")),
    ("deribit", "BTC_USDC-PERPETUAL", info("BTC/USDC:USDC")),
    ("deribit", "BTC_USDT-PERPETUAL", info("BTC/USDT:USDT")),
    # Hibachi: recorded inventory and exchange-info (shared/exchange-responses/hibachi)
    ("hibachi", "BTC/USDT-P", info("BTC/USDT:USDT")),
    ("hibachi", "ETH/USDT-P", info("ETH/USDT:USDT")),
    ("hibachi", "XAG/USDT-P", info("XAG/USDT:USDT")),
    ("hibachi", "FARTCOIN/USDT-P", info("FARTCOIN/USDT:USDT")),
    # Drift: ccxt's recorded markets and the SDK's MainnetPerpMarkets (1M = 10^6, 1K = 1000)
    ("drift", "BTC-PERP", info("BTC/USDC:USDC")),
    ("drift", "SOL-PERP", info("SOL/USDC:USDC")),
    ("drift", "1MBONK-PERP", info("BONK/USDC:USDC", 1e6)),
    ("drift", "1MPEPE-PERP", info("PEPE/USDC:USDC", 1e6)),
    ("drift", "1KMEW-PERP", info("MEW/USDC:USDC", 1e3)),
    ("drift", "1KWEN-PERP", info("WEN/USDC:USDC", 1e3)),
    ("lighter", "ETH", info("ETH/USDC:USDC")),
    ("lighter", "BTC", info("BTC/USDC:USDC")),
    ("lighter", "1000PEPE", info("PEPE/USDC:USDC", 1e3)),
    ("lighter", "1000BONK", info("BONK/USDC:USDC", 1e3)),
    ("pacifica", "BTC", info("BTC/USDC:USDC")),
    ("pacifica", "kBONK", info("BONK/USDC:USDC", 1e3)),
    ("pacifica", "NVDA", info("NVDA/USDC:USDC")),
    ("pacifica", "EURUSD", info("EURUSD/USDC:USDC")),
]
IDS = [f"{exchange}-{symbol}" for exchange, symbol, _ in TABLE]


@pytest.mark.parametrize(("exchange", "symbol", "expected"), TABLE, ids=IDS)
def test_parse_native(exchange: str, symbol: str, expected: SymbolInfo) -> None:
    assert parse_native(exchange, symbol) == expected


@pytest.mark.parametrize(("exchange", "symbol", "expected"), TABLE, ids=IDS)
def test_round_trip(exchange: str, symbol: str, expected: SymbolInfo) -> None:
    parsed = parse_native(exchange, symbol)
    assert to_native(exchange, parsed.canonical, parsed.multiplier) == symbol


def test_table_covers_every_exchange_and_is_large() -> None:
    assert {exchange for exchange, _, _ in TABLE} == set(SUPPORTED_EXCHANGES)
    assert len(TABLE) >= 40


def test_supported_exchanges_match_the_rules_table() -> None:
    assert set(symbols._VENUES) == set(SUPPORTED_EXCHANGES)


@pytest.mark.parametrize(
    ("exchange", "raw", "expected"),
    [
        ("binance", "1000PEPE", ("PEPE", 1e3)),
        ("hyperliquid", "kPEPE", ("PEPE", 1e3)),
        ("kucoin", "XBT", ("BTC", 1.0)),
        ("binance", "1MBABYDOGE", ("BABYDOGE", 1e6)),
        ("bitget", "1MBABYDOGE", ("BABYDOGE", 1e6)),
        ("binance", "1000000MOG", ("MOG", 1e6)),
        ("binance", "1INCH", ("1INCH", 1.0)),
        ("gate", "0G", ("0G", 1.0)),
        ("hyperliquid", "2Z", ("2Z", 1.0)),
        ("bybit", "SHIB1000", ("SHIB", 1e3)),
        ("binance", "1000", ("1000", 1.0)),  # nothing after the prefix: not a multiplier
        ("binance", "KAVA", ("KAVA", 1.0)),  # capital K is a letter, not Hyperliquid's k
        ("binance", "kPEPE", ("kPEPE", 1.0)),  # k means 1000 only on Hyperliquid
        ("binance", "B3", ("B3", 1.0)),
    ],
)
def test_canonical_base(exchange: str, raw: str, expected: tuple[str, float]) -> None:
    assert canonical_base(exchange, raw) == expected


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
@pytest.mark.parametrize("token", sorted(symbols._DIGIT_LED_TOKENS))
def test_digit_led_tokens_are_never_split(exchange: str, token: str) -> None:
    assert canonical_base(exchange, token) == (token, 1.0)


@pytest.mark.parametrize(
    ("exchange", "symbol", "base", "quote", "settle", "expected"),
    [
        ("binance", "1000PEPEUSDT", "1000PEPE", "USDT", "USDT", info("PEPE/USDT:USDT", 1e3)),
        ("kucoin", "XBTUSDM", "XBT", "USD", "XBT", info("BTC/USD:BTC")),
        ("kucoin", "XBTUSDTM", "XBT", "USDT", "USDT", info("BTC/USDT:USDT")),
        ("bybit", "SHIB1000USDT", "SHIB1000", "USDT", "USDT", info("SHIB/USDT:USDT", 1e3)),
        # given fields win over the name, even where the name alone would say otherwise
        ("bybit", "BTCPERP", "BTC", "USD", "USDC", info("BTC/USD:USDC")),
        ("okx", "BTC-USDT-SWAP", "BTC", None, None, info("BTC/USDT:USDT")),
        ("okx", "BTC-USD-SWAP", None, None, "BTC", info("BTC/USD:BTC")),
    ],
)
def test_parse_native_prefers_instrument_fields(
    exchange: str,
    symbol: str,
    base: str | None,
    quote: str | None,
    settle: str | None,
    expected: SymbolInfo,
) -> None:
    assert parse_native(exchange, symbol, base=base, quote=quote, settle=settle) == expected


@pytest.mark.parametrize(
    ("exchange", "canonical", "multiplier", "expected"),
    [
        ("binance", "PEPE/USDT:USDT", 1000, "1000PEPEUSDT"),
        ("binance", "BABYDOGE/USDT:USDT", 1e6, "1MBABYDOGEUSDT"),
        ("bybit", "BABYDOGE/USDT:USDT", 1e6, "1000000BABYDOGEUSDT"),
        ("bybit", "SHIB/USDT:USDT", 1000, "SHIB1000USDT"),
        ("hyperliquid", "PEPE/USDC:USDC", 1000, "kPEPE"),
        ("kucoin", "BTC/USDT:USDT", 1, "XBTUSDTM"),
        ("kucoin", "BTC/USD:BTC", 1, "XBTUSDM"),
        ("okx", "BTC/USDT:USDT", 1, "BTC-USDT-SWAP"),
        ("gate", "BTC/USDT:USDT", 1, "BTC_USDT"),
        ("dydx", "BTC/USD:USDC", 1, "BTC-USD"),
        ("dydx", "BTC/USDC:USDC", 1, "BTC-USD"),
        ("bitget", "BTC/USDT:USDT", 1, "BTCUSDT"),
        ("bybit", "BTC/USDT:USDT", 1, "BTCUSDT"),
        ("bybit", "ETH/USDC:USDC", 1, "ETHPERP"),  # Bybit's USDC perps are named ...PERP
        ("mexc", "BTC/USDT:USDT", 1, "BTC_USDT"),
        ("deribit", "BTC/USD:BTC", 1, "BTC-PERPETUAL"),
        ("deribit", "SOL/USDC:USDC", 1, "SOL_USDC-PERPETUAL"),
    ],
)
def test_to_native(exchange: str, canonical: str, multiplier: float, expected: str) -> None:
    assert to_native(exchange, canonical, multiplier) == expected


def test_usdc_suffix_on_bybit_parses_but_writes_back_as_perp() -> None:
    assert parse_native("bybit", "ETHUSDC") == info("ETH/USDC:USDC")
    assert to_native("bybit", "ETH/USDC:USDC") == "ETHPERP"


@pytest.mark.parametrize(
    ("exchange", "symbol"),
    [
        ("binance", "BTCXYZ"),
        ("binance", "USDT"),
        ("binance", ""),
        ("binance", "BTC-USDT"),
        ("bybit", "BTCEUR"),
        ("okx", "BTC-USDT"),
        ("okx", "BTC-EUR-SWAP"),
        ("okx", "BTC-USDT-SWAP-X"),
        ("gate", "BTCUSDT"),
        ("gate", "BTC_EUR"),
        ("kucoin", "XBTUSDT"),
        ("kucoin", ".XBTUSDTMFPI8H"),
        ("hyperliquid", "xyz:TSLA"),
        ("hyperliquid", "@107"),
        ("hyperliquid", "BTC-USD"),
        ("dydx", "BTC-USDT"),
        ("dydx", "BTC"),
        ("binance", "BTCUSDT_250328"),
        ("okx", "BTC-USDT-250328"),
        ("mexc", "BTCUSDT"),
        ("mexc", "BTC_EUR"),
        ("deribit", "BTC-USD"),
        ("deribit", "BTC_EUR-PERPETUAL"),
        ("deribit", "BTC-27DEC24"),
        ("deribit", "BTC-PERPETUAL-X"),
    ],
)
def test_unknown_patterns_raise_naming_the_symbol(exchange: str, symbol: str) -> None:
    with pytest.raises(UnknownSymbolError) as caught:
        parse_native(exchange, symbol)
    assert repr(symbol) in str(caught.value)
    assert exchange in str(caught.value)
    assert caught.value.symbol == symbol


@pytest.mark.parametrize(
    ("exchange", "canonical", "multiplier"),
    [
        ("hyperliquid", "BTC/USDT:USDT", 1),
        ("okx", "BTC/EUR:EUR", 1),
        ("okx", "PEPE/USDT:USDT", 1000),  # OKX puts multipliers in ctVal, never in the name
        ("binance", "PEPE/USDT:USDT", 3),
        ("hyperliquid", "MOG/USDC:USDC", 1e6),
        ("binance", "BTCUSDT", 1),
        ("kucoin", "BTC/USD:ETH", 1),
        ("mexc", "PEPE/USDT:USDT", 1000),  # MEXC puts multipliers in contractSize
        ("deribit", "BTC/USD:USDC", 1),
    ],
)
def test_to_native_rejects_what_the_exchange_cannot_name(
    exchange: str, canonical: str, multiplier: float
) -> None:
    with pytest.raises(UnknownSymbolError) as caught:
        to_native(exchange, canonical, multiplier)
    assert repr(canonical) in str(caught.value)


def test_unknown_exchange_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="ftx"):
        parse_native("ftx", "BTC-PERP")
    with pytest.raises(ConfigurationError):
        to_native("ftx", "BTC/USD:USD")


@pytest.mark.parametrize(
    ("exchange", "symbol"),
    [
        ("binance", "BTCUSDT_250328"),
        ("okx", "BTC-USDT-250328"),
        ("okx", "BTC-USD-250328"),
        ("bybit", "BTCUSDT-27MAR26"),
        ("bybit", "BTC-26DEC25"),
        ("bybit", "BTCUSDZ24"),
        ("bitget", "BTCUSDU26"),
        ("bitget", "ETHUSD_231229"),
        ("gate", "BTC_USDT_20200814"),
        ("kucoin", "XBTMH25"),
        ("deribit", "BTC-27DEC24"),
        ("deribit", "ETH-7MAR25"),
    ],
)
def test_dated_futures_detected(exchange: str, symbol: str) -> None:
    assert is_dated_future(exchange, symbol)
    with pytest.raises(UnknownSymbolError, match="dated future"):
        parse_native(exchange, symbol)


@pytest.mark.parametrize(("exchange", "symbol", "expected"), TABLE, ids=IDS)
def test_perpetuals_are_not_dated(exchange: str, symbol: str, expected: SymbolInfo) -> None:
    assert not is_dated_future(exchange, symbol)


def _unified_symbols(parsed: Any) -> set[str]:
    """ccxt's parsedResponse is one record, a list of them or a dict keyed by symbol."""
    if isinstance(parsed, dict) and "symbol" not in parsed:
        parsed = list(parsed.values())
    rows = parsed if isinstance(parsed, list) else [parsed]
    return {row["symbol"] for row in rows}


_FIXTURES: dict[str, tuple[str, Callable[[Any], list[str]]]] = {
    "bybit": ("bybit/fetchFundingRates.json", lambda r: [x["symbol"] for x in r["result"]["list"]]),
    "bitget": ("bitget/fetchFundingRate.json", lambda r: [x["symbol"] for x in r["data"]]),
    "gate": ("gate/fetchFundingRates.json", lambda r: [x["name"] for x in r]),
    "dydx": (
        "dydx/fetchFundingRateHistory.json",
        lambda r: [x["ticker"] for x in r["historicalFunding"]],
    ),
    "lighter": ("lighter/fetchFundingRates.json",
                lambda r: [x["symbol"] for x in r["funding_rates"] if x["exchange"] == "lighter"]),
    "pacifica": ("pacifica/fetchMarkets.json",
                 lambda r: [x["symbol"] for x in r["data"] if x["instrument_type"] == "perpetual"]),
}


def _recorded_pairs() -> list[tuple[str, str, set[str]]]:
    """(exchange, native symbol, ccxt's unified symbols in that reply) from ccxt's fixtures."""
    pairs: list[tuple[str, str, set[str]]] = []
    for exchange, (path, natives) in _FIXTURES.items():
        for entry in json.loads((SHARED / path).read_text())["entries"]:
            unified = _unified_symbols(entry["parsedResponse"])
            pairs.extend((exchange, native, unified) for native in natives(entry["httpResponse"]))
    return pairs


@pytest.mark.skipif(not SHARED.is_dir(), reason="shared exchange-responses not present")
def test_recorded_ccxt_fixtures_agree() -> None:
    """ccxt's own parse of recorded replies is the reference for the canonical form."""
    pairs = _recorded_pairs()
    assert pairs
    for exchange, native, unified in pairs:
        assert parse_native(exchange, native).canonical in unified, (exchange, native)
