"""Checks for the binance/bybit/okx/bitget integration tests against the simulator.

The history checks that hold for every venue come from live_b; these add what differs here:
list and snapshot request counts above one (Binance fundingInfo, OKX intervals and extras), the
page-number minimum of Bitget, and filling a rate-limit window exactly (Binance bans a client
that keeps sending after a 429, so its test must not overshoot).
"""

from __future__ import annotations

import math
from datetime import timedelta

from live_b import adapter, served

from lib.simulator.server import SimulatorServer
from lib.timeutils import floor_to_interval


def check_contracts(sim: SimulatorServer, exchange: str, requests_needed: int) -> None:
    """list_contracts = the simulator's trading perpetuals, in `requests_needed` requests."""
    a = adapter(sim, exchange)
    before = served(sim, exchange)
    contracts = a.list_contracts()
    assert a.request_count == requests_needed == served(sim, exchange) - before
    truth = {c.symbol: c for c in sim.universe.contracts(exchange)}
    assert len(contracts) == len(truth) > 10
    assert {c.symbol for c in contracts} == set(truth)  # pre-launch and delivery left out
    assert len(sim.universe.instruments(exchange)) > len(truth)  # there were decoys
    for c in contracts:
        t = truth[c.symbol]
        assert (c.base, c.multiplier, c.funding_interval_hours) == (
            t.asset, t.multiplier, t.interval_hours
        ), c.symbol
        assert c.canonical_symbol == f"{c.base}/{c.quote}:{c.settle}"
        assert c.status == "trading"
        if c.listed_at is not None:
            assert c.listed_at == t.listed_at, c.symbol
    assert {c.funding_interval_hours for c in contracts} == {1.0, 4.0, 8.0}


def check_current(
    sim: SimulatorServer, exchange: str, requests_needed: int, extras: tuple[str, ...]
) -> None:
    """fetch_current covers every contract with the exchange's values; `extras` are set."""
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


def check_history_pages(
    sim: SimulatorServer, exchange: str, symbol: str, days: float, offset_hours: float = 0
) -> int:
    """For page-number history (newest first from now): ground truth in the fewest pages that
    hold the range, i.e. the pages from the one with the newest row <= end to the one with
    the oldest row >= start."""
    a = adapter(sim, exchange)
    contract = next(c for c in a.list_contracts() if c.symbol == symbol)
    interval = contract.funding_interval_hours
    end = floor_to_interval(sim.universe.now(), interval) - timedelta(hours=interval)
    end += timedelta(hours=offset_hours)
    start = end - timedelta(days=days)
    expected = sim.universe.settlements(exchange, symbol, start, end)
    newer = len(sim.universe.settlements(
        exchange, symbol, end + timedelta(milliseconds=1), sim.universe.now()
    ))
    size = a.history_page_size
    pages = (newer + len(expected) - 1) // size - newer // size + 1
    before_ours, before_served = a.request_count, served(sim, exchange)
    events = a.fetch_history(contract, start, end)
    assert [(e.funding_time, e.funding_rate) for e in events] == expected, symbol
    assert all(e.funding_interval_hours == interval for e in events)
    assert a.request_count - before_ours == pages == served(sim, exchange) - before_served
    return pages


def minimum_pages(count: int, page_size: int) -> int:
    return max(1, math.ceil(count / page_size))
