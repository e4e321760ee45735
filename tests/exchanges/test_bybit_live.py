"""Bybit quirks against the simulator: the instrument list comes in cursor pages.

The checks every venue shares are in test_adapters_live.py.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from simulator_checks import adapter

from lib.exchanges.venues.bybit import Adapter
from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer

EXCHANGE = "bybit"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300)) as server:
        yield server


def test_contracts_follow_the_cursor(sim: SimulatorServer) -> None:
    """More instruments than a page (>500 on the real exchange): every cursor page is read."""
    small = type("SmallPages", (Adapter,), {"instruments_page_size": 20})
    a = small(adapter(sim, EXCHANGE).settings)
    contracts = a.list_contracts()
    listed = [c for c in sim.universe.instruments(EXCHANGE) if c.status != "prelaunch"]
    assert a.request_count == math.ceil(len(listed) / 20) > 2
    assert sorted(c.symbol for c in contracts) == sorted(
        c.symbol for c in sim.universe.contracts(EXCHANGE)
    )
