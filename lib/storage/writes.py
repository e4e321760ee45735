"""Writes shared by the collector, the backfill and the repair jobs.

`contracts` keeps the first time a contract was seen, so it is written in two steps: insert the
new ones, then update the mutable columns of all of them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, update

from lib.models import Contract, FundingEvent
from lib.storage.engine import insert_ignore
from lib.storage.schema import contracts, funding_rates_historical


def contract_rows(items: Iterable[Contract], now: datetime) -> list[dict[str, Any]]:
    """`contracts` rows for a listing seen at `now`."""
    return [
        {
            "exchange": c.exchange, "symbol": c.symbol, "canonical_symbol": c.canonical_symbol,
            "base": c.base, "quote": c.quote, "settle": c.settle, "multiplier": c.multiplier,
            "funding_interval_hours": c.funding_interval_hours, "listed_at": c.listed_at,
            "status": c.status, "first_seen": now, "last_seen": now,
            "ccxt_symbol": c.ccxt_symbol, "contract_size": c.contract_size,
        }
        for c in items
    ]


def save_contracts(conn: Connection, items: Sequence[Contract], now: datetime) -> int:
    """Record a listing: new contracts inserted, known ones refreshed; return how many were new."""
    rows = contract_rows(items, now)
    if not rows:
        return 0
    inserted = insert_ignore(conn, contracts, rows)
    mutable = [c for c in rows[0] if c not in ("exchange", "symbol", "first_seen")]
    params = [{**{f"b_{c}": r[c] for c in mutable}, "k_ex": r["exchange"], "k_sym": r["symbol"]}
              for r in rows]
    stmt = (
        update(contracts)
        .where(contracts.c.exchange == bindparam("k_ex"), contracts.c.symbol == bindparam("k_sym"))
        .values({c: bindparam(f"b_{c}") for c in mutable})
    )
    conn.execute(stmt, params)
    return inserted


def retire_unlisted(conn: Connection, exchange: str, listed: Iterable[str]) -> int:
    """Mark an exchange's contracts missing from its complete listing as delisted, so that
    completeness and repairs stop expecting new settlements from them."""
    stmt = (
        update(contracts)
        .where(contracts.c.exchange == exchange, contracts.c.status == "trading",
               contracts.c.symbol.not_in(list(listed)))
        .values(status="delisted")
    )
    return int(conn.execute(stmt).rowcount or 0)


def event_rows(events: Iterable[FundingEvent], interval_hours: float, source: str,
               now: datetime) -> list[dict[str, Any]]:
    """`funding_rates_historical` rows for settled events."""
    return [
        {
            "exchange": e.exchange, "symbol": e.symbol, "funding_time": e.funding_time,
            "funding_rate": e.funding_rate,
            "funding_interval_hours": e.funding_interval_hours or interval_hours,
            "mark_price": e.mark_price, "collected_at": now, "source": source,
        }
        for e in events
    ]


def save_events(conn: Connection, events: Sequence[FundingEvent], interval_hours: float,
                source: str, now: datetime) -> int:
    """Insert settled events, ignoring settlements already stored; return rows inserted."""
    rows = event_rows(events, interval_hours, source, now)
    return insert_ignore(conn, funding_rates_historical, rows) if rows else 0
