"""dydx adapter against the simulator: contracts, snapshot, history pages, faults."""

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

EXCHANGE = "dydx"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300)) as server:
        yield server


def test_contracts(sim: SimulatorServer) -> None:
    check_contracts(sim, EXCHANGE, decoys=False)  # the simulator lists no dYdX decoys


def test_current_in_one_request(sim: SimulatorServer) -> None:
    check_current(sim, EXCHANGE, extras=("open_interest",))


def test_history_every_interval(sim: SimulatorServer) -> None:
    symbols = history_contracts(sim, EXCHANGE)
    assert symbols and all(sim.universe.contract(EXCHANGE, s).interval_hours == 1
                           for s in symbols)  # hourly venue
    assert check_history(sim, EXCHANGE, symbols[0], days=10) == 1


def test_history_pages_backward_at_1000(sim: SimulatorServer) -> None:
    hourly = history_contracts(sim, EXCHANGE)
    # 85 days hourly = 2040 rows = 3 pages of 1000, backward by effectiveBeforeOrAt
    assert check_history(sim, EXCHANGE, hourly[0], days=85, offset_hours=0.5) == 3


def test_history_exact_ends(sim: SimulatorServer) -> None:
    for symbol in history_contracts(sim, EXCHANGE):
        check_exact_ends(sim, EXCHANGE, symbol)


def test_history_survives_faults_and_429(caplog: pytest.LogCaptureFixture) -> None:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, time_scale=10)) as sim:
        symbol = history_contracts(sim, EXCHANGE)[0]
        check_history_under_faults(sim, EXCHANGE, symbol, 10, days=60,
                                   hammer=("GET", "/v4/time", None), caplog=caplog)
