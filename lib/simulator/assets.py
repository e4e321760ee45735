"""The shared pool of underlying assets and how each venue names a contract on one.

Real names come first (so BTC, ETH, PEPE... exist everywhere with believable prices); the rest of
the pool is made-up alt names, generated from the seed, so the same underlying appears on several
venues under each venue's naming rules (BTCUSDT, BTC-USDT-SWAP, BTC_USDT, XBTUSDTM, kPEPE...).
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

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


@dataclass(frozen=True)
class NamingRules:
    """How a venue names its perpetuals: a symbol pattern around the base, the quote and settle
    currencies, and how it writes the multiplier of a tiny-priced coin.

    `multiplier` is "prefix" (1000PEPE, 1000000MOG), "k" (Hyperliquid's kPEPE = 1000 PEPE) or
    "none" (plain names; the venue's lot size carries the scale instead).
    """

    symbol: str  # "{base}USDT", "{base}-USDT-SWAP", "{base}"...
    quote: str
    settle: str
    multiplier: str = "none"
    aliases: Mapping[str, str] = field(default_factory=dict)  # asset -> venue ticker: BTC -> XBT
    prefixes: Mapping[str, str] = field(default_factory=dict)  # irregular: BABYDOGE -> 1M
    prefix_names: Mapping[int, str] = field(default_factory=dict)  # Drift: 1000 -> 1K, 10^6 -> 1M

    def name(self, asset: str, price: float) -> Naming:
        """The venue's symbol, base, quote, settle and name multiplier for one asset."""
        ticker = self.aliases.get(asset, asset)
        mult = self.multiplier_for(price)
        if mult == 1:
            base = ticker
        elif self.multiplier == "k":
            base = f"k{ticker}"
        else:
            base = self.prefixes.get(asset, self.prefix_names.get(mult, str(mult))) + ticker
        return Naming(self.symbol.format(base=base), base, self.quote, self.settle, mult)

    def quotes(self) -> frozenset[str]:
        """Every quote currency the venue's perpetuals are named in (one, unless a venue's
        rules say otherwise: Deribit's inverse BTC-PERPETUAL is USD-quoted)."""
        return frozenset({self.quote})

    def multiplier_for(self, price: float) -> int:
        """Units of the asset one named unit stands for at this price."""
        if self.multiplier == "prefix":
            return prefix_multiplier(price)
        if self.multiplier == "k":
            return 1000 if price < 1e-3 else 1
        if self.multiplier == "none":
            return 1
        raise ValueError(f"unknown multiplier style {self.multiplier!r}")


MONTH_CODES = "FGHJKMNQUVXZ"  # futures month letters, January first


@dataclass(frozen=True)
class DeliveryRules:
    """Quarterly dated futures a venue lists beside its perpetuals (decoys adapters must drop).

    `symbol` is a pattern over {base} {yy} {mm} {dd} {mon} (JAN) and {code} (month letter);
    `settle` None means inverse, settled in the base coin (KuCoin XBTMH26).
    """

    count: int
    symbol: str
    quote: str
    settle: str | None = None

    def name(self, ticker: str, expiry: datetime) -> Naming:
        """The dated future on `ticker` (the venue's spelling) expiring at `expiry`."""
        symbol = self.symbol.format(
            base=ticker, yy=expiry.strftime("%y"), mm=f"{expiry.month:02d}",
            dd=expiry.strftime("%d"), mon=expiry.strftime("%b").upper(),
            code=MONTH_CODES[expiry.month - 1],
        )
        return Naming(symbol, ticker, self.quote, self.settle or ticker, 1)
