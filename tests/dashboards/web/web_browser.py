"""Helpers of the web dashboard's browser tests (the fixtures are in conftest.py here).

Once per module the fixtures fill a SQLite database the way a running system fills it (a short
backfill and one live collection cycle against the real simulator, then the spread series, its
statistics and the z-scores), delete two settlements of one contract so that its history has a
real gap, and run `python -m lib.api` as a subprocess on a free port. Each test gets a fresh
browser page that records console errors; screenshots go to `test-artifacts/web/`. Chromium is
Debian's (`/usr/bin/chromium`, installed by `.ci/run`), never a downloaded one.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import ConsoleMessage, Page
from sqlalchemy import delete, func, select

from config.settings import Settings, load_settings
from lib.storage.engine import database
from lib.storage.schema import exchange_data, funding_rates_historical
from lib.timeutils import utcnow

ROOT = Path(__file__).resolve().parents[3]
ARTIFACTS = ROOT / "test-artifacts" / "web"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
DEADLINE_MS = 60_000  # what a page may take on a loaded machine before a test fails


@dataclass
class WebApp:
    """The running API (and dashboard) over a filled database."""

    url: str
    settings: Settings
    gap_contract: tuple[str, str]  # (exchange, symbol) with two settlements deleted
    gap_times: list[datetime]

    def clear_cache(self) -> None:
        """Empty the API's answer cache (10 s), so that it shows a change to the data now."""
        httpx.post(f"{self.url}/api/cache/clear", timeout=60).raise_for_status()

    def api(self, path: str, **params: Any) -> Any:
        reply = httpx.get(f"{self.url}{path}", params=params, timeout=60)
        reply.raise_for_status()
        return reply.json()


def settings_for(root: Path, sim_url: str) -> Settings:
    environ = {"DATABASE_URL": f"sqlite:///{root / 'data' / 'funding.db'}",
               "RUNTIME_DIR": str(root / "run"), "LOG_DIR": str(root / "logs"),
               "DATA_DIR": str(root / "data"), "SIMULATOR_URL": sim_url,
               "HTTP_READ_TIMEOUT": "2", "HTTP_CONNECT_TIMEOUT": "2"}
    return load_settings(environ=environ, env_file=root / "no.env")


def punch_gap(settings: Settings) -> tuple[tuple[str, str], list[datetime]]:
    """Delete two non-adjacent settlements inside the last two days of one 8 h contract."""
    f = funding_rates_historical.c
    since = utcnow() - timedelta(days=2)
    with database(settings, migrate=False) as engine, engine.begin() as conn:
        ex, sym = conn.execute(
            select(f.exchange, f.symbol)
            .where(f.funding_interval_hours == 8, f.funding_time >= since)
            .group_by(f.exchange, f.symbol).having(func.count() >= 5)
            .order_by(f.exchange, f.symbol).limit(1)).one()
        times = [t for (t,) in conn.execute(
            select(f.funding_time).where(f.exchange == ex, f.symbol == sym,
                                         f.funding_time >= since).order_by(f.funding_time))]
        gone = [times[1], times[3]]
        conn.execute(delete(funding_rates_historical).where(
            f.exchange == ex, f.symbol == sym, f.funding_time.in_(gone)))
    return (ex, sym), gone


def make_stale(settings: Settings, exchange: str) -> None:
    with database(settings, migrate=False) as engine, engine.begin() as conn:
        conn.execute(exchange_data.update().where(exchange_data.c.exchange == exchange)
                     .values(updated_at=utcnow() - timedelta(hours=1)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_api(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until /api/health answers (any status: the database may be degraded), or fail with the
    API's own output if it exits."""
    deadline = utcnow() + timedelta(seconds=60)
    while utcnow() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"python -m lib.api exited {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            httpx.get(f"{url}/api/health", timeout=2)
            return
        except httpx.TransportError:
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(timeout=0.2)  # a short pause that ends early if the API exits
    pytest.fail(f"the API did not answer on {url} within 60 s: {log.read_text()[-2000:]}")


@dataclass
class Tab:
    """One browser page on the dashboard, recording every console error and page error."""

    page: Page
    base: str
    errors: list[str] = field(default_factory=list)

    def goto(self, route: str, ready: str) -> None:
        """Open `#/route` and wait until page `ready` has its first data on screen."""
        self.page.goto(f"{self.base}/#/{route}")
        self.wait_ready(ready)

    def wait_ready(self, name: str) -> None:
        self.page.wait_for_selector(f"main[data-page='{name}'][data-ready='1']",
                                    timeout=DEADLINE_MS)

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self.errors.append(f"console: {msg.text} ({msg.location.get('url')})")
