"""Bitget quirks against the simulator: history by page number, from a guessed first page.

The checks every venue shares are in test_adapters_live.py (Bitget's page counts included).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from simulator_checks import adapter, history_contracts, live_simulator

from lib.timeutils import floor_to_interval

EXCHANGE = "bitget"


def test_history_recovers_from_a_first_guess_too_far_back() -> None:
    """An interval that used to be longer means fewer rows than the estimate: the adapter
    notices its first page starts before the range end and steps back to newer pages."""
    with live_simulator() as sim:
        a = adapter(sim, EXCHANGE)
        symbol = history_contracts(sim, EXCHANGE)[0]
        contract = next(c for c in a.list_contracts() if c.symbol == symbol)
        end = floor_to_interval(sim.universe.now(), 1) - timedelta(days=10)
        start = end - timedelta(days=3)
        events = a.fetch_history(replace(contract, funding_interval_hours=0.5), start, end)
        assert [(e.funding_time, e.funding_rate) for e in events] == (
            sim.universe.settlements(EXCHANGE, symbol, start, end)
        )
