"""Bybit adapter against the simulator: contracts (cursor pages), snapshot, history, faults."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
from simulator_checks import (
    adapter,
    check_contracts,
    check_current,
    check_exact_ends,
    check_history,
    check_history_under_faults,
    history_contracts,
)

from lib.exchanges.venues.bybit import Adapter
from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer

EXCHANGE = "bybit"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300)) as server:
        yield server


def test_contracts(sim: SimulatorServer) -> None:
    check_contracts(sim, EXCHANGE, requests_needed=1, intervals={1.0, 4.0, 8.0})


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


def test_current_in_one_request(sim: SimulatorServer) -> None:
    check_current(sim, EXCHANGE, 1, extras=("mark_price", "index_price", "open_interest",
                                             "volume_24h"))


def test_history_every_interval(sim: SimulatorServer) -> None:
    symbols = history_contracts(sim, EXCHANGE)
    assert len(symbols) == 3
    for symbol in symbols:
        check_history(sim, EXCHANGE, symbol, days=30)


def test_history_pages_backward_at_200(sim: SimulatorServer) -> None:
    hourly = history_contracts(sim, EXCHANGE)[0]
    assert sim.universe.contract(EXCHANGE, hourly).interval_hours == 1
    assert check_history(sim, EXCHANGE, hourly, days=30, offset_hours=0.5) == 4
    assert check_history(sim, EXCHANGE, hourly, days=8) == 1


def test_history_exact_ends(sim: SimulatorServer) -> None:
    for symbol in history_contracts(sim, EXCHANGE):
        check_exact_ends(sim, EXCHANGE, symbol)


def test_history_survives_faults_and_429(caplog: pytest.LogCaptureFixture) -> None:
    # 600 requests per 5 s per IP: time_scale 2 keeps the window long enough to fill.
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, time_scale=2)) as sim:
        symbol = history_contracts(sim, EXCHANGE)[0]
        path = f"/v5/market/funding/history?category=linear&symbol={symbol}&limit=1"
        check_history_under_faults(sim, EXCHANGE, symbol, 2, days=40,
                                   hammer=("GET", path, None), caplog=caplog)
