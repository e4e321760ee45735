"""From the simulator through the collector into the database and out as opportunities: the
extras the adapters read (predicted rate, caps, units, contract size, ccxt symbol) are stored,
and open interest comes out in USD whatever unit each venue counts it in."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from config.settings import SUPPORTED_EXCHANGES, Settings
from lib.analytics.opportunities import current_opportunities
from lib.collection.collector import Collector
from lib.exchanges.symbols import k_prefix_exchanges
from lib.simulator import SimulatorServer
from lib.storage.schema import contracts, exchange_data

# Venues whose bulk funding calls carry no open interest: Binance's and Aster's premiumIndex.
NO_OPEN_INTEREST = frozenset({"aster", "binance"})


def test_snapshot_extras_are_stored_and_open_interest_is_usd(
        engine: Engine, sim: SimulatorServer, live_settings: Settings) -> None:
    collector = Collector(engine, SUPPORTED_EXCHANGES, live_settings)
    try:
        collector.run_cycle()
    finally:
        collector.close()
    with engine.connect() as conn:
        data = {(r.exchange, r.symbol): r for r in conn.execute(select(exchange_data))}
        listed = {(r.exchange, r.symbol): r for r in conn.execute(select(contracts))}
        scan = current_opportunities(conn)
    u = sim.universe
    for (ex, symbol), row in data.items():
        truth = u.contract(ex, symbol)
        if ex == "bybit":  # the simulator's fundingCap: 0.5 % on 8 h contracts, 3 % else
            cap = 0.005 if truth.interval_hours == 8 else 0.03
            assert (row.rate_cap, row.rate_floor) == (cap, -cap)
        if ex in ("kucoin", "gate"):
            assert row.predicted_rate == pytest.approx(row.funding_rate)
            assert row.open_interest_unit == "contracts"
        c = listed[(ex, symbol)]
        if truth.settle != truth.base:  # an inverse contract's size is USD (Deribit: 10)
            assert c.contract_size == pytest.approx(truth.contract_size), symbol
        spelled = truth.base.upper() if ex in k_prefix_exchanges() else truth.base  # KPEPE
        if ex not in ("kucoin", "okx", "gate", "dydx"):  # these spell base without multiplier
            assert c.ccxt_symbol == f"{spelled}/{c.quote}:{c.settle}", symbol
    legs = {leg.key: leg for o in scan.opportunities for leg in (o.short, o.long)}
    checked = 0
    for key, leg in legs.items():
        if leg.open_interest_usd is None:
            continue
        now = u.current(*key)
        assert leg.open_interest_usd == pytest.approx(now.open_interest * now.mark_price,
                                                      rel=0.02), key
        checked += 1
    venues = {key[0] for key, leg in legs.items() if leg.open_interest_usd is not None}
    assert venues == set(SUPPORTED_EXCHANGES) - NO_OPEN_INTEREST
    assert checked > 50  # legs of bases listed on two or more venues, out of 120 contracts
