"""Fixtures of the web dashboard's browser tests: the filled database with the API running over
it (`web_app`), Debian's headless Chromium (`browser`) and a fresh page per test (`tab`); what
they do is in `web_browser`."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright
from running_system import fill_like_a_running_system as fill_database
from running_system import keep_fresh
from web_browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DEADLINE_MS,
    ROOT,
    Tab,
    WebApp,
    free_port,
    punch_gap,
    settings_for,
    wait_for_api,
)

from lib.simulator import SimulatorServer


@pytest.fixture(scope="module")
def web_app(small_sim: SimulatorServer,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebApp]:
    root = tmp_path_factory.mktemp("web")
    settings = settings_for(root, small_sim.url)
    fill_database(settings)
    gap_contract, gap_times = punch_gap(settings)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=settings.database_url, RUNTIME_DIR=str(root / "run"),
               LOG_DIR=str(root / "logs"), DATA_DIR=str(root / "data"), API_HOST="127.0.0.1",
               API_PORT=str(port), REDIS_URL="", API_TOKEN="", SIMULATOR_URL="",
               PYTHONUNBUFFERED="1")
    log = root / "api.out"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lib.api"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_api(url, proc, log)
        yield WebApp(url, settings, gap_contract, gap_times)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install "
                    "chromium; .ci/run does it)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def tab(browser: Browser, web_app: WebApp) -> Iterator[Tab]:
    """A fresh browser context and page; the app's snapshots stamped fresh first."""
    keep_fresh(web_app.settings)
    web_app.clear_cache()
    context = browser.new_context(viewport={"width": 1400, "height": 900},
                                  accept_downloads=True, timezone_id="Asia/Tokyo")
    context.set_default_timeout(DEADLINE_MS)
    page = context.new_page()
    t = Tab(page, web_app.url)
    page.on("console", t.on_console)
    page.on("pageerror", lambda e: t.errors.append(f"page error: {e}"))
    try:
        yield t
    finally:
        context.close()
