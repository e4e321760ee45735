"""Fixtures: one simulator per test session (real server, free port), fault-free by default."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator


@pytest.fixture(scope="session")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=42)) as server:
        yield server


@pytest.fixture
def clean_sim(sim: SimulatorServer) -> Iterator[SimulatorServer]:
    """The shared simulator with no faults and fresh rate-limit windows, restored afterwards."""
    sim.set_faults(None)
    sim.reset_rate_limits()
    yield sim
    sim.set_faults(None)
    sim.reset_rate_limits()
