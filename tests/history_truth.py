"""Stored funding history against the simulator's ground truth."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select

from lib.simulator import SimulatorServer
from lib.storage.schema import funding_rates_historical as frh
from lib.timeutils import to_ms

DAYS = 4


def ground_truth(sim: SimulatorServer, exchanges: list[str], start: datetime,
                 end: datetime) -> dict[tuple[str, str, int], float]:
    """Every settlement the simulator holds in [start, end]: (exchange, symbol, ms) -> rate."""
    truth = {}
    for ex in exchanges:
        for c in sim.universe.contracts(ex):
            for when, rate in sim.universe.settlements(ex, c.symbol, start, end):
                truth[(ex, c.symbol, to_ms(when))] = rate
    return truth


def stored(engine: Engine, source: str | None = None) -> dict[tuple[str, str, int], float]:
    """Every stored settlement: (exchange, symbol, ms) -> rate."""
    query = select(frh.c.exchange, frh.c.symbol, frh.c.funding_time, frh.c.funding_rate)
    if source:
        query = query.where(frh.c.source == source)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return {(ex, sym, to_ms(t)): rate for ex, sym, t, rate in rows}


def row_count(engine: Engine) -> int:
    """Rows in funding_rates_historical (compare with the distinct keys of `stored`)."""
    with engine.connect() as conn:
        return len(conn.execute(select(frh.c.exchange)).all())
