"""History across contracts (Binance's `fundingRate` without `symbol`): the simulator serves it
as documented, the walk loses and doubles nothing at page boundaries, the backfill plans the
fewest requests and the live worker stores a busy settlement instant in one walk."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from history_truth import ground_truth, row_count, stored
from sqlalchemy import Engine

from config.settings import SUPPORTED_EXCHANGES, Settings, get_settings
from lib.exchanges import adapter_class
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.venues.binance import Adapter as BinanceAdapter
from lib.history.backfill import run_backfill
from lib.history.settlements import SettlementWorker
from lib.models import Contract, FundingEvent
from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator
from lib.storage.writes import save_contracts
from lib.timeutils import floor_to_interval, normalise_settlement, to_ms, utcnow

SCALE = 720.0  # one simulated hour every 5 s


# the venues whose history answers for every contract at once
BULK = [ex for ex in SUPPORTED_EXCHANGES if adapter_class(ex).bulk_history_page_size]


def small_pages(exchange: str, settings: Settings) -> ExchangeAdapter:
    """The venue's adapter asking 25 rows a page (more than the contracts stamped on one ms),
    so pages end inside settlement instants; the pages it got are kept in `.pages`."""
    base = adapter_class(exchange)

    class SmallPages(base):  # type: ignore[valid-type,misc]
        bulk_history_page_size = 25

        def bulk_history_rows(self, query: PageQuery) -> list[FundingEvent]:
            rows: list[FundingEvent] = super().bulk_history_rows(query)
            self.pages.append(rows)
            return rows

    adapter: ExchangeAdapter = SmallPages(settings)
    adapter.pages = []  # type: ignore[attr-defined]
    return adapter


def test_bulk_venues_are_the_binance_style_ones() -> None:
    assert BULK == ["aster", "binance"]


def _get(sim: SimulatorServer, exchange: str, **params: object) -> list[dict[str, object]]:
    reply = requests.get(f"{sim.url}/{exchange}/fapi/v1/fundingRate", params=params, timeout=10)
    reply.raise_for_status()
    rows = reply.json()
    assert isinstance(rows, list)
    return rows


@pytest.mark.parametrize("exchange", BULK)
def test_simulator_serves_every_symbol_ascending_from_start_time(
    sim: SimulatorServer, exchange: str,
) -> None:
    end = to_ms(sim.universe.now())
    start = end - 80 * 86_400_000
    rows = _get(sim, exchange, startTime=start, endTime=end, limit=1000)
    assert len(rows) == 1000  # eighty days of every symbol hold more than one page
    times = [int(r["fundingTime"]) for r in rows]  # type: ignore[call-overload]
    assert times == sorted(times) and times[0] >= start
    assert len({r["symbol"] for r in rows}) > 1
    assert len(_get(sim, exchange, startTime=start, endTime=end, limit=5000)) == 1000  # capped
    assert len(_get(sim, exchange, startTime=start, endTime=end)) == 100  # the default limit
    recent = _get(sim, exchange, endTime=end, limit=50)  # no startTime: the most recent rows
    assert len(recent) == 50 and all(int(r["fundingTime"]) <= end  # type: ignore[call-overload]
                                     for r in recent)
    assert min(int(r["fundingTime"]) for r in recent) > times[-1]  # type: ignore[call-overload]
    bad = requests.get(f"{sim.url}/{exchange}/fapi/v1/fundingRate",
                       params={"startTime": end, "endTime": start}, timeout=10)
    assert bad.status_code == 400 and bad.json()["code"] == -1102


@pytest.mark.parametrize("exchange", BULK)
def test_walk_across_contracts_equals_each_contracts_history(
    sim: SimulatorServer, live_settings: Settings, exchange: str,
) -> None:
    adapter = small_pages(exchange, live_settings)
    try:
        contracts = {c.symbol: c for c in adapter.list_contracts()}
        end = normalise_settlement(adapter.http.exchange_now()) - timedelta(hours=1)
        start = end - timedelta(hours=72)
        walked = adapter.fetch_bulk_history(contracts, start, end)
        for symbol, contract in contracts.items():
            one = adapter.fetch_history(contract, start, end)
            assert [(e.funding_time, e.funding_rate) for e in walked.get(symbol, [])] == [
                (e.funding_time, e.funding_rate) for e in one], symbol
        truth = ground_truth(sim, [exchange], start, end)
        got = {(exchange, s, to_ms(e.funding_time)): e.funding_rate
               for s, events in walked.items() for e in events}
        assert got == truth
    finally:
        adapter.close()
    # the walk really crossed pages inside instants: an instant ends one page and opens the next
    pages: list[list[FundingEvent]] = adapter.pages  # type: ignore[attr-defined]
    split = [a for a, b in itertools.pairwise(pages)
             if a and b and normalise_settlement(a[-1].funding_time)
             == normalise_settlement(b[0].funding_time)]
    assert len(pages) > 3 and split


@pytest.mark.parametrize("exchange", BULK)
def test_backfill_walks_across_contracts_at_the_minimum_and_reruns_for_free(
    engine: Engine, sim: SimulatorServer, live_settings: Settings, exchange: str,
) -> None:
    first = run_backfill(engine, days=3, exchanges=[exchange], settings=live_settings)
    entry = first.status["exchanges"][exchange]
    assert first.state == "completed" and entry["completeness"] == 100.0
    contracts = entry["contracts_total"]
    # listing (2 requests) plus about one page per 1,000 rows, below one per contract
    assert entry["requests_min"] <= entry["requests"] <= 1.2 * entry["requests_min"] + 1
    assert entry["requests"] - 2 < contracts / 2
    truth = ground_truth(sim, [exchange], datetime.fromisoformat(first.status["window_start"]),
                         datetime.fromisoformat(first.status["window_end"]))
    have = stored(engine)
    assert set(truth) <= set(have) and all(have[k] == truth[k] for k in truth)
    assert row_count(engine) == len(have)
    again = run_backfill(engine, days=3, exchanges=[exchange], settings=live_settings)
    entry = again.status["exchanges"][exchange]
    assert again.state == "completed" and entry["records"] == 0
    assert entry["requests"] == entry["requests_min"] == 2  # the listing only
    assert row_count(engine) == len(have)


@pytest.fixture(scope="module")
def fast_sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=5, total_contracts=300, time_scale=SCALE,
                                           now=datetime.now(UTC))) as server:
        yield server


class Counting(BinanceAdapter):
    """Binance, counting walks across contracts and per-contract history requests."""

    walks = per_contract = 0

    def bulk_history_rows(self, query: PageQuery) -> list[FundingEvent]:
        self.walks += 1
        return super().bulk_history_rows(query)

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        self.per_contract += 1
        return super().history_rows(contract, query)


def _fast_adapter(fast_sim: SimulatorServer, monkeypatch: pytest.MonkeyPatch,
                  live_settings: Settings) -> Counting:
    monkeypatch.setenv("SIMULATOR_URL", fast_sim.url)
    get_settings.cache_clear()
    return Counting(get_settings(), time_scale=SCALE)


def _wait_drained(worker: SettlementWorker, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while worker.pending:
        assert time.monotonic() < deadline, worker.windows()[:3]
        time.sleep(0.05)


def test_live_instant_stored_once_in_one_walk_with_its_lag(
    engine: Engine, fast_sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = _fast_adapter(fast_sim, monkeypatch, live_settings)
    contracts = adapter.list_contracts()
    with engine.begin() as conn:
        save_contracts(conn, contracts, utcnow())
    # the last 00:00, 08:00 or 16:00 UTC: every contract settles then, the busiest instant
    instant = floor_to_interval(fast_sim.universe.now() - timedelta(minutes=5), 8)
    settling = [c for c in contracts if to_ms(instant) % int(c.funding_interval_hours
                                                             * 3_600_000) == 0]
    assert len(settling) == len(contracts) > 20
    worker = SettlementWorker(adapter, engine, retry_base=0.2)
    try:
        before = adapter.request_count
        worker.submit_many([(c, instant, instant + timedelta(minutes=59)) for c in settling],
                           live=True)
        _wait_drained(worker)
        requests_made = adapter.request_count - before
    finally:
        worker.stop()
        adapter.close()
    truth = {k: v for k, v in ground_truth(fast_sim, ["binance"], instant, instant).items()
             if k[1] in {c.symbol for c in settling}}
    have = stored(engine, source="live")
    assert have == truth and row_count(engine) == len(truth)
    assert requests_made <= 3  # one walk (a retry at most), not one request per contract
    lag = worker.lag_summary()
    assert lag is not None and lag["count"] == len(truth)
    assert 0 < lag["p50_s"] <= lag["p99_s"] <= lag["max_s"]


def test_a_settlement_not_published_yet_is_retried_in_one_walk(
    engine: Engine, fast_sim: SimulatorServer, live_settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    adapter = _fast_adapter(fast_sim, monkeypatch, live_settings)
    contracts: list[Contract] = [c for c in adapter.list_contracts()
                                 if c.funding_interval_hours == 1]
    assert len(contracts) >= 2
    with engine.begin() as conn:
        save_contracts(conn, contracts, utcnow())
    # the next hourly instant: not settled yet, so the venue's history does not have it
    upcoming = normalise_settlement(fast_sim.universe.now() + timedelta(minutes=30))
    if upcoming <= fast_sim.universe.now():
        upcoming += timedelta(hours=1)
    worker = SettlementWorker(adapter, engine, retry_base=0.5)
    try:
        worker.submit_many([(c, upcoming, upcoming + timedelta(minutes=59)) for c in contracts],
                           live=True)
        _wait_drained(worker)
    finally:
        worker.stop()
        adapter.close()
    truth = {k: v for k, v in ground_truth(fast_sim, ["binance"], upcoming, upcoming).items()
             if k[1] in {c.symbol for c in contracts}}
    assert stored(engine, source="live") == truth and truth
    # asked before it was published, then again: each time one walk for all of them
    assert adapter.walks >= 2 and adapter.per_contract == 0
