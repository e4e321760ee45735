"""One module per simulated exchange, registered here by exchange id (the URL's first part)."""

from __future__ import annotations

from lib.simulator.venues.base import Venue
from lib.simulator.venues.binance import Binance
from lib.simulator.venues.bitget import Bitget
from lib.simulator.venues.bybit import Bybit
from lib.simulator.venues.dydx import Dydx
from lib.simulator.venues.gate import Gate
from lib.simulator.venues.hyperliquid import Hyperliquid
from lib.simulator.venues.kucoin import Kucoin
from lib.simulator.venues.okx import Okx

VENUES: dict[str, type[Venue]] = {
    cls.name: cls for cls in (Binance, Bybit, Okx, Bitget, Gate, Kucoin, Hyperliquid, Dydx)
}

__all__ = ["VENUES", "Venue"]
