"""Fixtures for the collection tests: a small simulator, settings pointing at it, helpers."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.settings import Settings, get_settings
from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator

CONTRACTS = 120  # over all eight exchanges: small enough for a fast suite


@pytest.fixture(scope="module")
def small_sim() -> Iterator[SimulatorServer]:
    """A real simulator for this module's tests, fault-free unless a test turns faults on."""
    with running_simulator(SimulatorConfig(seed=42, total_contracts=CONTRACTS)) as server:
        yield server


@pytest.fixture
def sim(small_sim: SimulatorServer) -> Iterator[SimulatorServer]:
    small_sim.set_faults(None)
    small_sim.reset_rate_limits()
    small_sim.reset_counts()
    yield small_sim
    small_sim.set_faults(None)
    small_sim.reset_rate_limits()


@pytest.fixture
def live_settings(sim: SimulatorServer, db_url: str, tmp_path: Path,
                  monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Process settings for in-process runs: the simulator, this test's DB and runtime dir."""
    for key in list(os.environ):
        if key.endswith("_BASE_URL"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("SIMULATOR_URL", sim.url)
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("RUNTIME_DIR", str(tmp_path / "run"))
    monkeypatch.setenv("HTTP_READ_TIMEOUT", "1")
    monkeypatch.setenv("HTTP_CONNECT_TIMEOUT", "1")
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


@pytest.fixture
def sim_env(cli_env: dict[str, str], sim: SimulatorServer) -> dict[str, str]:
    """Environment for CLI subprocesses against the simulator."""
    return {**cli_env, "SIMULATOR_URL": sim.url, "HTTP_READ_TIMEOUT": "1",
            "HTTP_CONNECT_TIMEOUT": "1"}
