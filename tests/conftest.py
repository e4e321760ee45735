"""Shared fixtures: every DB test runs on SQLite and on PostgreSQL; jobs run on the simulator.

PostgreSQL tests create and drop their own database on the server named by TEST_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres). The collection and history tests share
a small simulator per module and settings pointing at it (`sim`, `live_settings`, `sim_env`).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from config.settings import Settings, get_settings
from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator
from lib.storage.engine import database, normalise_url

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ENGINES = ("sqlite", "postgresql")
CONTRACTS = 120  # the small simulator, over every exchange: small enough for a fast suite


def _admin_engine() -> Engine:
    return create_engine(normalise_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped afterwards."""
    name = f"test_funding_{uuid.uuid4().hex[:12]}"
    admin = _admin_engine()
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'funding.db'}"


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL on each engine in turn (no schema yet)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'funding.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on each engine in turn, with the current schema."""
    with database(url=db_url) as eng:
        yield eng


@pytest.fixture
def cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    """Environment for running the project's CLIs as subprocesses against `db_url`."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(
        DATABASE_URL=db_url,
        RUNTIME_DIR=str(tmp_path / "run"),
        LOG_DIR=str(tmp_path / "logs"),
        DATA_DIR=str(tmp_path / "data"),
        SIMULATOR_URL="",
    )
    return env


@pytest.fixture(scope="module")
def small_sim() -> Iterator[SimulatorServer]:
    """A real simulator for one test module, fault-free unless a test turns faults on."""
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
