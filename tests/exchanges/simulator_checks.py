"""Checks of an adapter against the simulator, shared by the live adapter tests.

Every check compares an adapter with `sim.universe`, the simulator's ground truth, and counts
requests both on our side (`adapter.request_count`) and on the server's (`request_counts`).
What differs between venues is a parameter (test_adapters_live.py keeps them in one table):
how many requests a list or snapshot needs (Binance fundingInfo, OKX intervals and extras),
the extras a snapshot carries and the precision of listing times. History paging follows the
adapter's own facts: its page size, and page numbers counted from now (Bitget).
"""

from __future__ import annotations

import logging
import math
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any

import pytest
import requests

from config.settings import load_settings
from lib.exchanges import get_adapter
from lib.exchanges.base import ExchangeAdapter
from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer
from lib.timeutils import floor_to_interval

SETTINGS = {"HTTP_MAX_RETRIES": "8", "HTTP_READ_TIMEOUT": "2"}


def live_simulator(time_scale: float = 1.0) -> AbstractContextManager[SimulatorServer]:
    """The simulator the live tests' numbers are for (seed 7, 300 contracts): the intervals
    listed and the request counts in test_adapters_live.py hold for this universe."""
    return running_simulator(SimulatorConfig(seed=7, total_contracts=300, time_scale=time_scale))


def adapter(sim: SimulatorServer, exchange: str, time_scale: float = 1.0) -> ExchangeAdapter:
    settings = load_settings({"SIMULATOR_URL": sim.url, **SETTINGS})
    return get_adapter(exchange, settings, time_scale=time_scale)


def served(sim: SimulatorServer, exchange: str) -> int:
    return sim.request_counts()[exchange]


def check_contracts(
    sim: SimulatorServer, exchange: str, requests_needed: int = 1, *,
    intervals: set[float] | None = None, listed_unit: timedelta = timedelta(milliseconds=1),
    decoys: bool = True,
) -> None:
    """list_contracts = the simulator's trading perpetuals, in `requests_needed` requests:
    the decoys it lists (pre-launch, delivery; `decoys`: it lists some) left out, listing
    times right to the venue's `listed_unit` (Gate: seconds), and `intervals` the set of
    funding intervals the venue mixes."""
    a = adapter(sim, exchange)
    before = served(sim, exchange)
    contracts = a.list_contracts()
    assert a.request_count == requests_needed == served(sim, exchange) - before
    truth = {c.symbol: c for c in sim.universe.contracts(exchange)}
    assert len(contracts) == len(truth) >= 5  # small venues list few (Backpack: 8 of 300)
    assert {c.symbol for c in contracts} == set(truth)
    listed = {c.symbol for c in sim.universe.instruments(exchange)} - set(truth)
    assert listed or not decoys
    assert not listed & {c.symbol for c in contracts}
    for c in contracts:
        t = truth[c.symbol]
        assert (c.base, c.multiplier, c.funding_interval_hours) == (
            t.asset, t.multiplier, t.interval_hours
        ), c.symbol
        assert c.canonical_symbol == f"{c.base}/{c.quote}:{c.settle}"
        assert c.status == "trading"
        if c.listed_at is not None:
            assert abs(c.listed_at - t.listed_at) < listed_unit, c.symbol
    if intervals is not None:
        assert {c.funding_interval_hours for c in contracts} == intervals


def check_current(
    sim: SimulatorServer, exchange: str, requests_needed: int = 1, extras: tuple[str, ...] = ()
) -> None:
    """fetch_current covers every contract in `requests_needed` requests with the exchange's
    own values; `extras` (mark price, open interest...) are set and positive."""
    a = adapter(sim, exchange)
    before = served(sim, exchange)
    snapshots = {s.symbol: s for s in a.fetch_current()}
    assert a.request_count == requests_needed == served(sim, exchange) - before
    truth = sim.universe.contracts(exchange)
    assert set(snapshots) == {c.symbol for c in truth}
    for c in truth:
        s, t = snapshots[c.symbol], sim.universe.current(exchange, c.symbol)
        assert abs(s.funding_rate - t.rate) < 1e-12, c.symbol
        assert s.funding_interval_hours == t.interval_hours, c.symbol
        assert s.next_funding_time == t.next_funding_time, c.symbol
        for name in extras:
            assert getattr(s, name) is not None and getattr(s, name) > 0, (c.symbol, name)
        if s.mark_price is not None:
            assert abs(s.mark_price / t.mark_price - 1) < 1e-3, c.symbol


def history_contracts(sim: SimulatorServer, exchange: str) -> list[str]:
    """One trading contract per funding interval the exchange uses (oldest listings first)."""
    by_interval: dict[int, str] = {}
    now = sim.universe.now()
    for c in sorted(sim.universe.contracts(exchange), key=lambda c: c.listed_at):
        if c.listed_at < now - timedelta(days=120):
            by_interval.setdefault(c.interval_hours, c.symbol)
    return [by_interval[h] for h in sorted(by_interval)]


def history_contract(sim: SimulatorServer, exchange: str, interval_hours: int) -> str:
    """The history contract (see `history_contracts`) with that funding interval."""
    found = [s for s in history_contracts(sim, exchange)
             if sim.universe.contract(exchange, s).interval_hours == interval_hours]
    assert found, f"{exchange}: no {interval_hours} h contract with 120 days of history"
    return found[0]


