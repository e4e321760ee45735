"""The live settlement worker against venues that publish a settlement after its instant:
windows are asked for only once it is published (by the venue's word where it gives one, else
through one probe for the whole instant), and every settled rate is stored exactly once."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from history_truth import ground_truth, row_count, stored
from sqlalchemy import Engine

from config.settings import SUPPORTED_EXCHANGES, Settings, get_settings
from lib.exchanges import adapter_class
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.history.settlements import FETCHERS, SettlementWorker
from lib.models import Contract, FundingEvent
from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator
from lib.storage.writes import save_contracts
from lib.timeutils import floor_to_interval, utcnow

SCALE = 60.0  # one simulated minute a second
LEAD = timedelta(minutes=3)  # the simulator starts this long before an hourly instant
FAST = 720.0  # one simulated hour every 5 s


@pytest.fixture(scope="module")
def fast_sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=13, total_contracts=400, time_scale=FAST,
                                           now=datetime.now(UTC))) as server:
        yield server


@pytest.fixture
def before_instant() -> Iterator[SimulatorServer]:
    """A simulator whose clock is `LEAD` before the next top of the hour."""
    instant = floor_to_interval(datetime.now(UTC), 1) + timedelta(hours=1)
    with running_simulator(SimulatorConfig(seed=11, total_contracts=600, time_scale=SCALE,
                                           now=instant - LEAD)) as server:
        yield server


def counting(exchange: str, settings: Settings, scale: float = SCALE) -> ExchangeAdapter:
    """The venue's adapter, counting its per-contract history requests and its answers on
    what is published (`.history` and `.published`)."""
    base = adapter_class(exchange)

    class Counting(base):  # type: ignore[valid-type,misc]
        history = published = 0

        def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
            self.history += 1
            rows: list[FundingEvent] = super().history_rows(contract, query)
            return rows

        def published_settlements(self) -> dict[str, datetime] | None:
            self.published += 1
            answer: dict[str, datetime] | None = super().published_settlements()
            return answer

    adapter: ExchangeAdapter = Counting(settings, time_scale=scale)
    return adapter


def _store_upcoming_instant(exchange: str, sim: SimulatorServer, engine: Engine,
                            monkeypatch: pytest.MonkeyPatch,
                            ) -> tuple[ExchangeAdapter, SettlementWorker, dict, int]:
    """Submit every contract's window of the coming instant before the venue publishes it,
    wait until the worker has stored them; return the adapter, the worker, the ground truth
    and how many contracts were submitted."""
    monkeypatch.setenv("SIMULATOR_URL", sim.url)
    get_settings.cache_clear()
    adapter = counting(exchange, get_settings())
    instant = floor_to_interval(sim.universe.now(), 1) + timedelta(hours=1)
    # contracts the venue settles then (a settlement missing at the exchange is never published)
    contracts = [c for c in adapter.list_contracts() if c.funding_interval_hours == 1
                 and sim.universe.will_have(exchange, c.symbol, instant)]
    with engine.begin() as conn:
        save_contracts(conn, contracts, utcnow())
    worker = SettlementWorker(adapter, engine, retry_base=0.25)
    worker.submit_many([(c, instant, instant + timedelta(minutes=59)) for c in contracts],
                       live=True)
    deadline = time.monotonic() + 120
    while worker.pending:
        assert time.monotonic() < deadline, worker.windows()[:3]
        time.sleep(0.05)
    truth = ground_truth(sim, [exchange], instant, instant)
    return adapter, worker, truth, len(contracts)


def test_a_late_instant_is_probed_by_one_request_not_by_every_contract(
    engine: Engine, before_instant: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter, worker, truth, submitted = _store_upcoming_instant(
        "hyperliquid", before_instant, engine, monkeypatch)
    try:
        assert submitted >= 20 and len(truth) == submitted
        assert stored(engine, source="live") == truth and row_count(engine) == len(truth)
        # each contract asked once once published, plus the first requests in flight and one
        # probe per retry before the instant: not each contract again on every retry
        assert adapter.history < submitted + FETCHERS + 10  # type: ignore[attr-defined]
        lag = worker.lag_summary()
        assert lag is not None and lag["count"] == len(truth)
    finally:
        worker.stop()
        adapter.close()


def test_a_venue_that_says_what_it_published_is_asked_once_per_contract(
    engine: Engine, before_instant: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter, worker, truth, submitted = _store_upcoming_instant(
        "drift", before_instant, engine, monkeypatch)
    try:
        assert submitted >= 5 and len(truth) == submitted
        assert stored(engine, source="live") == truth and row_count(engine) == len(truth)
        assert adapter.history == submitted  # type: ignore[attr-defined]
        assert adapter.published >= 2  # type: ignore[attr-defined]  # before and after
    finally:
        worker.stop()
        adapter.close()


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_a_busy_instant_is_stored_exactly_once_on_every_venue(
    exchange: str, engine: Engine, fast_sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The last 00:00, 08:00 or 16:00 UTC, when every contract of the venue settles at once:
    all of them queued together, as a snapshot queues them, and each stored once."""
    monkeypatch.setenv("SIMULATOR_URL", fast_sim.url)
    get_settings.cache_clear()
    adapter = counting(exchange, get_settings(), FAST)
    instant = floor_to_interval(fast_sim.universe.now() - timedelta(minutes=5), 8)
    contracts = adapter.list_contracts()
    with engine.begin() as conn:
        save_contracts(conn, contracts, utcnow())
    worker = SettlementWorker(adapter, engine, retry_base=0.1)
    try:
        worker.submit_many([(c, instant, instant + timedelta(seconds=59)) for c in contracts],
                           live=True)
        deadline = time.monotonic() + 120
        # windows the exchange itself lacks stay queued: nothing later shows them missing yet
        while any(fast_sim.universe.will_have(exchange, c.symbol, instant)
                  for c, _, _ in worker.windows()):
            assert time.monotonic() < deadline, worker.windows()[:3]
            time.sleep(0.05)
    finally:
        worker.stop()
        adapter.close()
    listed = {c.symbol for c in contracts}
    truth = {k: v for k, v in ground_truth(fast_sim, [exchange], instant, instant).items()
             if k[1] in listed}
    assert len(truth) >= 3
    assert stored(engine, source="live") == truth and row_count(engine) == len(truth)
