"""The POST routes that steer the system, for real: a backfill started as its own process,
refused with 409 naming the holder while a history job runs, stopped through its lock's pid;
a shutdown that runs shutdown_dashboard.py against start.py's state file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from api_helpers import api_settings, make_client
from fastapi.testclient import TestClient

from config.settings import Settings
from lib.api.app import create_app
from lib.runtime.files import UNIFIED_LOCK_FILE
from lib.runtime.locks import FileLock, history_lock
from lib.system.processes import ProcessIdentity
from lib.system.state import state_path, write_state

DEADLINE = 60.0


def wait_for(what: str, condition: Callable[[], Any]) -> Any:
    deadline = time.monotonic() + DEADLINE
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
    return value


@pytest.fixture
def silent_exchange() -> Iterator[str]:
    """An HTTP address that accepts connections and never answers: a backfill pointed at it
    holds its lock, waiting, until it is stopped."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    done = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not done.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        done.set()
        thread.join(timeout=DEADLINE)
        for conn in held:
            conn.close()
        server.close()


@pytest.fixture
def settings(tmp_path: Path, silent_exchange: str) -> Settings:
    return api_settings(f"sqlite:///{tmp_path / 'api.db'}", tmp_path,
                        SIMULATOR_URL=silent_exchange, HTTP_READ_TIMEOUT="120",
                        HTTP_CONNECT_TIMEOUT="5", HTTP_MAX_RETRIES="0")


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with make_client(create_app(settings, static_dir=None)) as c:
        yield c


def test_start_is_refused_naming_the_job_that_holds_the_lock(client: TestClient,
                                                             settings: Settings) -> None:
    with history_lock("repair", "fill_recent_gaps.py --hours 6", settings=settings):
        response = client.post("/api/backfill/start", json={"days": 1})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "lock_held"
    assert f"pid {os.getpid()}" in error["message"]
    assert "fill_recent_gaps.py --hours 6" in error["message"]
    assert error["details"]["locks"]["repair"]["held"] is True


def test_start_then_stop_a_backfill(client: TestClient, settings: Settings) -> None:
    started = client.post("/api/backfill/start", json={"days": 1, "exchanges": ["okx"]})
    assert started.status_code == 202, started.text
    data = started.json()["data"]
    pid = data["pid"]
    assert data["command"][-4:] == ["1", "--parallel", "--exchanges", "okx"]
    assert f"(pid {pid})" in data["message"]
    lock = FileLock(settings.RUNTIME_DIR / UNIFIED_LOCK_FILE)
    holder = wait_for("the backfill to hold its lock", lambda: lock.is_held() and lock.holder())
    assert holder.pid == pid
    again = client.post("/api/backfill/start")
    assert again.status_code == 409 and f"pid {pid}" in again.json()["error"]["message"]
    stopped = client.post("/api/backfill/stop")
    assert stopped.status_code == 200
    body = stopped.json()["data"]
    assert body["stopped"] is True and body["pid"] == pid
    assert body["message"].startswith("stopped unified_historical_backfill.py")
    wait_for("the lock to be free", lambda: not lock.is_held())
    identity = ProcessIdentity.of(pid)
    assert identity is None or not identity.alive()
    nothing = client.post("/api/backfill/stop").json()["data"]
    assert nothing == {"stopped": False, "pid": None, "message": "no backfill running"}

    default = client.post("/api/backfill/start")  # no body: HISTORICAL_DAYS, every exchange
    assert default.status_code == 202, default.text
    command = default.json()["data"]["command"]
    assert command[-1] == "--parallel" and "--days" not in command
    assert client.post("/api/backfill/stop").json()["data"]["stopped"] is True
    wait_for("the lock to be free again", lambda: not lock.is_held())


@pytest.mark.parametrize("body", [{"days": 0}, {"days": "x"}, {"exchanges": ["mars"]},
                                  {"exchanges": []}, {"hours": 5}])
def test_bad_backfill_requests_are_422(client: TestClient, body: dict[str, Any]) -> None:
    response = client.post("/api/backfill/start", json=body)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_control_routes_need_rights(settings: Settings) -> None:
    app = create_app(settings, static_dir=None)
    with make_client(app, client=("192.0.2.10", 5000)) as c:
        for path in ("/api/backfill/start", "/api/backfill/stop", "/api/shutdown"):
            assert c.post(path).status_code == 403, path
            assert c.get(path).status_code == 405, path


def test_shutdown_with_nothing_running(client: TestClient) -> None:
    response = client.post("/api/shutdown")
    assert response.status_code == 200
    assert response.json()["data"] == {"stopping": False, "pid": None, "running": [],
                                       "message": "nothing running", "log": None}


def test_shutdown_stops_what_the_state_file_names(client: TestClient,
                                                  settings: Settings) -> None:
    """A stand-in for start.py (a process that waits for SIGTERM), recorded as start.py
    records itself: the shutdown stops it by its recorded pid and removes the state file."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    try:
        identity = wait_for("the stand-in to start", lambda: ProcessIdentity.of(proc.pid))
        write_state(settings, {"pid": proc.pid, "pid_started": identity.started,
                               "host": socket.gethostname(), "command": "start.py",
                               "state": "running", "children": {}})
        response = client.post("/api/shutdown")
        assert response.status_code == 202, response.text
        data = response.json()["data"]
        assert data["stopping"] is True and data["running"] == [f"start.py (pid {proc.pid})"]
        assert proc.wait(timeout=DEADLINE) == -signal.SIGTERM
        wait_for("the state file to be removed", lambda: not state_path(settings).exists())
        log = Path(data["log"])
        wait_for("the shutdown's report", lambda: log.exists() and
                 f"start.py (pid {proc.pid}): stopped by SIGTERM" in log.read_text())
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
