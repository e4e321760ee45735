"""Exchanges: one adapter per exchange behind one interface, and what adapters share.

Owns the adapter interface and shared flow (`base`), reading replies into records (`replies`),
HTTP with retries and rate limits (`http`), native <-> canonical symbols (`symbols`) and one
module per exchange, named by its id, each defining `Adapter`. May import: `config`,
`lib.errors`, `lib.models`, `lib.timeutils` and `lib.runtime.stopping` (waits end on a stop).
Never storage or jobs: adapters fetch and parse, callers store.

The registry: an exchange is supported when `venues/<id>.py` exists and defines `Adapter`.
`config.settings.SUPPORTED_EXCHANGES` lists those modules (alphabetical), `ADAPTER_MODULES` maps
each id to its module, and `symbols` holds each one's symbol rules as data. No other list of
exchanges exists; tests/exchanges/test_registry.py names whatever a registered exchange lacks
(adapter, simulator venue, recorded replies, tests, symbol rules, ccxt client).
"""

from __future__ import annotations

import importlib

from config.settings import SUPPORTED_EXCHANGES, Settings
from lib.errors import ConfigurationError
from lib.exchanges.base import ExchangeAdapter

ADAPTER_MODULES: dict[str, str] = {
    name: f"lib.exchanges.venues.{name}" for name in SUPPORTED_EXCHANGES
}


def adapter_class(exchange: str) -> type[ExchangeAdapter]:
    """The adapter class for an exchange id."""
    try:
        module = importlib.import_module(ADAPTER_MODULES[exchange])
    except KeyError:
        raise ConfigurationError(
            f"unknown exchange {exchange!r}; supported: {', '.join(SUPPORTED_EXCHANGES)}"
        ) from None
    cls: type[ExchangeAdapter] = module.Adapter
    return cls


def get_adapter(
    exchange: str, settings: Settings | None = None, time_scale: float = 1.0
) -> ExchangeAdapter:
    """A ready adapter for one exchange (base URL from settings: real host or simulator)."""
    return adapter_class(exchange)(settings, time_scale=time_scale)
