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


@pytest.mark.parametrize("how", ["SIGTERM", "Ctrl+C"])
def test_sigterm_or_ctrl_c_stops_everything(system: System, how: str) -> None:
    state = wait_for("every child running", lambda: running_children(system, SERVICES),
                     system=system)
    everyone = identities(state)
    if how == "Ctrl+C":  # a terminal sends SIGINT to its foreground process group
        os.killpg(system.proc.pid, signal.SIGINT)
    else:
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
    done = subprocess.run([sys.executable, "shutdown_dashboard.py"], cwd=ROOT, env=system.env,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "nothing running\n")
    assert system.state() == final  # it stopped nothing: the file is not its to remove


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
                              lambda: (c := system.listed_child("simulator"))
                              and c["state"] == "failed" and c, system=system)
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


def test_children_of_a_killed_start_py_are_found_and_stopped(system: System) -> None:
    state = wait_for("every child running", lambda: running_children(system, SERVICES),
                     system=system)
    children = {n: ProcessIdentity.from_record(c) for n, c in state["children"].items()}
    system.proc.send_signal(signal.SIGKILL)
    assert system.proc.wait(timeout=60) == -signal.SIGKILL
    assert all(i is not None and i.alive() for i in children.values())  # orphans, still running

    second = subprocess.run([sys.executable, "start.py", *FLAGS], cwd=ROOT, env=system.env,
                            capture_output=True, text=True, timeout=120)
    assert second.returncode == 75
    named = ", ".join(f"{n} (pid {i.pid})" for n, i in children.items()  # type: ignore[union-attr]
                      )
    assert second.stderr == (f"start.py: error: children of an earlier start.py still run: "
                             f"{named} (stop them with shutdown_dashboard.py)\n")

    done = subprocess.run([sys.executable, "shutdown_dashboard.py"], cwd=ROOT, env=system.env,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    for name, identity in children.items():
        assert identity is not None
        assert re.search(rf"^{name} \(pid {identity.pid}\): stopped by SIGTERM in [\d.]+ s$",
                         done.stdout, re.M), done.stdout
        assert not identity.alive()
    assert "start.py" not in done.stdout  # it was dead already: nothing to say about it
    # every process it describes is stopped now: the file goes, so does the refusal
    assert done.stdout.splitlines()[-1] == f"removed {system.runtime / '.start_state.json'}"
    assert not (system.runtime / ".start_state.json").exists()


def test_runs_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """The same system on PostgreSQL: schema created by start.py, data stored, clean stop."""
    system = start_system(tmp_path, system_env(tmp_path, pg_url), *FLAGS)
    try:
        state = wait_for("every child running", lambda: running_children(system, SERVICES),
                         system=system)
        wait_for("snapshots in the database", lambda: stored_snapshots(system.env),
                 system=system)
        system.proc.send_signal(signal.SIGTERM)
        assert system.proc.wait(timeout=120) == 0
        assert not any(i.alive() for i in identities(state))
        log = (system.logs / "start.log").read_text()
        assert re.search(r"PostgreSQL at 127\.0\.0\.1:5432/\w+: created the schema \(version "
                         r"\d+\)", log), log
    finally:
        stop_leftovers(system)


def test_unreachable_database_starts_nothing(tmp_path: Path) -> None:
    env = system_env(tmp_path, "postgresql://postgres@127.0.0.1:1/funding")
    done = subprocess.run([sys.executable, "start.py", *FLAGS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == ("start.py: error: cannot connect to PostgreSQL at 127.0.0.1:1/funding:"
                           " connection refused (is it running?)\n")
    assert not (tmp_path / "run" / ".start_state.json").exists()
    assert not (tmp_path / "logs" / "collector.output.log").exists()


def test_bad_flag_is_one_line(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "start.py", "--exchanges", "binance,nope"], cwd=ROOT,
                          env=system_env(tmp_path), capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stderr.startswith("start.py: error: argument --exchanges: 'binance,nope' names "
                                  "unknown exchange(s) nope; supported: ")
    assert done.stderr.endswith(" (see start.py --help)\n") and done.stderr.count("\n") == 1


def test_request_shutdown_returns_at_once_and_stops_everything(system: System) -> None:
    """What POST /api/shutdown calls: the API is a child start.py stops, so it must not wait."""
    from lib.system.shutdown import request_shutdown

    state = wait_for("every child running", lambda: running_children(system, SERVICES),
                     system=system)
    everyone = identities(state)
    requested = request_shutdown(settings_of(system.env))
    assert requested.pid is not None
    assert requested.running[0] == f"start.py (pid {system.proc.pid})"
    assert sorted(requested.running[1:]) == sorted(
        f"{n} (pid {state['children'][n]['pid']})" for n in SERVICES)
    log = system.logs / "shutdown.output.log"
    assert requested.message == (f"stopping {', '.join(requested.running)} "
                                 f"(shutdown_dashboard.py, pid {requested.pid}; its report goes "
                                 f"to {log})")
    assert system.proc.wait(timeout=180) == 0
    report = wait_for("the shutdown report", lambda: log.exists() and "removed " in
                      log.read_text() and log.read_text())
    assert f"start.py (pid {system.proc.pid}): stopped by SIGTERM in " in report
    wait_for("no process left", lambda: not any(i.alive() for i in everyone))
    again = request_shutdown(settings_of(system.env))
    assert (again.running, again.pid, again.message) == ([], None, "nothing running")
