"""Cleanup and de-duplication of funding history, on both engines, through the real scripts."""

from __future__ import annotations

import math
import re
import subprocess
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, MetaData, select, text
from sqlalchemy import exc as sa_exc

from lib.integrity.repairs import fix_duplicates, has_unique_key, loose_history_table
from lib.storage.engine import insert_ignore, open_database, upsert
from lib.storage.schema import (
    arbitrage_spreads,
    funding_missing_at_exchange,
    funding_rates_historical,
)
from lib.timeutils import normalise_settlement, utcnow

ROOT = Path(__file__).resolve().parent.parent
H = timedelta(hours=1)


def _run(script: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, f"scripts/{script}", *args],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )


def _make_loose(engine: Engine) -> Any:
    """Replace the history table with one like old versions and imports had (no key)."""
    loose = loose_history_table(MetaData())
    with engine.begin() as conn:
        funding_rates_historical.drop(conn)
        loose.create(conn)
    return loose


def _row(exchange: str, symbol: str, when: datetime, rate: float | None,
         interval: float | None = 8.0, collected: datetime | None = None) -> dict[str, Any]:
    return {"exchange": exchange, "symbol": symbol, "funding_time": when, "funding_rate": rate,
            "mark_price": None, "funding_interval_hours": interval, "collected_at": collected,
            "source": "backfill"}


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    t = funding_rates_historical
    with engine.connect() as conn:
        return sorted(
            ((*r[:3], "nan" if r[3] is not None and math.isnan(r[3]) else r[3])
             for r in conn.execute(
                select(t.c.exchange, t.c.symbol, t.c.funding_time, t.c.funding_rate)
            )),
            key=repr,
        )


def _line(stdout: str, label: str) -> str:
    """The numbers on the table line that starts with `label`."""
    for line in stdout.splitlines():
        if line.startswith(label):
            return re.sub(r"\s+", " ", line[len(label):]).strip()
    raise AssertionError(f"no line {label!r} in:\n{stdout}")


# -- cleanup -----------------------------------------------------------------------------------


def _seed_cleanup(engine: Engine) -> int:
    """Valid rows plus 10 defective ones (4 bad rates, 3 out of bounds, 2 future, 1 expired);
    return the number of valid rows."""
    loose = _make_loose(engine)
    now_h = utcnow().replace(minute=0, second=0, microsecond=0)
    valid = [_row("binance", "BTCUSDT", now_h - k * 8 * H, 0.0001) for k in range(1, 11)]
    valid += [
        _row("okx", "BTC-USDT-SWAP", now_h - 2 * H, 0.05),  # exactly the bound: allowed
        _row("okx", "BTC-USDT-SWAP", now_h + 8 * H, -0.0002),  # the next settlement
        _row("gate", "BTC_USDT", now_h + 7 * H, 0.0001, interval=None),  # 8 h default grace
        _row("bybit", "BTCUSDT", now_h - timedelta(days=25), 0.0001),  # expired only for 20 d
    ]
    bad = [
        _row("bybit", "ETHUSDT", now_h - H, None),
        _row("bybit", "ETHUSDT", now_h - 2 * H, float("nan")),  # SQLite stores it as NULL
        _row("bybit", "ETHUSDT", now_h - 3 * H, float("inf")),
        _row("bybit", "ETHUSDT", now_h - 4 * H, float("-inf")),
        _row("kucoin", "XBTUSDTM", now_h - H, 0.06),
        _row("kucoin", "XBTUSDTM", now_h - 2 * H, -0.5),
        _row("kucoin", "XBTUSDTM", now_h - timedelta(days=40), 0.2),  # bad rate wins over age
        _row("dydx", "BTC-USD", now_h + 9 * H, 0.0001),  # beyond now + its 8 h interval
        _row("dydx", "ETH-USD", now_h + 2 * H, 0.0001, interval=1.0),  # beyond now + 1 h
        _row("binance", "BTCUSDT", now_h - timedelta(days=31), 0.0001),
    ]
    spread = {"ts": now_h - timedelta(days=100), "base": "BTC", "exchange_a": "binance",
              "symbol_a": "BTCUSDT", "exchange_b": "okx", "symbol_b": "BTC-USDT-SWAP",
              "rate_8h_a": 0.0001, "rate_8h_b": 0.2, "short_exchange": "okx",
              "spread_8h": 0.1999, "spread_apr": 218.9}
    absent = [{"exchange": "bitget", "symbol": "XUSDT", "funding_time": now_h - age,
               "checked_at": now_h} for age in (timedelta(days=45), timedelta(days=31),
                                               timedelta(days=25), H)]
    with engine.begin() as conn:
        assert insert_ignore(conn, loose, valid + bad) == len(valid) + len(bad)
        insert_ignore(conn, arbitrage_spreads, [spread])
        insert_ignore(conn, funding_missing_at_exchange, absent)
    return len(valid)


