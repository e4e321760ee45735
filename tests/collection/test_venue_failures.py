"""A venue that refuses (Drift answering 403 while winding down) is that venue's failure in the
metrics, with the reason, and the other venues carry on; Hibachi's rates come from the venue or
not at all (a failed call is an error, never a zero rate), with each settlement's interval
stored as the venue settled it."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import Engine, func, select

from config.settings import Settings, get_settings, load_settings
from lib.collection.collector import Collector
from lib.errors import ExchangeError
from lib.exchanges import get_adapter
from lib.history.backfill import run_backfill
from lib.runtime.files import BACKFILL_STATUS_FILE, METRICS_FILE, read_json, runtime_path
from lib.simulator import SimulatorServer
from lib.storage.schema import exchange_data
from lib.storage.schema import funding_rates_historical as frh

SEVERAL = ["drift", "dydx", "hibachi", "hyperliquid", "okx"]


def _rows_by_exchange(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return dict(conn.execute(
            select(exchange_data.c.exchange, func.count()).group_by(exchange_data.c.exchange)
        ).all())


def test_drift_answering_403_fails_alone_and_recovers(
    engine: Engine, sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_MAX_RETRIES", "1")
    get_settings.cache_clear()
    drift = sim.app.venues["drift"]
    drift.forbidden = True  # type: ignore[attr-defined]
    collector = Collector(engine, SEVERAL, get_settings())
    try:
        refused = collector.run_cycle()
        on_disk = read_json(runtime_path(METRICS_FILE))
        counts = _rows_by_exchange(engine)
        drift.forbidden = False  # type: ignore[attr-defined]
        recovered = collector.run_cycle()
    finally:
        drift.forbidden = False  # type: ignore[attr-defined]
        collector.close()
    entry = refused["exchanges"]["drift"]
    assert entry["success"] is False and entry["record_count"] == 0
    assert entry["error"].startswith("drift: /stats/markets: HTTP 403")
    assert "Forbidden" in entry["error"]
    assert on_disk is not None and on_disk["exchanges"]["drift"]["success"] is False
    for ex in SEVERAL[1:]:
        assert refused["exchanges"][ex]["success"] is True, refused["exchanges"][ex]
        assert counts[ex] == len(sim.universe.contracts(ex))
    assert "drift" not in counts
    assert recovered["exchanges"]["drift"]["success"] is True
    assert recovered["exchanges"]["drift"]["record_count"] == len(sim.universe.contracts("drift"))


def test_drift_that_stopped_publishing_fails_alone(
    engine: Engine, sim: SimulatorServer, live_settings: Settings,
) -> None:
    drift = sim.app.venues["drift"]
    drift.stopped_days_ago = 2.0  # type: ignore[attr-defined]
    collector = Collector(engine, SEVERAL, get_settings())
    try:
        stale = collector.run_cycle()
    finally:
        drift.stopped_days_ago = 0.0  # type: ignore[attr-defined]
        collector.close()
    entry = stale["exchanges"]["drift"]
    assert entry["success"] is False and entry["record_count"] == 0
    assert entry["error"].startswith("drift: /stats/markets: no funding update since ")
    assert entry["error"].endswith("the venue has stopped publishing (winding down or renamed?)")
    assert all(stale["exchanges"][ex]["success"] for ex in SEVERAL[1:])
    assert "drift" not in _rows_by_exchange(engine)


def test_hibachi_failed_calls_are_errors_never_zero_rates(
    engine: Engine, sim: SimulatorServer, live_settings: Settings,
) -> None:
    settings = load_settings({"SIMULATOR_URL": sim.url, "HTTP_MAX_RETRIES": "1"})
    adapter = get_adapter("hibachi", settings)
    sim.set_faults("error_rate=1")
    try:
        with pytest.raises(ExchangeError, match="hibachi: "):
            adapter.fetch_current()
        with pytest.raises(ExchangeError, match="hibachi: "):
            adapter.list_contracts()
        collector = Collector(engine, ["hibachi", "dydx"], settings)
        try:
            failed = collector.run_cycle()
        finally:
            collector.close()
    finally:
        sim.set_faults(None)
        adapter.close()
    assert failed["exchanges"]["hibachi"]["success"] is False
    assert failed["exchanges"]["hibachi"]["record_count"] == 0
    assert "hibachi" not in _rows_by_exchange(engine)  # nothing stored, certainly no zeros


def test_hibachi_backfill_stores_each_settlements_own_interval(
    engine: Engine, sim: SimulatorServer, live_settings: Settings,
) -> None:
    """30 days across the venue's 8 h -> 1 h change: every row carries the interval it settled
    on, inferred from the spacing, and the run ends complete."""
    result = run_backfill(engine, 30, ["hibachi"], parallel=True, settings=live_settings)
    status = read_json(runtime_path(BACKFILL_STATUS_FILE))
    assert result.state == "completed" and status is not None
    assert status["exchanges"]["hibachi"]["percent_complete"] == 100.0
    with engine.connect() as conn:
        rows = conn.execute(select(frh.c.symbol, frh.c.funding_time, frh.c.funding_rate,
                                   frh.c.funding_interval_hours)
                            .where(frh.c.exchange == "hibachi")).all()
    assert rows
    u = sim.universe
    seen: Counter[float] = Counter()
    for symbol, when, rate, interval in rows:
        when = when if when.tzinfo else when.replace(tzinfo=u.now().tzinfo)
        assert interval == u.interval_at("hibachi", symbol, when), (symbol, when, interval)
        assert rate == dict(u.settlements("hibachi", symbol, when, when))[when]
        seen[interval] += 1
    assert set(seen) == {1.0, 8.0} and seen[1.0] > seen[8.0] > 0
    start = u.now() - timedelta(days=30)
    for c in u.contracts("hibachi"):
        truth = u.settlements("hibachi", c.symbol, start + timedelta(hours=1),
                              u.now() - timedelta(hours=2))
        stored = {r[1] if r[1].tzinfo else r[1].replace(tzinfo=start.tzinfo)
                  for r in rows if r[0] == c.symbol}
        assert {t for t, _ in truth} <= stored, c.symbol
