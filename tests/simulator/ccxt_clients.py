"""ccxt clients pointed at the simulator (ccxt is a test-only dependency).

Shared by the fidelity tests (ccxt vs the simulator's ground truth) and the adapter tests
(ccxt vs the project's adapters): each checks the other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import ccxt

from lib.simulator import Contract, Universe

UrlPatch = Callable[[Any, str], None]  # (ccxt client, the venue's base URL on the simulator)


def _fapi_urls(ex: Any, base: str) -> None:
    for key in list(ex.urls["api"]):
        if key.startswith("fapi"):
            version = "v1" if key.endswith(("Public", "Private")) else key[-2:].lower()
            ex.urls["api"][key] = f"{base}/fapi/{version}"


def _all_urls(ex: Any, base: str) -> None:
    ex.urls["api"] = {key: base for key in ex.urls["api"]}


def _gate_urls(ex: Any, base: str) -> None:
    for key in ex.urls["api"]["public"]:
        ex.urls["api"]["public"][key] = f"{base}/api/v4"


def _aster_urls(ex: Any, base: str) -> None:
    """ccxt's futures calls go to the simulator; its spot exchangeInfo (another host,
    sapi.asterdex.com, that the simulator does not serve) lists no market."""
    ex.urls["api"]["fapiPublic"] = f"{base}/fapi"
    ex.sapiPublicGetV3ExchangeInfo = lambda params=None: {"symbols": []}


def _backpack_urls(ex: Any, base: str) -> None:
    """ccxt also asks for the asset list and tokenized-stock securities (RFQ markets), which
    the simulator does not serve: it loads no currencies and lists no securities."""
    ex.urls["api"]["public"] = base
    ex.has["fetchCurrencies"] = False
    ex.publicGetApiV1Securities = lambda params=None: []


def _keys(*keys: str, suffix: str = "") -> UrlPatch:
    def patch(ex: Any, base: str) -> None:
        ex.urls["api"].update(dict.fromkeys(keys, base + suffix))
    return patch


def _mexc_urls(ex: Any, base: str) -> None:
    ex.urls["api"]["spot"]["public"] = base
    ex.urls["api"]["contract"]["public"] = f"{base}/api/v1/contract"


@dataclass(frozen=True)
class CcxtClient:
    """How a ccxt client is pointed at one simulated venue, and what ccxt does there.

    One entry per registered exchange (the registry test demands it): the ccxt class, how its
    URLs are redirected to the simulator, its options (limited to the swap markets we serve),
    and the few places where ccxt's behaviour differs by exchange.
    """

    ccxt_id: str
    urls: UrlPatch
    options: dict[str, Any] = field(default_factory=dict)
    # params for fetch_funding_rates to use the endpoint with every contract's current funding
    bulk_params: dict[str, Any] = field(default_factory=dict)
    current_funding: bool = True  # False: ccxt parses no current funding for this exchange
    history_limit: int = 100  # rows asked of fetch_funding_rate_history (the venue's maximum)
    lists_prelaunch: bool = False  # load_markets also sees the pre-launch contracts
    base_field: str = "baseId"  # market field holding the venue's own base spelling
    # False: ccxt has no bulk fetch_funding_rates here (MEXC), so `current_rates` asks
    # fetch_funding_rate for each contract instead
    bulk_current: bool = True
    # the raw history field holding the rate per interval, where ccxt's fundingRate is another
    # quantity (Deribit: ccxt reads interest_8h, what the trailing 8 hours realized; each
    # hourly row's own rate is interest_1h)
    history_rate_field: str | None = None
    in_ccxt: bool = True  # False: the installed ccxt has no client for it (nothing to compare)
    interval_known: bool = True  # False: ccxt reports a fixed interval the venue contradicts
    funding_history: bool = True  # False: ccxt has no fetch_funding_rate_history here
    single_funding: bool = True  # False: ccxt has no per-symbol fetch_funding_rate here
    # ccxt's fundingRate is the venue's raw figure: this many times the rate per interval
    # (Lighter's funding-rates row is an 8-hour equivalent of its hourly rate)
    rate_scale: float = 1.0
    funding_timestamp: bool = True  # False: ccxt gives no fundingTimestamp (Lighter)
    # the newest history row is the interval still accruing (Backpack); ccxt passes it on
    accruing_history_row: bool = False


CCXT_CLIENTS: dict[str, CcxtClient] = {
    "binance": CcxtClient("binanceusdm", _fapi_urls, {"fetchMarkets": {"types": ["linear"]}},
                          history_limit=1000),
    # pre-launch contracts only appear with status=PreLaunch, which ccxt asks for too
    "bybit": CcxtClient("bybit", _all_urls, {"fetchMarkets": {"types": ["linear"]}},
                        history_limit=200, lists_prelaunch=True),
    "okx": CcxtClient("okx", _keys("rest"), {"fetchMarkets": {"types": ["swap"]}}),
    "bitget": CcxtClient(
        "bitget", _all_urls, {"fetchMarkets": {"types": ["swap"]}, "defaultType": "swap"},
        bulk_params={"method": "publicMixGetV2MixMarketCurrentFundRate"},
    ),
    "gate": CcxtClient("gate", _gate_urls, {
        "fetchMarkets": {"types": ["swap"]}, "defaultType": "swap",
        "swap": {"fetchMarkets": {"settlementCurrencies": ["usdt"]}}}, history_limit=1000),
    "kucoin": CcxtClient("kucoinfutures", _keys("futuresPublic", "utaV2", "public")),
    # ccxt market ids are asset indices; the coin is baseName
    "hyperliquid": CcxtClient("hyperliquid", _keys("public"),
                              {"fetchMarkets": {"types": ["swap"]}}, base_field="baseName"),
    # ccxt 4.5.90 parses no current funding for dYdX (fetchFundingRate(s) unsupported)
    "dydx": CcxtClient("dydx", _keys("indexer", suffix="/v4"), current_funding=False),
    # no fetchFundingRates: one fetch_funding_rate per contract; history pages of up to 1000
    "mexc": CcxtClient("mexc", _mexc_urls, bulk_current=False, history_limit=1000),
    # ccxt's fetch_funding_rate is get_funding_rate_value over the last 8 h (funding accrued,
    # not the running hour's rate), so it parses no current funding comparable to ours
    "deribit": CcxtClient("deribit", _keys("rest"), current_funding=False,
                          history_rate_field="interest_1h", history_limit=744),
    # ccxt 4.5.90: no fetchFundingRates (one /market/data/prices per symbol) and a hard-coded
    # interval "8h" that the venue's hourly settlements contradict since its change
    "hibachi": CcxtClient("hibachi", _keys("public"), bulk_current=False,
                          interval_known=False),
    # not in ccxt 4.5.90 (an unmerged TypeScript client, markets only): nothing to compare
    "drift": CcxtClient("drift", _keys("public"), in_ccxt=False),
    # ccxt 4.5.90: current rates only, passed through as Lighter prints them (8-hour scale),
    # with no funding time; market ids are numbers (the coin is the info's symbol)
    "lighter": CcxtClient("lighter", _keys("root", "public"), funding_history=False,
                          single_funding=False, rate_scale=8.0, funding_timestamp=False),
    # ccxt reads history newest-first with `limit` (no time filter); no per-symbol rate
    "pacifica": CcxtClient("pacifica", _keys("public"), single_funding=False),
    # ccxt calls the /fapi/v3 paths; pending perpetuals are listed as inactive swaps
    "aster": CcxtClient("aster", _aster_urls, history_limit=1000),
    # ccxt 4.5.90 has no fetchFundingRates for Backpack (the bulk endpoint exists), and keeps
    # the accruing newest history row
    "backpack": CcxtClient("backpack", _backpack_urls, history_limit=1000, bulk_current=False,
                           accruing_history_row=True),
}


def history_rate(name: str, row: dict[str, Any]) -> float:
    """The rate per interval of one row ccxt's fetch_funding_rate_history parsed."""
    field_name = CCXT_CLIENTS[name].history_rate_field
    return float(row["fundingRate"] if field_name is None else row["info"][field_name])


