"""check_backfill_status.py never says "complete" when it is not: a status file bound to the
database it describes, no contracts is not complete, windows that are empty or reversed are
refused, an exchange named twice is refused, contracts given up on are counted, and a check
creates nothing."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from history_truth import row_count
from script_runs import run_cli
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url

from config.settings import Settings
from lib.errors import ConfigurationError
from lib.exchanges.venues.okx import Adapter as OkxAdapter
from lib.history.backfill import run_backfill
from lib.history.repair import retry_incomplete
from lib.history.report import check_status
from lib.history.status import StatusWriter, database_record
from lib.models import Contract
from lib.runtime.files import BACKFILL_STATUS_FILE, StatusFileError, read_json
from lib.simulator import SimulatorServer
from lib.storage.engine import database, database_fingerprint, normalise_url
from lib.timeutils import utcnow

BACKFILL = ["scripts/unified_historical_backfill.py", "--parallel"]
RETRY = ["scripts/retry_incomplete_contracts.py"]
CLEANUP = ["scripts/cleanup_historical_data.py"]
CHECK = ["check_backfill_status.py"]
TEST_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _status_path(env: dict[str, str]) -> Path:
    return Path(env["RUNTIME_DIR"]) / BACKFILL_STATUS_FILE


def _one_error_line(done: Any, prog: str) -> str:
    """The run's only stderr line (exit 2, nothing on stdout, no traceback)."""
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "" and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{prog}: error: ")
    return lines[0]


