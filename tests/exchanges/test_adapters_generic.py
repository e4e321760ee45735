"""One suite for every registered exchange, against the simulator's ground truth.

A new exchange is tested by this suite the day it is registered (freqtrade-style generic tests).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from config.settings import SUPPORTED_EXCHANGES, load_settings
from lib.exchanges import adapter_class, get_adapter
from lib.exchanges.base import ExchangeAdapter
from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer
from lib.timeutils import floor_to_interval


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=11, total_contracts=400)) as server:
        yield server


def _adapter(sim: SimulatorServer, exchange: str) -> ExchangeAdapter:
    return get_adapter(exchange, load_settings({"SIMULATOR_URL": sim.url, "HTTP_MAX_RETRIES": "8"}))


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_paging_facts_agree(exchange: str) -> None:
    """The base pages history from these facts alone: page numbers go with page-number
    paging, and the slack stays under the shortest funding interval (1 h), so it widens a
    request by the reporting jitter, never by a whole settlement."""
    cls = adapter_class(exchange)
    assert (cls.history_direction == "pages") == (cls.history_unit == "page")
    assert cls.history_unit in {"ms", "s", "page"}
    assert cls.history_bounds in {"inclusive", "exclusive"}
    assert timedelta(0) <= cls.history_slack < timedelta(hours=1)


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_contracts_match_the_exchange(sim: SimulatorServer, exchange: str) -> None:
    contracts = _adapter(sim, exchange).list_contracts()
    truth = {c.symbol: c for c in sim.universe.contracts(exchange)}
    assert {c.symbol for c in contracts} == set(truth)
    for c in contracts:
        t = truth[c.symbol]
        assert c.exchange == exchange
        assert c.funding_interval_hours == t.interval_hours, c.symbol
        assert (c.base, c.multiplier) == (t.asset, t.multiplier), c.symbol
        assert c.canonical_symbol == f"{c.base}/{c.quote}:{c.settle}"


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_current_funding_covers_every_contract(sim: SimulatorServer, exchange: str) -> None:
    adapter = _adapter(sim, exchange)
    snapshots = {s.symbol: s for s in adapter.fetch_current()}
    truth = sim.universe.contracts(exchange)
    assert set(snapshots) >= {c.symbol for c in truth}
    for c in truth:
        s = snapshots[c.symbol]
        expected = sim.universe.current(exchange, c.symbol)
        assert s.funding_rate == pytest.approx(expected.rate, abs=1e-12), c.symbol
        assert s.funding_interval_hours == c.interval_hours, c.symbol
        if s.next_funding_time is not None:
            assert s.next_funding_time == expected.next_funding_time, c.symbol


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_history_equals_what_the_exchange_holds(sim: SimulatorServer, exchange: str) -> None:
    adapter = _adapter(sim, exchange)
    by_symbol = {c.symbol: c for c in adapter.list_contracts()}
    now = sim.universe.now()
    for truth in sim.universe.contracts(exchange)[:3]:
        contract = by_symbol[truth.symbol]
        end = floor_to_interval(now, truth.interval_hours) - timedelta(hours=truth.interval_hours)
        start = end - timedelta(days=10)
        events = adapter.fetch_history(contract, start, end)
        expected = sim.universe.settlements(exchange, truth.symbol, start, end)
        assert [(e.funding_time, e.funding_rate) for e in events] == [
            (t, pytest.approx(r, abs=1e-12)) for t, r in expected
        ], truth.symbol
        assert all(e.funding_interval_hours == truth.interval_hours for e in events)


@pytest.mark.parametrize("exchange", SUPPORTED_EXCHANGES)
def test_history_survives_faults(sim: SimulatorServer, exchange: str) -> None:
    adapter = _adapter(sim, exchange)
    truth = sim.universe.contracts(exchange)[0]
    contract = next(c for c in adapter.list_contracts() if c.symbol == truth.symbol)
    end = floor_to_interval(sim.universe.now(), truth.interval_hours)
    start = end - timedelta(days=20)
    sim.set_faults("error_rate=0.15,malformed_rate=0.1,empty_rate=0.0")
    try:
        events = adapter.fetch_history(contract, start, end)
    finally:
        sim.set_faults(None)
    expected = sim.universe.settlements(exchange, truth.symbol, start, end)
    assert [e.funding_time for e in events] == [t for t, _ in expected]
