"""The project's adapters and ccxt, both pointed at the simulator, must parse the same values.

The simulator was written from the exchanges' documentation and the adapters separately, so
agreement here means the adapters read the exchanges the way a widely used client does.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ccxt_clients import (
    CCXT_CLIENTS,
    current_rates,
    history_rate,
    in_ccxt,
    make_exchange,
    pick_contracts,
    settled_history,
    unified,
    with_current_funding,
    with_funding_history,
)

from config.settings import SUPPORTED_EXCHANGES, load_settings
from lib.exchanges import get_adapter
from lib.exchanges.base import ExchangeAdapter
from lib.simulator import SimulatorServer
from lib.timeutils import from_ms, normalise_settlement, to_ms


@pytest.fixture(scope="module")
def pair(sim: SimulatorServer) -> dict[str, tuple[Any, ExchangeAdapter]]:
    sim.reset_rate_limits()
    settings = load_settings({"SIMULATOR_URL": sim.url})
    return {
        name: (make_exchange(name, sim.url), get_adapter(name, settings))
        for name in in_ccxt(SUPPORTED_EXCHANGES)
    }


# Where ccxt parses no current funding (dYdX), the generic adapter suite checks the adapter's
# current rates against the simulator's ground truth instead.
@pytest.mark.parametrize("exchange", with_current_funding(SUPPORTED_EXCHANGES))
def test_current_funding_agrees_with_ccxt(
    pair: dict[str, tuple[Any, ExchangeAdapter]], sim: SimulatorServer, exchange: str
) -> None:
    ex, adapter = pair[exchange]
    ours = {s.symbol: s for s in adapter.fetch_current()}
    picks = pick_contracts(sim.universe, exchange)
    client = CCXT_CLIENTS[exchange]
    rates = current_rates(ex, exchange, [unified(ex, c) for c in picks])
    theirs = {c.symbol: rates[unified(ex, c)] for c in picks}
    for c in picks:
        assert ours[c.symbol].funding_rate * client.rate_scale == pytest.approx(
            theirs[c.symbol]["fundingRate"], abs=1e-12), c.symbol
        nxt = ours[c.symbol].next_funding_time
        if nxt is not None and theirs[c.symbol].get("fundingTimestamp"):
            assert to_ms(nxt) == theirs[c.symbol]["fundingTimestamp"], c.symbol


@pytest.mark.parametrize("exchange", with_funding_history(SUPPORTED_EXCHANGES))
def test_funding_history_agrees_with_ccxt(
    pair: dict[str, tuple[Any, ExchangeAdapter]], sim: SimulatorServer, exchange: str
) -> None:
    ex, adapter = pair[exchange]
    contracts = {c.symbol: c for c in adapter.list_contracts()}
    now = sim.universe.now()
    start = normalise_settlement(now - timedelta(days=3)) + timedelta(minutes=30)
    for c in pick_contracts(sim.universe, exchange):
        theirs = ex.fetch_funding_rate_history(unified(ex, c), to_ms(start), 100)
        theirs = settled_history(exchange, theirs, to_ms(sim.universe.now()))
        assert theirs, c.symbol
        last = normalise_settlement(from_ms(theirs[-1]["timestamp"]))
        ours = adapter.fetch_history(contracts[c.symbol], start, last)
        their_pairs = [
            (normalise_settlement(from_ms(h["timestamp"])), history_rate(exchange, h))
            for h in theirs
        ]
        assert [(e.funding_time, e.funding_rate) for e in ours] == [
            (t, pytest.approx(r, abs=1e-12)) for t, r in their_pairs
        ], c.symbol
