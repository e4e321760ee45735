"""Fixtures of the API tests: one database per engine filled from the simulator, shared by
the whole session (tests that change a row put it back), and a loopback client of an app over
it whose snapshots are fresh and cache empty at each test's start."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_helpers import (
    CONTRACTS,
    Filled,
    api_settings,
    make_client,
    module_database,
)
from fastapi.testclient import TestClient
from running_system import fill_like_a_running_system as fill
from running_system import keep_fresh

from lib.api.app import create_app
from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator


@pytest.fixture(scope="session")
def api_sim() -> Iterator[SimulatorServer]:
    """The small simulator (seed 42), for the whole session: the filled databases' source."""
    with running_simulator(SimulatorConfig(seed=42, total_contracts=CONTRACTS)) as server:
        yield server


@pytest.fixture(scope="session", params=("sqlite", "postgresql"))
def filled(request: pytest.FixtureRequest, api_sim: SimulatorServer,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[Filled]:
    """One filled database per engine, shared by every API test module (tests that change a
    row put it back)."""
    root = tmp_path_factory.mktemp(f"api-{request.param}")
    with module_database(request.param, root) as url:
        settings = api_settings(url, root, SIMULATOR_URL=api_sim.url, HTTP_READ_TIMEOUT="2",
                                HTTP_CONNECT_TIMEOUT="2")
        fill(settings)
        yield Filled(request.param, url, settings, root, api_sim)


@pytest.fixture(scope="session")
def module_client(filled: Filled) -> Iterator[TestClient]:
    """A loopback client of an app over the filled database, for the whole session."""
    app = create_app(filled.settings, static_dir=None)
    with make_client(app) as c:
        yield c


@pytest.fixture
def client(module_client: TestClient, filled: Filled) -> TestClient:
    """A loopback client of an app over the filled database (in-process cache), its snapshots
    fresh and its cache empty."""
    keep_fresh(filled.settings)
    module_client.app.state.cache.clear()  # type: ignore[attr-defined]
    return module_client