def _count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return int(conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_cleanup_dry_run_then_real(engine: Engine, cli_env: dict[str, str]) -> None:
    n_valid = _seed_cleanup(engine)
    before = _rows(engine)

    dry = _run("cleanup_historical_data.py", cli_env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines()[0] == (
        "cleanup of funding_rates_historical (dry run: nothing deleted)"
    )
    assert _line(dry.stdout, "null or non-finite rate") == "4"
    assert _line(dry.stdout, "|rate| above MAX_ABS_FUNDING_RATE") == "3"
    assert _line(dry.stdout, "funding time in the future") == "2"
    assert _line(dry.stdout, "older than 30 days") == "1"
    assert _line(dry.stdout, "total invalid") == "10"
    assert _line(dry.stdout, "deleted") == "0"
    assert _line(dry.stdout, "missing-at-exchange records older than 30 days (would delete)") \
        == "2"
    assert _rows(engine) == before
    assert _count(engine, "funding_missing_at_exchange") == 4

    real = _run("cleanup_historical_data.py", cli_env)
    assert real.returncode == 0, real.stderr
    assert real.stdout.splitlines()[0] == "cleanup of funding_rates_historical"
    assert _line(real.stdout, "total invalid") == "10"
    assert _line(real.stdout, "deleted") == "10"
    assert re.search(r"^database size\s+[\d.]+ [KMG]?B\s+[\d.]+ [KMG]?B$", real.stdout, re.M)
    assert _count(engine, "funding_rates_historical") == n_valid
    assert _count(engine, "arbitrage_spreads") == 1  # spreads are kept indefinitely
    assert _line(real.stdout, "missing-at-exchange records older than 30 days (deleted)") == "2"
    assert _count(engine, "funding_missing_at_exchange") == 2

    again = _run("cleanup_historical_data.py", cli_env, "--days", "20")
    assert again.returncode == 0, again.stderr
    assert _line(again.stdout, "older than 20 days") == "1"
    assert _line(again.stdout, "deleted") == "1"
    assert _count(engine, "funding_rates_historical") == n_valid - 1
    assert _line(again.stdout, "missing-at-exchange records older than 20 days (deleted)") == "1"
    assert _count(engine, "funding_missing_at_exchange") == 1


def test_cleanup_shrinks_sqlite_file(sqlite_url: str, tmp_path: Path) -> None:
    """VACUUM gives the space back: the reported size drops after deleting most rows."""
    from lib.integrity.repairs import cleanup_history

    engine = open_database(sqlite_url)
    old = utcnow() - timedelta(days=60)
    rows = [_row("binance", f"C{i}USDT", old + k * 8 * H, 0.0001)
            for i in range(50) for k in range(60)]
    with engine.begin() as conn:
        insert_ignore(conn, funding_rates_historical, rows)
    report = cleanup_history(engine)
    engine.dispose()
    # every row is 40-60 days old
    assert report.found == {"invalid_rate": 0, "out_of_bounds": 0, "future": 0, "expired": 3000}
    assert report.deleted == 3000
    assert report.size_after < report.size_before


@pytest.mark.parametrize("args", [["--days", "0"], ["--days", "x"]])
def test_cleanup_bad_days_is_one_line(sqlite_url: str, tmp_path: Path, args: list[str]) -> None:
    env = {"DATABASE_URL": sqlite_url, "RUNTIME_DIR": str(tmp_path), "LOG_DIR": str(tmp_path),
           "PATH": "/usr/bin:/bin"}
    result = _run("cleanup_historical_data.py", env, *args)
    assert result.returncode == 2
    assert result.stderr == (
        f"cleanup_historical_data.py: error: argument --days: {args[1]!r} must be a whole number "
        f"from 1 to 3650 days (see cleanup_historical_data.py --help)\n"
    )


def test_cleanup_unreachable_database_is_one_line(tmp_path: Path) -> None:
    env = {"DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x", "RUNTIME_DIR": str(tmp_path),
           "LOG_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"}
    result = _run("cleanup_historical_data.py", env, "--dry-run")
    assert result.returncode == 2
    assert result.stderr == (
        "cleanup_historical_data.py: error: cannot connect to PostgreSQL at 127.0.0.1:1/x: "
        "connection refused (is it running?)\n"
    )


# -- duplicates --------------------------------------------------------------------------------

T = datetime(2026, 3, 1, 8, tzinfo=UTC)
C0, C1, C2 = (T + timedelta(minutes=m) for m in (1, 2, 3))
MS = timedelta(milliseconds=1)


def _seed_duplicates(engine: Engine) -> Any:
    loose = _make_loose(engine)
    rows = [
        # binance BTCUSDT: one settlement three times (jitter, case); latest collected wins
        _row("binance", "BTCUSDT", T, 0.0001, collected=C1),
        _row("binance", "BTCUSDT", T + 1500 * MS, 0.0003, collected=C2),
        _row("binance", "btcusdt", T - 200 * MS, 0.0002, collected=C0),
        # exact duplicates, no collected_at: the later physical row wins
        _row("binance", "ETHUSDT", T, 0.0005),
        _row("binance", "ETHUSDT", T, 0.0006),
        # Hyperliquid keeps its lower-case k
        _row("hyperliquid", "kPEPE", T, 0.0007, interval=1.0, collected=C1),
        _row("hyperliquid", "kpepe", T + 300 * MS, 0.0008, interval=1.0, collected=C2),
        _row("hyperliquid", "BTC", T, 0.0009, interval=1.0, collected=C2),
        _row("hyperliquid", "btc", T + 2000 * MS, 0.0010, interval=1.0, collected=C1),
        # alone but jittered: rewritten, not removed
        _row("okx", "BTC-USDT-SWAP", T + 3000 * MS, 0.0011),
        # clean rows
        _row("binance", "SOLUSDT", T, 0.0012),
        _row("binance", "SOLUSDT", T + 8 * H, 0.0013),
    ]
    with engine.begin() as conn:
        assert insert_ignore(conn, loose, rows) == len(rows)
    return loose


DEDUPED = [
    ("binance", "BTCUSDT", T, 0.0003),
    ("binance", "ETHUSDT", T, 0.0006),
    ("binance", "SOLUSDT", T, 0.0012),
    ("binance", "SOLUSDT", T + 8 * H, 0.0013),
    ("hyperliquid", "BTC", T, 0.0009),
    ("hyperliquid", "kPEPE", T, 0.0008),
    ("okx", "BTC-USDT-SWAP", T, 0.0011),
]


def test_fix_duplicates_dry_run_then_real(engine: Engine, cli_env: dict[str, str]) -> None:
    _seed_duplicates(engine)
    before = _rows(engine)

    dry = _run("fix_duplicate_funding_data.py", cli_env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == "duplicates in funding_rates_historical (dry run: nothing changed)"
    assert _line(dry.stdout, "binance") == "2 3 2 1"
    assert _line(dry.stdout, "hyperliquid") == "2 2 2 1"
    assert _line(dry.stdout, "okx") == "0 0 0 1"
    assert _line(dry.stdout, "total") == "4 5 4 3"
    assert lines[-2:] == [
        "rows removed: 0, rows normalised: 0",
        "unique key (exchange, symbol, funding_time): missing (would be restored)",
    ]
    assert _rows(engine) == before
    with engine.connect() as conn:
        assert not has_unique_key(conn)

    check = subprocess.run([sys.executable, "database_tools.py", "check"], cwd=ROOT, env=cli_env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode != 0 and "funding_time) is missing" in check.stderr, check.stderr

    real = _run("fix_duplicate_funding_data.py", cli_env)
    assert real.returncode == 0, real.stderr
    form = ("UNIQUE INDEX" if engine.dialect.name == "sqlite" else "UNIQUE constraint")
    assert real.stdout.splitlines()[0] == "duplicates in funding_rates_historical"
    assert _line(real.stdout, "total") == "4 5 4 3"
    assert real.stdout.splitlines()[-2:] == [
        "rows removed: 5, rows normalised: 3",
        "unique key (exchange, symbol, funding_time): was missing, restored as "
        f"{form} uq_funding_rates_historical_exchange_symbol_funding_time",
    ]
    assert _rows(engine) == sorted(DEDUPED, key=repr)
    # the form we restore (a UNIQUE INDEX on SQLite) satisfies the schema check
    check = subprocess.run([sys.executable, "database_tools.py", "check"], cwd=ROOT, env=cli_env,
                           capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stderr

    # the restored key is real: the project's upsert relies on it, duplicates bounce off it
    with engine.begin() as conn:
        assert has_unique_key(conn)
        upsert(conn, funding_rates_historical, [_row("binance", "ETHUSDT", T, 0.0004)])
        assert insert_ignore(conn, funding_rates_historical,
                             [_row("binance", "ETHUSDT", T, 0.0001)]) == 0
    with pytest.raises(sa_exc.IntegrityError), engine.begin() as conn:
        conn.execute(funding_rates_historical.insert(), [_row("okx", "BTC-USDT-SWAP", T, 0.1)])
    assert ("binance", "ETHUSDT", T, 0.0004) in _rows(engine)

    clean = _run("fix_duplicate_funding_data.py", cli_env)
    assert clean.returncode == 0, clean.stderr
    assert _line(clean.stdout, "total") == "0 0 0 0"
    assert clean.stdout.splitlines()[-2:] == [
        "rows removed: 0, rows normalised: 0",
        "unique key (exchange, symbol, funding_time): present",
    ]


def test_near_duplicates_with_key_present(engine: Engine) -> None:
    """With the unique key in place, case and jitter variants still slip in; they go too."""
    rows = [
        _row("bybit", "BTCUSDT", T, 0.0001, collected=C2),
        _row("bybit", "btcusdt", T, 0.0002, collected=C1),
        _row("bybit", "BTCUSDT", T + 999 * MS, 0.0003, collected=C0),
    ]
    with engine.begin() as conn:
        insert_ignore(conn, funding_rates_historical, rows)
    report = fix_duplicates(engine)
    assert (report.total("sets"), report.removed, report.rewritten) == (1, 2, 0)
    assert not report.key_was_missing
    assert _rows(engine) == [("bybit", "BTCUSDT", T, 0.0001)]


JITTERS: Sequence[timedelta] = (
    timedelta(0), 7 * MS, -7 * MS, timedelta(seconds=29), timedelta(minutes=29, seconds=59),
    timedelta(minutes=30, seconds=1), -timedelta(minutes=29), timedelta(minutes=-31),
    timedelta(microseconds=123456),
)


def test_sql_normalisation_matches_timeutils(engine: Engine) -> None:
    loose = _make_loose(engine)
    rows = [_row("gate", f"C{i}_USDT", T + j, 0.0001) for i, j in enumerate(JITTERS)]
    with engine.begin() as conn:
        insert_ignore(conn, loose, rows)
    report = fix_duplicates(engine)
    assert report.rewritten == len(JITTERS) - 1
    expected = sorted(
        (("gate", f"C{i}_USDT", normalise_settlement(T + j), 0.0001)
         for i, j in enumerate(JITTERS)),
        key=repr,
    )
    assert _rows(engine) == expected
