"""One contract's settlements over a range: fetched, checked against the slots wanted, stored.

The backfill and repairs (`backfill.fill_contract`) and the live collector's settlement worker
(`settlements`) both ask for a range that starts one interval before the first slot they want,
so a slot the exchange lacks shows up between two settlements it has ("confirmed missing"), and
both store what came back together with those slots in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine

from lib.exchanges.base import ExchangeAdapter
from lib.history.completeness import confirmed_missing, record_known_missing
from lib.models import Contract, FundingEvent
from lib.storage.engine import translated_errors, write_transaction
from lib.storage.writes import save_events
from lib.timeutils import to_ms, utcnow


@dataclass
class Fetched:
    """An exchange's reply for one range, sorted out."""

    events: list[FundingEvent]  # the settlements at or after `keep_from`
    times: list[int]  # every returned settlement time (ms), the neighbours outside included
    confirmed: list[int]  # wanted slots the reply skipped with settlements on both sides


def fetch_range(adapter: ExchangeAdapter, contract: Contract, start: datetime, end: datetime,
                wanted: Sequence[int], keep_from: int) -> Fetched:
    """The contract's settlements in [start, end]; those before `keep_from` (ms) only bracket
    gaps. Exchange and data errors propagate (the caller retries)."""
    got = adapter.fetch_history(contract, start, end)
    times = [to_ms(e.funding_time) for e in got]
    kept = [e for e, t in zip(got, times, strict=True) if t >= keep_from]
    return Fetched(kept, times, confirmed_missing(wanted, times))


def store_settlements(engine: Engine, contract: Contract, events: Sequence[FundingEvent],
                      missing: Sequence[int], source: str) -> tuple[int, int]:
    """Store settled events and the slots (ms) confirmed missing at the exchange, in one
    transaction; return (rows inserted, missing slots newly recorded)."""
    now = utcnow()
    with translated_errors(engine), write_transaction(engine) as conn:
        inserted = save_events(conn, events, contract.funding_interval_hours, source, now)
        recorded = record_known_missing(conn, contract.exchange, contract.symbol, missing, now)
    return inserted, recorded
