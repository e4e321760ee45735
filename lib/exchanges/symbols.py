"""Exchange-native perpetual symbols <-> canonical ccxt symbols ``BASE/QUOTE:SETTLE``.

Contracts are matched across exchanges by canonical base asset, so every native name is taken
apart into base (multiplier removed, aliases applied), quote, settle and multiplier:

    binance "1000PEPEUSDT"   -> PEPE/USDT:USDT  x1000     kucoin "XBTUSDTM"     -> BTC/USDT:USDT
    hyperliquid "kPEPE"      -> PEPE/USDC:USDC  x1000     kucoin "XBTUSDM"      -> BTC/USD:BTC
    bybit "SHIB1000USDT"     -> SHIB/USDT:USDT  x1000     okx "BTC-USD-SWAP"    -> BTC/USD:BTC
    bybit "BTCPERP"          -> BTC/USDC:USDC             gate "BTC_USDT"       -> BTC/USDT:USDT
    dydx "BTC-USD"           -> BTC/USDC:USDC (ccxt's form; to_native also takes BTC/USD:USDC)
    mexc "BTC_USDT"          -> BTC/USDT:USDT             deribit "BTC-PERPETUAL" -> BTC/USD:BTC
    deribit "ETH_USDC-PERPETUAL" -> ETH/USDC:USDC

Everything venue-specific is data in ``_VENUES`` and the tables below it; an unrecognised name
raises ``UnknownSymbolError`` rather than being guessed at. Funding rates are dimensionless, so
the multiplier only matters for prices and sizes, never for the rate itself.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from config.settings import SUPPORTED_EXCHANGES
from lib.errors import ConfigurationError, UnknownSymbolError

logger = logging.getLogger(__name__)



@dataclass(frozen=True, slots=True)
class SymbolInfo:
    """One perpetual contract in canonical terms."""

    canonical: str  # "PEPE/USDT:USDT"  (base without multiplier, aliases applied)
    base: str  # "PEPE"
    quote: str  # "USDT"
    settle: str  # "USDT"
    multiplier: float  # 1000.0 for 1000PEPEUSDT / kPEPE, else 1.0
    # the unified symbol as ccxt writes it ("1000PEPE/USDT:USDT", "KPEPE/USDC:USDC"): it names
    # one contract; not part of equality, which is about the asset a name stands for
    ccxt: str = field(default="", compare=False)


# Numeric multiplier prefixes, longest first so "1000000MOG" is not read as 1000 x "000MOG".
# Bybit goes up to 10,000,000 (10000000AIDOGEUSDT); "1M" is Binance's 1MBABYDOGEUSDT.
# A prefix counts only when an upper-case letter follows it. Binance's 1000SATS, 1000CAT,
# 1000CHEEMS, 1000X and 1000WHY are multipliers too, although Binance spot lists "1000SATS" etc.
# as asset names: they are Binance redenominations of SATS/CAT/..., and other venues name the
# same coin with another prefix (Bybit 10000SATSUSDT, 10000WHYUSDT; OKX/Gate plain SATS), so
# stripping the prefix is what lets the legs match. ccxt keeps "1000SATS" as the base because
# it does not match across venues; our design does.
_NUMERIC_PREFIXES: tuple[tuple[str, float], ...] = (
    ("10000000", 1e7),
    ("1000000", 1e6),
    ("100000", 1e5),
    ("10000", 1e4),
    ("1000", 1e3),
    ("1M", 1e6),
)
_PREFIX_BY_MULTIPLIER: dict[float, str] = {m: p for p, m in _NUMERIC_PREFIXES if p[-1] == "0"}

# Real tokens whose names start with a digit and carry no multiplier. None of them starts with a
# prefix above today; the table pins them (and the tests check them) so that widening the prefix
# rules can never turn 1INCH into INCH. Sources: Binance USD-M list (1INCHUSDT), Gate and
# Hyperliquid listings (0G_USDT, 0G, 2Z).
_DIGIT_LED_TOKENS: frozenset[str] = frozenset({"1INCH", "0G", "2Z"})

# Same asset, different ticker. XBT->BTC is ccxt's base commonCurrencies entry (KuCoin uses XBT
# in symbols, baseCurrency and, for inverse contracts, settleCurrency).
_ALIASES: dict[str, str] = {"XBT": "BTC"}

_ALNUM = re.compile(r"^[A-Za-z0-9]+$")
_CANONICAL = re.compile(r"^([A-Za-z0-9]+)/([A-Z0-9]+):([A-Z0-9]+)$")
_MONTH_CODE = "[FGHJKMNQUVXZ]"  # futures month letters: BTCUSDZ24, XBTMH25, BTCUSDU26


@dataclass(frozen=True, slots=True)
class _Venue:
    """How one exchange spells its perpetuals: ``<base><sep><quote token><tail>``."""

    sep: str
    tail: str
    # (native quote token, canonical quote, canonical settle or None = inverse, settled in base).
    # Declaration order is to_native's preference; parsing tries the longest token first.
    quotes: tuple[tuple[str, str, str | None], ...]
    dated: tuple[str, ...] = ()  # regexes for delivery (dated) futures on the same endpoints
    k_prefix: bool = False  # Hyperliquid's lowercase k = 1000 units
    numeric_prefix: bool = True  # may write multipliers as 1000PEPE
    native_aliases: dict[str, str] = field(default_factory=dict)  # canonical -> native base
    irregular: dict[str, tuple[str, float]] = field(default_factory=dict)  # native base -> (b, m)
    # the venue's own multiplier prefixes, longest first (Drift: 1M = 10^6, 1K = 1000)
    prefixes: tuple[tuple[str, float], ...] = ()


_LINEAR_USDT = ("USDT", "USDT", "USDT")
_VENUES: dict[str, _Venue] = {
    # BTCUSDT, ETHUSDC, 1000PEPEUSDT; delivery BTCUSDT_250328. BUSD perps are delisted but old
    # history still names them.
    "binance": _Venue(
        sep="",
        tail="",
        quotes=(_LINEAR_USDT, ("USDC", "USDC", "USDC"), ("BUSD", "BUSD", "BUSD")),
        dated=(r"_\d{6}$",),
        irregular={"1MBABYDOGE": ("BABYDOGE", 1e6)},
    ),
    # BTCUSDT; USDC perps are BTCPERP (ccxt: BTC/USDC:USDC); inverse BTCUSD; multiplier as a
    # suffix for SHIB only (SHIB1000USDT, SHIB1000PERP); futures BTCUSDT-27MAR26, BTC-26DEC25,
    # inverse BTCUSDZ24.
    "bybit": _Venue(
        sep="",
        tail="",
        quotes=(
            _LINEAR_USDT,
            ("PERP", "USDC", "USDC"),
            ("USDC", "USDC", "USDC"),
            ("USD", "USD", None),
        ),
        dated=(r"-\d{2}[A-Z]{3}\d{2}$", rf"USD{_MONTH_CODE}\d{{2}}$"),
        irregular={"SHIB1000": ("SHIB", 1e3)},
    ),
    # BTC-USDT-SWAP, BTC-USDC-SWAP, inverse BTC-USD-SWAP (settled in BTC); delivery
    # BTC-USDT-250328. OKX keeps plain names and puts small-coin multipliers in ctVal.
    "okx": _Venue(
        sep="-",
        tail="-SWAP",
        quotes=(_LINEAR_USDT, ("USDC", "USDC", "USDC"), ("USD", "USD", None)),
        dated=(r"-\d{6}$",),
        numeric_prefix=False,
    ),
    # BTCUSDT (USDT-FUTURES), BTCPERP (USDC-FUTURES), inverse BTCUSD; delivery BTCUSDU26 and
    # ..._260925.
    "bitget": _Venue(
        sep="",
        tail="",
        quotes=(
            _LINEAR_USDT,
            ("PERP", "USDC", "USDC"),
            ("USDC", "USDC", "USDC"),
            ("USD", "USD", None),
        ),
        dated=(r"_\d{6}$", rf"USD{_MONTH_CODE}\d{{2}}$"),
    ),
    # BTC_USDT (settle=usdt), inverse BTC_USD (settle=btc: ccxt BTC/USD:BTC); delivery
    # BTC_USDT_20200814.
    "gate": _Venue(
        sep="_", tail="", quotes=(_LINEAR_USDT, ("USD", "USD", None)), dated=(r"_\d{8}$",)
    ),
    # XBTUSDTM, ETHUSDCM, inverse XBTUSDM (settled in XBT=BTC); delivery XBTMH25.
    "kucoin": _Venue(
        sep="",
        tail="",
        quotes=(("USDTM", "USDT", "USDT"), ("USDCM", "USDC", "USDC"), ("USDM", "USD", None)),
        dated=(rf"^[A-Z0-9]+M{_MONTH_CODE}\d{{2}}$",),
        native_aliases={"BTC": "XBT"},
    ),
    # Bare coin names, all USDC-settled (ccxt BASE/USDC:USDC); kPEPE = 1000 PEPE.
    "hyperliquid": _Venue(
        sep="", tail="", quotes=(("", "USDC", "USDC"),), k_prefix=True, numeric_prefix=False
    ),
    # BTC-USD: USD-quoted oracle, USDC collateral. ccxt (and its recorded fixture) says
    # BTC/USDC:USDC; BTC/USD:USDC is accepted by to_native as well.
    "dydx": _Venue(
        sep="-",
        tail="",
        quotes=(("USD", "USDC", "USDC"), ("USD", "USD", "USDC")),
        numeric_prefix=False,
    ),
    # BTC_USDT (USDT-margined), ETH_USDC; inverse BTC_USD (coin-margined, settled in BTC).
    # MEXC keeps plain coin names and puts small-coin scale in contractSize.
    "mexc": _Venue(
        sep="_",
        tail="",
        quotes=(_LINEAR_USDT, ("USDC", "USDC", "USDC"), ("USD", "USD", None)),
        numeric_prefix=False,
    ),
    # Inverse BTC-PERPETUAL, ETH-PERPETUAL (USD-quoted, settled in the coin: ccxt
    # BTC/USD:BTC); linear ETH_USDC-PERPETUAL, BTC_USDT-PERPETUAL; futures BTC-27DEC24.
    "deribit": _Venue(
        sep="",
        tail="-PERPETUAL",
        quotes=(("_USDC", "USDC", "USDC"), ("_USDT", "USDT", "USDT"), ("", "USD", None)),
        dated=(r"-\d{1,2}[A-Z]{3}\d{2}$",),
        numeric_prefix=False,
    ),
    # BTC/USDT-P (perpetuals only, all USDT; no multiplier names seen)
    "hibachi": _Venue(sep="/", tail="-P", quotes=(_LINEAR_USDT,), numeric_prefix=False),
    # SOL-PERP, 1MBONK-PERP (10^6 BONK), 1KMEW-PERP (1000 MEW); quote and settle USDC (the
    # Velocity relaunch quotes USDT: the listing's quoteAsset wins over this default)
    "drift": _Venue(
        sep="-", tail="", quotes=(("PERP", "USDC", "USDC"),), numeric_prefix=False,
        prefixes=(("1M", 1e6), ("1K", 1e3)),
    ),
    # Bare coin names addressed by numeric market_id (ETH = 0), all USDC-settled (ccxt
    # BASE/USDC:USDC); multipliers as 1000PEPE (a third-party list, unconfirmed by Lighter).
    "lighter": _Venue(sep="", tail="", quotes=(("", "USDC", "USDC"),)),
    # Bare names, USDC-settled (ccxt BASE/USDC:USDC); kBONK = 1000 BONK, like Hyperliquid.
    "pacifica": _Venue(
        sep="", tail="", quotes=(("", "USDC", "USDC"),), k_prefix=True, numeric_prefix=False
    ),
    # Aster (Binance-style): BTCUSDT, 1000PEPEUSDT (prefix assumed as on Binance: unconfirmed
    # on Aster), CLUSD1 (USD1-settled). Its BTCUSD-style rows in premiumIndex/fundingInfo are
    # no trading perpetuals: no "USD" token, so they stay unknown and are left out.
    "aster": _Venue(
        sep="",
        tail="",
        quotes=(_LINEAR_USDT, ("USDC", "USDC", "USDC"), ("USD1", "USD1", "USD1")),
    ),
    # Backpack: BTC_USDC_PERP, kPEPE_USDC_PERP (k = 1000, in baseSymbol too); stocks keep
    # their ".US" (MU.US_USDC_PERP), which is no alphanumeric base and stays unknown.
    "backpack": _Venue(
        sep="_", tail="_PERP", quotes=(("USDC", "USDC", "USDC"),), k_prefix=True,
        numeric_prefix=False,
    ),
}


def k_prefix_exchanges() -> tuple[str, ...]:
    """Exchanges whose symbols mark x1000 with a lower-case "k" (kPEPE): their case matters."""
    return tuple(exchange for exchange, venue in _VENUES.items() if venue.k_prefix)

def _venue(exchange: str) -> _Venue:
    """The exchange's symbol rules; an unknown exchange is a configuration mistake, not data."""
    try:
        return _VENUES[exchange]
    except KeyError:
        raise ConfigurationError(
            f"unknown exchange {exchange!r} (supported: {', '.join(SUPPORTED_EXCHANGES)})"
        ) from None


