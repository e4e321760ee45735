"""ccxt clients pointed at the simulator (ccxt is a test-only dependency).

Shared by the fidelity tests (ccxt vs the simulator's ground truth) and the adapter tests
(ccxt vs the project's adapters): each checks the other.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import ccxt

from lib.simulator import Contract, Universe


def _fapi_urls(base: str) -> Callable[[Any], None]:
    def patch(ex: Any) -> None:
        for key in list(ex.urls["api"]):
            if key.startswith("fapi"):
                version = "v1" if key.endswith(("Public", "Private")) else key[-2:].lower()
                ex.urls["api"][key] = f"{base}/binance/fapi/{version}"
    return patch


def _all_urls(base: str) -> Callable[[Any], None]:
    def patch(ex: Any) -> None:
        ex.urls["api"] = {key: base for key in ex.urls["api"]}
    return patch


def _gate_urls(base: str) -> Callable[[Any], None]:
    def patch(ex: Any) -> None:
        for key in ex.urls["api"]["public"]:
            ex.urls["api"]["public"][key] = f"{base}/api/v4"
    return patch


def _keys(**urls: str) -> Callable[[Any], None]:
    def patch(ex: Any) -> None:
        ex.urls["api"].update(urls)
    return patch


def make_exchange(name: str, url: str) -> Any:
    """A ccxt client for simulator venue `name`, limited to the swap markets we serve."""
    base = f"{url}/{name}"
    table: dict[str, tuple[str, Callable[[Any], None], dict[str, Any]]] = {
        "binance": ("binanceusdm", _fapi_urls(url), {"fetchMarkets": {"types": ["linear"]}}),
        "bybit": ("bybit", _all_urls(base), {"fetchMarkets": {"types": ["linear"]}}),
        "okx": ("okx", _keys(rest=base), {"fetchMarkets": {"types": ["swap"]}}),
        "bitget": ("bitget", _all_urls(base), {"fetchMarkets": {"types": ["swap"]},
                                               "defaultType": "swap"}),
        "gate": ("gate", _gate_urls(base), {
            "fetchMarkets": {"types": ["swap"]}, "defaultType": "swap",
            "swap": {"fetchMarkets": {"settlementCurrencies": ["usdt"]}}}),
        "kucoin": ("kucoinfutures", _keys(futuresPublic=base, utaV2=base, public=base), {}),
        "hyperliquid": ("hyperliquid", _keys(public=base), {"fetchMarkets": {"types": ["swap"]}}),
        "dydx": ("dydx", _keys(indexer=f"{base}/v4"), {}),
    }
    ccxt_id, patch, options = table[name]
    ex = getattr(ccxt, ccxt_id)({"options": options, "enableRateLimit": False, "timeout": 10000})
    patch(ex)
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


def native_id(market: dict[str, Any]) -> str:
    """The exchange's own symbol (Hyperliquid market ids are asset indices; coin = baseName)."""
    if isinstance(market.get("info"), dict) and "szDecimals" in market["info"]:
        return str(market["baseName"])
    return str(market["id"])


def all_markets(ex: Any) -> list[dict[str, Any]]:
    return [m for ms in ex.markets_by_id.values() for m in ms]


def unified(ex: Any, c: Contract) -> str:
    return next(str(m["symbol"]) for m in all_markets(ex) if native_id(m) == c.symbol)
