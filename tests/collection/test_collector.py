"""The live collector against the simulator: settled rates, metrics, failures, the CLI."""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from history_truth import ground_truth, row_count, stored
from script_runs import run_cli, start_cli
from sqlalchemy import Engine, func, select

from config.settings import SUPPORTED_EXCHANGES, Settings, get_settings, load_settings
from lib.collection.collector import Collector
from lib.errors import TemporaryExchangeError
from lib.exchanges.venues.dydx import Adapter as DydxAdapter
from lib.models import Contract, FundingEvent
from lib.runtime.files import METRICS_FILE, read_json, runtime_path
from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator
from lib.storage.admin import CSV_FILENAME
from lib.storage.schema import exchange_data
from lib.timeutils import to_ms

SCALE = 720.0  # one simulated hour every 5 s
ALL = list(SUPPORTED_EXCHANGES)
# Hyperliquid, dYdX, Deribit, Lighter and Pacifica do not report the next funding time: their
# adapters derive it from the exchange's clock (its replies' Date header), which the scaled
# simulator runs a day ahead of the local clock here, so every registered venue takes part.


@pytest.fixture(scope="module")
def fast_sim() -> Iterator[SimulatorServer]:
    # a day ahead of the local clock from the start (the scale adds an hour every 5 s): the
    # collector must go by the exchange's times, which is also what real clock skew needs
    ahead = datetime.now(UTC) + timedelta(days=1)
    with running_simulator(SimulatorConfig(seed=11, total_contracts=100, time_scale=SCALE,
                                           now=ahead)) as server:
        yield server


def _run_for(collector: Collector, seconds: float, interval: float = 0.5) -> int:
    stop = threading.Event()
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        return collector.run(interval, stop)
    finally:
        timer.cancel()


def _truth_in(sim: SimulatorServer, windows: list[tuple[str, str, datetime, timedelta]],
              ) -> dict[tuple[str, str, int], float]:
    """The simulator's settlements in each (exchange, symbol, start, length) window."""
    return {(ex, symbol, to_ms(when)): rate for ex, symbol, start, length in windows
            for when, rate in sim.universe.settlements(ex, symbol, start, start + length)}


def _drain_all_but_missing(collector: Collector, sim: SimulatorServer,
                           timeout: float = 30) -> None:
    """Wait until every queued settlement is stored, except windows whose slot the exchange
    itself lacks: with no later settlement yet, no reply can show it missing, so the worker
    keeps retrying those (and leaves them to fill_recent_gaps.py in the end)."""
    deadline = time.monotonic() + timeout
    while True:
        left = collector.pending_windows()
        if all(sim.universe.missing_settlements(c.exchange, c.symbol, lo, hi)
               for c, lo, hi in left):
            return
        assert time.monotonic() < deadline, [(c.symbol, lo, hi) for c, lo, hi in left]
        time.sleep(0.05)


