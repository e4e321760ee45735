"""The backfill against the real simulator, on both engines: exactness, resumption, faults."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from history_truth import DAYS, ground_truth, row_count, stored
from sqlalchemy import Engine, select

from config.settings import SUPPORTED_EXCHANGES, Settings, get_settings, load_settings
from lib.exchanges import get_adapter
from lib.history.backfill import run_backfill
from lib.history.completeness import schedule
from lib.runtime.files import BACKFILL_STATUS_FILE, read_json, runtime_path
from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator
from lib.storage.schema import funding_missing_at_exchange as missing_at_exchange
from lib.timeutils import from_iso, to_ms

EXCHANGES = list(SUPPORTED_EXCHANGES)
# The faults the issue names (errors, timeouts, malformed replies; 429s are covered per adapter),
# and empty pages, which end a pagination early as an exchange's real empty page would.
FAULTS = "error_rate=0.05,malformed_rate=0.03,timeout_rate=0.02,empty_rate=0.03,timeout=2s"


def _truth_for(sim: SimulatorServer, status: dict) -> dict:
    start, end = from_iso(status["window_start"]), from_iso(status["window_end"])
    return ground_truth(sim, EXCHANGES, start, end)


def test_backfill_with_faults_ends_at_100_percent_of_the_simulator(
    engine: Engine, sim: SimulatorServer, live_settings: Settings
) -> None:
    sim.set_faults(FAULTS)
    result = run_backfill(engine, DAYS, EXCHANGES, parallel=True, settings=live_settings)
    sim.set_faults(None)

    status = read_json(runtime_path(BACKFILL_STATUS_FILE))
    assert status is not None and status["state"] == result.state == "completed"
    truth = _truth_for(sim, status)
    got = stored(engine)
    assert set(got) == set(truth)
    assert all(got[k] == truth[k] for k in truth)
    assert row_count(engine) == len(got)  # no settlement stored twice
    assert status["overall"]["completeness"] == 100.0
    assert status["overall"]["settlements_stored"] == len(truth)
    for ex in EXCHANGES:
        entry = status["exchanges"][ex]
        assert entry["state"] == "completed"
        assert entry["percent_complete"] == 100.0
        assert entry["contracts_done"] == entry["contracts_total"] == len(
            sim.universe.contracts(ex))
        assert entry["finished_at"] and entry["started_at"]


def test_second_run_fetches_almost_nothing_and_known_missing_is_reported(
    engine: Engine, sim: SimulatorServer, live_settings: Settings
) -> None:
    first = run_backfill(engine, DAYS, EXCHANGES, parallel=True, settings=live_settings)
    requests_first = sum(sim.request_counts().values())
    sim.reset_counts()
    second = run_backfill(engine, DAYS, EXCHANGES, parallel=True, settings=live_settings)
    requests_second = sum(sim.request_counts().values())
    assert first.state == second.state == "completed"
    assert second.status["overall"]["records"] == 0
    # only the contract listings, plus a few re-asks at the window's edges
    assert requests_second <= 3 * len(EXCHANGES) + 10 < requests_first

    start = from_iso(first.status["window_start"])
    end = from_iso(first.status["window_end"])
    known = first.status["overall"]["known_missing"]
    truly_missing = {
        (ex, c.symbol, to_ms(t))
        for ex in EXCHANGES for c in sim.universe.contracts(ex)
        for t in sim.universe.missing_settlements(ex, c.symbol, start, end)
    }
    assert 0 < known <= len(truly_missing)
    assert not truly_missing & set(stored(engine))


def test_status_file_is_valid_json_with_every_field(
    engine: Engine, sim: SimulatorServer, live_settings: Settings
) -> None:
    run_backfill(engine, 1, ["okx", "dydx"], parallel=False, settings=live_settings)
    raw = runtime_path(BACKFILL_STATUS_FILE).read_text()
    status = json.loads(raw)
    assert set(status) >= {"state", "pid", "command", "days", "window_start", "window_end",
                           "started_at", "updated_at", "finished_at", "exchanges", "overall"}
    assert set(status["exchanges"]) == {"okx", "dydx"}
    for entry in status["exchanges"].values():
        assert set(entry) >= {"state", "percent_complete", "contracts_done", "contracts_total",
                              "records", "errors", "started_at", "updated_at", "finished_at",
                              "completeness"}
        assert entry["records"] > 0 and entry["errors"] == 0


def test_contract_listed_inside_the_window_without_a_listing_time(
    engine: Engine, sim: SimulatorServer, live_settings: Settings
) -> None:
    """Bitget often leaves `launchTime` empty. A contract listed mid-window then has no
    settlements before its first one: two replies agreeing on that record the earlier slots
    as absent at the exchange, so completeness is 100 % and a second run does not ask again."""
    result = run_backfill(engine, 30, ["bitget"], parallel=True, settings=live_settings)
    status = result.status
    start, end = from_iso(status["window_start"]), from_iso(status["window_end"])
    late = [c for c in sim.universe.contracts("bitget") if c.listed_ms > to_ms(start)]
    assert [c.symbol for c in late] == ["DAKRUSUSDT"]  # seed 42, 120 contracts
    listed = next(c for c in get_adapter("bitget", live_settings).list_contracts()
                  if c.symbol == "DAKRUSUSDT")
    assert listed.listed_at is None  # the exchange did not say when

    assert result.state == "completed" and status["overall"]["completeness"] == 100.0
    assert stored(engine) == ground_truth(sim, ["bitget"], start, end)
    contract = late[0]
    before_listing = set(schedule(contract.interval_hours, to_ms(start), contract.listed_ms - 1))
    absent_later = {to_ms(t) for t in sim.universe.missing_settlements(
        "bitget", contract.symbol, start, end)}
    with engine.connect() as conn:
        recorded = {to_ms(t) for (t,) in conn.execute(
            select(missing_at_exchange.c.funding_time).where(
                missing_at_exchange.c.symbol == contract.symbol))}
    assert len(before_listing) > 50 and recorded == before_listing | absent_later

    sim.reset_counts()
    again = run_backfill(engine, 30, ["bitget"], parallel=True, settings=live_settings)
    assert again.status["overall"]["records"] == 0
    assert sim.request_counts()["bitget"] <= 3  # the listing and the window's newest edge


def test_newest_slot_missing_at_the_exchange_right_after_it_settled(
    engine: Engine, live_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run starting 150 s after an hourly settlement that the exchange lacks: the window
    ends a publish grace (120 s) ago, so that slot is in it, and the exchange's clock says it
    is old enough for two replies without it to confirm it missing. Completeness is 100 %."""
    pinned = datetime(2026, 11, 20, 12, tzinfo=UTC)
    with running_simulator(SimulatorConfig(seed=42, total_contracts=120, now=pinned)) as sim:
        found = [(ex, c.symbol, t) for ex in ("hyperliquid", "dydx")
                 for c in sim.universe.contracts(ex)
                 for t in sim.universe.missing_settlements(ex, c.symbol,
                                                           pinned - timedelta(days=3),
                                                           pinned - timedelta(days=1))]
    assert found, "seed 42 has no missing hourly settlement in those days"
    exchange, symbol, slot = found[0]
    start = slot + timedelta(seconds=150)
    with running_simulator(SimulatorConfig(seed=42, total_contracts=120, now=start)) as sim:
        assert sim.universe.missing_settlements(exchange, symbol, slot, slot) == [slot]
        monkeypatch.setenv("SIMULATOR_URL", sim.url)
        get_settings.cache_clear()
        result = run_backfill(engine, 1, [exchange], settings=get_settings(),
                              now=sim.universe.now())
        status = result.status
        window_end = from_iso(status["window_end"])
        assert slot < window_end < slot + timedelta(seconds=60)
        assert stored(engine) == ground_truth(sim, [exchange], from_iso(
            status["window_start"]), window_end)
    assert result.state == "completed" and status["overall"]["completeness"] == 100.0
    with engine.connect() as conn:
        recorded = conn.execute(select(missing_at_exchange.c.funding_time).where(
            missing_at_exchange.c.symbol == symbol)).scalars().all()
    assert slot in recorded


def test_the_settings_passed_in_say_where_the_status_file_goes(
    engine: Engine, db_url: str, sim: SimulatorServer, live_settings: Settings, tmp_path: Path
) -> None:
    own = load_settings({"SIMULATOR_URL": sim.url, "DATABASE_URL": db_url,
                         "RUNTIME_DIR": str(tmp_path / "own-run")}, env_file=tmp_path / "no.env")
    result = run_backfill(engine, 1, ["dydx"], settings=own)
    status = read_json(own.RUNTIME_DIR / BACKFILL_STATUS_FILE)
    assert status is not None and status["state"] == result.state == "completed"
    assert not (live_settings.RUNTIME_DIR / BACKFILL_STATUS_FILE).exists()
