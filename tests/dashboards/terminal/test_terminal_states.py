"""The panels in the states the system goes through: exchanges slow, timed out or failing, a
backfill running (progress bars), finished, killed or about another database, runtime files
corrupt, no database at all. The files are written by the project's own writers."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from textual.pilot import Pilot
from tui_helpers import (
    fill,
    free_port,
    make_settings,
    next_snapshot,
    panel_text,
    panel_words,
    row_of,
    run_app,
    screen_text,
    wait_until,
)

from config.settings import Settings
from lib.collection.metrics import ExchangeMetrics, metrics_document, write_metrics
from lib.dashboards.terminal.app import DashboardApp
from lib.dashboards.terminal.collection import cycle_status, slow_after_ms
from lib.dashboards.terminal.screens import HelpScreen
from lib.dashboards.terminal.services import read_start, start_rows
from lib.history.status import StatusWriter, database_record
from lib.runtime.files import (
    BACKFILL_STATUS_FILE,
    METRICS_FILE,
    UNIFIED_LOCK_FILE,
    runtime_path,
)
from lib.runtime.locks import FileLock
from lib.simulator import SimulatorServer
from lib.storage.engine import database
from lib.system.state import write_state
from lib.timeutils import utcnow


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on an empty (schema only) SQLite database; no simulator, no API."""
    s = make_settings(tmp_path, f"sqlite:///{tmp_path / 'data' / 'funding.db'}", "")
    with database(s):
        pass
    return s


def test_cycle_status_from_a_metrics_entry(settings: Settings) -> None:
    slow = slow_after_ms(settings)  # HTTP timeouts 1 + 2 s: allowance 5 s, slow after 2.5 s
    assert slow == 2500
    assert cycle_status({"success": True, "duration_ms": 2500}, slow) == "OK"
    assert cycle_status({"success": True, "duration_ms": 2501}, slow) == "SLOW"
    assert cycle_status({"success": False, "error": "timed out after 5s"}, slow) == "TIMEOUT"
    assert cycle_status({"success": False, "error": "okx: /api/v5: Read timed out. (read "
                                                    "timeout=2)"}, slow) == "TIMEOUT"
    assert cycle_status({"success": False, "error": "bybit: HTTP 503"}, slow) == "ERROR"
    assert cycle_status({"success": False}, slow) == "ERROR"


def test_collection_shows_ok_slow_timeout_and_error(settings: Settings) -> None:
    started = utcnow() - timedelta(seconds=10)
    write_metrics(metrics_document("b1", started, 5100, {
        "binance": ExchangeMetrics(300, 210, True),
        "bybit": ExchangeMetrics(4000, 190, True),
        "okx": ExchangeMetrics(5000, 0, False, "timed out after 5s"),
        "gate": ExchangeMetrics(120, 0, False, "gate: /api/v4/futures/usdt/contracts: HTTP 502"),
    }), settings)
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        text = panel_text(app, "collection")
        assert "1 OK, 1 SLOW, 1 TIMEOUT, 1 ERROR" in text and "400 contracts" in text
        assert "next in" in text and "5.1 s" in text
        for exchange, count, status in (("binance", "210", "OK"), ("bybit", "190", "SLOW"),
                                        ("okx", "0", "TIMEOUT"), ("gate", "0", "ERROR")):
            row = row_of(text, exchange)
            assert f" {count} " in row and f" {status}" in row, row
        words = panel_words(app, "collection")
        assert "gate: /api/v4/futures/usdt/contracts: HTTP 502" in words
        assert "okx: timed out after 5s" in words
        services = panel_text(app, "services")
        assert " fresh " in row_of(services, "collector")

    run_app(app, test)


def test_an_old_cycle_is_overdue_and_the_collector_stale(settings: Settings) -> None:
    write_metrics(metrics_document("b0", utcnow() - timedelta(minutes=5), 800,
                                   {"binance": ExchangeMetrics(800, 210, True)}), settings)
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        assert "overdue" in panel_text(app, "collection")
        assert "stale" in row_of(panel_text(app, "services"), "collector")

    run_app(app, test)


