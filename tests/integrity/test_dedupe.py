"""De-duplication of funding history, on both engines, through the real script."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from history_fixtures import make_loose, numbers, row, stored_rows
from script_runs import run_cli
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from lib.exchanges.symbols import k_prefix_exchanges
from lib.integrity.dedupe import canonical_symbol_sql, fix_duplicates, has_unique_key
from lib.storage.engine import insert_ignore, upsert
from lib.storage.schema import funding_rates_historical
from lib.timeutils import normalise_settlement

H = timedelta(hours=1)
# the exchanges whose symbol rules keep a lower-case "k" multiplier prefix, as
# scripts/fix_duplicate_funding_data.py finds them in lib.exchanges.symbols
K_PREFIX = k_prefix_exchanges()


# -- duplicates --------------------------------------------------------------------------------

T = datetime(2026, 3, 1, 8, tzinfo=UTC)
C0, C1, C2 = (T + timedelta(minutes=m) for m in (1, 2, 3))
MS = timedelta(milliseconds=1)


def _seed_duplicates(engine: Engine) -> Any:
    loose = make_loose(engine)
    rows = [
        # binance BTCUSDT: one settlement three times (jitter, case); latest collected wins
        row("binance", "BTCUSDT", T, 0.0001, collected=C1),
        row("binance", "BTCUSDT", T + 1500 * MS, 0.0003, collected=C2),
        row("binance", "btcusdt", T - 200 * MS, 0.0002, collected=C0),
        # exact duplicates, no collected_at: the later physical row wins
        row("binance", "ETHUSDT", T, 0.0005),
        row("binance", "ETHUSDT", T, 0.0006),
        # Hyperliquid keeps its lower-case k
        row("hyperliquid", "kPEPE", T, 0.0007, interval=1.0, collected=C1),
        row("hyperliquid", "kpepe", T + 300 * MS, 0.0008, interval=1.0, collected=C2),
        row("hyperliquid", "BTC", T, 0.0009, interval=1.0, collected=C2),
        row("hyperliquid", "btc", T + 2000 * MS, 0.0010, interval=1.0, collected=C1),
        # alone but jittered: rewritten, not removed
        row("okx", "BTC-USDT-SWAP", T + 3000 * MS, 0.0011),
        # clean rows
        row("binance", "SOLUSDT", T, 0.0012),
        row("binance", "SOLUSDT", T + 8 * H, 0.0013),
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
    before = stored_rows(engine)

    dry = run_cli(["scripts/fix_duplicate_funding_data.py", "--dry-run"], cli_env)
    assert dry.returncode == 0, dry.stderr
    lines = dry.stdout.splitlines()
    assert lines[0] == "duplicates in funding_rates_historical (dry run: nothing changed)"
    assert numbers(dry.stdout, "binance") == "2 3 2 1"
    assert numbers(dry.stdout, "hyperliquid") == "2 2 2 1"
    assert numbers(dry.stdout, "okx") == "0 0 0 1"
    assert numbers(dry.stdout, "total") == "4 5 4 3"
    assert lines[-2:] == [
        "rows removed: 0, rows normalised: 0",
        "unique key (exchange, symbol, funding_time): missing (would be restored)",
    ]
    assert stored_rows(engine) == before
    with engine.connect() as conn:
        assert not has_unique_key(conn)

    check = run_cli(["database_tools.py", "check"], cli_env)
    assert check.returncode != 0 and "funding_time) is missing" in check.stderr, check.stderr

    real = run_cli(["scripts/fix_duplicate_funding_data.py"], cli_env)
    assert real.returncode == 0, real.stderr
    form = ("UNIQUE INDEX" if engine.dialect.name == "sqlite" else "UNIQUE constraint")
    assert real.stdout.splitlines()[0] == "duplicates in funding_rates_historical"
    assert numbers(real.stdout, "total") == "4 5 4 3"
    assert real.stdout.splitlines()[-2:] == [
        "rows removed: 5, rows normalised: 3",
        "unique key (exchange, symbol, funding_time): was missing, restored as "
        f"{form} uq_funding_rates_historical_exchange_symbol_funding_time",
    ]
    assert stored_rows(engine) == sorted(DEDUPED, key=repr)
    # the form we restore (a UNIQUE INDEX on SQLite) satisfies the schema check
    check = run_cli(["database_tools.py", "check"], cli_env)
    assert check.returncode == 0, check.stderr

    # the restored key is real: the project's upsert relies on it, duplicates bounce off it
    with engine.begin() as conn:
        assert has_unique_key(conn)
        upsert(conn, funding_rates_historical, [row("binance", "ETHUSDT", T, 0.0004)])
        assert insert_ignore(conn, funding_rates_historical,
                             [row("binance", "ETHUSDT", T, 0.0001)]) == 0
    with pytest.raises(sa_exc.IntegrityError), engine.begin() as conn:
        conn.execute(funding_rates_historical.insert(), [row("okx", "BTC-USDT-SWAP", T, 0.1)])
    assert ("binance", "ETHUSDT", T, 0.0004) in stored_rows(engine)

    clean = run_cli(["scripts/fix_duplicate_funding_data.py"], cli_env)
    assert clean.returncode == 0, clean.stderr
    assert numbers(clean.stdout, "total") == "0 0 0 0"
    assert clean.stdout.splitlines()[-2:] == [
        "rows removed: 0, rows normalised: 0",
        "unique key (exchange, symbol, funding_time): present",
    ]


def test_near_duplicates_with_key_present(engine: Engine) -> None:
    """With the unique key in place, case and jitter variants still slip in; they go too."""
    rows = [
        row("bybit", "BTCUSDT", T, 0.0001, collected=C2),
        row("bybit", "btcusdt", T, 0.0002, collected=C1),
        row("bybit", "BTCUSDT", T + 999 * MS, 0.0003, collected=C0),
    ]
    with engine.begin() as conn:
        insert_ignore(conn, funding_rates_historical, rows)
    report = fix_duplicates(engine, k_prefix_exchanges=K_PREFIX)
    assert (report.total("sets"), report.removed, report.rewritten) == (1, 2, 0)
    assert not report.key_was_missing
    assert stored_rows(engine) == [("bybit", "BTCUSDT", T, 0.0001)]


JITTERS: Sequence[timedelta] = (
    timedelta(0), 7 * MS, -7 * MS, timedelta(seconds=29), timedelta(minutes=29, seconds=59),
    timedelta(minutes=30, seconds=1), -timedelta(minutes=29), timedelta(minutes=-31),
    timedelta(microseconds=123456),
)


def test_sql_normalisation_matches_timeutils(engine: Engine) -> None:
    loose = make_loose(engine)
    rows = [row("gate", f"C{i}_USDT", T + j, 0.0001) for i, j in enumerate(JITTERS)]
    with engine.begin() as conn:
        insert_ignore(conn, loose, rows)
    report = fix_duplicates(engine, k_prefix_exchanges=K_PREFIX)
    assert report.rewritten == len(JITTERS) - 1
    expected = sorted(
        (("gate", f"C{i}_USDT", normalise_settlement(T + j), 0.0001)
         for i, j in enumerate(JITTERS)),
        key=repr,
    )
    assert stored_rows(engine) == expected


def test_lower_case_k_prefix_is_kept_only_where_the_caller_says(engine: Engine) -> None:
    """The dedupe SQL names no exchange: the lower-case "k" (x1000) stays on the exchanges
    passed in, and is upper-cased like any other letter everywhere else."""
    loose = make_loose(engine)
    rows = [
        row("hyperliquid", "kPEPE", T, 0.0001, interval=1.0, collected=C1),
        row("hyperliquid", "kpepe", T, 0.0002, interval=1.0, collected=C2),
        row("hyperliquid", "KAS", T, 0.0003, interval=1.0),  # upper-case K: a letter
        row("binance", "kasusdt", T, 0.0004, collected=C2),
        row("binance", "KASUSDT", T, 0.0005, collected=C1),
    ]
    with engine.begin() as conn:
        insert_ignore(conn, loose, rows)
    dry = fix_duplicates(engine, dry_run=True, k_prefix_exchanges=())
    assert dry.per_exchange["hyperliquid"]["rewrite"] == 1  # kPEPE and kpepe alike: KPEPE
    report = fix_duplicates(engine, k_prefix_exchanges=K_PREFIX)
    assert (report.total("sets"), report.removed) == (2, 2)
    assert stored_rows(engine) == sorted([
        ("binance", "KASUSDT", T, 0.0004),
        ("hyperliquid", "KAS", T, 0.0003),
        ("hyperliquid", "kPEPE", T, 0.0002),
    ], key=repr)


def test_k_prefix_exchanges_must_be_exchange_ids() -> None:
    with pytest.raises(ValueError, match="not an exchange id"):
        canonical_symbol_sql(["hyperliquid'; DROP TABLE x; --"])
