"""Pacifica quirk against the simulator: history has no time filter, only an opaque cursor.

Pages are read newest first from now, each below the last one's oldest row, and reading stops
at the page that reaches the window start (never the venue's whole history); each request asks
only as many rows as reach back to the start. The checks every venue shares are in
test_adapters_live.py (where one 4000-row page holds all the simulated history).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from simulator_checks import adapter, history_contracts, live_simulator

from lib.exchanges.base import ExchangeAdapter
from lib.simulator.server import SimulatorServer
from lib.timeutils import floor_to_interval, from_ms

EXCHANGE = "pacifica"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with live_simulator() as server:
        yield server


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
