"""The backfill as start.py, the API and the dashboards run it: started when stored history is
below the threshold, skipped while another history job holds the lock, started and really
stopped on request, and never a process that only reuses a recorded pid."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select
from system_helpers import (
    Grandchild,
    settings_of,
    start_system,
    stop_leftovers,
    system_env,
    wait_for,
)

from lib.errors import LockHeldError
from lib.runtime.files import UNIFIED_LOCK_FILE, write_json_atomic
from lib.runtime.locks import FileLock, history_lock
from lib.simulator import SimulatorServer
from lib.storage.engine import database
from lib.storage.schema import funding_rates_historical
from lib.system.backfill import start_backfill, stop_backfill
from lib.system.processes import ProcessIdentity
from lib.system.shutdown import stop_system

FLAGS = ("--simulate", "--no-api", "--simulator-contracts", "40")
HOST = re.escape(socket.gethostname())


def backfilled_rows(env: dict[str, str]) -> int:
    hist = funding_rates_historical
    with database(settings_of(env), migrate=False) as engine, engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(hist)
                                .where(hist.c.source == "backfill")).scalar_one())


def test_start_py_backfills_history_below_the_threshold(tmp_path: Path) -> None:
    system = start_system(tmp_path, system_env(tmp_path), *FLAGS)
    try:
        done = wait_for("the backfill finished",
                        lambda: (s := system.state()) and (c := s["children"].get("backfill"))
                        and c["state"] == "exited" and c, system=system, deadline=240)
        assert (done["last_exit_code"], done["message"]) == (0, "finished")
        assert done["command"][-3:] == ["--days", "1", "--parallel"]
        assert backfilled_rows(system.env) > 0
        assert "backfill: no contracts stored yet: starting it" in (
            system.logs / "start.log").read_text()
        assert "backfill completed" in (system.logs / "backfill.output.log").read_text()
    finally:
        stop_leftovers(system)


def test_start_py_leaves_the_backfill_to_a_running_history_job(tmp_path: Path) -> None:
    env = system_env(tmp_path)
    with history_lock("repair", "fill_recent_gaps.py --hours 6", settings=settings_of(env)):
        system = start_system(tmp_path, env, *FLAGS)
        try:
            skipped = wait_for("the backfill skipped",
                               lambda: (s := system.state()) and (c := s["children"].get(
                                   "backfill")) and c, system=system)
            assert skipped["state"] == "skipped" and skipped["pid"] is None
            assert re.fullmatch(
                rf"not started: lock {re.escape(str(tmp_path / 'run' / '.backfill.lock'))} is "
                rf"held by pid {__import__('os').getpid()} on host {HOST} since \S+: "
                r"fill_recent_gaps\.py --hours 6", skipped["message"]), skipped["message"]
        finally:
            stop_leftovers(system)


def test_start_and_stop_the_backfill_on_request(tmp_path: Path, sim: SimulatorServer) -> None:
    sim.set_faults("latency=300ms")  # a backfill that runs long enough to be stopped
    settings = settings_of(system_env(tmp_path, SIMULATOR_URL=sim.url))
    started = start_backfill(settings, days=30, exchanges=["binance", "okx"])
    try:
        job = ProcessIdentity.of(started.pid)
        assert job is not None and job.alive()
        assert started.message == (
            f"started the backfill (pid {started.pid}): unified_historical_backfill.py --days 30"
            f" --parallel --exchanges binance,okx; output in {settings.LOG_DIR}/"
            "backfill.output.log")
        holder = FileLock(tmp_path / "run" / UNIFIED_LOCK_FILE).holder()
        assert holder is not None and holder.pid == started.pid

        with pytest.raises(LockHeldError) as refused:
            start_backfill(settings, days=30)
        assert re.fullmatch(
            rf"cannot start the backfill: lock {re.escape(str(tmp_path / 'run'))}/"
            rf"\.unified_backfill\.lock is held by pid {started.pid} on host {HOST} since \S+: "
            r"unified_historical_backfill\.py --days 30 --parallel --exchanges binance,okx",
            str(refused.value)), str(refused.value)
        assert refused.value.exit_code == 75

        stopped = stop_backfill(settings)
        assert stopped.stopped and stopped.pid == started.pid
        assert re.fullmatch(
            rf"stopped unified_historical_backfill\.py --days 30 --parallel --exchanges "
            rf"binance,okx \(pid {started.pid}\): stopped by SIGTERM in [\d.]+ s",
            stopped.message), stopped.message
        assert not job.alive()
        assert not FileLock(tmp_path / "run" / UNIFIED_LOCK_FILE).is_held()
        assert not (tmp_path / "run" / ".backfill_started.json").exists()
        again = stop_backfill(settings)
        assert (again.stopped, again.message) == (False, "no backfill running")
    finally:
        stop_system(settings, timeout=5)


# Holds the unified lock under a backfill's name and ignores SIGTERM: only SIGKILL ends it.
STUBBORN = textwrap.dedent("""
    import signal, sys, time
    from config.settings import get_settings
    from lib.runtime.locks import history_lock

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    with history_lock("unified", "unified_historical_backfill.py --days 30 --parallel",
                      settings=get_settings()):
        print("held", flush=True)
        time.sleep(600)
