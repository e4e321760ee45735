"""Helpers of the API tests: settings for an app, a database filled as a running system
fills it (a short backfill and one live collection cycle against the real simulator, which
also writes `.collection_metrics.json`, then the spread series, its statistics and the
z-scores), and a TestClient with a chosen client address."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from config.settings import Settings, load_settings
from lib.simulator import SimulatorServer
from lib.storage.engine import normalise_url

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
CONTRACTS = 120  # as tests/conftest.py's small simulator
LOOPBACK = ("127.0.0.1", 50000)


def api_settings(url: str, root: Path, **extra: str) -> Settings:
    """Settings for an app over `url` with its own runtime folders (no .env, no environment)."""
    environ = {"DATABASE_URL": url, "RUNTIME_DIR": str(root / "run"),
               "LOG_DIR": str(root / "logs"), "DATA_DIR": str(root / "data"), **extra}
    return load_settings(environ=environ, env_file=root / "no.env")



@contextmanager
def module_database(kind: str, root: Path) -> Iterator[str]:
    """An empty database URL on `kind`, dropped afterwards (PostgreSQL)."""
    if kind == "sqlite":
        yield f"sqlite:///{root / 'data' / 'funding.db'}"
        return
    name = f"test_api_{uuid.uuid4().hex[:12]}"
    admin = create_engine(normalise_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(TEST_DATABASE_URL).set(database=name).render_as_string(
            hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Filled:
    """A filled database and the settings that point at it."""

    kind: str
    url: str
    settings: Settings
    root: Path
    sim: SimulatorServer

def make_client(app: FastAPI, client: tuple[str, int] = LOOPBACK) -> TestClient:
    return TestClient(app, client=client, raise_server_exceptions=False)
