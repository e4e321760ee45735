"""The DB layer on both engines: schema, bulk writes, SQL functions, upgrades."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, func, inspect, select, text

from lib.errors import SchemaError
from lib.storage import schema
from lib.storage.admin import check_database
from lib.storage.engine import BATCH_ROWS, insert_ignore, open_database, upsert
from lib.storage.migrations import create_version, read_version

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _hist(n: int, symbol: str = "BTCUSDT") -> list[dict[str, object]]:
    return [
        {
            "exchange": "binance",
            "symbol": symbol,
            "funding_time": T0 + timedelta(hours=8 * i),
            "funding_rate": 0.0001 * (i % 7 - 3),
            "funding_interval_hours": 8.0,
            "mark_price": 50_000.0 + i,
            "collected_at": T0,
            "source": "backfill",
        }
        for i in range(n)
    ]


def test_schema_has_every_table(engine: Engine) -> None:
    names = set(inspect(engine).get_table_names())
    assert {t.name for t in schema.metadata.sorted_tables} <= names
    with engine.connect() as conn:
        assert read_version(conn) == schema.SCHEMA_VERSION


def test_insert_ignore_skips_stored_rows(engine: Engine) -> None:
    table = schema.funding_rates_historical
    with engine.begin() as conn:
        assert insert_ignore(conn, table, _hist(50)) == 50
    with engine.begin() as conn:
        assert insert_ignore(conn, table, _hist(60)) == 10
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == 60
        first = conn.execute(select(table).order_by(table.c.funding_time).limit(1)).one()
    assert first.funding_time == T0
    assert first.funding_rate == pytest.approx(-0.0003)
    assert first.source == "backfill"


def test_insert_ignore_across_batches_from_a_generator(engine: Engine) -> None:
    """Several batches, streamed: new ones, then batches mixing stored and new keys (PostgreSQL
    switches from direct COPY to the temp-table path mid-stream), then a bad column."""
    table = schema.funding_rates_historical
    size = BATCH_ROWS * 2 + 123

    def rows(symbols: list[str]) -> Iterator[dict[str, object]]:
        for symbol in symbols:
            yield from _hist(size // 4, symbol=symbol)

    with engine.begin() as conn:
        assert insert_ignore(conn, table, rows(["A", "B"])) == 2 * (size // 4)
    with engine.begin() as conn:  # A and B stored; C and D new, in the same stream
        assert insert_ignore(conn, table, rows(["A", "C", "B", "D"])) == 2 * (size // 4)
    with engine.connect() as conn:
        by_symbol = dict(conn.execute(select(table.c.symbol, func.count()).group_by(
            table.c.symbol)).all())
    assert by_symbol == {s: size // 4 for s in "ABCD"}
    bad = ({**r, "no_such_column": 1} for r in _hist(3, symbol="E"))
    with pytest.raises(ValueError, match="no column"), engine.begin() as conn:
        insert_ignore(conn, table, bad)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(table)).scalar() == size // 4 * 4


def test_upsert_updates_latest_values(engine: Engine) -> None:
    table = schema.exchange_data
    row = {
        "exchange": "bybit", "symbol": "ETHUSDT", "funding_rate": 0.0001,
        "funding_interval_hours": 8.0, "next_funding_time": T0, "mark_price": 3000.0,
        "updated_at": T0,
    }
    with engine.begin() as conn:
        upsert(conn, table, [row])
        upsert(conn, table, [{**row, "funding_rate": -0.0002, "updated_at": T0 + timedelta(1)}])
    with engine.connect() as conn:
        rows = conn.execute(select(table)).all()
    assert len(rows) == 1
    assert rows[0].funding_rate == pytest.approx(-0.0002)
    assert rows[0].updated_at == T0 + timedelta(days=1)


def test_stddev_samp_is_the_same_sql_on_both_engines(engine: Engine) -> None:
    with engine.begin() as conn:
        insert_ignore(conn, schema.funding_rates_historical, _hist(7))
        value = conn.execute(
            text("SELECT stddev_samp(funding_rate) FROM funding_rates_historical")
        ).scalar()
    # rates are 0.0001 * (-3..3): sample std of -3..3 is sqrt(28/6)
    assert value == pytest.approx(0.0001 * (28 / 6) ** 0.5)


def test_older_schema_is_upgraded_in_place(db_url: str) -> None:
    from lib.storage.engine import create_db_engine

    old = create_db_engine(db_url)
    create_version(old, 1)
    with old.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO funding_rates_historical (exchange, symbol, funding_time, "
                "funding_rate, mark_price) VALUES ('okx', 'BTC-USDT-SWAP', :t, 0.0001, 1.5)"
            ),
            {"t": T0.isoformat() if old.dialect.name == "postgresql" else "2026-01-01 00:00:00"},
        )
        conn.execute(
            text(
                "INSERT INTO exchange_data (exchange, symbol, funding_rate, updated_at) "
                "VALUES ('okx', 'BTC-USDT-SWAP', 0.0002, :t)"
            ),
            {"t": T0.isoformat() if old.dialect.name == "postgresql" else "2026-01-01 00:00:00"},
        )
    assert "contracts" not in inspect(old).get_table_names()
    old.dispose()

    engine = open_database(db_url)
    with engine.connect() as conn:
        assert read_version(conn) == schema.SCHEMA_VERSION
        hist = conn.execute(select(schema.funding_rates_historical)).one()
        latest = conn.execute(select(schema.exchange_data)).one()
    assert (hist.exchange, hist.symbol, hist.funding_time) == ("okx", "BTC-USDT-SWAP", T0)
    assert hist.funding_rate == pytest.approx(0.0001)
    assert hist.source == "unknown"
    assert latest.funding_rate == pytest.approx(0.0002)
    assert "contracts" in inspect(engine).get_table_names()
    # and the new columns are writable
    with engine.begin() as conn:
        insert_ignore(conn, schema.funding_rates_historical, _hist(3, symbol="ETHUSDT"))
    engine.dispose()


def test_version_2_with_the_unversioned_missing_table_is_upgraded(db_url: str) -> None:
    """Version 2 databases got `funding_missing_at_exchange` on first use, outside the schema
    version; version 3 owns it. Its rows survive and it gains its index."""
    from lib.storage.engine import create_db_engine

    old = create_db_engine(db_url)
    create_version(old, 2)
    assert "funding_missing_at_exchange" not in inspect(old).get_table_names()
    with old.begin() as conn:
        conn.execute(text(
            "CREATE TABLE funding_missing_at_exchange (exchange VARCHAR(32) NOT NULL, "
            "symbol VARCHAR(64) NOT NULL, funding_time TIMESTAMP WITH TIME ZONE NOT NULL, "
            "checked_at TIMESTAMP WITH TIME ZONE NOT NULL, CONSTRAINT uq_missing_at_exchange "
            "UNIQUE (exchange, symbol, funding_time))"))
        conn.execute(text(
            "INSERT INTO funding_missing_at_exchange VALUES ('okx', 'BTC-USDT-SWAP', :t, :t)"),
            {"t": T0.isoformat() if old.dialect.name == "postgresql" else "2026-01-01 00:00:00"})
    old.dispose()

    engine = open_database(db_url)
    with engine.connect() as conn:
        assert read_version(conn) == schema.SCHEMA_VERSION >= 3
        row = conn.execute(select(schema.funding_missing_at_exchange)).one()
    assert (row.exchange, row.symbol, row.funding_time) == ("okx", "BTC-USDT-SWAP", T0)
    indexes = {ix["name"] for ix in inspect(engine).get_indexes("funding_missing_at_exchange")}
    assert "ix_funding_missing_at_exchange_funding_time" in indexes
    assert check_database(db_url).problems == []
    engine.dispose()


def test_newer_schema_is_refused_without_touching_rows(engine: Engine, db_url: str) -> None:
    with engine.begin() as conn:
        insert_ignore(conn, schema.funding_rates_historical, _hist(5))
        conn.execute(
            schema.schema_version.insert().values(version=99, applied_at=datetime.now(UTC))
        )
    engine.dispose()
    with pytest.raises(SchemaError, match="version 99 is newer"):
        open_database(db_url)
    plain = open_database(db_url, migrate=False)
    with plain.connect() as conn:
        count = conn.execute(select(func.count()).select_from(schema.funding_rates_historical))
        assert count.scalar() == 5
    plain.dispose()
