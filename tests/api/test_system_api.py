"""The API as start.py runs it, end to end: `start.py --simulate` comes up with the API as one
of its children, the API answers with the data the collector stores, and `POST /api/shutdown`
stops start.py and every child, the API among them, leaving no process behind."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from lib.system.processes import ProcessIdentity, terminate

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 180.0
SERVICES = {"simulator", "collector", "spreads", "zscores", "api"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def system(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    """start.py --simulate --no-backfill in a temporary directory, its API on a free port."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_BASE_URL") and not k.startswith(("SUPERVISOR_", "API_"))}
    port = free_port()
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
               RUNTIME_DIR=str(tmp_path / "run"), LOG_DIR=str(tmp_path / "logs"),
               DATA_DIR=str(tmp_path / "data"), SIMULATOR_URL="", HISTORICAL_DAYS="1",
               COLLECTION_INTERVAL="5", HTTP_READ_TIMEOUT="5", HTTP_CONNECT_TIMEOUT="2",
               API_PORT=str(port), SUPERVISOR_STOP_TIMEOUT="30")
    with open(tmp_path / "start.err", "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "start.py", "--simulate", "--no-backfill",
             "--simulator-contracts", "40"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=err)
    seen: list[ProcessIdentity] = []
    try:
        yield proc, f"http://127.0.0.1:{port}", tmp_path / "run" / ".start_state.json"
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(timeout=DEADLINE)
        state = tmp_path / "run" / ".start_state.json"
        if state.exists():
            children = json.loads(state.read_text()).get("children", {})
            seen += [i for c in children.values() if (i := ProcessIdentity.from_record(c))]
        for identity in seen:
            terminate(identity, 5)


def wait_for(what: str, check: Callable[[], Any],
             proc: subprocess.Popen[bytes] | None = None) -> Any:
    """Poll `check` until it is truthy; fail naming `what` after DEADLINE, or at once when
    `proc` (start.py) ends meanwhile."""
    deadline = time.monotonic() + DEADLINE
    while not (value := check()):
        assert proc is None or proc.poll() is None, (
            f"start.py ended ({proc and proc.returncode}) waiting for {what}")
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)
    return value


def get(base: str, path: str) -> httpx.Response | None:
    try:
        return httpx.get(f"{base}{path}", timeout=30)
    except httpx.TransportError:
        return None


def test_start_py_serves_the_api_and_stops_through_it(system: tuple) -> None:
    proc, base, state_file = system

    def every_child_running() -> dict[str, Any] | None:
        try:
            state = json.loads(state_file.read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            return None
        children = state.get("children", {})
        running = all(children.get(n, {}).get("state") == "running" for n in SERVICES)
        return state if running else None

    state = wait_for("every child running", every_child_running, proc)
    rates = wait_for("the API to answer with collected rates",
                     lambda: (r := get(base, "/api/funding-rates?limit=1000")) is not None
                     and r.status_code == 200 and r.json()["data"], proc)
    assert len({item["exchange"] for item in rates}) >= 2
    health = get(base, "/api/health")
    assert health is not None and health.json()["data"]["database"]["ok"] is True

    everyone = [ProcessIdentity.from_record(state)] + [
        ProcessIdentity.from_record(c) for c in state["children"].values()]
    shutdown = httpx.post(f"{base}/api/shutdown", timeout=30)
    assert shutdown.status_code == 202, shutdown.text
    data = shutdown.json()["data"]
    assert data["stopping"] is True and f"start.py (pid {proc.pid})" in data["running"]
    assert proc.wait(timeout=DEADLINE) == 0
    wait_for("every child gone", lambda: not any(i and i.alive() for i in everyone))
    wait_for("the state file removed", lambda: not state_file.exists())