def _alias(code: str) -> str:
    return _ALIASES.get(code, code)


def canonical_base(exchange: str, raw_base: str) -> tuple[str, float]:
    """Split an exchange's base asset into (canonical base, multiplier).

    "1000PEPE" -> ("PEPE", 1000.0); hyperliquid "kPEPE" -> ("PEPE", 1000.0); "XBT" -> ("BTC", 1.0);
    "1MBABYDOGE" -> ("BABYDOGE", 1e6); "1INCH" -> ("1INCH", 1.0). Only the listed prefixes count,
    and only when a letter follows, so digit-led token names survive.
    """
    venue = _venue(exchange)
    if not _ALNUM.match(raw_base):
        raise UnknownSymbolError(exchange, raw_base, "base asset is not alphanumeric")
    if raw_base in venue.irregular:
        base, multiplier = venue.irregular[raw_base]
        return _alias(base), multiplier
    if raw_base in _DIGIT_LED_TOKENS:
        return raw_base, 1.0
    if venue.k_prefix and re.match(r"^k[A-Z0-9]", raw_base):
        return _alias(raw_base[1:]), 1e3
    for prefix, multiplier in venue.prefixes + _NUMERIC_PREFIXES:
        rest = raw_base[len(prefix) :]
        if raw_base.startswith(prefix) and rest[:1].isalpha() and rest[:1].isupper():
            return _alias(rest), multiplier
    return _alias(raw_base), 1.0