def _fewest_pages(
    sim: SimulatorServer, a: ExchangeAdapter, symbol: str, expected: list[Any], end: datetime
) -> int:
    """The fewest history requests that hold `expected` (the rows in [start, end]).

    Time cursors: the rows by the page size. Page numbers (newest first from now): the pages
    from the one with the newest row <= end to the one with the oldest row >= start."""
    size = a.history_page_size
    if a.history_direction != "pages":
        return max(1, math.ceil(len(expected) / size))
    newer = len(sim.universe.settlements(
        a.id, symbol, end + timedelta(milliseconds=1), sim.universe.now()
    ))
    return (newer + len(expected) - 1) // size - newer // size + 1


def check_history(
    sim: SimulatorServer, exchange: str, symbol: str, days: float, offset_hours: float = 0
) -> int:
    """fetch_history over `days` ending `offset_hours` after a settled one = ground truth,
    with the same row interval everywhere, in the fewest requests that hold the range,
    counted on both sides; returns that count."""
    a = adapter(sim, exchange)
    contract = next(c for c in a.list_contracts() if c.symbol == symbol)
    interval = contract.funding_interval_hours
    end = floor_to_interval(sim.universe.now(), interval) - timedelta(hours=interval)
    end += timedelta(hours=offset_hours)
    start = end - timedelta(days=days)
    expected = sim.universe.settlements(exchange, symbol, start, end)
    before_ours, before_served = a.request_count, served(sim, exchange)
    events = a.fetch_history(contract, start, end)
    assert [(e.funding_time, e.funding_rate) for e in events] == expected, symbol
    assert all(e.funding_interval_hours == interval for e in events)
    assert all(e.exchange == exchange and e.symbol == symbol for e in events)
    needed = _fewest_pages(sim, a, symbol, expected, end)
    assert a.request_count - before_ours == needed, (symbol, len(expected))
    assert served(sim, exchange) - before_served == needed
    return needed


def check_exact_ends(sim: SimulatorServer, exchange: str, symbol: str) -> None:
    """Settlements exactly at start and end are in; one interval outside either end is out."""
    a = adapter(sim, exchange)
    contract = next(c for c in a.list_contracts() if c.symbol == symbol)
    step = timedelta(hours=contract.funding_interval_hours)
    end = floor_to_interval(sim.universe.now(), contract.funding_interval_hours) - 3 * step
    start = end - 10 * step
    expected = sim.universe.settlements(exchange, symbol, start - step, end + step)
    events = a.fetch_history(contract, start, end)
    assert [(e.funding_time, e.funding_rate) for e in events] == [
        (t, r) for t, r in expected if start <= t <= end
    ]
    times = {t for t, _ in expected}
    assert (start in times) == (events[0].funding_time == start)
    assert (end in times) == (events[-1].funding_time == end)
    inner = a.fetch_history(contract, start + timedelta(minutes=1), end - timedelta(minutes=1))
    assert [e.funding_time for e in inner] == [
        e.funding_time for e in events if start < e.funding_time < end
    ]


def exhaust_rate_limit(sim: SimulatorServer, exchange: str, method: str, path: str,
                       body: dict[str, object] | None = None) -> list[str]:
    """Make the exchange's next request meet a 429: one real request opens the endpoint's
    windows, then the simulator holds them full for a whole window from now (filling them by
    sending requests races the window's end on a busy machine). Returns the limiter keys."""
    with requests.Session() as session:
        reply = session.request(method, f"{sim.url}/{exchange}{path}", json=body, timeout=5)
        assert reply.status_code == 200, reply.text
    keys = sim.saturate_rate_limits(exchange)
    assert keys, f"{exchange}: no rate-limit window counted the request"
    with requests.Session() as session:
        reply = session.request(method, f"{sim.url}/{exchange}{path}", json=body, timeout=5)
    assert reply.status_code == 429 and reply.headers["Retry-After"], reply.status_code
    return keys


def check_history_under_faults(
    sim: SimulatorServer, exchange: str, symbol: str, time_scale: float, days: float,
    hammer: tuple[str, str, dict[str, object] | None] | None, caplog: pytest.LogCaptureFixture,
) -> tuple[list[str], list[str]]:
    """With 5xx, truncated JSON, read timeouts and a 429 first, the full range still arrives.

    `hammer` is a request that meets the 429 before the adapter does; None only fills the
    rate-limit windows (for a venue that bans a client sending during a 429). Returns the
    limiter keys filled and urllib3's log lines of the answers."""
    a = adapter(sim, exchange, time_scale=time_scale)
    contract = next(c for c in a.list_contracts() if c.symbol == symbol)
    interval = contract.funding_interval_hours
    end = floor_to_interval(sim.universe.now(), interval) - timedelta(days=1)
    start = end - timedelta(days=days)
    expected = sim.universe.settlements(exchange, symbol, start, end)
    if hammer is None:
        keys = sim.saturate_rate_limits(exchange)
    else:
        keys = exhaust_rate_limit(sim, exchange, *hammer)
    sim.set_faults("error_rate=0.15,malformed_rate=0.1,timeout_rate=0.03,timeout=3s")
    try:
        with caplog.at_level(logging.DEBUG, logger="urllib3.connectionpool"):
            events = a.fetch_history(contract, start, end)
    finally:
        sim.set_faults(None)
        sim.reset_rate_limits()
    assert [(e.funding_time, e.funding_rate) for e in events] == expected
    assert len(expected) > a.history_page_size  # several pages went through the faults
    answers = [r.getMessage() for r in caplog.records if r.name == "urllib3.connectionpool"]
    assert any('" 429 ' in m for m in answers)  # the first page met the rate limit
    return keys, answers

