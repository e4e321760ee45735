"""`collect_funding_rates.py --once` as cron runs it: one summary line and an exit code that
says whether every exchange was collected (0), some failed (3), or all failed or nothing could
be written (2)."""

from __future__ import annotations

import re
import socket
from pathlib import Path

import pytest
from read_only_database import read_only
from script_runs import run_cli
from sqlalchemy import func, select

from lib.collection.metrics import CycleSummary
from lib.runtime.files import METRICS_FILE, read_json
from lib.simulator import SimulatorServer
from lib.storage.engine import database
from lib.storage.schema import exchange_data

ONCE = ["scripts/collect_funding_rates.py", "--once"]
SUMMARY = re.compile(r"collected: (\d+) of (\d+) exchanges ok(?:, (\d+) failed \(([a-z, ]+)\))?; "
                     r"(\d+) contracts; (\d+) settled rates stored(?: \(.*\))?; \d+\.\d s")


def _closed_port() -> int:
    """A local port nothing listens on: connections to it are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _summary(stdout: str) -> re.Match[str]:
    lines = stdout.splitlines()
    assert len(lines) == 1, stdout
    found = SUMMARY.fullmatch(lines[0])
    assert found, lines[0]
    return found


def _snapshot_rows(db_url: str) -> dict[str, int]:
    with database(url=db_url) as engine, engine.connect() as conn:
        return dict(conn.execute(select(exchange_data.c.exchange, func.count())
                                 .group_by(exchange_data.c.exchange)).all())


def test_every_exchange_ok_is_0_with_one_summary_line(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    once = run_cli([*ONCE, "--exchanges", "okx,dydx"], sim_env)
    assert once.returncode == 0, once.stderr
    found = _summary(once.stdout)
    contracts = len(sim.universe.contracts("okx")) + len(sim.universe.contracts("dydx"))
    assert found.group(1, 2, 3) == ("2", "2", None)
    assert int(found.group(5)) == contracts
    assert _snapshot_rows(db_url) == {"okx": len(sim.universe.contracts("okx")),
                                      "dydx": len(sim.universe.contracts("dydx"))}


def test_some_exchanges_failed_is_3_naming_them(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    env = {**sim_env, "BYBIT_BASE_URL": f"http://127.0.0.1:{_closed_port()}",
           "HTTP_MAX_RETRIES": "0"}
    once = run_cli([*ONCE, "--exchanges", "okx,bybit"], env)
    assert once.returncode == 3, once.stderr
    found = _summary(once.stdout)
    assert found.group(1, 2, 3, 4) == ("1", "2", "1", "bybit")
    assert int(found.group(5)) == len(sim.universe.contracts("okx"))
    assert "bybit" in once.stderr and "Traceback" not in once.stderr
    assert _snapshot_rows(db_url) == {"okx": len(sim.universe.contracts("okx"))}
    metrics = read_json(Path(sim_env["RUNTIME_DIR"]) / METRICS_FILE)
    assert metrics is not None and metrics["exchanges"]["bybit"]["success"] is False


def test_every_exchange_failed_is_2(db_url: str, cli_env: dict[str, str]) -> None:
    """No network: every exchange's host refuses."""
    env = {**cli_env, "SIMULATOR_URL": f"http://127.0.0.1:{_closed_port()}",
           "HTTP_MAX_RETRIES": "0", "HTTP_CONNECT_TIMEOUT": "1"}
    once = run_cli([*ONCE, "--exchanges", "binance,okx,dydx"], env)
    assert once.returncode == 2, once.stderr
    found = _summary(once.stdout)
    assert found.group(1, 2, 3, 4) == ("0", "3", "3", "binance, dydx, okx")
    assert found.group(5) == "0"
    assert "Traceback" not in once.stderr


def test_a_read_only_database_is_2(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    first = run_cli([*ONCE, "--exchanges", "okx"], sim_env)
    assert first.returncode == 0, first.stderr
    before = _snapshot_rows(db_url)
    with read_only(db_url):
        once = run_cli([*ONCE, "--exchanges", "okx,dydx"], sim_env)
    assert once.returncode == 2, once.stdout + once.stderr
    assert "Traceback" not in once.stderr
    assert "read-only" in once.stderr or "cannot be opened" in once.stderr
    if once.stdout:  # the database opened: every exchange's write failed
        assert _summary(once.stdout).group(1, 3) == ("0", "2")
    assert _snapshot_rows(db_url) == before


@pytest.mark.parametrize(("ok", "failed", "stopped", "code"), [
    (["okx"], [], None, 0), (["okx"], ["bybit"], None, 3), ([], ["bybit"], None, 2),
    ([], ["okx", "bybit"], "SIGTERM", 0),  # failures of a cycle a signal cut short
])
def test_exit_code_of_a_summary(ok: list[str], failed: list[str], stopped: str | None,
                                code: int) -> None:
    summary = CycleSummary(ok, failed, contracts=5, settled=2, pending=0, seconds=1.25,
                           stopped=stopped)
    assert summary.exit_code == code
    assert summary.format().startswith(f"stopped by {stopped}: " if stopped else "collected: ")