def _split_native(exchange: str, venue: _Venue, symbol: str) -> tuple[str, str, str | None]:
    """Native name -> (raw base, canonical quote, settle or None for inverse)."""
    for token, quote, settle in sorted(venue.quotes, key=lambda q: -len(q[0])):
        suffix = f"{venue.sep}{token}{venue.tail}"
        raw_base = symbol[: len(symbol) - len(suffix)]
        if symbol.endswith(suffix) and _ALNUM.match(raw_base):
            return raw_base, quote, settle
    shapes = ", ".join(f"<BASE>{venue.sep}{q[0]}{venue.tail}" for q in venue.quotes)
    raise UnknownSymbolError(exchange, symbol, f"not a known perpetual name (expected {shapes})")


def parse_native(
    exchange: str,
    symbol: str,
    *,
    base: str | None = None,
    quote: str | None = None,
    settle: str | None = None,
) -> SymbolInfo:
    """Parse an exchange-native perpetual name into canonical parts.

    Adapters pass base/quote/settle when the instrument list gives them (Binance baseAsset
    "1000PEPE", KuCoin baseCurrency "XBT"...): those win over what the name suggests, but the
    multiplier and alias rules still apply to them. Dated futures and unknown shapes raise
    UnknownSymbolError naming the symbol.
    """
    venue = _venue(exchange)
    if is_dated_future(exchange, symbol):
        raise UnknownSymbolError(exchange, symbol, "dated future, not a perpetual")
    if base is None or quote is None or settle is None:
        raw_base, name_quote, name_settle = _split_native(exchange, venue, symbol)
        base = raw_base if base is None else base
        quote = name_quote if quote is None else quote
        if settle is None:
            settle = name_settle if name_settle is not None else base
    canon_base, multiplier = canonical_base(exchange, base)
    if settle == base:  # inverse: settled in the (raw, maybe aliased) base coin
        settle = canon_base
    quote, settle = _alias(quote), _alias(settle)
    # ccxt keeps the venue's base spelling, upper-cased, with its currency aliases applied
    ccxt = f"{_alias(base.upper())}/{quote}:{settle}"
    return SymbolInfo(f"{canon_base}/{quote}:{settle}", canon_base, quote, settle, multiplier,
                      ccxt)


