"""The keys through a real API (`python -m lib.api` on a free port, API_TOKEN set): C clears
its cache, B starts a backfill (a second B is refused while it runs), X stops it; a wrong token
is said in one line; X and S with nothing to stop say so. The API's answers reach the screen
as notifications."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import requests
from textual.pilot import Pilot
from textual.widgets._toast import Toast  # the widget a notification is drawn in
from tui_helpers import make_settings, next_snapshot, panel_text, run_app, wait_until

from config.settings import Settings
from lib.dashboards.terminal.actions import Actions
from lib.dashboards.terminal.api import ApiClient, api_base_url
from lib.dashboards.terminal.app import DashboardApp
from lib.dashboards.terminal.screens import ConfirmScreen
from lib.history.status import read_status
from lib.runtime.files import BACKFILL_STATUS_FILE, UNIFIED_LOCK_FILE, runtime_path
from lib.runtime.locks import FileLock
from lib.simulator import SimulatorServer
from lib.storage.engine import database
from lib.system.backfill import stop_backfill

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "dashboard-test-token-0123456789"
DEADLINE_S = 120.0


@pytest.fixture
def api_settings(sim: SimulatorServer, tmp_path: Path) -> Iterator[Settings]:
    """A real API on a free port over this test's database, the simulator answering slowly
    (a backfill then runs long enough to be stopped)."""
    sim.set_faults("latency=2s")  # every request 2 s: a backfill outlasts the test's steps
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
                             sim.url, API_TOKEN=TOKEN, SUPERVISOR_STOP_TIMEOUT="120")
    with database(settings):  # the schema, as start.py's preflight would create it
        pass
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=settings.database_url, RUNTIME_DIR=str(settings.RUNTIME_DIR),
               LOG_DIR=str(settings.LOG_DIR), DATA_DIR=str(settings.DATA_DIR),
               SIMULATOR_URL=sim.url, API_HOST="127.0.0.1", API_PORT=str(settings.API_PORT),
               API_TOKEN=TOKEN, HTTP_READ_TIMEOUT="5", HTTP_CONNECT_TIMEOUT="2")
    with open(tmp_path / "api.err", "wb") as err:
        process = subprocess.Popen([sys.executable, "-m", "lib.api"], cwd=ROOT, env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=err)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while True:  # the API is up when its health route answers
            assert process.poll() is None, (tmp_path / "api.err").read_text()
            try:
                requests.get(f"{api_base_url(settings)}/api/health", timeout=2)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "the API never answered"
                time.sleep(0.1)
        yield settings
    finally:
        process.terminate()
        process.wait(timeout=60)
        stop_backfill(settings, timeout=10)  # a backfill the API started, if a test failed


def test_a_wrong_token_is_one_line(api_settings: Settings) -> None:
    wrong = replace(api_settings, API_TOKEN="not-the-token-0123456789")
    result = Actions(wrong, ApiClient(wrong)).clear_cache()
    assert not result.ok and result.via == "API"
    assert result.message == ("cannot clear the cache: this action needs the header "
                              "Authorization: Bearer <API_TOKEN> (HTTP 401)")


def _toasts(app: DashboardApp) -> list[str]:
    return [toast._notification.message for toast in app.screen.query(Toast)
            if toast.region.area]


async def _result(pilot: Pilot[Any], app: DashboardApp, count: int) -> str:
    await wait_until(pilot, lambda: len(app.results) >= count, f"action result {count}",
                     deadline=DEADLINE_S)
    message = app.results[count - 1].message
    await wait_until(pilot, lambda: message in _toasts(app), "the notification on screen")
    return message


async def _confirm(pilot: Pilot[Any], app: DashboardApp, key: str) -> None:
    await pilot.press(key)
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
    await pilot.press("y")


def test_c_b_and_x_through_the_api(api_settings: Settings) -> None:
    app = DashboardApp(api_settings)
    lock = FileLock(runtime_path(UNIFIED_LOCK_FILE, api_settings))

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.snapshot is not None
                         and app.snapshot.services.api_up, "the API up on screen")
        await pilot.press("c")
        assert re.fullmatch(r"API cache cleared \(\d+ entries\)", await _result(pilot, app, 1))
        assert app.results[0].via == "API"

        await _confirm(pilot, app, "b")
        message = await _result(pilot, app, 2)
        assert app.results[1].ok and app.results[1].via == "API", message
        assert re.match(r"started the backfill \(pid \d+\): unified_historical_backfill\.py "
                        r"--days 30 --parallel", message), message
        await wait_until(pilot, lock.is_held, "the backfill's lock", deadline=DEADLINE_S)
        await _confirm(pilot, app, "b")  # a second one is refused while it runs: 409
        message = await _result(pilot, app, 3)
        assert not app.results[2].ok and message.startswith("cannot start a backfill: ")
        assert "(HTTP" not in message  # a conflict says why, not a status code
        await wait_until(pilot, lambda: app.snapshot is not None
                         and app.snapshot.backfill.running, "the running backfill on screen")

        await pilot.press("x")
        message = await _result(pilot, app, 4)
        assert app.results[3].ok and app.results[3].via == "API", message
        await wait_until(pilot, lambda: not lock.is_held(), "the backfill to stop",
                         deadline=DEADLINE_S)
        await next_snapshot(pilot, app)
        assert "last: stopped" in panel_text(app, "backfill")
        await pilot.press("x")  # nothing left to stop: a 200 that did nothing is no success
        assert await _result(pilot, app, 5) == "no backfill running (via the API)"
        assert not app.results[4].ok
        await _confirm(pilot, app, "s")  # no start.py behind this API
        assert await _result(pilot, app, 6) == "nothing running (via the API)"
        assert not app.results[5].ok

    run_app(app, test)
    status = read_status(runtime_path(BACKFILL_STATUS_FILE, api_settings))
    assert status is not None and status["state"] == "stopped"