def _writer(settings: Settings, url: str | None = None) -> StatusWriter:
    now = utcnow()
    return StatusWriter(runtime_path(BACKFILL_STATUS_FILE, settings), days=3.0,
                        window_start=now - timedelta(days=3), window_end=now,
                        exchanges=["binance", "okx"], command="unified_historical_backfill.py",
                        database=database_record(url or settings.database_url), min_interval=0)


def test_backfill_progress_bars_while_it_runs_then_the_result(settings: Settings) -> None:
    lock = FileLock(runtime_path(UNIFIED_LOCK_FILE, settings),
                    command="unified_historical_backfill.py --days 3 --parallel")
    lock.acquire()
    writer = _writer(settings)
    writer.start()
    writer.update("binance", state="running", contracts_total=10, contracts_done=4,
                  records=1234, force=True)
    writer.update("okx", state="running", contracts_total=8, contracts_done=2, records=55,
                  force=True)
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        try:
            await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
            await pilot.pause()
            text = panel_text(app, "backfill")
            assert "running" in text and "1,289 records" in text
            assert "33.3%" in text  # 6 of 18 contracts
            for exchange, pct, records in (("binance", "40.0%", "1,234"),
                                           ("okx", "25.0%", "55")):
                row = row_of(text, exchange)
                assert pct in row and records in row and "━" in row, row
            services = panel_text(app, "services")
            assert "running" in row_of(services, "backfill")
            writer.update("binance", state="completed", contracts_done=10, force=True)
            writer.update("okx", state="completed", contracts_done=8, force=True)
            writer.finish("completed")
            lock.release()
            await next_snapshot(pilot, app)
            text = panel_text(app, "backfill")
            assert "last: completed" in text and "━" not in text
            assert " done " in row_of(text, "binance")
            assert "idle" in row_of(panel_text(app, "services"), "backfill")
        finally:
            lock.release()

    run_app(app, test)


def test_a_killed_backfill_and_another_databases_status(settings: Settings,
                                                        tmp_path: Path) -> None:
    writer = _writer(settings)
    writer.start()  # 'running', and nobody holds the lock: its run was killed
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        assert "stale" in panel_text(app, "backfill")
        other = _writer(settings, f"sqlite:///{tmp_path / 'other.db'}")
        other.start()
        other.finish("completed")
        await next_snapshot(pilot, app)
        assert "describes another" in panel_text(app, "backfill")

    run_app(app, test)


def test_corrupt_runtime_files_blank_only_their_panel(settings: Settings) -> None:
    runtime_path(METRICS_FILE, settings).write_text('{"batch_id": "b1", "exchan')
    runtime_path(BACKFILL_STATUS_FILE, settings).write_text('{"state": "bogus"}')
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        assert "is not valid JSON (truncated or corrupt)" in panel_words(app, "collection")
        assert "is not a usable backfill status" in panel_words(app, "backfill")
        assert "schema v" in panel_text(app, "database")
        assert "ok" in row_of(panel_text(app, "services"), "database")

    run_app(app, test, size=(120, 40))  # room for the whole messages


def test_no_database_and_no_files_is_said_and_nothing_is_created(tmp_path: Path) -> None:
    path = tmp_path / "data" / "funding.db"
    settings = make_settings(tmp_path, f"sqlite:///{path}", "")
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        assert "does not exist yet" in panel_text(app, "database")
        assert "no database" in panel_text(app, "opportunities")
        assert "no collection cycle yet" in panel_text(app, "collection")
        assert "no backfill yet" in panel_text(app, "backfill")
        assert "error" in row_of(panel_text(app, "services"), "database")

    run_app(app, test)
    assert not path.exists()


