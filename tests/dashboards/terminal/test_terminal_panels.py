"""Each panel shows what the database and the runtime files hold, at 80 × 24, with the API
down: the numbers on screen are checked against the files and the database themselves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from textual.pilot import Pilot
from tui_helpers import (
    SIZE,
    Filled,
    fill,
    make_settings,
    next_snapshot,
    panel_text,
    row_of,
    run_app,
    screen_text,
    wait_until,
)

from lib.analytics.ranking import rank_opportunities
from lib.dashboards.terminal.app import PANELS, DashboardApp
from lib.history.status import read_status
from lib.runtime.files import BACKFILL_STATUS_FILE
from lib.simulator import SimulatorServer
from lib.storage.admin import human_bytes
from lib.storage.engine import database
from lib.storage.schema import contracts, exchange_data, funding_rates_historical


def _counts(filled: Filled) -> dict[str, int]:
    with database(filled.settings, migrate=False) as engine, engine.connect() as conn:
        return {name: conn.execute(select(func.count()).select_from(table)).scalar_one()
                for name, table in (("contracts", contracts), ("snapshots", exchange_data),
                                    ("history", funding_rates_historical))}


def _top(filled: Filled) -> tuple[list[tuple[str, str, str]], int]:
    """The first pairs of the ranking (asset, short, long) and how many pairs it ranks."""
    with database(filled.settings, migrate=False) as engine, engine.connect() as conn:
        ranking = rank_opportunities(conn, hold_days=7, limit=3)
    return [(r.opportunity.base, r.opportunity.short.exchange, r.opportunity.long.exchange)
            for r in ranking.rows], ranking.candidates


def test_every_panel_shows_its_data_at_80x24_without_the_api(filled: Filled) -> None:
    app = DashboardApp(filled.settings)
    counts = _counts(filled)
    top, candidates = _top(filled)
    status = read_status(filled.settings.RUNTIME_DIR / BACKFILL_STATUS_FILE)
    assert status is not None and counts["history"] > 0 and top

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        screen = screen_text(app)
        lines = screen.splitlines()
        assert len(lines) == SIZE[1] and all(len(line) <= SIZE[0] for line in lines)
        for key, title in PANELS.items():  # every panel on screen, with room for content
            region = app.panel(key).region
            assert region.height >= 4 and region.right <= SIZE[0] and region.bottom <= SIZE[1]
            assert title[:12] in panel_text(app, key), key

        services = panel_text(app, "services")
        for name, state in (("collector", "fresh"), ("backfill", "idle"),
                            ("database", "ok"), ("API", "down")):
            assert any(name in line and state in line for line in services.splitlines()), name

        collection = panel_text(app, "collection")
        exchanges = filled.metrics["exchanges"]
        assert "last " in collection and "next in" in collection
        assert f"{len(exchanges)} OK" in collection  # all of them, even when the rows scroll
        first = row_of(collection, min(exchanges))
        assert f" {exchanges[min(exchanges)]['record_count']:,} " in first

        db = panel_text(app, "database")
        for name, n in counts.items():
            row = row_of(db, name)
            assert f" {n:,} " in row, row

        backfill = panel_text(app, "backfill")
        assert f"last: {status['state']}" in backfill
        for exchange, entry in status["exchanges"].items():
            row = row_of(backfill, exchange)
            shown = "done" if entry["state"] == "completed" else entry["state"]
            assert f"{entry['completeness']:.2f}%" in row and f" {shown} " in row, row

        top_panel = panel_text(app, "opportunities")
        first = row_of(top_panel, top[0][0])
        assert top[0][1] in first and top[0][2] in first
        assert f"8 of {candidates:,} pairs" in top_panel.splitlines()[-1]
        assert "API down" in lines[0]
        app.save_screenshot(filename="terminal_dashboard_80x24.svg", path="/tmp")

        # a refresh updates the same widgets in place (no remount, no blank screen between)
        bodies = {key: app.panel(key).body for key in PANELS}
        await next_snapshot(pilot, app)
        assert all(app.panel(key).body is body for key, body in bodies.items())
        assert "loading" not in screen_text(app) and row_of(panel_text(app, "database"),
                                                             "history")

        # every exchange's row, in a terminal tall enough for all of them
        await pilot.resize_terminal(120, 30 + len(exchanges))
        await wait_until(pilot, lambda: all(
            f" {name} " in panel_text(app, "collection") for name in exchanges), "every row")
        collection = panel_text(app, "collection")
        for exchange, entry in exchanges.items():
            row = row_of(collection, exchange)
            assert f" {entry['record_count']:,} " in row and " OK" in row, row

    run_app(app, test)


def test_database_and_opportunities_on_both_engines(db_url: str, sim: SimulatorServer,
                                                    tmp_path: Path) -> None:
    settings = make_settings(tmp_path, db_url, sim.url)
    filled = Filled(settings, sim, fill(settings, backfill=False))
    counts = _counts(filled)
    top, _ = _top(filled)
    app = DashboardApp(settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        view = app.snapshot.database if app.snapshot else None
        assert view is not None and view.error is None and view.size_bytes
        db = panel_text(app, "database")
        assert human_bytes(view.size_bytes) in db.splitlines()[0]  # in the title
        for name in ("contracts", "snapshots"):
            assert f" {counts[name]:,} " in row_of(db, name)
        engine_name = "PostgreSQL" if db_url.startswith("postgresql") else "SQLite"
        assert engine_name in db.splitlines()[-1]
        first = row_of(panel_text(app, "opportunities"), top[0][0])
        assert f"{top[0][1]} → {top[0][2]}" in first

    run_app(app, test)


def test_a_wider_terminal_shows_every_opportunity_column(filled: Filled) -> None:
    app = DashboardApp(filled.settings)

    async def test(pilot: Pilot[Any]) -> None:
        await wait_until(pilot, lambda: app.generation >= 1, "the first snapshot")
        await pilot.pause()
        assert "net %" in panel_text(app, "opportunities")
        assert "APR %" not in panel_text(app, "opportunities")  # 80 columns: the essentials
        await pilot.resize_terminal(160, 40)
        await wait_until(pilot, lambda: "intervals" in panel_text(app, "opportunities")
                         and "APR %" in panel_text(app, "opportunities"), "the wide columns")
        assert app.panel("opportunities").region.right <= 160

    run_app(app, test)
