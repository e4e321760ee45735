"""`database_tools.py` run as a user runs it, on both engines: status, check, clear, export,
backup and restore."""

from __future__ import annotations

import csv
import json
import os
import pty
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, MetaData, Table, UniqueConstraint, func, select, text

from lib.storage import schema
from lib.storage.admin import CSV_FILENAME, export_exchange_data_csv, human_bytes
from lib.storage.engine import describe_url, insert_ignore, upsert
from lib.storage.migrations import create_version, read_version

ROOT = Path(__file__).resolve().parents[2]
TOOL = str(ROOT / "database_tools.py")
T0 = datetime(2026, 1, 1, tzinfo=UTC)
PREFIX = "database_tools.py: error: "


def run_tool(env: dict[str, str], *args: str, cwd: Path = ROOT,
             stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, TOOL, *args], cwd=cwd, env=env, stdin=stdin,
                          capture_output=True, text=True, timeout=120, check=False)


def seed(engine: Engine) -> dict[str, int]:
    """A few rows in every data table; returns the row count per table."""
    hist = [
        {"exchange": ex, "symbol": sym, "funding_time": T0 + timedelta(hours=8 * i),
         "funding_rate": 0.0001 * i, "funding_interval_hours": 8.0, "mark_price": 100.0 + i,
         "collected_at": T0, "source": "backfill"}
        for ex, sym, n in (("binance", "BTCUSDT", 5), ("okx", "BTC-USDT-SWAP", 3))
        for i in range(n)
    ]
    snaps = [
        {"exchange": "binance", "symbol": "BTCUSDT", "funding_rate": 0.0001,
         "next_funding_time": T0 + timedelta(hours=8), "mark_price": 50_000.5,
         "updated_at": T0 + timedelta(minutes=1), "canonical_symbol": "BTC/USDT:USDT",
         "base": "BTC", "funding_interval_hours": 8.0, "index_price": None,
         "open_interest": 12.5, "volume_24h": None},
        {"exchange": "okx", "symbol": "BTC-USDT-SWAP", "funding_rate": -0.0002,
         "next_funding_time": None, "mark_price": 50_001.0,
         "updated_at": T0 + timedelta(minutes=2), "canonical_symbol": "BTC/USDT:USDT",
         "base": "BTC", "funding_interval_hours": 8.0, "index_price": 50_000.0,
         "open_interest": None, "volume_24h": 1e6},
    ]
    contract = {"exchange": "binance", "symbol": "BTCUSDT", "canonical_symbol": "BTC/USDT:USDT",
                "base": "BTC", "quote": "USDT", "settle": "USDT", "multiplier": 1.0,
                "funding_interval_hours": 8.0, "listed_at": None, "status": "trading",
                "first_seen": T0, "last_seen": T0 + timedelta(days=1)}
    leg_hour = {"ts": T0, "leg_id": 1, "rate_8h": 0.0001}
    stat = {"exchange": "binance", "symbol": "BTCUSDT", "window_days": 30, "n": 5,
            "mean_8h": 0.0002, "std_8h": 0.0001, "latest_8h": 0.0004, "zscore": 2.0,
            "percentile": 100.0, "calculated_at": T0 + timedelta(hours=1)}
    absent = {"exchange": "okx", "symbol": "BTC-USDT-SWAP", "funding_time": T0 - timedelta(hours=8),
              "checked_at": T0 + timedelta(hours=2)}
    with engine.begin() as conn:
        insert_ignore(conn, schema.funding_rates_historical, hist)
        upsert(conn, schema.exchange_data, snaps)
        conn.execute(schema.contracts.insert(), [contract])
        conn.execute(schema.arbitrage_leg_hours.insert(), [leg_hour])
        conn.execute(schema.funding_statistics.insert(), [stat])
        conn.execute(schema.funding_missing_at_exchange.insert(), [absent])
    return {"contracts": 1, "exchange_data": 2, "funding_rates_historical": 8,
            "arbitrage_leg_hours": 1, "funding_statistics": 1, "funding_missing_at_exchange": 1,
            "arbitrage_legs": 0, "arbitrage_pairs": 0, "arbitrage_spread_statistics": 0,
            "analytics_watermarks": 0}


def counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in schema.DATA_TABLES}


def test_status_json_reports_rows_times_and_exchanges(
        engine: Engine, cli_env: dict[str, str], db_url: str) -> None:
    expected = seed(engine)
    done = run_tool(cli_env, "status", "--json")
    assert done.returncode == 0, done.stderr
    status = json.loads(done.stdout)
    assert status["database"] == describe_url(db_url)
    assert status["schema_version"] == schema.SCHEMA_VERSION
    tables = {t["name"]: t for t in status["tables"]}
    assert {name: t["rows"] for name, t in tables.items()} == expected
    hist = tables["funding_rates_historical"]
    assert hist["oldest"] == "2026-01-01T00:00:00+00:00"
    assert hist["newest"] == "2026-01-02T08:00:00+00:00"
    assert tables["exchange_data"]["newest"] == "2026-01-01T00:02:00+00:00"
    assert all(t["size_bytes"] > 0 for t in tables.values())
    assert status["total_bytes"] >= sum(t["size_bytes"] for t in tables.values())
    assert status["history_by_exchange"] == {"binance": 5, "okx": 3}


def test_status_table_is_readable(engine: Engine, cli_env: dict[str, str]) -> None:
    seed(engine)
    done = run_tool(cli_env, "status")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].endswith(")")
    assert f"schema version {schema.SCHEMA_VERSION}, total size" in lines[0]
    hist_line = next(ln for ln in lines if ln.startswith("funding_rates_historical"))
    assert hist_line.split()[1] == "8"
    assert "2026-01-01 00:00:00" in hist_line and "2026-01-02 08:00:00" in hist_line
    assert any(ln.split() == ["okx", "3"] for ln in lines)


def test_check_healthy(engine: Engine, cli_env: dict[str, str], db_url: str) -> None:
    done = run_tool(cli_env, "check")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{describe_url(db_url)}: healthy (schema version {schema.SCHEMA_VERSION}, 11 tables, "
        "10 unique constraints, 4 indexes)"
    )


def test_check_does_not_create_a_schema(db_url: str, cli_env: dict[str, str]) -> None:
    done = run_tool(cli_env, "check")
    assert done.returncode == 2
    if db_url.startswith("sqlite"):
        path = Path(db_url.removeprefix("sqlite:///"))
        assert done.stderr == (
            f"{PREFIX}SQLite file {path}: directory {path.parent} does not exist\n")
        assert not path.parent.exists()
        return
    assert done.stderr == (f"{PREFIX}{describe_url(db_url)}: empty database: "
                           "no schema_version table (no schema yet)\n")
    from lib.storage.engine import create_db_engine
    eng = create_db_engine(db_url)
    with eng.connect() as conn:
        assert conn.execute(text(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        )).scalar_one() == 0
    eng.dispose()


