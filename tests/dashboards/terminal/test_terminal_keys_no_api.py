"""The keys with the API down: C says it needs the API (a notification on screen), B and S ask
first, B starts and X stops a real backfill directly (lib.system), S finds no start.py to stop,
H and Q work, and nothing crashes."""

from __future__ import annotations

import contextlib
import os
import re
import signal
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets._toast import Toast  # the widget a notification is drawn in
from tui_helpers import (
    Filled,
    make_settings,
    next_snapshot,
    panel_text,
    row_of,
    run_app,
    screen_text,
    wait_until,
)

from lib.dashboards.terminal.app import DashboardApp
from lib.dashboards.terminal.screens import ConfirmScreen, HelpScreen
from lib.history.status import read_status
from lib.runtime.files import BACKFILL_STATUS_FILE, UNIFIED_LOCK_FILE, runtime_path
from lib.runtime.locks import FileLock
from lib.simulator import SimulatorServer


def _toasts(app: DashboardApp) -> list[str]:
    """The messages of the notifications on screen now."""
    return [toast._notification.message for toast in app.screen.query(Toast)
            if toast.region.area]


async def _result(pilot: Pilot[Any], app: DashboardApp, count: int) -> str:
    """Wait for the `count`th action result; return its message once it is on screen."""
    await wait_until(pilot, lambda: len(app.results) >= count, f"action result {count}")
    message = app.results[count - 1].message
    await wait_until(pilot, lambda: message in _toasts(app), "the notification on screen")
    return message


def test_keys_without_the_api(filled: Filled) -> None:
    app = DashboardApp(filled.settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.press("C")  # upper and lower case alike
        message = await _result(pilot, app, 1)
        assert message.startswith("cannot clear the cache: the API at http://127.0.0.1:")
        assert "not reachable" in message and app.results[0].via == "none"

        await pilot.press("b")  # asks first; N cancels and nothing is done
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen)
                         and "Start a backfill" in screen_text(app), "the question")
        assert f"Start a backfill of {filled.settings.HISTORICAL_DAYS} days" in screen_text(app)
        await pilot.press("n")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "cancel")
        assert len(app.results) == 1
        assert not FileLock(runtime_path(UNIFIED_LOCK_FILE, filled.settings)).is_held()

        await pilot.press("x")
        assert await _result(pilot, app, 2) == "no backfill running"
        assert app.results[1].via == "local"

        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("escape")
        await wait_until(pilot, lambda: not isinstance(app.screen, ConfirmScreen), "cancel")
        assert len(app.results) == 2
        await pilot.press("s")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.click("#yes")
        message = await _result(pilot, app, 3)
        assert message == "nothing to shut down: start.py is not running"

        app.clear_notifications()  # toasts would cover part of the help
        await pilot.press("H")
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
    sim.set_faults("latency=2s")  # every request 2 s: a backfill outlasts the test's steps
    return sim


def test_b_starts_and_x_stops_a_backfill_without_the_api(slow_sim: SimulatorServer,
                                                         tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
                             slow_sim.url, SUPERVISOR_STOP_TIMEOUT="120")
    lock = FileLock(runtime_path(UNIFIED_LOCK_FILE, settings))
    app = DashboardApp(settings)
    pids: list[int] = []

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.press("b")
        await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
        await pilot.press("y")
        message = await _result(pilot, app, 1)
        assert app.results[0].ok and app.results[0].via == "local", message
        match = re.search(r"started the backfill \(pid (\d+)\): unified_historical_backfill"
                          r"\.py --days 30 --parallel", message)
        assert match, message
        pids.append(int(match[1]))
        assert lock.is_held()
        await wait_until(pilot, lambda: app.snapshot is not None
                         and app.snapshot.backfill.running, "the running backfill on screen")
        await pilot.pause()
        assert "running" in row_of(panel_text(app, "services"), "backfill")
        await pilot.press("x")
        message = await _result(pilot, app, 2)
        assert app.results[1].ok and message.startswith(
            f"stopped unified_historical_backfill.py --days 30 --parallel (pid {pids[0]})")
        assert not lock.is_held()
        await next_snapshot(pilot, app)
        assert "last: stopped" in panel_text(app, "backfill")

    try:
        run_app(app, test)
    finally:
        for pid in pids:  # never leave a backfill behind if the test failed half-way
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    status = read_status(runtime_path(BACKFILL_STATUS_FILE, settings))
    assert status is not None and status["state"] == "stopped"
