"""Bitget adapter against the simulator: contracts, snapshot, history by page number, faults."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from simulator_checks import (
    adapter,
    check_contracts,
    check_current,
    check_exact_ends,
    check_history,
    check_history_under_faults,
    history_contracts,
)

from lib.simulator import SimulatorConfig, running_simulator
from lib.simulator.server import SimulatorServer
from lib.timeutils import floor_to_interval

EXCHANGE = "bitget"


@pytest.fixture(scope="module")
def sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300)) as server:
        yield server


def test_contracts(sim: SimulatorServer) -> None:
    check_contracts(sim, EXCHANGE, requests_needed=1, intervals={1.0, 4.0, 8.0})


def test_current_with_tickers(sim: SimulatorServer) -> None:
    check_current(sim, EXCHANGE, 2, extras=("mark_price", "index_price", "open_interest",
                                             "volume_24h"))


def test_history_every_interval(sim: SimulatorServer) -> None:
    symbols = history_contracts(sim, EXCHANGE)
    assert len(symbols) == 3
    for symbol in symbols:
        check_history(sim, EXCHANGE, symbol, days=30)


def test_history_starts_at_the_page_holding_the_range(sim: SimulatorServer) -> None:
    """Pages are numbered from now; a range a month back starts on a later page, not page 1."""
    hourly = history_contracts(sim, EXCHANGE)[0]
    assert sim.universe.contract(EXCHANGE, hourly).interval_hours == 1
    assert check_history(sim, EXCHANGE, hourly, days=5, offset_hours=-30 * 24) == 2
    assert check_history(sim, EXCHANGE, hourly, days=12, offset_hours=0.5) == 3


def test_history_recovers_from_a_first_guess_too_far_back(sim: SimulatorServer) -> None:
    """An interval that used to be longer means fewer rows than the estimate: the adapter
    notices its first page starts before the range end and steps back to newer pages."""
    a = adapter(sim, EXCHANGE)
    symbol = history_contracts(sim, EXCHANGE)[0]
    contract = next(c for c in a.list_contracts() if c.symbol == symbol)
    end = floor_to_interval(sim.universe.now(), 1) - timedelta(days=10)
    start = end - timedelta(days=3)
    events = a.fetch_history(replace(contract, funding_interval_hours=0.5), start, end)
    assert [(e.funding_time, e.funding_rate) for e in events] == (
        sim.universe.settlements(EXCHANGE, symbol, start, end)
    )


def test_history_exact_ends(sim: SimulatorServer) -> None:
    for symbol in history_contracts(sim, EXCHANGE):
        check_exact_ends(sim, EXCHANGE, symbol)


def test_history_survives_faults_and_429(caplog: pytest.LogCaptureFixture) -> None:
    with running_simulator(SimulatorConfig(seed=7, total_contracts=300, time_scale=10)) as sim:
        symbol = history_contracts(sim, EXCHANGE)[0]
        path = (f"/api/v2/mix/market/history-fund-rate?productType=USDT-FUTURES&symbol={symbol}"
                "&pageSize=1")
        check_history_under_faults(sim, EXCHANGE, symbol, 10, days=20,
                                   hammer=("GET", path, None), caplog=caplog)
