"""The dashboard over a real `start.py --simulate` (simulator, collectors, z-scores and, in one
test, the API as its children): the services panel shows start.py and each child, and S shuts
everything down, through the API when it runs and directly (lib.system) when it does not."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot
from tui_helpers import (
    free_port,
    next_snapshot,
    panel_text,
    row_of,
    run_app,
    screen_text,
    wait_until,
)

from config.settings import Settings, load_settings
from lib.dashboards.terminal.app import DashboardApp
from lib.dashboards.terminal.screens import ConfirmScreen
from lib.system.shutdown import stop_system
from lib.system.state import read_state

ROOT = Path(__file__).resolve().parents[3]
DEADLINE_S = 120.0
CHILDREN = ("simulator", "collector", "spreads", "zscores")


@dataclass
class System:
    process: subprocess.Popen[bytes]
    settings: Settings
    err: Path


def _environment(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_BASE_URL") and not k.startswith("SUPERVISOR_")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
               RUNTIME_DIR=str(tmp_path / "run"), LOG_DIR=str(tmp_path / "logs"),
               DATA_DIR=str(tmp_path / "data"), SIMULATOR_URL="", HISTORICAL_DAYS="1",
               COLLECTION_INTERVAL="5", HTTP_READ_TIMEOUT="5", HTTP_CONNECT_TIMEOUT="2",
               API_PORT=str(free_port()), SUPERVISOR_BACKOFF_INITIAL="0.2",
               SUPERVISOR_BACKOFF_MAX="1", SUPERVISOR_STOP_TIMEOUT="30")
    return env


def _start(tmp_path: Path, *flags: str) -> Iterator[System]:
    """start.py --simulate with `flags`, until every child in CHILDREN runs; stopped after."""
    env = _environment(tmp_path)
    settings = load_settings(environ=env, env_file=tmp_path / "no.env")
    err = tmp_path / "start.err"
    with open(err, "wb") as stderr:
        process = subprocess.Popen(
            [sys.executable, "start.py", "--simulate", "--simulator-contracts", "120",
             "--no-backfill", *flags], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL, stderr=stderr)
    system = System(process, settings, err)
    try:
        deadline = time.monotonic() + DEADLINE_S
        while not _all_running(settings, flags):
            assert process.poll() is None, f"start.py ended: {err.read_text()}"
            assert time.monotonic() < deadline, f"start.py never ran: {read_state(settings)}"
            time.sleep(0.2)
        yield system
    finally:
        stop_system(settings, timeout=10)
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)


def _all_running(settings: Settings, flags: tuple[str, ...]) -> bool:
    state = read_state(settings)
    names = CHILDREN if "--no-api" in flags else (*CHILDREN, "api")
    return bool(state) and state.get("state") == "running" and all(
        state["children"].get(n, {}).get("state") == "running" for n in names)


@pytest.fixture
def system_no_api(tmp_path: Path) -> Iterator[System]:
    yield from _start(tmp_path, "--no-api")


@pytest.fixture
def system_with_api(tmp_path: Path) -> Iterator[System]:
    yield from _start(tmp_path)


async def _shutdown(pilot: Pilot[Any], app: DashboardApp) -> str:
    await pilot.press("s")
    await wait_until(pilot, lambda: isinstance(app.screen, ConfirmScreen), "the question")
    await pilot.press("y")
    await wait_until(pilot, lambda: bool(app.results), "the shutdown's result",
                     deadline=DEADLINE_S)
    return app.results[-1].message


def test_services_of_a_running_system_and_s_without_the_api(system_no_api: System) -> None:
    app = DashboardApp(system_no_api.settings)
    pid = system_no_api.process.pid

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1 and app.snapshot is not None
                         and app.snapshot.collection.age_s is not None, "a collection cycle",
                         deadline=DEADLINE_S)
        await pilot.pause()
        services = panel_text(app, "services")
        assert f"pid {pid}" in row_of(services, "start.py") and "running" in row_of(
            services, "start.py")
        for name in CHILDREN:
            assert "running" in row_of(services, name), services
        assert "last cycle" in row_of(services, "collector")
        assert "down" in row_of(services, "API")
        message = await _shutdown(pilot, app)
        assert app.results[-1].ok and app.results[-1].via == "local", message
        assert message.startswith("system shut down (API down: stopped directly): "
                                  f"start.py (pid {pid}):")
        await next_snapshot(pilot, app)
        assert "not running" in row_of(panel_text(app, "services"), "start.py")

    run_app(app, test, size=(100, 30))
    assert system_no_api.process.wait(timeout=DEADLINE_S) == 0


def test_keys_through_the_api_of_a_running_system(system_with_api: System) -> None:
    app = DashboardApp(system_with_api.settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.snapshot is not None
                         and app.snapshot.services.api_up, "the API up", deadline=DEADLINE_S)
        await pilot.pause()
        assert "API up" in screen_text(app).splitlines()[0]
        api_row = row_of(panel_text(app, "services"), "api")
        assert re.search(r" api +(running|up) +pid \d+", api_row), api_row
        await pilot.press("c")
        await wait_until(pilot, lambda: bool(app.results), "the cache's result")
        assert app.results[0].ok and app.results[0].via == "API", app.results[0]
        assert re.fullmatch(r"API cache cleared \(\d+ entries\)", app.results[0].message)
        message = await _shutdown(pilot, app)
        assert app.results[-1].ok and app.results[-1].via == "API", message

    run_app(app, test, size=(100, 30))
    assert system_with_api.process.wait(timeout=DEADLINE_S) == 0
