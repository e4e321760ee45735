"""Every registered venue's declared facts hold against what it serves.

The universe, the benchmarks and the registry test read these facts instead of keeping lists,
so a wrong fact would mislead all of them at once.
"""

from __future__ import annotations

import pytest
import requests

from lib.simulator import EXCHANGES, VENUES, SimulatorServer


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_facts_are_complete_and_consistent(exchange: str) -> None:
    venue = VENUES[exchange]
    assert venue.missing_facts() == []
    assert venue.name == exchange
    assert venue.default_size > 0 and abs(sum(venue.interval_mix) - 1.0) < 1e-9
    names = [limit.name for limit in venue.rate_limits]
    assert len(names) == len(set(names)) and venue.history_cost.limit in names
    assert venue.snapshot_requests >= 1


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_snapshot_call_lists_every_perpetual(clean_sim: SimulatorServer, exchange: str) -> None:
    text = ""
    for call in VENUES[exchange].every_snapshot_call():
        reply = requests.request(call.method, f"{clean_sim.url}/{exchange}{call.path}",
                                 params=dict(call.query), json=call.body, timeout=30)
        assert reply.status_code == 200
        text += reply.text
    missing = [c.symbol for c in clean_sim.universe.contracts(exchange)
               if f'"{c.symbol}"' not in text]
    assert missing == []


@pytest.mark.parametrize("exchange", EXCHANGES)
def test_universe_follows_the_facts(sim: SimulatorServer, exchange: str) -> None:
    venue, u = VENUES[exchange], sim.universe
    listed = u.instruments(exchange)
    assert sum(c.status == "prelaunch" for c in listed) == venue.prelaunch_listed
    assert sum(c.status == "delisted" for c in listed) == venue.delisted_listed
    dated = venue.dated_futures.count if venue.dated_futures else 0
    assert sum(c.kind == "delivery" for c in listed) == dated
    perps = u.contracts(exchange)
    assert {c.quote for c in perps} == venue.naming.quotes()
    assert all(c.contract_size == 1.0 for c in perps) != venue.lot_sized
