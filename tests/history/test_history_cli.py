"""The history CLIs as a user runs them: locks, crash and re-run, signals, exit codes."""

from __future__ import annotations

import json
import signal
import socket
import time
from pathlib import Path

from history_truth import DAYS, ground_truth, row_count, stored
from script_runs import run_cli, start_cli
from sqlalchemy import Engine

from config.settings import SUPPORTED_EXCHANGES
from lib.runtime.files import read_json
from lib.simulator import SimulatorServer
from lib.storage.engine import database
from lib.timeutils import from_iso, to_ms

BACKFILL = ["scripts/unified_historical_backfill.py", "--days", str(DAYS), "--parallel"]
CHECK = ["check_backfill_status.py"]
ALL = list(SUPPORTED_EXCHANGES)


def _status(env: dict[str, str]) -> dict | None:
    return read_json(Path(env["RUNTIME_DIR"]) / ".unified_backfill.status")


def _wait_for_progress(env: dict[str, str], done: int, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = _status(env)
        if status and status["overall"].get("contracts_done", 0) >= done:
            return status
        time.sleep(0.05)
    raise AssertionError(f"backfill made no progress: {_status(env)}")


def _matches_simulator(engine: Engine, sim: SimulatorServer, status: dict) -> None:
    start, end = from_iso(status["window_start"]), from_iso(status["window_end"])
    truth = ground_truth(sim, ALL, start, end)
    got = {k: v for k, v in stored(engine).items() if to_ms(start) <= k[2] <= to_ms(end)}
    assert set(got) == set(truth)
    assert all(got[k] == truth[k] for k in truth)


def test_crash_concurrent_runs_and_status_exit_codes(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    none_yet = run_cli(CHECK, sim_env)
    assert none_yet.returncode == 3, none_yet.stderr
    assert "no backfill status yet" in none_yet.stdout

    # slow enough that the run is still going when it is killed: the refusals and status
    # checks below take a few seconds of subprocess start-ups
    sim.set_faults("latency=500ms")
    first = start_cli(BACKFILL, sim_env)
    try:
        _wait_for_progress(sim_env, 10)
        # from here on every request times out (HTTP_READ_TIMEOUT=1): the run cannot finish
        # (and drop its lock) while the slow start-ups below happen on a busy machine
        sim.set_faults("latency=5s")
        second = run_cli(BACKFILL, sim_env)
        assert second.returncode == 75
        line = second.stderr.strip()
        assert "\n" not in line
        assert line.startswith("unified_historical_backfill.py: error: cannot start the unified "
                               "history job: lock ")
        assert f"is held by pid {first.pid} on host {socket.gethostname()} since " in line
        assert line.endswith(f"unified_historical_backfill.py --days {DAYS} --parallel")
        for repair in (["scripts/fill_recent_gaps.py"], ["scripts/retry_incomplete_contracts.py"]):
            refused = run_cli(repair, sim_env)
            assert refused.returncode == 75, refused.stderr
            assert f"held by pid {first.pid}" in refused.stderr
        running = run_cli(CHECK, sim_env)
        assert running.returncode == 1, running.stderr
        assert "a backfill is running" in running.stdout
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    sim.set_faults(None)

    stale = run_cli(CHECK, sim_env)
    assert stale.returncode == 2, stale.stderr
    assert "stale status" in stale.stdout
    with database(url=db_url) as engine:
        partial = row_count(engine)
        assert partial > 0

        again = run_cli(BACKFILL, sim_env)
        assert again.returncode == 0, again.stderr
        assert "backfill completed" in again.stdout
        status = _status(sim_env)
        assert status is not None and status["state"] == "completed"
        assert status["overall"]["records"] > 0
        _matches_simulator(engine, sim, status)
        assert row_count(engine) == len(stored(engine))  # nothing stored twice

    done = run_cli(CHECK, sim_env)
    assert done.returncode == 0, done.stderr + done.stdout
    assert "complete: 100.00% >= 95.00%" in done.stdout
    report = json.loads(run_cli([*CHECK, "--json"], sim_env).stdout)
    assert report["exit_code"] == 0 and report["completeness"] == 100.0
    assert {r["exchange"] for r in report["database"]} == set(ALL)


def test_sigterm_stops_cleanly_and_rerun_completes(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    sim.set_faults("latency=150ms")
    proc = start_cli(BACKFILL, sim_env)
    _wait_for_progress(sim_env, 5)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    sim.set_faults(None)
    assert proc.returncode == 0, err
    assert "backfill stopped" in out
    status = _status(sim_env)
    assert status is not None and status["state"] == "stopped"
    assert status["finished_at"]
    assert run_cli(CHECK, sim_env).returncode == 2

    again = run_cli(BACKFILL, sim_env)
    assert again.returncode == 0, again.stderr
    with database(url=db_url) as engine:
        _matches_simulator(engine, sim, _status(sim_env) or {})
    assert run_cli(CHECK, sim_env).returncode == 0


def test_below_threshold_is_exit_2(db_url: str, sim: SimulatorServer,
                                   sim_env: dict[str, str]) -> None:
    assert run_cli([*BACKFILL[:-1], "--exchanges", "binance"], sim_env).returncode == 0
    with database(url=db_url) as engine, engine.begin() as conn:
        from lib.storage.schema import funding_rates_historical as frh

        keep = conn.execute(frh.select().limit(10)).all()
        conn.execute(frh.delete())
        conn.execute(frh.insert(), [r._asdict() for r in keep])
    check = run_cli(CHECK, sim_env)
    assert check.returncode == 2
    assert "incomplete: " in check.stdout and "< 95.00%" in check.stdout