""")


def test_stop_backfill_kills_a_job_that_ignores_sigterm(tmp_path: Path) -> None:
    env = system_env(tmp_path)
    script = tmp_path / "unified_historical_backfill.py"
    script.write_text(STUBBORN)
    stubborn = Grandchild.start([sys.executable, str(script)], env=env)
    try:
        assert stubborn.first_line == "held\n"
        stopped = stop_backfill(settings_of(env), timeout=1)
        assert stopped.message == (
            f"stopped unified_historical_backfill.py --days 30 --parallel (pid {stubborn.pid}): "
            "killed by SIGKILL after 1 s (SIGTERM was not enough)")
        assert stubborn.exit_status() == -9
    finally:
        stubborn.kill()


def test_stop_backfill_never_signals_a_process_not_running_the_job(tmp_path: Path) -> None:
    """The lock names a command the pid does not run (a reused pid): nothing is signalled."""
    env = system_env(tmp_path)
    holder = textwrap.dedent("""
        import time
        from config.settings import get_settings
        from lib.runtime.locks import history_lock
        with history_lock("unified", "unified_historical_backfill.py --days 30 --parallel",
                          settings=get_settings()):
            print("held", flush=True)
            time.sleep(600)
    """)
    proc = subprocess.Popen([sys.executable, "-c", holder], env=env, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "held\n"
        stopped = stop_backfill(settings_of(env), timeout=1)
        assert not stopped.stopped
        assert stopped.message == (
            f"lock {tmp_path / 'run' / UNIFIED_LOCK_FILE} names pid {proc.pid}, which no longer "
            "runs 'unified_historical_backfill.py --days 30 --parallel': nothing stopped")
        assert proc.poll() is None
    finally:
        proc.kill()
        proc.wait()


def test_stop_system_checks_the_start_time_before_signalling(tmp_path: Path) -> None:
    env = system_env(tmp_path)
    settings = settings_of(env)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        real = ProcessIdentity.of(sleeper.pid)
        assert real is not None
        state = {"pid": sleeper.pid, "pid_started": real.started - 3600, "children": {}}
        (tmp_path / "run").mkdir()
        write_json_atomic(tmp_path / "run" / ".start_state.json", state)
        assert stop_system(settings, timeout=1).format() == "nothing running"
        assert sleeper.poll() is None  # another process with that pid: left alone

        state["pid_started"] = real.started
        write_json_atomic(tmp_path / "run" / ".start_state.json", state)
        report = stop_system(settings, timeout=5)
        assert re.fullmatch(
            rf"start\.py \(pid {sleeper.pid}\): stopped by SIGTERM in [\d.]+ s\n"
            rf"removed {re.escape(str(tmp_path / 'run' / '.start_state.json'))}",
            report.format()), report.format()
        assert sleeper.wait(timeout=30) == -15
        assert not (tmp_path / "run" / ".start_state.json").exists()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_failing_backfill_is_retried_then_left_stopped(tmp_path: Path) -> None:
    """No exchange answers: the backfill fails (exit 2), is retried, and given up on."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    env = system_env(tmp_path, SIMULATOR_URL=f"http://127.0.0.1:{port}",
                     SUPERVISOR_CRASH_LIMIT="2", HTTP_MAX_RETRIES="0")
    system = start_system(tmp_path, env, "--no-api", "--exchanges", "binance,okx")
    try:
        failed = wait_for("the backfill given up on",
                          lambda: (s := system.state()) and (c := s["children"].get("backfill"))
                          and c["state"] == "failed" and c, system=system, deadline=240)
        assert failed["restarts"] == 1 and failed["last_exit_code"] == 2
        assert failed["message"].startswith("exited 2 times within 600 s (last: exit code 2): "
                                            "left stopped; see ")
        assert failed["command"][-2:] == ["--exchanges", "binance,okx"]
        log = (system.logs / "start.log").read_text()
        assert "backfill: exited (exit code 2); restarting in 0.2 s" in log
    finally:
        stop_leftovers(system)