def _native_base(exchange: str, venue: _Venue, canonical: str, base: str, mult: float) -> str:
    """Canonical base + multiplier -> the base as the exchange writes it."""
    for native, (irregular_base, irregular_mult) in venue.irregular.items():
        if (irregular_base, irregular_mult) == (base, mult):
            return native
    native = venue.native_aliases.get(base, base)
    if mult == 1:
        return native
    if venue.k_prefix and mult == 1e3:
        return f"k{native}"
    for prefix, prefix_mult in venue.prefixes:
        if prefix_mult == mult:
            return f"{prefix}{native}"
    if venue.numeric_prefix and mult in _PREFIX_BY_MULTIPLIER:
        return f"{_PREFIX_BY_MULTIPLIER[mult]}{native}"
    raise UnknownSymbolError(exchange, canonical, f"no native name for multiplier {mult:g}")


def to_native(exchange: str, canonical: str, multiplier: float = 1.0) -> str:
    """Canonical symbol (+ multiplier) -> the exchange's perpetual name; inverse of parse_native.

    ("binance", "PEPE/USDT:USDT", 1000) -> "1000PEPEUSDT"; ("kucoin", "BTC/USDT:USDT") ->
    "XBTUSDTM"; ("hyperliquid", "PEPE/USDC:USDC", 1000) -> "kPEPE".
    """
    venue = _venue(exchange)
    match = _CANONICAL.match(canonical)
    if match is None:
        raise UnknownSymbolError(exchange, canonical, "not a BASE/QUOTE:SETTLE symbol")
    base, quote, settle = match.groups()
    native_base = _native_base(exchange, venue, canonical, base, float(multiplier))
    for token, venue_quote, venue_settle in venue.quotes:
        if venue_quote == quote and (venue_settle or base) == settle:
            return f"{native_base}{venue.sep}{token}{venue.tail}"
    raise UnknownSymbolError(
        exchange, canonical, f"{exchange} has no perpetual quoted in {quote} settled in {settle}"
    )


def is_dated_future(exchange: str, symbol: str) -> bool:
    """True for delivery futures names (BTCUSDT_250328, BTC-USDT-250328, BTCUSDT-27MAR26...).

    Several venues list them on the same endpoints as perpetuals; adapters drop them first.
    """
    return any(re.search(pattern, symbol) for pattern in _venue(exchange).dated)
