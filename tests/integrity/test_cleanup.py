"""Cleanup of funding history, on both engines, through the real script."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from history_fixtures import make_loose, numbers, row, stored_rows
from script_runs import run_cli
from sqlalchemy import Engine, text

from config.settings import load_settings
from lib.integrity.cleanup import cleanup_history
from lib.storage.engine import database, insert_ignore
from lib.storage.schema import (
    arbitrage_leg_hours,
    funding_missing_at_exchange,
    funding_rates_historical,
)
from lib.timeutils import utcnow

H = timedelta(hours=1)


# -- cleanup -----------------------------------------------------------------------------------


def _seed_cleanup(engine: Engine) -> int:
    """Valid rows plus 10 defective ones (4 bad rates, 3 out of bounds, 2 future, 1 expired);
    return the number of valid rows."""
    loose = make_loose(engine)
    now_h = utcnow().replace(minute=0, second=0, microsecond=0)
    valid = [row("binance", "BTCUSDT", now_h - k * 8 * H, 0.0001) for k in range(1, 11)]
    valid += [
        row("okx", "BTC-USDT-SWAP", now_h - 2 * H, 0.05),  # exactly the bound: allowed
        row("okx", "BTC-USDT-SWAP", now_h + 8 * H, -0.0002),  # the next settlement
        row("gate", "BTC_USDT", now_h + 7 * H, 0.0001, interval=None),  # 8 h default grace
        row("bybit", "BTCUSDT", now_h - timedelta(days=25), 0.0001),  # expired only for 20 d
    ]
    bad = [
        row("bybit", "ETHUSDT", now_h - H, None),
        row("bybit", "ETHUSDT", now_h - 2 * H, float("nan")),  # SQLite stores it as NULL
        row("bybit", "ETHUSDT", now_h - 3 * H, float("inf")),
        row("bybit", "ETHUSDT", now_h - 4 * H, float("-inf")),
        row("kucoin", "XBTUSDTM", now_h - H, 0.06),
        row("kucoin", "XBTUSDTM", now_h - 2 * H, -0.5),
        row("kucoin", "XBTUSDTM", now_h - timedelta(days=40), 0.2),  # bad rate wins over age
        row("dydx", "BTC-USD", now_h + 9 * H, 0.0001),  # beyond now + its 8 h interval
        row("dydx", "ETH-USD", now_h + 2 * H, 0.0001, interval=1.0),  # beyond now + 1 h
        row("binance", "BTCUSDT", now_h - timedelta(days=31), 0.0001),
    ]
    spread = {"ts": now_h - timedelta(days=100), "leg_id": 1, "rate_8h": 0.2}
    absent = [{"exchange": "bitget", "symbol": "XUSDT", "funding_time": now_h - age,
               "checked_at": now_h} for age in (timedelta(days=45), timedelta(days=31),
                                               timedelta(days=25), H)]
    with engine.begin() as conn:
        assert insert_ignore(conn, loose, valid + bad) == len(valid) + len(bad)
        insert_ignore(conn, arbitrage_leg_hours, [spread])
        insert_ignore(conn, funding_missing_at_exchange, absent)
    return len(valid)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_cleanup_dry_run_then_real(engine: Engine, cli_env: dict[str, str]) -> None:
    n_valid = _seed_cleanup(engine)
    before = stored_rows(engine)

    dry = run_cli(["scripts/cleanup_historical_data.py", "--dry-run"], cli_env)
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == (
        "cleanup of funding_rates_historical (dry run: nothing deleted)"
    )
    assert numbers(dry.stdout, "null or non-finite rate") == "4"
    assert numbers(dry.stdout, "|rate| above MAX_ABS_FUNDING_RATE") == "3"
    assert numbers(dry.stdout, "funding time in the future") == "2"
    assert numbers(dry.stdout, "older than 30 days") == "1"
    assert numbers(dry.stdout, "total invalid") == "10"
    assert numbers(dry.stdout, "deleted") == "0"
    assert numbers(dry.stdout, "missing-at-exchange records older than 30 days (would delete)") \
        == "2"
    assert stored_rows(engine) == before
    assert _count(engine, "funding_missing_at_exchange") == 4

    real = run_cli(["scripts/cleanup_historical_data.py"], cli_env)
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[0] == "cleanup of funding_rates_historical"
    assert numbers(real.stdout, "total invalid") == "10"
    assert numbers(real.stdout, "deleted") == "10"
    assert re.search(r"^database size\s+[\d.]+ [KMG]?B\s+[\d.]+ [KMG]?B$", real.stdout, re.M)
    assert _count(engine, "funding_rates_historical") == n_valid
    assert _count(engine, "arbitrage_leg_hours") == 1  # spreads are kept indefinitely
    assert numbers(real.stdout, "missing-at-exchange records older than 30 days (deleted)") == "2"
    assert _count(engine, "funding_missing_at_exchange") == 2

    again = run_cli(["scripts/cleanup_historical_data.py", "--days", "20"], cli_env)
    assert again.returncode == 0, again.stderr
    assert numbers(again.stdout, "older than 20 days") == "1"
    assert numbers(again.stdout, "deleted") == "1"
    assert _count(engine, "funding_rates_historical") == n_valid - 1
    assert numbers(again.stdout, "missing-at-exchange records older than 20 days (deleted)") == "1"
    assert _count(engine, "funding_missing_at_exchange") == 1


def test_cleanup_shrinks_sqlite_file(sqlite_url: str, tmp_path: Path) -> None:
    """VACUUM gives the space back: the reported size drops after deleting most rows."""
    with database(url=sqlite_url) as engine:
        old = utcnow() - timedelta(days=60)
        rows = [row("binance", f"C{i}USDT", old + k * 8 * H, 0.0001)
                for i in range(50) for k in range(60)]
        with engine.begin() as conn:
            insert_ignore(conn, funding_rates_historical, rows)
        report = cleanup_history(engine)
    # every row is 40-60 days old
    assert report.found == {"invalid_rate": 0, "out_of_bounds": 0, "future": 0, "expired": 3000}
    assert report.deleted == 3000
    assert report.size_after < report.size_before


@pytest.mark.parametrize("args", [["--days", "0"], ["--days", "x"]])
def test_cleanup_bad_days_is_one_line(sqlite_url: str, tmp_path: Path, args: list[str]) -> None:
    env = {"DATABASE_URL": sqlite_url, "RUNTIME_DIR": str(tmp_path), "LOG_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    result = run_cli(["scripts/cleanup_historical_data.py", *args], env)
    assert result.returncode == 2
    assert result.stderr == (
        f"cleanup_historical_data.py: error: argument --days: {args[1]!r} must be a whole number "
        f"from 1 to 3650 days (see cleanup_historical_data.py --help)\n"
    )


def test_cleanup_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x", "RUNTIME_DIR": str(tmp_path),
           "LOG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = run_cli(["scripts/cleanup_historical_data.py", "--dry-run"], env)
    assert result.returncode == 2
    assert result.stderr == (
        "cleanup_historical_data.py: error: cannot connect to PostgreSQL at 127.0.0.1:1/x: "
        "connection refused (is it running?)\n"
    )




def test_cleanup_bound_and_retention_come_from_the_settings_passed_in(
    engine: Engine, tmp_path: Path
) -> None:
    """The settings given govern the bound and the window, not the process-wide ones."""
    now_h = utcnow().replace(minute=0, second=0, microsecond=0)
    rows = [
        row("okx", "BTC-USDT-SWAP", now_h - H, 0.02),  # above a 1 % bound
        row("okx", "BTC-USDT-SWAP", now_h - 2 * H, 0.005),
        row("okx", "BTC-USDT-SWAP", now_h - timedelta(days=3), 0.0001),  # over 2 days
    ]
    with engine.begin() as conn:
        insert_ignore(conn, funding_rates_historical, rows)
    settings = load_settings({"MAX_ABS_FUNDING_RATE": "0.01", "HISTORICAL_DAYS": "2"},
                             env_file=tmp_path / "none.env")
    report = cleanup_history(engine, dry_run=True, settings=settings)
    assert report.days == 2
    assert report.found == {"invalid_rate": 0, "out_of_bounds": 1, "future": 0, "expired": 1}
