"""Bybit quirks against the simulator: the instrument list comes in cursor pages.

The checks every venue shares are in test_adapters_live.py.
"""

from __future__ import annotations

import math

from simulator_checks import adapter, live_simulator

from lib.exchanges.venues.bybit import Adapter

EXCHANGE = "bybit"


def test_contracts_follow_the_cursor() -> None:
    """More instruments than a page (>500 on the real exchange): every cursor page is read."""
    small = type("SmallPages", (Adapter,), {"instruments_page_size": 20})
    with live_simulator() as sim:
        a = small(adapter(sim, EXCHANGE).settings)
        contracts = a.list_contracts()
        listed = [c for c in sim.universe.instruments(EXCHANGE) if c.status != "prelaunch"]
        assert a.request_count == math.ceil(len(listed) / 20) > 2
        assert sorted(c.symbol for c in contracts) == sorted(
            c.symbol for c in sim.universe.contracts(EXCHANGE)
        )
