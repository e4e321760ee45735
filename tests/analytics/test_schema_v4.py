"""Schema version 4 upgrades a version 3 database in place: every row is kept."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import MetaData, inspect, select, text

from lib.storage import schema
from lib.storage.admin import check_database
from lib.storage.engine import create_db_engine, open_database
from lib.storage.migrations import create_version, read_version

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_version_3_spreads_statistics_and_snapshots_survive_the_upgrade(db_url: str) -> None:
    old = create_db_engine(db_url)
    create_version(old, 3)
    legacy = schema.legacy_arbitrage_spreads(MetaData())
    v3 = schema.funding_statistics
    with old.begin() as conn:
        conn.execute(legacy.insert(), [
            {"ts": T0, "base": "BTC", "exchange_a": "binance", "symbol_a": "BTCUSDT",
             "exchange_b": "okx", "symbol_b": "BTC-USDT-SWAP", "rate_8h_a": 0.0001,
             "rate_8h_b": -0.0002, "short_exchange": "binance", "spread_8h": 0.0003,
             "spread_apr": 0.3285},
            {"ts": T0, "base": "BTC", "exchange_a": "hyperliquid", "symbol_a": "BTC",
             "exchange_b": "binance", "symbol_b": "BTCUSDT", "rate_8h_a": 0.0004,
             "rate_8h_b": 0.0001, "short_exchange": "hyperliquid", "spread_8h": 0.0003,
             "spread_apr": 0.3285},
        ])
        conn.execute(text(
            "INSERT INTO funding_statistics (exchange, symbol, window_days, n, mean_8h, "
            "calculated_at) VALUES ('okx', 'BTC-USDT-SWAP', 30, 5, 0.0002, :t)"),
            {"t": T0.isoformat() if old.dialect.name == "postgresql" else "2026-01-01 00:00:00"})
        conn.execute(text(
            "INSERT INTO exchange_data (exchange, symbol, funding_rate, updated_at) "
            "VALUES ('okx', 'BTC-USDT-SWAP', 0.0002, :t)"),
            {"t": T0.isoformat() if old.dialect.name == "postgresql" else "2026-01-01 00:00:00"})
    assert "exchange_a" in {c["name"] for c in inspect(old).get_columns("arbitrage_spreads")}
    old.dispose()

    engine = open_database(db_url)
    with engine.connect() as conn:
        assert read_version(conn) == schema.SCHEMA_VERSION == 4
        got = conn.execute(text(
            "SELECT exchange_a, symbol_a, exchange_b, symbol_b, rate_8h_a, rate_8h_b, spread_8h "
            "FROM arbitrage_spreads ORDER BY exchange_a, exchange_b")).all()
        stat = conn.execute(select(v3)).one()
        snap = conn.execute(select(schema.exchange_data)).one()
    # legs ordered by exchange name: the hyperliquid/binance row becomes binance/hyperliquid
    assert [tuple(r[:4]) for r in got] == [("binance", "BTCUSDT", "hyperliquid", "BTC"),
                                           ("binance", "BTCUSDT", "okx", "BTC-USDT-SWAP")]
    assert [r[6] for r in got] == [pytest.approx(-0.0003, abs=1e-9),
                                   pytest.approx(0.0003, abs=1e-9)]
    assert (stat.n, stat.mean_8h, stat.expected_n, stat.confidence) == (5, 0.0002, None, None)
    assert (snap.funding_rate, snap.predicted_rate, snap.open_interest_unit) == (0.0002, None, None)
    tables = set(inspect(engine).get_table_names())
    assert "arbitrage_spreads_v3" not in tables and "arbitrage_spreads" not in tables
    assert inspect(engine).get_view_names() == ["arbitrage_spreads"]
    assert check_database(db_url).problems == []
    engine.dispose()