def _sqlite_env(tmp_path: Path) -> dict[str, str]:
    """Environment for a script on a SQLite file that does not exist yet (tmp/data/funding.db)."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
               RUNTIME_DIR=str(tmp_path / "run"), LOG_DIR=str(tmp_path / "logs"),
               SIMULATOR_URL="")
    return env


def _pg_database_exists(name: str) -> bool:
    admin = create_engine(normalise_url(TEST_DATABASE_URL))
    try:
        with admin.connect() as conn:
            return bool(conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                                     {"n": name}).scalar())
    finally:
        admin.dispose()


def _tables(db_url: str) -> set[str]:
    engine = create_engine(normalise_url(db_url))
    try:
        with engine.connect() as conn:
            return set(inspect(conn).get_table_names())
    finally:
        engine.dispose()


# -- one status file, one database ----------------------------------------------------------------

def test_a_status_file_from_another_database_is_refused(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str], tmp_path: Path
) -> None:
    done = run_cli([*BACKFILL, "--days", "1", "--exchanges", "okx"], sim_env)
    assert done.returncode == 0, done.stderr
    assert run_cli(CHECK, sim_env).returncode == 0
    status = read_json(_status_path(sim_env))
    assert status is not None
    assert status["database"] == database_record(db_url)

    never_pg = f"test_funding_never_{uuid.uuid4().hex[:8]}"
    elsewhere = tmp_path / "elsewhere" / "funding.db"
    others = [f"sqlite:///{elsewhere}",
              make_url(TEST_DATABASE_URL).set(password="S3cret", database=never_pg)
              .render_as_string(hide_password=False)]
    for other in others:
        line = _one_error_line(run_cli(CHECK, {**sim_env, "DATABASE_URL": other}),
                               "check_backfill_status.py")
        assert f"describes the database {status['database']['url']}, not " in line
        assert line.endswith(": run the backfill for this database")
        assert "S3cret" not in line
        assert (f"not sqlite:///{elsewhere}:" in line
                or f"not postgresql://postgres:***@127.0.0.1:5432/{never_pg}:" in line)
    assert not elsewhere.parent.exists()  # nothing created, not even its folder
    assert not _pg_database_exists(never_pg)

    # the same database spelt another way (password, options, a "." in the path) is the same
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        same = f"sqlite:///{path.parent}/./{path.name}"
    else:
        same = url.set(password="whatever", query={"connect_timeout": "7"}).render_as_string(
            hide_password=False)
    assert database_fingerprint(same) == database_fingerprint(db_url)
    again = run_cli(CHECK, {**sim_env, "DATABASE_URL": same})
    assert again.returncode == 0, again.stdout + again.stderr


def test_a_check_never_creates_a_database_or_schema(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    done = run_cli([*BACKFILL, "--days", "1", "--exchanges", "okx"], sim_env)
    assert done.returncode == 0, done.stderr
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        path = Path(str(url.database))
        for leftover in path.parent.glob(f"{path.name}*"):
            leftover.unlink()
        line = _one_error_line(run_cli(CHECK, sim_env), "check_backfill_status.py")
        assert line.endswith(f"SQLite file {path} does not exist")
        assert not path.exists()
        path.touch()  # an empty file: a SQLite database with no schema
    else:
        admin = create_engine(normalise_url(db_url), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        admin.dispose()
    line = _one_error_line(run_cli(CHECK, sim_env), "check_backfill_status.py")
    assert "is empty: no schema yet" in line
    assert _tables(db_url) == set()


def test_no_contracts_known_is_not_complete(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    done = run_cli([*BACKFILL, "--days", "1", "--exchanges", "okx,dydx"], sim_env)
    assert done.returncode == 0, done.stderr
    cleared = run_cli(["database_tools.py", "clear", "--quick", "--yes"], sim_env)
    assert cleared.returncode == 0, cleared.stderr
    check = run_cli(CHECK, sim_env)
    assert check.returncode == 2, check.stdout + check.stderr
    last = check.stdout.strip().splitlines()[-1]
    assert last == ("overall completeness 0.00% (threshold 95.00%): incomplete: no contracts "
                    "known in this database for dydx, okx; run the backfill for this database")
    report = json.loads(run_cli([*CHECK, "--json"], sim_env).stdout)
    assert report["exit_code"] == 2 and report["completeness"] == 0.0  # 0 of 0 is not 100 %


# -- status files of the wrong shape ------------------------------------------------------------

def _good_status(path: Path, url: str) -> dict[str, Any]:
    end = utcnow()
    writer = StatusWriter(path, days=1, window_start=end - timedelta(days=1), window_end=end,
                          exchanges=["okx"], command="test", database=database_record(url))
    writer.finish("completed")
    status = read_json(path)
    assert status is not None
    return status


def _without_database(s: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in s.items() if k != "database"}


SHAPES: list[tuple[str, Any, str]] = [
    ("empty object", lambda s: {}, "state is None, not one of running, completed, stopped, "
                                   "failed"),
    ("a list", lambda s: [], "holds a JSON list, expected an object"),
    ("state a number", lambda s: {**s, "state": 3}, "state is 3, not one of "),
    ("window a number", lambda s: {**s, "window_start": 17}, "window_start is 17, not an "
                                                             "ISO-8601 time"),
    ("reversed window", lambda s: {**s, "window_start": s["window_end"],
                                   "window_end": s["window_start"]},
     "its window is empty or reversed"),
    ("exchanges a list", lambda s: {**s, "exchanges": ["okx"]}, "exchanges is missing, empty"),
    ("no exchanges", lambda s: {**s, "exchanges": {}}, "exchanges is missing, empty"),
    ("entry a text", lambda s: {**s, "exchanges": {"okx": "done"}},
     "the entry for okx is not an object"),
    ("records a text", lambda s: {**s, "exchanges": {"okx": {**s["exchanges"]["okx"],
                                                             "records": "many"}}},
     "okx.records is 'many', not a number"),
    ("overall errors true", lambda s: {**s, "overall": {**s["overall"], "errors": True}},
     "overall.errors is True, not a number"),
    ("unknown exchange", lambda s: {**s, "exchanges": {**s["exchanges"],
                                                       "ftx": s["exchanges"]["okx"]}},
     "it names exchange(s) this code does not know: ftx (supported: "),
    ("no database", _without_database, "it does not say which database it describes"),
]


@pytest.mark.parametrize(("change", "reason"), [(c, r) for _n, c, r in SHAPES],
                         ids=[n for n, _c, _r in SHAPES])
def test_a_status_file_of_the_wrong_shape_is_one_line(
    tmp_path: Path, change: Any, reason: str
) -> None:
    env = _sqlite_env(tmp_path)
    path = _status_path(env)
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(change(_good_status(path, env["DATABASE_URL"]))))
    line = _one_error_line(run_cli(CHECK, env), "check_backfill_status.py")
    assert line.startswith(f"check_backfill_status.py: error: {path} ")
    assert reason in line
    assert not (tmp_path / "data").exists()


def test_an_unknown_exchange_in_a_status_file_never_counts_as_complete(
    engine: Engine, db_url: str, sim: SimulatorServer, live_settings: Settings
) -> None:
    result = run_backfill(engine, 1, ["okx"], settings=live_settings)
    assert result.state == "completed" and check_status(live_settings).code == 0
    path = live_settings.RUNTIME_DIR / BACKFILL_STATUS_FILE
    status = read_json(path)
    assert status is not None
    status["exchanges"]["ftx"] = {**status["exchanges"]["okx"], "percent_complete": 100.0}
    path.write_text(json.dumps(status))
    with pytest.raises(StatusFileError, match=r"does not know: ftx \(") as refused:
        check_status(live_settings)
    assert refused.value.exit_code == 2


# -- windows -------------------------------------------------------------------------------------

@pytest.mark.parametrize("script", [BACKFILL, RETRY], ids=["backfill", "retry"])
@pytest.mark.parametrize("days", ["0", "-1", "nan"])
def test_zero_and_negative_windows_are_refused_at_the_flag(
    tmp_path: Path, script: list[str], days: str
) -> None:
    env = _sqlite_env(tmp_path)
    done = run_cli([*script, f"--days={days}"], env)
    assert done.returncode == 2 and done.stdout == "" and "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]  # argparse's usage may come first
    assert f"error: argument --days: {days!r} must be a number above 0 up to 3650 days" in last
    assert not (tmp_path / "data").exists() and not _status_path(env).exists()


@pytest.mark.parametrize("days", [0, -1, float("nan")])
def test_zero_and_negative_windows_are_refused_by_the_jobs_themselves(
    engine: Engine, sim: SimulatorServer, live_settings: Settings, days: float
) -> None:
    with pytest.raises(ConfigurationError, match=r"--days: .* must be a number above 0 up to "
                                                 r"3650 days"):
        run_backfill(engine, days, ["okx"], settings=live_settings)
    assert not (live_settings.RUNTIME_DIR / BACKFILL_STATUS_FILE).exists()
    with pytest.raises(ConfigurationError, match=r"--days: .* must be a number above 0"):
        retry_incomplete(engine, days=days, exchanges=["okx"], settings=live_settings)
    assert sim.request_counts().get("okx", 0) == 0


def test_after_the_daily_cleanup_with_historical_days_1_the_check_stays_complete(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    env = {**sim_env, "HISTORICAL_DAYS": "1"}
    done = run_cli([*BACKFILL, "--exchanges", "okx,dydx"], env)  # the default window
    assert done.returncode == 0, done.stderr
    status = read_json(_status_path(env))
    assert status is not None and status["days"] == 1
    assert run_cli(CHECK, env).returncode == 0
    cleanup = run_cli(CLEANUP, env)
    assert cleanup.returncode == 0, cleanup.stderr
    check = run_cli(CHECK, env)
    assert check.returncode == 0, check.stdout
    assert "complete: 100.00% >= 95.00%" in check.stdout

    # a longer window than the retention: the cleanup deletes its older part, which the check
    # then no longer asks for
    done = run_cli([*BACKFILL, "--days", "3", "--exchanges", "okx,dydx"], env)
    assert done.returncode == 0, done.stderr
    with database(url=env["DATABASE_URL"]) as engine:
        before = row_count(engine)
        cleanup = run_cli(CLEANUP, env)
        assert cleanup.returncode == 0, cleanup.stderr
        assert row_count(engine) < before / 2
    check = run_cli(CHECK, env)
    assert check.returncode == 0, check.stdout
    assert "HISTORICAL_DAYS=1 keeps no older rows" in check.stdout


# -- exchanges named twice, contracts given up on ------------------------------------------------

def test_an_exchange_named_twice_is_refused(
    engine: Engine, sim: SimulatorServer, sim_env: dict[str, str], live_settings: Settings
) -> None:
    for script in (BACKFILL, ["scripts/collect_funding_rates.py", "--once"], RETRY):
        done = run_cli([*script, "--exchanges", "binance,okx,binance"], sim_env)
        assert done.returncode == 2 and "Traceback" not in done.stderr
        assert ("error: argument --exchanges: 'binance,okx,binance' names binance more than "
                "once") in done.stderr.strip().splitlines()[-1]
    setting = run_cli(CHECK, {**sim_env, "EXCHANGES": "okx,OKX"})
    line = _one_error_line(setting, "check_backfill_status.py")
    assert line.endswith("setting EXCHANGES='okx,OKX' names okx more than once")
    with pytest.raises(ConfigurationError, match="names binance more than once"):
        run_backfill(engine, 1, ["binance", "binance"], settings=live_settings)
    assert not (live_settings.RUNTIME_DIR / BACKFILL_STATUS_FILE).exists()
    assert sim.request_counts().get("binance", 0) == 0


@pytest.fixture
def empty_pages_after_listing(sim: SimulatorServer, live_settings: Settings,
                              ) -> Iterator[type[OkxAdapter]]:
    """OKX whose history answers only empty pages once its contracts are listed (the
    simulator's empty-page fault, switched on by the listing)."""

    class EmptyPagesAfterListing(OkxAdapter):
        def list_contracts(self) -> list[Contract]:
            listed = super().list_contracts()
            sim.set_faults("empty_rate=1")
            return listed

    yield EmptyPagesAfterListing
    sim.set_faults(None)


def test_contracts_given_up_on_under_empty_pages_are_errors(
    engine: Engine, sim: SimulatorServer, sim_env: dict[str, str], live_settings: Settings,
    empty_pages_after_listing: type[OkxAdapter],
) -> None:
    result = run_backfill(engine, 1, ["okx"], settings=live_settings,
                          adapter_factory=lambda ex: empty_pages_after_listing(live_settings))
    okx = result.status["exchanges"]["okx"]
    contracts = len(sim.universe.contracts("okx"))
    assert okx["contracts_done"] == contracts
    assert okx["errors"] == contracts == result.status["overall"]["errors"]
    assert sorted(okx["failed_contracts"]) == sorted(c.symbol for c in
                                                     sim.universe.contracts("okx"))
    assert "neither returned nor shown missing by the exchange" in okx["last_error"]
    sim.set_faults(None)
    check = run_cli(CHECK, sim_env)
    assert check.returncode == 2, check.stdout + check.stderr
    overall = next(line for line in check.stdout.splitlines() if line.startswith("overall "))
    assert overall.split()[-1] == str(contracts)  # the errors column
