"""`database_tools.py init | status | optimize` run as a user runs them, on both engines:
init creates or upgrades the schema and is idempotent; status and optimize on a database with
no schema say so in one line naming init; optimize reports sizes and keeps every row."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from sqlalchemy import Engine, delete, text
from sqlalchemy.engine import make_url
from test_database_tools import PREFIX, T0, counts, run_tool, seed

from lib.storage import schema
from lib.storage.engine import create_db_engine, describe_url, insert_ignore
from lib.storage.migrations import create_version, read_version, version_metadata

NO_SCHEMA = "no schema yet (create it with database_tools.py init)"


def sqlite_file(db_url: str) -> Path | None:
    url = make_url(db_url)
    return Path(str(url.database)) if url.get_backend_name() == "sqlite" else None


def test_init_creates_the_schema_once(db_url: str, cli_env: dict[str, str]) -> None:
    where = describe_url(db_url)
    first = run_tool(cli_env, "init")
    assert (first.returncode, first.stderr) == (0, "")
    assert first.stdout == f"{where}: created the schema (version {schema.SCHEMA_VERSION})\n"
    again = run_tool(cli_env, "init")
    assert (again.returncode, again.stderr) == (0, "")
    assert again.stdout == (f"{where}: schema version {schema.SCHEMA_VERSION} is current, "
                            "nothing to do\n")
    check = run_tool(cli_env, "check")
    assert check.returncode == 0 and "healthy" in check.stdout, check.stderr


def test_init_upgrades_an_old_schema_keeping_rows(db_url: str, cli_env: dict[str, str]) -> None:
    eng = create_db_engine(db_url)
    create_version(eng, 1)
    with eng.begin() as conn:
        conn.execute(version_metadata(1).tables["funding_rates_historical"].insert().values(
            exchange="binance", symbol="BTCUSDT", funding_time=T0, funding_rate=0.0001))
    done = run_tool(cli_env, "init")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout == (f"{describe_url(db_url)}: upgraded the schema from version 1 to "
                           f"{schema.SCHEMA_VERSION}\n")
    with eng.connect() as conn:
        assert read_version(conn) == schema.SCHEMA_VERSION
        assert conn.execute(text("SELECT count(*) FROM funding_rates_historical")).scalar() == 1
    eng.dispose()


def test_status_without_a_schema_names_init(db_url: str, cli_env: dict[str, str]) -> None:
    path = sqlite_file(db_url)
    if path is not None:
        path.parent.mkdir(parents=True)
        done = run_tool(cli_env, "status")
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr == f"{PREFIX}SQLite file {path} does not exist: {NO_SCHEMA}\n"
        assert not path.exists()
        path.touch()  # an empty file: a SQLite database with no schema
    done = run_tool(cli_env, "status")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{PREFIX}{describe_url(db_url)} is empty: {NO_SCHEMA}\n"
    eng = create_db_engine(db_url)
    with eng.connect() as conn:
        assert read_version(conn) is None  # status created nothing
    eng.dispose()


def test_optimize_without_a_schema_names_init(db_url: str, cli_env: dict[str, str]) -> None:
    path = sqlite_file(db_url)
    if path is not None:
        path.parent.mkdir(parents=True)
        path.touch()
    done = run_tool(cli_env, "optimize")
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == f"{PREFIX}{describe_url(db_url)} is empty: {NO_SCHEMA}\n"


SIZE = r"\d+(?:\.\d)? (?:B|KB|MB|GB)"


def test_optimize_reports_sizes_and_keeps_rows(engine: Engine, db_url: str,
                                               cli_env: dict[str, str]) -> None:
    expected = seed(engine)
    hist = schema.funding_rates_historical
    bulk = [{"exchange": "bybit", "symbol": f"X{n}USDT", "funding_time": T0 + timedelta(hours=h),
             "funding_rate": 0.0001, "funding_interval_hours": 1.0, "mark_price": None,
             "collected_at": T0, "source": "backfill"} for n in range(40) for h in range(500)]
    with engine.begin() as conn:
        insert_ignore(conn, hist, bulk)
    with engine.begin() as conn:
        conn.execute(delete(hist).where(hist.c.exchange == "bybit"))  # space to give back

    done = run_tool(cli_env, "optimize")
    assert (done.returncode, done.stderr) == (0, "")
    steps = ("PRAGMA optimize" if sqlite_file(db_url) else
             f"REINDEX \\({len(schema.metadata.sorted_tables)} tables\\)")
    found = re.fullmatch(rf"{re.escape(describe_url(db_url))}: ran VACUUM, ANALYZE, {steps}; "
                         rf"size before ({SIZE}), after ({SIZE})\n", done.stdout)
    assert found, done.stdout
    assert counts(engine) == expected
    with engine.connect() as conn:
        if sqlite_file(db_url):
            assert conn.execute(text(  # ANALYZE ran
                "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar() == 1
            assert _bytes(found[2]) < _bytes(found[1])  # VACUUM gave the deleted rows back
        else:
            analyzed = conn.execute(text(
                "SELECT last_analyze IS NOT NULL FROM pg_stat_user_tables "
                "WHERE relname = 'funding_rates_historical'")).scalar()
            assert analyzed


def _bytes(size: str) -> float:
    number, unit = size.split()
    return float(number) * {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3}[unit]
