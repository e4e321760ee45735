"""The shared pool of underlying assets and how each venue names a contract on one.

Real names come first (so BTC, ETH, PEPE... exist everywhere with believable prices); the rest of
the pool is made-up alt names, generated from the seed, so the same underlying appears on several
venues under each venue's naming rules (BTCUSDT, BTC-USDT-SWAP, BTC_USDT, XBTUSDTM, kPEPE...).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

# (name, reference USD price) in rough market-cap order.
REAL_ASSETS: tuple[tuple[str, float], ...] = (
    ("BTC", 95000.0), ("ETH", 3300.0), ("SOL", 180.0), ("XRP", 2.2), ("BNB", 650.0),
    ("DOGE", 0.32), ("ADA", 0.9), ("AVAX", 35.0), ("LINK", 20.0), ("DOT", 6.5),
    ("TRX", 0.25), ("LTC", 100.0), ("BCH", 420.0), ("NEAR", 5.0), ("APT", 9.0),
    ("ARB", 0.7), ("OP", 1.8), ("SUI", 3.5), ("PEPE", 0.000018), ("SHIB", 0.000022),
    ("SEI", 0.4), ("TIA", 5.0), ("INJ", 22.0), ("ATOM", 6.5), ("FIL", 5.0),
    ("ETC", 26.0), ("UNI", 12.0), ("AAVE", 300.0), ("BONK", 0.00003), ("WIF", 2.5),
    ("FLOKI", 0.00017), ("LDO", 1.6), ("WLD", 2.1), ("JUP", 0.9), ("ENA", 0.9),
    ("ONDO", 1.3), ("TON", 5.5), ("HBAR", 0.28), ("XLM", 0.4), ("ICP", 10.0),
    ("RENDER", 7.0), ("FET", 1.3), ("STX", 1.6), ("IMX", 1.3), ("GALA", 0.035),
    ("SAND", 0.5), ("MANA", 0.5), ("AXS", 6.0), ("CRV", 0.8), ("DYDX", 1.4),
    ("ORDI", 30.0), ("TAO", 450.0), ("PENDLE", 5.0), ("MOG", 0.0000009),
    ("BABYDOGE", 0.0000000025), ("SATS", 0.0000003), ("LUNC", 0.0001), ("XEC", 0.00003),
    ("RATS", 0.0001), ("CAT", 0.00003),
)

ALWAYS_LISTED = 12  # the top of the pool is on every venue, like BTC and ETH in reality

_ONSETS = ("B", "D", "F", "G", "K", "L", "M", "N", "P", "R", "S", "T", "V", "Z", "QU", "TR",
           "BR", "KR", "ST", "SN", "X", "Y", "H", "J", "W", "PL", "GL", "DR")
_VOWELS = ("A", "E", "I", "O", "U", "AI", "EO", "OU", "Y")
_CODAS = ("", "", "N", "R", "X", "K", "S", "M", "L", "T", "Z", "NT", "RK")


@dataclass(frozen=True)
class Asset:
    """One underlying: canonical name, rank in the pool and a reference price."""

    name: str
    rank: int
    price: float


def build_pool(seed: int, size: int) -> list[Asset]:
    """Real assets followed by made-up names up to `size`, deterministic from the seed."""
    rng = random.Random(seed * 7919 + 13)
    pool = [Asset(n, i, p) for i, (n, p) in enumerate(REAL_ASSETS)]
    seen = {a.name for a in pool}
    while len(pool) < size:
        name = _made_up_name(rng)
        if name in seen or name[0].isdigit():
            continue
        seen.add(name)
        pool.append(Asset(name, len(pool), _made_up_price(rng)))
    return pool


def _made_up_name(rng: random.Random) -> str:
    """A pronounceable 3-7 letter ticker."""
    syllables = rng.choice((1, 2, 2, 2, 3))
    text = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) for _ in range(syllables))
    text += rng.choice(_CODAS)
    return text[:7] if len(text) >= 3 else text + "X"


def _made_up_price(rng: random.Random) -> float:
    """Mostly $0.01-$5, a tail of tiny-priced meme coins that need multiplier names."""
    if rng.random() < 0.05:
        return 10 ** rng.uniform(-7.5, -3.5)
    return 10 ** rng.uniform(-2.3, 1.3)


def prefix_multiplier(price: float) -> int:
    """Binance/Bybit/Bitget rescale tiny prices with a 1000 or 1000000 name prefix."""
    if price < 1e-6:
        return 1_000_000
    if price < 1e-3:
        return 1000
    return 1


def contract_size(price: float) -> float:
    """Venue contract size (OKX ctVal, Gate quanto_multiplier, KuCoin multiplier): ~$10 a lot."""
    exponent = round(math.log10(10.0 / price))
    return float(10 ** exponent) if exponent < 0 else float(int(10**exponent))


@dataclass(frozen=True)
class Naming:
    """How one venue names a contract on an asset."""

    symbol: str
    base: str
    quote: str
    settle: str
    multiplier: int


def venue_naming(exchange: str, asset: str, price: float) -> Naming:
    """Per-venue symbol, base as the venue spells it, quote, settle and name multiplier."""
    mult = prefix_multiplier(price)
    if exchange in ("binance", "bybit", "bitget"):
        prefix = "" if mult == 1 else str(mult)
        if exchange == "binance" and mult == 1_000_000 and asset == "BABYDOGE":
            prefix = "1M"
        base = prefix + asset
        return Naming(f"{base}USDT", base, "USDT", "USDT", mult)
    if exchange == "okx":
        return Naming(f"{asset}-USDT-SWAP", asset, "USDT", "USDT", 1)
    if exchange == "gate":
        return Naming(f"{asset}_USDT", asset, "USDT", "USDT", 1)
    if exchange == "kucoin":
        base = "XBT" if asset == "BTC" else asset
        return Naming(f"{base}USDTM", base, "USDT", "USDT", 1)
    if exchange == "hyperliquid":
        if price < 1e-3:
            return Naming(f"k{asset}", f"k{asset}", "USDC", "USDC", 1000)
        return Naming(asset, asset, "USDC", "USDC", 1)
    if exchange == "dydx":
        return Naming(f"{asset}-USD", asset, "USD", "USDC", 1)
    raise ValueError(f"unknown exchange {exchange!r}")
