"""start.py end to end in a temporary directory: comes up against the simulator, stores data,
restarts a killed child, refuses a second instance, and stops everything on shutdown_dashboard.py
or SIGTERM with no child left behind."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from system_helpers import (
    ROOT,
    System,
    identities,
    running_children,
    settings_of,
    start_system,
    stop_leftovers,
    system_env,
    wait_for,
)

from lib.storage.engine import database
from lib.storage.schema import exchange_data
from lib.system.processes import ProcessIdentity

SERVICES = {"simulator", "collector", "spreads", "zscores"}
FLAGS = ("--simulate", "--no-backfill", "--no-api", "--simulator-contracts", "40")


@pytest.fixture
def system(tmp_path: Path) -> Iterator[System]:
    """start.py --simulate --no-backfill, up with every child running."""
    started = start_system(tmp_path, system_env(tmp_path), *FLAGS)
    try:
        wait_for("every child running", lambda: running_children(started, SERVICES),
                 system=started)
        yield started
    finally:
        stop_leftovers(started)


def stored_snapshots(env: dict[str, str]) -> int:
    with database(settings_of(env), migrate=False) as engine, engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(exchange_data)).scalar_one())


def test_comes_up_collects_restarts_and_refuses_a_second(system: System, tmp_path: Path,
                                                         ) -> None:
    state = system.state()
    assert state is not None
    assert state["pid"] == system.proc.pid and state["host"] == socket.gethostname()
    assert state["simulator_url"].startswith("http://127.0.0.1:")
    for name in SERVICES:
        child = system.child(name)
        assert ProcessIdentity.from_record(child) is not None
        assert ProcessIdentity.from_record(child).alive()  # type: ignore[union-attr]
        assert child["restarts"] == 0 and child["last_exit_code"] is None
    assert "backfill" not in state["children"]

    wait_for("snapshots in the database", lambda: stored_snapshots(system.env), system=system)

    second = subprocess.run([sys.executable, "start.py", *FLAGS], cwd=ROOT, env=system.env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 75
    assert re.fullmatch(
        rf"start\.py: error: start\.py is already running: pid {system.proc.pid} on host "
        rf"{re.escape(socket.gethostname())} since \S+: start\.py --simulate .*\(stop it with "
        r"shutdown_dashboard\.py\)\n", second.stderr), second.stderr

    killed = system.child("collector")
    os.kill(killed["pid"], signal.SIGKILL)
    restarted = wait_for(
        "the collector restarted",
        lambda: (c := system.child("collector"))["restarts"] == 1 and c["state"] == "running"
        and c, system=system)
    assert restarted["last_exit_code"] == -signal.SIGKILL
    assert restarted["pid"] != killed["pid"]
    assert ProcessIdentity.from_record(restarted).alive()  # type: ignore[union-attr]
    log = (system.logs / "start.log").read_text()
    assert "collector: exited (killed by SIGKILL); restarting in 0.2 s" in log


def test_shutdown_dashboard_stops_everything(system: System) -> None:
    state = wait_for("every child running", lambda: running_children(system, SERVICES),
                     system=system)
    everyone = identities(state)
    assert len(everyone) == 1 + len(SERVICES)

    done = subprocess.run([sys.executable, "shutdown_dashboard.py"], cwd=ROOT, env=system.env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert re.fullmatch(rf"start\.py \(pid {system.proc.pid}\): stopped by SIGTERM in "
                        r"[\d.]+ s", lines[0]), done.stdout
    for name in SERVICES:  # a child still starting up has no handler yet: SIGTERM ends it
        pid = state["children"][name]["pid"]
        assert any(re.fullmatch(rf"{name} \(pid {pid}\): stopped by start\.py "
                                r"\((exit code 0|ended by SIGTERM)\)", line)
                   for line in lines), done.stdout
    assert lines[-1] == f"removed {system.runtime / '.start_state.json'}"
    assert system.proc.wait(timeout=60) == 0
    assert not any(i.alive() for i in everyone)
    assert not (system.runtime / ".start_state.json").exists()

    again = subprocess.run([sys.executable, "shutdown_dashboard.py"], cwd=ROOT,
                           env=system.env, capture_output=True, text=True, timeout=120)
    assert (again.returncode, again.stdout, again.stderr) == (0, "nothing running\n", "")


def test_sigterm_stops_everything(system: System) -> None:
    state = wait_for("every child running", lambda: running_children(system, SERVICES),
                     system=system)
    everyone = identities(state)
    system.proc.send_signal(signal.SIGTERM)
    assert system.proc.wait(timeout=120) == 0
    assert not any(i.alive() for i in everyone)
    final = system.state()
    assert final is not None and final["state"] == "stopped"
    assert {n: c["state"] for n, c in final["children"].items()} == dict.fromkeys(
        SERVICES, "stopped")
    # 0: stopped by its handler; -SIGTERM: still starting up, it had none yet
    assert all(c["last_exit_code"] in (0, -signal.SIGTERM)
               for c in final["children"].values()), final


def test_a_crash_looping_child_is_left_stopped(tmp_path: Path) -> None:
    """The simulator's port is taken: it exits at once every time, and is given up on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = system_env(tmp_path, SUPERVISOR_CRASH_LIMIT="3")
        system = start_system(tmp_path, env, *FLAGS, "--simulator-port", str(port))
        try:
            failed = wait_for("the simulator given up on",
                              lambda: (c := system.child("simulator") if system.state() else
                                       None) and c["state"] == "failed" and c, system=system)
            assert failed["restarts"] == 2
            assert failed["last_exit_code"] == 2
            log = system.logs / "simulator.output.log"
            assert re.fullmatch(rf"exited 3 times within 600 s \(last: exit code 2\): left "
                                rf"stopped; see {re.escape(str(log))}", failed["message"])
            assert "Address already in use" in log.read_text()
            errors = [ln for ln in (system.logs / "start.log").read_text().splitlines()
                      if " ERROR " in ln]
            assert errors == [ln for ln in errors if "simulator: exited 3 times" in ln]
            assert len(errors) == 1
            # the others run on, and it stays stopped
            running_children(system, SERVICES - {"simulator"})
            wait_for("the others running",
                     lambda: running_children(system, SERVICES - {"simulator"}),
                     system=system)
            assert system.child("simulator")["state"] == "failed"
        finally:
            stop_leftovers(system)
