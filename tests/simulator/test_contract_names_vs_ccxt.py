"""Every contract the adapters list names itself as ccxt does: the unified symbol (multiplier
spelling kept: 1000PEPE/USDT:USDT, KPEPE/USDC:USDC) and the contract size."""

from __future__ import annotations

import pytest
from ccxt_clients import all_markets, in_ccxt, make_exchange, native_id

from config.settings import SUPPORTED_EXCHANGES, load_settings
from lib.exchanges import get_adapter
from lib.simulator import SimulatorServer


@pytest.mark.parametrize("exchange", in_ccxt(SUPPORTED_EXCHANGES))
def test_ccxt_symbol_and_contract_size_agree_with_ccxt(sim: SimulatorServer,
                                                       exchange: str) -> None:
    sim.reset_rate_limits()
    markets = {native_id(m): m for m in all_markets(make_exchange(exchange, sim.url))}
    adapter = get_adapter(exchange, load_settings({"SIMULATOR_URL": sim.url}))
    try:
        contracts = adapter.list_contracts()
    finally:
        adapter.close()
    assert contracts
    for c in contracts:
        market = markets[c.symbol]
        assert c.ccxt_symbol == market["symbol"], c.symbol
        assert c.contract_size == pytest.approx(float(market["contractSize"])), c.symbol