def in_ccxt(exchanges: tuple[str, ...] | list[str]) -> list[str]:
    """The exchanges the installed ccxt has a client for (a missing entry counts as present:
    the registry test reports it)."""
    return [e for e in exchanges if e not in CCXT_CLIENTS or CCXT_CLIENTS[e].in_ccxt]


def with_current_funding(exchanges: tuple[str, ...] | list[str]) -> list[str]:
    """The exchanges whose current funding ccxt parses (a missing entry counts as parsed:
    the registry test reports it)."""
    return [e for e in in_ccxt(exchanges)
            if e not in CCXT_CLIENTS or CCXT_CLIENTS[e].current_funding]


def current_rates(ex: Any, exchange: str, symbols: list[str]) -> dict[str, Any]:
    """ccxt's current funding of these unified symbols: one bulk request where ccxt has one,
    else one request per symbol."""
    client = CCXT_CLIENTS[exchange]
    if client.bulk_current:
        rates = ex.fetch_funding_rates(None, client.bulk_params)
        return {symbol: rates[symbol] for symbol in symbols}
    return {symbol: ex.fetch_funding_rate(symbol) for symbol in symbols}


def settled_history(
    name: str, rows: list[dict[str, Any]], asked_at_ms: int
) -> list[dict[str, Any]]:
    """ccxt's history rows without an accruing one (its interval ends after the request)."""
    if not CCXT_CLIENTS[name].accruing_history_row:
        return rows
    return [r for r in rows if r["timestamp"] <= asked_at_ms]


