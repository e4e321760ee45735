"""Gate adapter against the simulator: contracts, snapshot, history pages, faults."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

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

EXCHANGE = "gate"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300)) as server:
        yield server


def test_contracts(sim: SimulatorServer) -> None:
    check_contracts(sim, EXCHANGE, listed_unit=timedelta(seconds=1))  # Gate lists in s


def test_current_in_one_request(sim: SimulatorServer) -> None:
    check_current(sim, EXCHANGE, extras=("open_interest",))


def test_history_every_interval(sim: SimulatorServer) -> None:
    symbols = history_contracts(sim, EXCHANGE)
    assert len(symbols) >= 2
    for symbol in symbols:
        check_history(sim, EXCHANGE, symbol, days=30)


def test_history_pages_backward_at_1000(sim: SimulatorServer) -> None:
    hourly = [s for s in history_contracts(sim, EXCHANGE)
              if sim.universe.contract(EXCHANGE, s).interval_hours == 1]
    assert hourly
    assert check_history(sim, EXCHANGE, hourly[0], days=85, offset_hours=0.5) == 3


def test_history_exact_ends(sim: SimulatorServer) -> None:
    for symbol in history_contracts(sim, EXCHANGE):
        check_exact_ends(sim, EXCHANGE, symbol)


def test_history_survives_faults_and_429(caplog: pytest.LogCaptureFixture) -> None:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, time_scale=10)) as sim:
        symbol = next(s for s in history_contracts(sim, EXCHANGE)
                      if sim.universe.contract(EXCHANGE, s).interval_hours == 1)
        path = f"/api/v4/futures/usdt/funding_rate?contract={symbol}&limit=1"
        check_history_under_faults(sim, EXCHANGE, symbol, 10, days=60, hammer=("GET", path, None),
                                   caplog=caplog)
