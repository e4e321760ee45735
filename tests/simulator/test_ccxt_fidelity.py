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
    history_rate,
    in_ccxt,
    make_exchange,
    native_id,
    pick_contracts,
    settled_history,
    unified,
    with_current_funding,
    with_funding_history,
)

from lib.simulator import EXCHANGES, Contract, SimulatorServer, Universe
from lib.simulator.config import dt_to_ms, ms_to_dt

HOUR_MS = 3_600_000


@pytest.fixture(scope="module")
def clients(sim: SimulatorServer) -> dict[str, Any]:
    sim.reset_rate_limits()
    return {name: make_exchange(name, sim.url) for name in in_ccxt(EXCHANGES)}


@pytest.mark.parametrize("exchange", in_ccxt(EXCHANGES))
def test_markets_are_exactly_the_trading_perpetuals(
    clients: dict[str, Any], sim: SimulatorServer, exchange: str
) -> None:
    ex = clients[exchange]
    markets = all_markets(ex)
    active_swaps = {native_id(m) for m in markets if m["swap"] and m["active"] is not False}
    assert active_swaps == {c.symbol for c in sim.universe.contracts(exchange)}
    listed = {c.symbol for c in sim.universe.instruments(exchange)}
    contracts = {native_id(m) for m in markets if m["contract"]}  # spot pairs are not ours
    if CCXT_CLIENTS[exchange].lists_prelaunch:
        assert contracts == listed
    else:
        assert contracts <= listed
    for c in pick_contracts(sim.universe, exchange):
        market = next(m for m in markets if native_id(m) == c.symbol)
        base_id = market[CCXT_CLIENTS[exchange].base_field]
        assert (base_id, market["settleId"].upper()) == (c.base, c.settle.upper())


def _check_current(
    u: Universe, exchange: str, c: Contract, parsed: dict[str, Any], before: int, after: int
) -> None:
    step = c.interval_hours * HOUR_MS
    client = CCXT_CLIENTS[exchange]
    nexts = {before // step * step + step, after // step * step + step}
    # when the running interval settles: ccxt's fundingTimestamp, or for some exchanges (Aster,
    # Backpack) nextFundingTimestamp, with fundingTimestamp None
    settles = parsed["fundingTimestamp"] or parsed.get("nextFundingTimestamp")
    if client.funding_timestamp:
        assert settles in nexts
        nexts = {settles}
    else:  # no funding time (Lighter): the settlement after the request
        assert parsed["fundingTimestamp"] is None
    truths = [u.current(exchange, c.symbol, at=_dt(at - 1)).rate * client.rate_scale
              for at in nexts]
    assert parsed["fundingRate"] in truths, c.symbol
    if parsed.get("interval") is not None and client.interval_known:
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
    rates = current_rates(ex, exchange, [unified(ex, c) for c in picks])
    after = u.clock.now_ms()
    for c in picks:
        _check_current(u, exchange, c, rates[unified(ex, c)], before, after)
    if not CCXT_CLIENTS[exchange].single_funding:  # ccxt has no per-symbol endpoint here
        assert not ex.has["fetchFundingRate"]
        return
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


@pytest.mark.parametrize("exchange", with_funding_history(EXCHANGES))
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
        got = [(h["timestamp"] // step * step, history_rate(exchange, h)) for h in history]
        wants = [
            [(dt_to_ms(t), r) for t, r in u.settlements(exchange, c.symbol, _dt(since), end)]
            for end in (t0, t1)
        ]
        assert got in wants, c.symbol
        assert got, c.symbol


def test_deribit_funding_rate_is_the_last_8_hours_accrued(
    clients: dict[str, Any], sim: SimulatorServer
) -> None:
    """ccxt's Deribit fetch_funding_rate asks get_funding_rate_value for the last 8 h: the
    funding accrued over them, the sum of those hourly rows (which is why the adapters are not
    compared with it: it is not the running hour's rate)."""
    ex, u = clients["deribit"], sim.universe
    c = next(c for c in u.contracts("deribit") if c.asset == "BTC")
    before = u.clock.now_ms()
    parsed = ex.fetch_funding_rate(unified(ex, c))
    after = u.clock.now_ms()
    sums = {sum(r for _, r in u.settlements("deribit", c.symbol, _dt(t - 8 * HOUR_MS + 1),
                                            _dt(t)))
            for t in (before, after)}
    assert any(abs(parsed["fundingRate"] - s) < 1e-12 for s in sums)
    assert parsed["fundingRate"] != 0
