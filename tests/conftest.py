"""Shared fixtures: every DB test runs on SQLite and on PostgreSQL.

PostgreSQL tests create and drop their own database on the server named by TEST_DATABASE_URL
(default postgresql://postgres@127.0.0.1:5432/postgres).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from lib.storage.engine import normalise_url, open_database

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ENGINES = ("sqlite", "postgresql")


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
    eng = open_database(db_url)
    try:
        yield eng
    finally:
        eng.dispose()


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
