"""OKX adapter against the simulator: contracts, snapshot, history pages, faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from simulator_checks import (
    check_contracts,
    check_current,
    check_exact_ends,
    check_history,
    check_history_under_faults,
    history_contracts,
)

from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer

EXCHANGE = "okx"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300)) as server:
        yield server


def test_contracts_with_intervals_from_funding_rate(sim: SimulatorServer) -> None:
    # instruments + funding-rate ANY
    check_contracts(sim, EXCHANGE, requests_needed=2, intervals={1.0, 4.0, 8.0})


def test_current_with_mark_price_and_open_interest(sim: SimulatorServer) -> None:
    check_current(sim, EXCHANGE, 3, extras=("mark_price", "open_interest"))


def test_history_every_interval(sim: SimulatorServer) -> None:
    symbols = history_contracts(sim, EXCHANGE)
    assert len(symbols) == 3
    for symbol in symbols:
        check_history(sim, EXCHANGE, symbol, days=30)


def test_history_pages_backward_at_400_with_realized_rates(sim: SimulatorServer) -> None:
    hourly = history_contracts(sim, EXCHANGE)[0]
    assert sim.universe.contract(EXCHANGE, hourly).interval_hours == 1
    assert check_history(sim, EXCHANGE, hourly, days=35, offset_hours=0.5) == 3
    assert check_history(sim, EXCHANGE, hourly, days=16) == 1


def test_history_exact_ends(sim: SimulatorServer) -> None:
    for symbol in history_contracts(sim, EXCHANGE):
        check_exact_ends(sim, EXCHANGE, symbol)


def test_history_survives_faults_and_429(caplog: pytest.LogCaptureFixture) -> None:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, time_scale=10)) as sim:
        symbol = history_contracts(sim, EXCHANGE)[0]
        path = f"/api/v5/public/funding-rate-history?instId={symbol}&limit=1"
        check_history_under_faults(sim, EXCHANGE, symbol, 10, days=60,
                                   hammer=("GET", path, None), caplog=caplog)
