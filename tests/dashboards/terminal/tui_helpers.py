"""Helpers for the terminal dashboard tests: settings of their own, a database and runtime
files filled from the simulator by the project's own collector and backfill, and driving the
app with Textual's pilot and reading what is on the screen."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from textual.pilot import Pilot

from config.settings import Settings, load_settings
from lib.collection.collector import Collector
from lib.dashboards.terminal.app import DashboardApp
from lib.history.backfill import run_backfill
from lib.simulator import SimulatorServer
from lib.storage.engine import database

DEADLINE_S = 60.0  # generous: the machine is shared and loaded
SIZE = (80, 24)  # the narrow terminal every panel must fit in
BACKFILLED = ("binance", "okx")  # a small backfill: enough for a status file and history


def free_port() -> int:
    """A port nothing listens on now (the API is down there)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_settings(root: Path, url: str, sim_url: str, **extra: str) -> Settings:
    """Settings for one test: its own database, runtime and log folders, the simulator, and an
    API port nobody listens on unless `extra` says otherwise (no .env read)."""
    environ = {"DATABASE_URL": url, "RUNTIME_DIR": str(root / "run"),
               "LOG_DIR": str(root / "logs"), "DATA_DIR": str(root / "data"),
               "SIMULATOR_URL": sim_url, "HTTP_CONNECT_TIMEOUT": "1", "HTTP_READ_TIMEOUT": "2",
               "API_HOST": "127.0.0.1", "API_PORT": str(free_port()), **extra}
    return load_settings(environ=environ, env_file=root / "no.env")


@dataclass
class Filled:
    """A database and runtime files as the running system leaves them."""

    settings: Settings
    sim: SimulatorServer
    metrics: dict[str, Any]


def fill(settings: Settings, backfill: bool = True) -> dict[str, Any]:
    """One collection cycle (snapshots, contracts, metrics file) and a one-day backfill of two
    exchanges (history, status file), through the project's own jobs."""
    with database(settings) as engine:
        collector = Collector(engine, settings=settings)
        try:
            metrics = collector.run_cycle()
        finally:
            collector.close()
        if backfill:
            run_backfill(engine, days=1, exchanges=BACKFILLED, settings=settings)
    return metrics


async def wait_until(pilot: Pilot[Any], condition: Callable[[], bool],
                     what: str, deadline: float = DEADLINE_S) -> None:
    """Let the app run until `condition()` holds; fail naming `what` after `deadline` s."""
    loop = asyncio.get_running_loop()
    end = loop.time() + deadline
    while not condition():
        if loop.time() > end:
            raise AssertionError(f"timed out after {deadline:g} s waiting for {what}")
        await pilot.pause(0.05)


async def next_snapshot(pilot: Pilot[Any], app: DashboardApp) -> None:
    """Ask for a refresh and wait until one that started after now is on screen."""
    await wait_until(pilot, lambda: not app._gathering.locked(), "the refresh in flight")
    seen = app.generation
    app.refresh_data()
    await wait_until(pilot, lambda: app.generation > seen, "a new snapshot")
    await pilot.pause()


def screen_text(app: DashboardApp) -> str:
    """The whole screen as text, as a terminal would show it."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


def panel_text(app: DashboardApp, key: str) -> str:
    """The part of the screen inside one panel (its border and title included)."""
    region = app.panel(key).region
    lines = screen_text(app).splitlines()
    return "\n".join(line[region.x:region.right]
                     for line in lines[region.y:region.bottom])


def run_app(app: DashboardApp, test: Callable[[Pilot[Any]], Awaitable[None]],
            size: tuple[int, int] = SIZE) -> None:
    """Run `test` against the app in a headless terminal of `size`."""
    async def main() -> None:
        async with app.run_test(size=size, notifications=True) as pilot:
            await test(pilot)

    asyncio.run(main())


def row_of(text: str, name: str) -> str:
    """The first line of `text` that names `name` as a word; fails showing `text`."""
    for line in text.splitlines():
        if f" {name} " in f" {line.strip(' │')} ":
            return line
    raise AssertionError(f"no line names {name!r} in:\n{text}")


def panel_words(app: DashboardApp, key: str) -> str:
    """A panel's content as one line: wrapped text reads as it was written."""
    lines = panel_text(app, key).splitlines()[1:-1]
    return " ".join(" ".join(line.strip("│ ▁▂▃▄▅▆▇█").split()) for line in lines)