def test_settled_rates_stored_once_across_cycles_and_restarts(
    engine: Engine, fast_sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SIMULATOR_URL", fast_sim.url)
    get_settings.cache_clear()
    settings = get_settings()
    t0 = fast_sim.universe.now()
    first = Collector(engine, ALL, settings, time_scale=SCALE)
    try:
        assert _run_for(first, 8) >= 10
    finally:
        first.close()  # queued settlements are dropped here: the restart must find them
    time.sleep(6)  # more than one simulated hour passes with no collector running
    second = Collector(engine, ALL, settings, time_scale=SCALE)
    try:
        _run_for(second, 8)
        _drain_all_but_missing(second, fast_sim)
    finally:
        second.close()
    t1 = fast_sim.universe.now()

    live = stored(engine, source="live")
    # the restart's catch-up may also store the slot just before the first run's first
    # next funding time: a real settlement, so the truth it is checked against reaches back
    truth = ground_truth(fast_sim, ALL, t0 - timedelta(days=1), t1)
    settled_by_end = ground_truth(fast_sim, ALL, t0 + timedelta(seconds=1),
                                  t1 - timedelta(minutes=20))
    assert len(settled_by_end) >= 10
    lost = sorted(set(settled_by_end) - set(live))
    assert not lost, (lost, t0, t1)  # none lost, downtime included
    assert set(live) <= set(truth)  # nothing that did not settle in the run
    assert all(live[k] == truth[k] for k in live)  # the settled value, not a prediction
    assert row_count(engine) == len(stored(engine))  # none stored twice


def test_restart_stores_the_slot_the_last_run_saw_settle(
    engine: Engine, fast_sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run that saw a settlement (its next funding time moved on) but stopped before storing
    it leaves only exchange_data behind; the next start-up must store that slot. The scaled
    simulator runs a day ahead of the local clock, so this also shows the catch-up goes by the
    exchange's times, not the local clock."""
    monkeypatch.setenv("SIMULATOR_URL", fast_sim.url)
    get_settings.cache_clear()
    settings = get_settings()
    first = Collector(engine, ALL, settings, time_scale=SCALE)
    try:
        first.run_cycle()  # the first cycle has no baseline: it stores no settlement
    finally:
        first.close()
    with engine.connect() as conn:
        seen = conn.execute(select(exchange_data.c.exchange, exchange_data.c.symbol,
                                   exchange_data.c.next_funding_time,
                                   exchange_data.c.funding_interval_hours)).all()
    assert len(seen) >= 50 and not stored(engine)
    second = Collector(engine, ALL, settings, time_scale=SCALE)
    try:
        second.run_cycle()
        _drain_all_but_missing(second, fast_sim)
    finally:
        second.close()
    live = stored(engine, source="live")
    expected = _truth_in(fast_sim, [(ex, symbol, nft - timedelta(hours=hours), timedelta(0))
                                    for ex, symbol, nft, hours in seen])
    assert len(expected) >= 0.9 * len(seen)  # a few slots are missing at the exchange itself
    assert {k: live.get(k) for k in expected} == expected


class FirstListingFails(DydxAdapter):
    """dYdX whose first contract listing fails, as a timed-out request would."""

    failed = False

    def list_contracts(self) -> list[Contract]:
        if not self.failed:
            self.failed = True
            raise TemporaryExchangeError(self.id, "/v4/perpetualMarkets: read timed out")
        return super().list_contracts()


def test_settlements_wait_for_a_late_contract_list(
    engine: Engine, fast_sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two hourly settlements pass while no collector runs, and the restart's first listing
    fails: the snapshot must not move the baseline past them before the contracts are known."""
    monkeypatch.setenv("SIMULATOR_URL", fast_sim.url)
    get_settings.cache_clear()
    settings = get_settings()
    first = Collector(engine, ["dydx"], settings, time_scale=SCALE)
    try:
        first.run_cycle()
    finally:
        first.close()
    with engine.connect() as conn:
        baseline = dict(conn.execute(select(exchange_data.c.symbol,
                                            exchange_data.c.next_funding_time)).all())
    time.sleep(2.2 * 3600 / SCALE)  # more than two simulated hours
    second = Collector(engine, ["dydx"], settings, time_scale=SCALE,
                       adapter_factory=lambda ex: FirstListingFails(settings, time_scale=SCALE))
    try:
        failed = second.run_cycle()
        assert failed["exchanges"]["dydx"]["success"] is True  # the snapshot itself is fine
        second.run_cycle()
        _drain_all_but_missing(second, fast_sim)
    finally:
        second.close()
    live = stored(engine, source="live")
    # the two slots from the old baseline on
    expected = _truth_in(fast_sim, [("dydx", symbol, nft, timedelta(hours=1))
                                    for symbol, nft in baseline.items()])
    assert len(expected) >= 1.8 * len(baseline)
    assert {k: live.get(k) for k in expected} == expected


class HistoryDown(DydxAdapter):
    """dYdX whose history endpoint fails: every settled window stays queued."""

    def fetch_history(self, contract: Contract, start: datetime,
                      end: datetime) -> list[FundingEvent]:
        raise TemporaryExchangeError(self.id, "/v4/historicalFunding: HTTP 503: unavailable")


def test_windows_a_stopped_run_left_queued_are_stored_on_restart(
    engine: Engine, fast_sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run sees two hourly settlements but cannot store them (history down) and stops with
    both windows queued; the next start-up stores both, not just the newest."""
    monkeypatch.setenv("SIMULATOR_URL", fast_sim.url)
    get_settings.cache_clear()
    settings = get_settings()
    t0 = fast_sim.universe.now()
    first = Collector(engine, ["dydx"], settings, time_scale=SCALE,
                      adapter_factory=lambda ex: HistoryDown(settings, time_scale=SCALE))
    try:
        _run_for(first, 2.3 * 3600 / SCALE)  # more than two simulated hours
        queued = first.pending_windows()
    finally:
        first.close()
    t1 = fast_sim.universe.now()
    assert len(queued) >= 2 * len(fast_sim.universe.contracts("dydx"))
    assert not stored(engine)
    second = Collector(engine, ["dydx"], settings, time_scale=SCALE)
    try:
        second.run_cycle()
        _drain_all_but_missing(second, fast_sim)
    finally:
        second.close()
    seen = ground_truth(fast_sim, ["dydx"], t0 + timedelta(seconds=1), t1)
    assert len(seen) >= 2 * len(fast_sim.universe.contracts("dydx")) - 1
    live = stored(engine, source="live")
    assert {k: live.get(k) for k in seen} == seen


def test_metrics_file_and_one_failing_exchange(
    engine: Engine, sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BYBIT_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("HTTP_MAX_RETRIES", "1")
    get_settings.cache_clear()
    collector = Collector(engine, ALL, get_settings())
    try:
        first = collector.run_cycle()
        second = collector.run_cycle()
    finally:
        collector.close()
    on_disk = read_json(runtime_path(METRICS_FILE))
    assert on_disk == json.loads(json.dumps(second))
    assert first["batch_id"] != second["batch_id"]
    assert set(second) >= {"batch_id", "batch_timestamp", "exchanges"}
    bybit = second["exchanges"]["bybit"]
    assert bybit["success"] is False and bybit["record_count"] == 0
    assert bybit["error"].startswith("bybit: ")
    for ex in ALL:
        entry = second["exchanges"][ex]
        assert set(entry) >= {"duration_ms", "record_count", "success", "error"}
        if ex != "bybit":
            assert entry["success"] is True and entry["error"] is None
            assert entry["record_count"] == len(sim.universe.contracts(ex))
    with engine.connect() as conn:
        counts = dict(conn.execute(
            select(exchange_data.c.exchange, func.count()).group_by(exchange_data.c.exchange)
        ).all())
    assert "bybit" not in counts
    assert counts["okx"] == len(sim.universe.contracts("okx"))


def test_metrics_and_csv_go_where_the_settings_passed_in_say(
    engine: Engine, db_url: str, sim: SimulatorServer, live_settings: Settings, tmp_path: Path
) -> None:
    own = load_settings({"SIMULATOR_URL": sim.url, "DATABASE_URL": db_url,
                         "RUNTIME_DIR": str(tmp_path / "own-run"), "ENABLE_CSV_EXPORT": "true"},
                        env_file=tmp_path / "no.env")
    collector = Collector(engine, ["okx"], own)
    try:
        collector.run_cycle()
    finally:
        collector.close()
    metrics = read_json(own.RUNTIME_DIR / METRICS_FILE)
    assert metrics is not None and metrics["exchanges"]["okx"]["success"] is True
    rows = (own.RUNTIME_DIR / CSV_FILENAME).read_text().splitlines()
    assert len(rows) == 1 + len(sim.universe.contracts("okx"))  # a header, then the snapshot
    assert not (live_settings.RUNTIME_DIR / METRICS_FILE).exists()
    assert not (live_settings.RUNTIME_DIR / CSV_FILENAME).exists()


def test_cli_once_continuous_sigterm_and_bad_flags(
    db_url: str, sim: SimulatorServer, sim_env: dict[str, str]
) -> None:
    once = run_cli(["scripts/collect_funding_rates.py", "--once", "--exchanges",
                    "binance,dydx"], sim_env)
    assert once.returncode == 0, once.stderr
    assert once.stdout.startswith("collected: 2 of 2 exchanges ok; ")
    metrics_path = Path(sim_env["RUNTIME_DIR"]) / METRICS_FILE
    metrics = read_json(metrics_path)
    assert metrics is not None and set(metrics["exchanges"]) == {"binance", "dydx"}
    assert metrics["exchanges"]["dydx"]["record_count"] == len(sim.universe.contracts("dydx"))
    assert (Path(sim_env["LOG_DIR"]) / "data_collector.log").exists()

    proc = start_cli(["scripts/collect_funding_rates.py", "--continuous", "--interval", "0.5",
                      "--exchanges", "okx"], sim_env)
    seen: set[str] = set()
    deadline = time.monotonic() + 30
    while len(seen) < 3 and time.monotonic() < deadline:
        doc = read_json(metrics_path)
        if doc and set(doc["exchanges"]) == {"okx"}:
            seen.add(doc["batch_id"])
        time.sleep(0.05)
    assert len(seen) >= 3
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert out == ""  # each cycle's line goes to the log
    log = (Path(sim_env["LOG_DIR"]) / "data_collector.log").read_text()
    for batch_id in seen:
        assert f"cycle {batch_id}: collected: 1 of 1 exchanges ok; " in log

    both = run_cli(["scripts/collect_funding_rates.py", "--once", "--continuous"], sim_env)
    assert both.returncode == 2 and "not allowed with argument" in both.stderr
    bad = run_cli(["scripts/collect_funding_rates.py", "--once", "--exchanges", "ftx"], sim_env)
    assert bad.returncode == 2 and "unknown exchange(s) ftx" in bad.stderr
