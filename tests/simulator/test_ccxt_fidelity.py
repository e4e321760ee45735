"""ccxt, pointed at the simulator, must parse exactly the simulator's ground truth.

For each exchange: load_markets sees exactly the trading perpetuals (delivery, pre-launch and
delisted instruments are listed but not active swaps); current funding (bulk where ccxt has
it) matches Universe.current; funding history for a few contracts (BTC, a multiplier name, a
non-8h contract, one listed inside the window) matches Universe.settlements.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from ccxt_clients import (
    CCXT_CLIENTS,
    all_markets,
    current_rates,
    make_exchange,
    native_id,
    pick_contracts,
    settled_history,
    unified,
    with_current_funding,
)

from lib.simulator import EXCHANGES, Contract, SimulatorServer, Universe
from lib.simulator.config import dt_to_ms, ms_to_dt

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def clients(sim: SimulatorServer) -> dict[str, Any]:
    sim.reset_rate_limits()
    return {name: make_exchange(name, sim.url) for name in EXCHANGES}


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_markets_are_exactly_the_trading_perpetuals(
    clients: dict[str, Any], sim: SimulatorServer, exchange: str
) -> None:
    ex = clients[exchange]
    markets = all_markets(ex)
    active_swaps = {native_id(m) for m in markets if m["swap"] and m["active"] is not False}
    assert active_swaps == {c.symbol for c in sim.universe.contracts(exchange)}
    listed = {c.symbol for c in sim.universe.instruments(exchange)}
    if CCXT_CLIENTS[exchange].lists_prelaunch:
        assert {native_id(m) for m in markets} == listed
    else:
        assert {native_id(m) for m in markets} <= listed
    for c in pick_contracts(sim.universe, exchange):
        market = next(m for m in markets if native_id(m) == c.symbol)
        base_id = market[CCXT_CLIENTS[exchange].base_field]
        assert (base_id, market["settleId"].upper()) == (c.base, c.settle.upper())


def _check_current(
    u: Universe, exchange: str, c: Contract, parsed: dict[str, Any], before: int, after: int
) -> None:
    step = c.interval_hours * HOUR_MS
    # when the running interval settles: ccxt's fundingTimestamp, or for some exchanges (Aster,
    # Backpack) nextFundingTimestamp, with fundingTimestamp None
    settles = parsed["fundingTimestamp"] or parsed["nextFundingTimestamp"]
    assert settles in {before // step * step + step, after // step * step + step}
    truth = u.current(exchange, c.symbol, at=_dt(settles - 1))
    assert parsed["fundingRate"] == truth.rate, c.symbol
    if parsed.get("interval") is not None:
        assert parsed["interval"] == f"{c.interval_hours}h", c.symbol


def _dt(ms: int) -> datetime:
    return ms_to_dt(ms)


@pytest.mark.parametrize("exchange", with_current_funding(EXCHANGES))
def test_current_funding_matches_ground_truth(
    clients: dict[str, Any], sim: SimulatorServer, exchange: str
) -> None:
    ex, u = clients[exchange], sim.universe
    picks = pick_contracts(u, exchange)
    before = u.clock.now_ms()
    rates = current_rates(ex, exchange, picks)
    after = u.clock.now_ms()
    for c in picks:
        _check_current(u, exchange, c, rates[unified(ex, c)], before, after)
    assert ex.has["fetchFundingRate"]
    for c in picks[:2]:  # the per-symbol endpoint too
        before = u.clock.now_ms()
        parsed = ex.fetch_funding_rate(unified(ex, c))
        _check_current(u, exchange, c, parsed, before, u.clock.now_ms())


def test_bitget_tickers_rates_and_binance_intervals(
    clients: dict[str, Any], sim: SimulatorServer
) -> None:
    u = sim.universe
    bitget = clients["bitget"]
    rates = bitget.fetch_funding_rates()  # default method: tickers (rate, mark, index)
    for c in pick_contracts(u, "bitget"):
        assert rates[unified(bitget, c)]["fundingRate"] == u.current("bitget", c.symbol).rate
    binance = clients["binance"]
    intervals = binance.fetch_funding_intervals()
    for c in u.contracts("binance"):
        if c.interval_hours != 8:
            assert intervals[unified(binance, c)]["interval"] == f"{c.interval_hours}h"


def test_aster_intervals_of_every_symbol(clients: dict[str, Any], sim: SimulatorServer) -> None:
    """Aster's fundingInfo lists every symbol (8 h ones too), which ccxt reads as intervals."""
    aster, u = clients["aster"], sim.universe
    intervals = aster.fetch_funding_intervals()
    for c in u.contracts("aster"):
        assert intervals[unified(aster, c)]["interval"] == f"{c.interval_hours}h", c.symbol


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_funding_history_matches_ground_truth(
    clients: dict[str, Any], sim: SimulatorServer, exchange: str
) -> None:
    ex, u = clients[exchange], sim.universe
    now = u.now()
    # half past an hour: never on a settlement grid, so jitter cannot cross the boundary
    since = dt_to_ms(now - timedelta(days=3)) // HOUR_MS * HOUR_MS + HOUR_MS // 2
    for c in pick_contracts(u, exchange):
        limit = CCXT_CLIENTS[exchange].history_limit
        t0 = u.now()
        history = ex.fetch_funding_rate_history(unified(ex, c), since, limit)
        t1 = u.now()
        history = settled_history(exchange, history, dt_to_ms(t1))
        step = c.interval_hours * HOUR_MS
        got = [(h["timestamp"] // step * step, h["fundingRate"]) for h in history]
        wants = [
            [(dt_to_ms(t), r) for t, r in u.settlements(exchange, c.symbol, _dt(since), end)]
            for end in (t0, t1)
        ]
        assert got in wants, c.symbol
        assert got, c.symbol