def _state(now: datetime) -> dict[str, Any]:
    child = {"pid": 4250, "pid_started": 1.0, "command": "x", "log": "x.log", "restarts": 0,
             "last_exit_code": None, "last_exit_at": None, "started_at": now.isoformat(),
             "next_start_at": None, "message": ""}
    return {"pid": 4242, "pid_started": 1.0, "host": "h", "command": "start.py",
            "started_at": (now - timedelta(minutes=5)).isoformat(), "updated_at":
            now.isoformat(), "state": "running", "simulate": False, "simulator_url": None,
            "children": {
                "collector": {**child, "state": "running"},
                "zscores": {**child, "state": "failed", "pid": None, "restarts": 5,
                            "last_exit_code": 1, "message": "exited 5 times within 600 s"},
                "spreads": {**child, "state": "waiting", "restarts": 2, "last_exit_code": -9},
                "backfill": {**child, "state": "exited", "last_exit_code": 0},
            }}


def test_services_from_start_pys_state_file(settings: Settings) -> None:
    now = utcnow()
    rows = {r.name: r for r in start_rows(_state(now), True, now)}
    assert (rows["start.py"].state, rows["start.py"].detail) == ("running", "pid 4242, up 5 min")
    assert rows["collector"].ok and rows["collector"].detail == "pid 4250"
    assert not rows["zscores"].ok and rows["zscores"].detail == (
        "5 restarts, exit 1, exited 5 times within 600 s")
    assert not rows["spreads"].ok and rows["spreads"].detail == "2 restarts, exit -9"
    assert rows["backfill"].ok and rows["backfill"].detail == "exit 0"
    # the same file with no start.py holding its lock: the children are not believed
    write_state(settings, _state(now))
    shown = read_start(settings, now)
    assert [(r.name, r.state, r.ok) for r in shown] == [("start.py", "not running", False)]
    assert shown[0].detail == f"last ran until {now.isoformat()}"


def test_an_unreachable_postgresql_is_one_line_and_the_rest_stays_live(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    settings = make_settings(tmp_path, f"postgresql://postgres@127.0.0.1:{port}/funding", "")
    write_metrics(metrics_document("b1", utcnow(), 300,
                                   {"binance": ExchangeMetrics(300, 210, True)}), settings)
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        words = panel_words(app, "database")
        assert f"cannot connect to PostgreSQL at 127.0.0.1:{port}/funding" in words, words
        assert "1 OK" in panel_text(app, "collection")
        assert "error" in row_of(panel_text(app, "services"), "database")
        await next_snapshot(pilot, app)  # and it keeps trying, without piling up refreshes
        assert app.generation >= 2 and "cannot connect" in panel_words(app, "database")

    run_app(app, test, size=(120, 40))


def test_keys_answer_while_the_database_holds_a_refresh_up(pg_url: str, sim: SimulatorServer,
                                                           tmp_path: Path) -> None:
    """A refresh stuck on a locked table (PostgreSQL) leaves the screen live: help opens and
    closes, the clock ticks; the refresh lands once the lock goes."""
    settings = make_settings(tmp_path, pg_url, sim.url)
    fill(settings, backfill=False)
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        seen = app.generation
        with database(settings, migrate=False) as engine, engine.connect() as locker:
            locker.execute(text("LOCK TABLE contracts IN ACCESS EXCLUSIVE MODE"))
            await wait_until(pilot, lambda: not app._gathering.locked(), "the refresh in flight")
            app.refresh_data()
            assert app._gathering.locked()  # a refresh is under way, and cannot finish
            status = screen_text(app).splitlines()[0]
            await wait_until(pilot, lambda: screen_text(app).splitlines()[0] != status,
                             "the clock to tick")
            await pilot.press("h")
            await wait_until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
            await pilot.press("escape")
            await wait_until(pilot, lambda: not isinstance(app.screen, HelpScreen), "closed")
            assert app._gathering.locked() and app.generation == seen
            locker.rollback()
        await wait_until(pilot, lambda: app.generation > seen, "the refresh to land")

    run_app(app, test)
