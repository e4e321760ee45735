"""Funding history with the defects the integrity repairs fix, for their tests and benchmark.

`bench/bench_integrity.py` loads this file by its path (it is not an installed module), so it
imports nothing from the tests.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from typing import Any

from sqlalchemy import Column, Engine, Float, Index, MetaData, String, Table, select, text

from lib.storage.schema import UTCDateTime, funding_rates_historical


def loose_history_table(metadata: MetaData) -> Table:
    """funding_rates_historical as imports and old versions have it: no unique key and a
    nullable rate, so it can hold the defects the repairs remove."""
    return Table(
        funding_rates_historical.name,
        metadata,
        Column("exchange", String(32), nullable=False),
        Column("symbol", String(64), nullable=False),
        Column("funding_time", UTCDateTime, nullable=False),
        Column("funding_rate", Float),
        Column("mark_price", Float),
        Column("funding_interval_hours", Float),
        Column("collected_at", UTCDateTime),
        Column("source", String(16), nullable=False, server_default=text("'unknown'")),
        Index("ix_funding_rates_historical_funding_time", "funding_time"),
    )


def make_loose(engine: Engine) -> Table:
    """Replace the history table with one like old versions and imports had (no key)."""
    loose = loose_history_table(MetaData())
    with engine.begin() as conn:
        funding_rates_historical.drop(conn)
        loose.create(conn)
    return loose


def row(exchange: str, symbol: str, when: datetime, rate: float | None,
                interval: float | None = 8.0,
                collected: datetime | None = None) -> dict[str, Any]:
    """One history row as a backfill would write it."""
    return {"exchange": exchange, "symbol": symbol, "funding_time": when, "funding_rate": rate,
            "mark_price": None, "funding_interval_hours": interval, "collected_at": collected,
            "source": "backfill"}


def stored_rows(engine: Engine) -> list[tuple[Any, ...]]:
    """(exchange, symbol, funding_time, rate) of every stored row, sorted; NaN as "nan"."""
    t = funding_rates_historical
    with engine.connect() as conn:
        return sorted(
            ((*r[:3], "nan" if r[3] is not None and math.isnan(r[3]) else r[3])
             for r in conn.execute(
                select(t.c.exchange, t.c.symbol, t.c.funding_time, t.c.funding_rate)
            )),
            key=repr,
        )


def numbers(stdout: str, label: str) -> str:
    """The numbers on the table line that starts with `label`."""
    for line in stdout.splitlines():
        if line.startswith(label):
            return re.sub(r"\s+", " ", line[len(label):]).strip()
    raise AssertionError(f"no line {label!r} in:\n{stdout}")
