"""The keys with the API down: each says what it could not do (a notification on screen), B
and S ask first, X still stops a real backfill (by the pid its lock names), H and Q work, and
nothing crashes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import Filled, make_settings, run_app, screen_text, wait_until

from config.settings import Settings
from lib.dashboards.terminal.app import DashboardApp
from lib.dashboards.terminal.screens import ConfirmScreen, HelpScreen
from lib.history.status import read_status
from lib.runtime.files import BACKFILL_STATUS_FILE, UNIFIED_LOCK_FILE, runtime_path
from lib.runtime.locks import FileLock
from lib.simulator import SimulatorServer

ROOT = Path(__file__).resolve().parents[3]


async def _result(pilot: Pilot[Any], app: DashboardApp, count: int) -> str:
    """Wait for the `count`th action result; return its message once it is on screen."""
    await wait_until(pilot, lambda: len(app.results) >= count, f"action result {count}")
    message = app.results[count - 1].message
    await wait_until(pilot, lambda: message[:30] in screen_text(app).replace("\n", " ")
                     or message[:30] in " ".join(screen_text(app).split()),
                     "the notification on screen")
    return message


def test_keys_without_the_api(filled: Filled) -> None:
    app = DashboardApp(filled.settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.press("c")
        message = await _result(pilot, app, 1)
        assert message.startswith("cannot clear the cache: the API at http://127.0.0.1:")
        assert "not reachable" in message and app.results[0].via == "none"

        await pilot.press("b")  # asks first; N cancels and nothing is done
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                         and "Start a backfill" in screen_text(app), "the question")
        assert f"Start a backfill of {filled.settings.HISTORICAL_DAYS} days" in screen_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "cancel")
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        message = await _result(pilot, app, 2)
        assert message.startswith("cannot start a backfill: the API at") and not \
            app.results[1].ok
        assert not FileLock(runtime_path(UNIFIED_LOCK_FILE, filled.settings)).is_held()

        await pilot.press("x")
        assert await _result(pilot, app, 3) == "no backfill is running"

        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "cancel")
        assert len(app.results) == 3
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.click("#yes")
        message = await _result(pilot, app, 4)
        assert message.startswith("cannot shut the system down: the API at")

        app.clear_notifications()  # toasts would cover part of the help
        await pilot.press("h")
        await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen)
                         and "Without the API" in screen_text(app), "the help")
        assert "POST /api/cache/clear" in screen_text(app)
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), "help closed")
        assert app.is_running
        await pilot.press("q")
        await wait_until(pilot, lambda: not app.is_running, "the app to quit")

    run_app(app, test)
    assert app.return_code == 0


@pytest.fixture
def slow_sim(sim: SimulatorServer) -> SimulatorServer:
    """The shared simulator answering slowly, so a 30-day backfill runs for minutes."""
    sim.set_faults("latency=300ms")
    return sim


def _backfill(settings: Settings) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=settings.database_url, RUNTIME_DIR=str(settings.RUNTIME_DIR),
               LOG_DIR=str(settings.LOG_DIR), DATA_DIR=str(settings.DATA_DIR),
               SIMULATOR_URL=settings.SIMULATOR_URL, HTTP_READ_TIMEOUT="5")
    return subprocess.Popen(
        [sys.executable, "scripts/unified_historical_backfill.py", "--days", "30",
         "--parallel"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True)


def test_x_stops_a_running_backfill_without_the_api(slow_sim: SimulatorServer,
                                                     tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
                             slow_sim.url)
    process = _backfill(settings)
    lock = FileLock(runtime_path(UNIFIED_LOCK_FILE, settings))
    try:
        deadline = time.monotonic() + 60
        while not lock.is_held():  # poll a state with a deadline: the run has started
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the backfill never took its lock"
            time.sleep(0.05)
        app = DashboardApp(settings)

        async def test(pilot: Pilot[Any]) -> None:
            await wait_until(pilot, lambda: app.generation >= 1
                             and app.snapshot is not None and app.snapshot.backfill.running,
                             "the running backfill on screen")
            await pilot.press("x")
            message = await _result(pilot, app, 1)
            assert message == (f"backfill (pid {process.pid}) asked to stop (API down: "
                               "signalled directly)")
            await wait_until(pilot, lambda: process.poll() is not None,
                             "the backfill to exit", deadline=120)

        run_app(app, test)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, err
        status = read_status(runtime_path(BACKFILL_STATUS_FILE, settings))
        assert status is not None and status["state"] == "stopped", out
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