def make_exchange(name: str, url: str) -> Any:
    """A ccxt client for simulator venue `name`, limited to the swap markets we serve."""
    client = CCXT_CLIENTS[name]
    ex = getattr(ccxt, client.ccxt_id)(
        {"options": client.options, "enableRateLimit": False, "timeout": 10000}
    )
    client.urls(ex, f"{url}/{name}")
    ex.load_markets()
    return ex


def pick_contracts(u: Universe, exchange: str) -> list[Contract]:
    """BTC, a multiplier name, a non-8h contract and a recent listing, where they exist."""
    perps = u.contracts(exchange)
    window_start = u.now() - timedelta(days=85)
    picks = [next(c for c in perps if c.asset == "BTC")]
    for test in (lambda c: c.multiplier > 1, lambda c: c.interval_hours != 8,
                 lambda c: c.listed_at > window_start):
        found = next((c for c in perps if test(c) and c not in picks), None)
        if found is not None:
            picks.append(found)
    return picks


def with_funding_history(exchanges: tuple[str, ...] | list[str]) -> list[str]:
    """The exchanges whose funding history ccxt fetches (a missing entry counts as fetched)."""
    return [e for e in in_ccxt(exchanges)
            if e not in CCXT_CLIENTS or CCXT_CLIENTS[e].funding_history]


def native_id(market: dict[str, Any]) -> str:
    """The exchange's own symbol (Hyperliquid market ids are asset indices; coin = baseName;
    Lighter's are market_id numbers, the coin its info's symbol)."""
    if isinstance(market.get("info"), dict) and "szDecimals" in market["info"]:
        return str(market["baseName"])
    if isinstance(market.get("info"), dict) and "market_id" in market["info"]:
        return str(market["info"]["symbol"])
    return str(market["id"])


def all_markets(ex: Any) -> list[dict[str, Any]]:
    return [m for ms in ex.markets_by_id.values() for m in ms]


def unified(ex: Any, c: Contract) -> str:
    return next(str(m["symbol"]) for m in all_markets(ex) if native_id(m) == c.symbol)
