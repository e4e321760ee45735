"""OKX quirk against the simulator: history is limited per instrument (10 / 2 s per IP and
instId), not by one budget shared across instruments.

The checks every venue shares are in test_adapters_live.py.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from simulator_checks import adapter, live_simulator, served

from lib.models import Contract, FundingEvent
from lib.timeutils import floor_to_interval

EXCHANGE = "okx"


def test_history_of_many_instruments_is_limited_per_instrument() -> None:
    """Every instrument's last day of history (29 in this universe), on 4 threads as the
    settlement worker reads them: each request goes through its instrument's own limiter, none
    through the shared 10 per 2 s one (which would have paced the 29 over 4 s), and the
    simulator, counting per instId as OKX does, answers every one (a 429 would have been
    retried: two requests served for one sent)."""
    with live_simulator() as sim:
        a = adapter(sim, EXCHANGE)
        contracts = sorted(a.list_contracts(), key=lambda c: c.symbol)
        n = len(contracts)
        assert n > 20
        shared_before, sent_before = a.http.limiter.acquired, a.request_count
        served_before = served(sim, EXCHANGE)
        now = sim.universe.now()

        def last_day(c: Contract) -> tuple[Contract, list[FundingEvent]]:
            end = floor_to_interval(now, c.funding_interval_hours)
            return c, a.fetch_history(c, end - timedelta(days=1), end)

        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(last_day, contracts))

        assert a.request_count - sent_before == n == served(sim, EXCHANGE) - served_before
        assert a.http.limiter.acquired == shared_before  # the shared budget saw none of them
        assert sorted(a.http.limit_keys) == [c.symbol for c in contracts]
        assert all(a.http.limiter_for(c.symbol).acquired == 1 for c in contracts)
        for c, events in results:
            end = floor_to_interval(now, c.funding_interval_hours)
            assert [(e.funding_time, e.funding_rate) for e in events] == (
                sim.universe.settlements(EXCHANGE, c.symbol, end - timedelta(days=1), end))
