"""Binance adapter against the simulator: contracts, snapshot, history pages, faults, 429."""

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

EXCHANGE = "binance"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300)) as server:
        yield server


def test_contracts_with_funding_info(sim: SimulatorServer) -> None:
    # exchangeInfo + fundingInfo
    check_contracts(sim, EXCHANGE, requests_needed=2, intervals={1.0, 4.0, 8.0})


def test_current_in_two_requests(sim: SimulatorServer) -> None:
    check_current(sim, EXCHANGE, 2, extras=("mark_price", "index_price"))


def test_history_every_interval(sim: SimulatorServer) -> None:
    symbols = history_contracts(sim, EXCHANGE)
    assert len(symbols) == 3
    for symbol in symbols:
        check_history(sim, EXCHANGE, symbol, days=30)


def test_history_pages_forward_at_1000(sim: SimulatorServer) -> None:
    hourly = history_contracts(sim, EXCHANGE)[0]
    assert sim.universe.contract(EXCHANGE, hourly).interval_hours == 1
    assert check_history(sim, EXCHANGE, hourly, days=85, offset_hours=0.5) == 3
    assert check_history(sim, EXCHANGE, hourly, days=20) == 1


def test_history_exact_ends(sim: SimulatorServer) -> None:
    for symbol in history_contracts(sim, EXCHANGE):
        check_exact_ends(sim, EXCHANGE, symbol)


def test_history_survives_faults_and_a_429(caplog: pytest.LogCaptureFixture) -> None:
    """fundingRate shares 500 requests per 5 min: with that window full, the first page gets
    a 429 and waits its Retry-After (sending during it would earn a 418 ban); 5xx, truncated
    JSON and read timeouts are retried."""
    scale = 60
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, time_scale=scale)) as sim:
        symbol = history_contracts(sim, EXCHANGE)[0]
        keys, answers = check_history_under_faults(sim, EXCHANGE, symbol, scale, days=60,
                                                   hammer=None, caplog=caplog)
    assert "binance:funding" in keys
    assert not any('" 418 ' in m for m in answers)