def test_check_names_missing_index_table_and_constraint(
        engine: Engine, cli_env: dict[str, str], db_url: str) -> None:
    seed(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_funding_rates_historical_funding_time"))
        conn.execute(text("DROP TABLE funding_statistics"))
        conn.execute(text("DROP TABLE contracts"))
        bare = Table("contracts", MetaData(), *(c._copy() for c in schema.contracts.columns))
        bare.create(conn)  # same columns, no UNIQUE(exchange, symbol), no index on base
    done = run_tool(cli_env, "check")
    assert done.returncode == 2
    assert done.stderr == (
        f"{PREFIX}{describe_url(db_url)}: "
        "unique constraint uq_contracts_exchange_symbol on contracts(exchange, symbol) is missing; "
        "index ix_contracts_base on contracts(base) is missing; "
        "index ix_funding_rates_historical_funding_time on "
        "funding_rates_historical(funding_time) is missing; "
        "table funding_statistics is missing\n"
    )
    assert counts_without(engine, "funding_statistics")["funding_rates_historical"] == 8


def counts_without(engine: Engine, missing: str) -> dict[str, int]:
    with engine.connect() as conn:
        return {t.name: int(conn.execute(select(func.count()).select_from(t)).scalar_one())
                for t in schema.DATA_TABLES if t.name != missing}


def test_check_reports_old_version_without_upgrading(
        db_url: str, cli_env: dict[str, str]) -> None:
    from lib.storage.engine import create_db_engine
    eng = create_db_engine(db_url)
    create_version(eng, 1)
    done = run_tool(cli_env, "check")
    assert done.returncode == 2
    assert done.stderr.startswith(
        f"{PREFIX}{describe_url(db_url)}: schema version 1 is older than this code "
        f"({schema.SCHEMA_VERSION}); "
        "it is upgraded in place on next use by a collector; "
    )
    assert "table contracts is missing" in done.stderr
    with eng.connect() as conn:
        assert read_version(conn) == 1
    eng.dispose()


def test_clear_refuses_without_terminal(engine: Engine, cli_env: dict[str, str]) -> None:
    expected = seed(engine)
    done = run_tool(cli_env, "clear", "--quick")
    assert done.returncode == 2
    assert done.stderr == f"{PREFIX}refusing to clear without a terminal to confirm: pass --yes\n"
    assert counts(engine) == expected


def test_clear_yes_keeps_schema(engine: Engine, cli_env: dict[str, str]) -> None:
    seed(engine)
    done = run_tool(cli_env, "clear", "--quick", "--yes")
    assert done.returncode == 0, done.stderr
    assert done.stdout == (
        "cleared 14 rows: analytics_watermarks 0, arbitrage_spread_statistics 0, "
        "arbitrage_leg_hours 1, arbitrage_pairs 0, arbitrage_legs 0, "
        "funding_missing_at_exchange 1, funding_statistics 1, funding_rates_historical 8, "
        "exchange_data 2, contracts 1\n"
    )
    assert set(counts(engine).values()) == {0}
    with engine.connect() as conn:
        assert read_version(conn) == schema.SCHEMA_VERSION
    assert run_tool(cli_env, "check").returncode == 0


def _clear_on_terminal(env: dict[str, str], answer: str) -> tuple[int, str]:
    """Run `clear` with a pseudo-terminal as stdin and type `answer`."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen([sys.executable, TOOL, "clear"], cwd=ROOT, env=env,
                                stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        os.write(master, f"{answer}\n".encode())
        out, err = proc.communicate(timeout=120)
    finally:
        os.close(master)
        os.close(slave)
    return proc.returncode, out + err


@pytest.mark.parametrize("answer, cleared", [("clear", True), ("yes", False)])
def test_clear_typed_confirmation(engine: Engine, cli_env: dict[str, str],
                                  answer: str, cleared: bool) -> None:
    expected = seed(engine)
    code, output = _clear_on_terminal(cli_env, answer)
    if cleared:
        assert code == 0, output
        assert "cleared 14 rows" in output
        assert set(counts(engine).values()) == {0}
    else:
        assert code == 2
        assert output.rstrip().endswith(f"{PREFIX}not confirmed: nothing was deleted")
        assert counts(engine) == expected


def test_export_writes_csv_in_current_directory(
        engine: Engine, cli_env: dict[str, str], tmp_path: Path) -> None:
    seed(engine)
    work = tmp_path / "cwd"
    work.mkdir()
    done = run_tool(cli_env, "export", cwd=work)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"wrote 2 rows to {CSV_FILENAME}\n"
    with (work / CSV_FILENAME).open(newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == [c.name for c in schema.exchange_data.columns]
    assert rows[1] == ["binance", "BTCUSDT", "0.0001", "2026-01-01T08:00:00+00:00", "50000.5",
                       "2026-01-01T00:01:00+00:00", "BTC/USDT:USDT", "BTC", "8.0", "", "12.5",
                       "", "", "", "", "", ""]
    assert rows[2][:4] == ["okx", "BTC-USDT-SWAP", "-0.0002", ""]
    assert len(rows) == 3
    assert sorted(p.name for p in work.iterdir()) == [CSV_FILENAME]


def test_export_function_replaces_file_atomically(engine: Engine, tmp_path: Path) -> None:
    target = tmp_path / "export" / "out.csv"
    target.parent.mkdir()
    target.write_text("old content\n")
    assert export_exchange_data_csv(engine, target) == 0
    assert target.read_text().splitlines() == [
        ",".join(c.name for c in schema.exchange_data.columns)]
    seed(engine)
    assert export_exchange_data_csv(engine, target) == 2
    assert len(target.read_text().splitlines()) == 3
    assert sorted(p.name for p in target.parent.iterdir()) == ["out.csv"]


def test_export_to_missing_directory_fails_cleanly(
        engine: Engine, cli_env: dict[str, str], tmp_path: Path) -> None:
    out = tmp_path / "nowhere" / "x.csv"
    done = run_tool(cli_env, "export", "--output", str(out))
    assert done.returncode == 2
    assert done.stderr == f"{PREFIX}cannot write {out}: directory {out.parent} does not exist\n"


def test_backup_and_restore_round_trip(
        engine: Engine, cli_env: dict[str, str], tmp_path: Path) -> None:
    expected = seed(engine)
    backup = tmp_path / "backup.dump"
    done = run_tool(cli_env, "backup", str(backup))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"backed up to {backup} ({backup.stat().st_size} bytes)\n"

    refused = run_tool(cli_env, "restore", str(backup))
    assert refused.returncode == 2
    assert refused.stderr.endswith("holds 14 data rows: refusing to overwrite it (use --force)\n")

    assert run_tool(cli_env, "clear", "--quick", "--yes").returncode == 0
    with engine.begin() as conn:  # a row the backup does not have: restore must remove it
        conn.execute(schema.funding_statistics.insert().values(
            exchange="x", symbol="y", window_days=1, n=1, calculated_at=T0))
    done = run_tool(cli_env, "restore", str(backup), "--force")
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"restored {backup}: 14 data rows\n"
    engine.dispose()
    assert counts(engine) == expected
    with engine.connect() as conn:
        assert conn.execute(select(schema.funding_rates_historical.c.funding_time).order_by(
            schema.funding_rates_historical.c.funding_time.desc()).limit(1)).scalar_one() == (
            T0 + timedelta(hours=32))
    assert run_tool(cli_env, "check").returncode == 0


def test_restore_refuses_a_file_that_is_not_a_backup(
        engine: Engine, cli_env: dict[str, str], tmp_path: Path, db_url: str) -> None:
    expected = seed(engine)
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all" * 10)
    done = run_tool(cli_env, "restore", str(junk), "--force")
    kind = "SQLite" if db_url.startswith("sqlite") else "pg_dump custom"
    assert done.returncode == 2
    assert done.stderr == f"{PREFIX}{junk} is not a {kind} backup file\n"
    assert counts(engine) == expected


def test_pg_backup_without_pg_dump_on_path(
        engine: Engine, cli_env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite backups use the sqlite3 backup API, no external tool")
    seed(engine)
    env = dict(cli_env, PATH=str(tmp_path / "empty-bin"))
    done = run_tool(env, "backup", str(tmp_path / "b.dump"))
    assert done.returncode == 2
    assert done.stderr == (
        f"{PREFIX}pg_dump not found on PATH: install the PostgreSQL client tools "
        "(e.g. apt install postgresql-client) matching the server version\n"
    )
    assert not (tmp_path / "b.dump").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".b.dump")] == []


def test_unique_constraint_helper_is_what_the_schema_declares() -> None:
    """The check counts one unique constraint per data table (10 since version 4)."""
    uniques = [c for t in schema.metadata.sorted_tables for c in t.constraints
               if isinstance(c, UniqueConstraint)]
    assert len(uniques) == len(schema.DATA_TABLES) == 10


@pytest.mark.parametrize(("size", "text"), [
    (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KB"), (1536, "1.5 KB"), (5 * 2**20, "5.0 MB"),
    (3 * 2**30, "3.0 GB"), (2**40, "1024.0 GB"),
])
def test_sizes_are_written_one_way(size: int, text: str) -> None:
    assert human_bytes(size) == text
