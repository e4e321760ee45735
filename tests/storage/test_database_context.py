"""Opening and disposing of a database, and database errors as one line, on both engines."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from config.settings import load_settings
from lib.errors import DatabaseError
from lib.storage.engine import database, describe_url, normalise_url, translated_errors


def _server_connections(db_url: str) -> int:
    """Sessions of the project (its application_name) open on the test database now."""
    probe = create_engine(normalise_url(db_url), poolclass=NullPool)
    try:
        with probe.connect() as conn:
            return int(conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = :db "
                "AND application_name = 'funding-arb'"
            ), {"db": make_url(db_url).database}).scalar_one())
    finally:
        probe.dispose()


def test_database_opens_with_schema_and_disposes_on_exit(db_url: str) -> None:
    with database(url=db_url) as engine:
        with engine.connect() as conn:
            assert "funding_rates_historical" in inspect(conn).get_table_names()
        if engine.dialect.name == "postgresql":
            assert _server_connections(db_url) >= 1  # the pool keeps its connection
    if engine.dialect.name == "postgresql":
        assert _server_connections(db_url) == 0  # disposed: no session left behind


def test_database_is_disposed_when_the_block_fails(db_url: str) -> None:
    with pytest.raises(RuntimeError, match="the job failed"), database(url=db_url) as engine:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        raise RuntimeError("the job failed")
    if engine.dialect.name == "postgresql":
        assert _server_connections(db_url) == 0


def test_database_opens_the_database_of_the_settings_given(tmp_path: Path) -> None:
    path = tmp_path / "own" / "funding.db"
    settings = load_settings({"DATABASE_URL": f"sqlite:///{path}"}, env_file=tmp_path / "no.env")
    with database(settings) as engine:
        assert make_url(str(engine.url)).database == str(path)
    assert path.is_file()


def test_translated_errors_give_one_line_naming_the_database(db_url: str) -> None:
    with database(url=db_url) as engine:
        with pytest.raises(DatabaseError) as caught, translated_errors(engine), \
                engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))
        assert str(caught.value).startswith(f"{describe_url(db_url)}: ")
        assert "no_such_table" in str(caught.value) and "\n" not in str(caught.value)
        assert isinstance(caught.value.__cause__, sa_exc.SQLAlchemyError)


def test_translated_errors_take_raw_sqlite_errors_too(sqlite_url: str) -> None:
    with pytest.raises(DatabaseError, match="no such table: nowhere") as caught, \
            translated_errors(sqlite_url):
        sqlite3.connect(":memory:").execute("SELECT * FROM nowhere")
    assert isinstance(caught.value.__cause__, sqlite3.OperationalError)


def test_other_errors_pass_through_untouched(sqlite_url: str) -> None:
    with pytest.raises(KeyError), translated_errors(sqlite_url):
        raise KeyError("not the database's")
