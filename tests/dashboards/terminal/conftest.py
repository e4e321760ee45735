"""Fixtures for the terminal dashboard: a simulator and a database filled from it once per
module (see tui_helpers)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from tui_helpers import Filled, fill, make_settings

from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator


@pytest.fixture(scope="module")
def dash_sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=120)) as server:
        yield server


@pytest.fixture(scope="module")
def filled(dash_sim: SimulatorServer, tmp_path_factory: pytest.TempPathFactory) -> Filled:
    """A SQLite database filled once per module (tests must not change it)."""
    root = tmp_path_factory.mktemp("filled")
    settings = make_settings(root, f"sqlite:///{root / 'data' / 'funding.db'}", dash_sim.url)
    return Filled(settings, dash_sim, fill(settings))


