"""Pacifica quirk against the simulator: history has no time filter, only an opaque cursor.

Pages are read newest first from now, each below the last one's oldest row, and reading stops
at the page that reaches the window start (never the venue's whole history); each request asks
only as many rows as reach back to the start. The checks every venue shares are in
test_adapters_live.py (where one 4000-row page holds all the simulated history). Reading more
history than the credit budget allows in a minute meets no 429, even where the adapter's
estimate of a request's cost is too low: the credits-left header stops it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from simulator_checks import adapter, history_contracts, live_simulator, served

from lib.exchanges.base import ExchangeAdapter
from lib.exchanges.venues.pacifica import HISTORY_WEIGHT
from lib.models import Contract, FundingEvent
from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer
from lib.timeutils import floor_to_interval, from_ms

EXCHANGE = "pacifica"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with live_simulator() as server:
        yield server


def full_universe(time_scale: float) -> AbstractContextManager[SimulatorServer]:
    """A simulator (seed 7) of the default 2,300-contract universe: 40 Pacifica contracts,
    more history than the credit budget allows in a minute (the live tests' universe has 5)."""
    return running_simulator(SimulatorConfig(seed=7, total_contracts=2300,
                                             time_scale=time_scale))


def _asked(a: ExchangeAdapter) -> list[dict[str, list[str]]]:
    """The query of every request the adapter sends from now on (a requests response hook)."""
    queries: list[dict[str, list[str]]] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        queries.append(parse_qs(urlparse(response.url).query))

    a.http.session.hooks["response"].append(hook)
    return queries


def _pages_to_reach(sim: SimulatorServer, symbol: str, start: datetime, size: int) -> int:
    """Pages of `size` rows, newest first from now, until one holds a row at or before start:
    the rows the venue has reported by now (a settlement is stamped just after its hour)."""
    u = sim.universe
    rows = u.rows(u.contract(EXCHANGE, symbol), 0, u.now_ms())
    newest_first = [from_ms(r.time_ms) for r in reversed(rows)]
    reaching = next(i for i, t in enumerate(newest_first) if t <= start)
    return reaching // size + 1


@pytest.mark.parametrize(("size", "days", "ago_days"), [(100, 10, 5), (250, 30, 20), (40, 2, 0)])
def test_cursor_pages_down_to_the_window_start(
    sim: SimulatorServer, size: int, days: int, ago_days: int
) -> None:
    a = adapter(sim, EXCHANGE)
    a.history_page_size = size  # type: ignore[misc]
    symbol = history_contracts(sim, EXCHANGE)[0]
    contract = next(c for c in a.list_contracts() if c.symbol == symbol)
    end = floor_to_interval(sim.universe.now(), 1) - timedelta(days=ago_days, hours=1)
    start = end - timedelta(days=days)
    queries = _asked(a)
    before = _pages_to_reach(sim, symbol, start, size)
    events = a.fetch_history(contract, start, end)
    after = _pages_to_reach(sim, symbol, start, size)  # an hour may have settled meanwhile
    assert [(e.funding_time, e.funding_rate) for e in events] == (
        sim.universe.settlements(EXCHANGE, symbol, start, end))
    assert all(e.funding_interval_hours == 1.0 for e in events)
    assert len(queries) in {before, after} and before > 1
    assert "cursor" not in queries[0] and all("cursor" in q for q in queries[1:])
    assert all(int(q["limit"][0]) <= size for q in queries)


def test_a_recent_window_asks_few_rows(sim: SimulatorServer) -> None:
    """Three hours before the settlement before last: one request for ~6 rows, not 4000."""
    a = adapter(sim, EXCHANGE)
    symbol = history_contracts(sim, EXCHANGE)[0]
    contract = next(c for c in a.list_contracts() if c.symbol == symbol)
    end = floor_to_interval(sim.universe.now(), 1) - timedelta(hours=1)
    start = end - timedelta(hours=3)
    queries = _asked(a)
    events = a.fetch_history(contract, start, end)
    assert [(e.funding_time, e.funding_rate) for e in events] == (
        sim.universe.settlements(EXCHANGE, symbol, start, end))
    assert len(queries) == 1
    assert 5 <= int(queries[0]["limit"][0]) <= 7  # hours from now back to start, + 2


def _last_day(sim: SimulatorServer, a: ExchangeAdapter, threads: int,
              contracts: list[Contract], background: bool = False) -> None:
    """Every contract's day of history ending two hours ago, read on `threads` threads (in the
    limiter's background, as the settlement worker reads, if asked), is the simulator's (the
    window stays put while the time-scaled clock runs)."""
    end = floor_to_interval(sim.universe.now(), 1) - timedelta(hours=2)
    start = end - timedelta(days=1)

    def read(c: Contract) -> list[FundingEvent]:
        if not background:
            return a.fetch_history(c, start, end)
        with a.http.in_background():
            return a.fetch_history(c, start, end)

    with ThreadPoolExecutor(threads) as pool:
        found = list(pool.map(read, contracts))
    for c, events in zip(contracts, found, strict=True):
        assert [(e.funding_time, e.funding_rate) for e in events] == (
            sim.universe.settlements(EXCHANGE, c.symbol, start, end))


def test_more_history_than_a_minute_allows_meets_no_429() -> None:
    """40 contracts' history is 360 credits, nearly three minutes of the 125-credit budget
    (time scale 30: two seconds each): read on 4 threads, no request meets a 429 (one would be
    retried, and the simulator would serve more requests than the adapter sent)."""
    with full_universe(30.0) as sim:
        a = adapter(sim, EXCHANGE, time_scale=30.0)
        contracts = a.list_contracts()
        assert len(contracts) * HISTORY_WEIGHT > 2 * a.rate_limit.requests
        sent, answered = a.request_count, served(sim, EXCHANGE)
        _last_day(sim, a, 4, contracts)
        assert a.request_count - sent == len(contracts) == served(sim, EXCHANGE) - answered


def test_credits_left_in_the_header_stop_an_adapter_that_underestimates_costs(
        caplog: pytest.LogCaptureFixture) -> None:
    """An adapter that believes history costs 1 credit (the venue charges 9) would send 40
    requests in one window and meet 429s; the `ratelimit` header's count of credits left
    holds its background requests at each window's end instead."""
    with full_universe(30.0) as sim:
        a = adapter(sim, EXCHANGE, time_scale=30.0)
        a.history_weight = 1  # type: ignore[misc]
        contracts = a.list_contracts()
        sent, answered = a.request_count, served(sim, EXCHANGE)
        with caplog.at_level(logging.INFO, logger="lib.exchanges.http"):
            _last_day(sim, a, 1, contracts, background=True)
        assert a.request_count - sent == len(contracts) == served(sim, EXCHANGE) - answered
        pauses = [r for r in caplog.records if "to the reset" in r.getMessage()]
        assert len(pauses) >= 2  # at the end of the first window and of the second
