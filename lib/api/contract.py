"""One contract: its listing, current funding, statistics, and settled history with its gaps.

The history's completeness is counted as `lib.history.completeness` counts it for the backfill
(settlements scheduled on the contract's interval grid since max(window start, listing), minus
the ones the exchange itself lacks), so the API and `check_backfill_status.py` agree. Gaps are
the missing settlements merged into ranges of consecutive slots.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, func, select

from lib.api.errors import ApiError
from lib.api.listing import iso, num
from lib.api.rates import HOURS_PER_YEAR, rate_items
from lib.history.completeness import ContractGaps, contracts_from_rows, missing_ranges, schedule
from lib.storage.schema import (
    contracts,
    exchange_data,
    funding_missing_at_exchange,
    funding_rates_historical,
    funding_statistics,
)
from lib.timeutils import from_ms, to_ms

_STAT_FIELDS = ("n", "expected_n", "completeness", "confidence", "mean_8h", "std_8h", "min_8h",
                "max_8h", "median_8h", "latest_8h", "current_8h", "predicted_8h", "zscore",
                "percentile", "mean_apr", "std_apr", "current_apr", "latest_apr")


def _listing(conn: Connection, exchange: str, symbol: str) -> dict[str, Any] | None:
    row = conn.execute(select(contracts).where(contracts.c.exchange == exchange,
                                               contracts.c.symbol == symbol)).first()
    if row is None:
        return None
    m = row._mapping
    return {"canonical_symbol": m["canonical_symbol"], "ccxt_symbol": m["ccxt_symbol"],
            "base": m["base"], "quote": m["quote"], "settle": m["settle"],
            "multiplier": num(m["multiplier"]), "contract_size": num(m["contract_size"]),
            "funding_interval_hours": num(m["funding_interval_hours"]),
            "listed_at": iso(m["listed_at"]), "status": m["status"],
            "first_seen": iso(m["first_seen"]), "last_seen": iso(m["last_seen"])}


def _statistics(conn: Connection, exchange: str, symbol: str) -> dict[str, Any]:
    s = funding_statistics.c
    out = {}
    for row in conn.execute(select(funding_statistics).where(s.exchange == exchange,
                                                             s.symbol == symbol)):
        m = row._mapping
        entry = {k: (m[k] if isinstance(m[k], str | int) else num(m[k])) for k in _STAT_FIELDS}
        entry["calculated_at"] = iso(m["calculated_at"])
        out[f"{m['window_days']}d"] = entry
    return out


def _history_span(conn: Connection, exchange: str, symbol: str) -> dict[str, Any]:
    f = funding_rates_historical.c
    n, first, last = conn.execute(select(func.count(), func.min(f.funding_time),
                                         func.max(f.funding_time))
                                  .where(f.exchange == exchange, f.symbol == symbol)).one()
    return {"settlements": int(n), "first": iso(first), "last": iso(last)}


def contract_details(conn: Connection, exchange: str, symbol: str, now: datetime,
                     ) -> dict[str, Any]:
    """Listing, current funding, statistics per window and stored history span; 404 when the
    database knows neither a listing nor a snapshot of the contract."""
    listing = _listing(conn, exchange, symbol)
    e = exchange_data.c
    current = rate_items(conn, now, where=and_(e.exchange == exchange, e.symbol == symbol))
    if listing is None and not current:
        raise ApiError(404, "contract_not_found",
                       f"{exchange}: {symbol!r} is neither listed nor collected in this database")
    return {"exchange": exchange, "symbol": symbol, "listing": listing,
            "current": current[0] if current else None,
            "statistics": _statistics(conn, exchange, symbol),
            "history": _history_span(conn, exchange, symbol)}


def _gaps(conn: Connection, exchange: str, symbol: str, stored: set[int], start: datetime,
          end: datetime) -> dict[str, Any] | None:
    row = conn.execute(select(contracts).where(contracts.c.exchange == exchange,
                                               contracts.c.symbol == symbol)).first()
    if row is None:
        return None
    contract = contracts_from_rows([row])[0]
    m = funding_missing_at_exchange.c
    known = {to_ms(t) for (t,) in conn.execute(select(m.funding_time).where(
        m.exchange == exchange, m.symbol == symbol, m.funding_time >= start,
        m.funding_time <= end))}
    listed = to_ms(contract.listed_at) if contract.listed_at else None
    gaps = ContractGaps(contract, schedule(contract.funding_interval_hours, to_ms(start),
                                           to_ms(end), listed), stored, known)
    step = gaps.scheduled.step
    ranges = [{"from": iso(from_ms(a)), "to": iso(from_ms(b)), "settlements": (b - a) // step + 1}
              for a, b in missing_ranges(gaps, 0)]
    return {"expected": gaps.expected, "stored": gaps.have,
            "known_missing_at_exchange": len(gaps.scheduled) - gaps.expected,
            "missing": len(gaps.missing), "percent": round(gaps.completeness, 3),
            "gaps": ranges}


def contract_history(conn: Connection, exchange: str, symbol: str, days: int,
                     now: datetime) -> dict[str, Any]:
    """Settled rates of the last `days` days, oldest first, with completeness and gaps."""
    start = now - timedelta(days=days)
    f = funding_rates_historical.c
    rows = conn.execute(select(f.funding_time, f.funding_rate, f.funding_interval_hours,
                               f.mark_price, f.source)
                        .where(f.exchange == exchange, f.symbol == symbol,
                               f.funding_time >= start, f.funding_time <= now)
                        .order_by(f.funding_time)).all()
    completeness = _gaps(conn, exchange, symbol, {to_ms(r[0]) for r in rows}, start, now)
    if completeness is None and not rows:
        raise ApiError(404, "contract_not_found",
                       f"{exchange}: {symbol!r} has no listing and no settled history here")
    settlements = []
    for when, rate, interval, mark, source in rows:
        settlements.append({
            "funding_time": iso(when), "funding_rate": rate,
            "funding_interval_hours": num(interval),
            "rate_8h": rate * 8.0 / interval if interval else None,
            "apr": rate * HOURS_PER_YEAR / interval if interval else None,
            "mark_price": num(mark), "source": source})
    return {"exchange": exchange, "symbol": symbol, "days": days,
            "window_start": iso(start), "window_end": iso(now), "settlements": settlements,
            "completeness": completeness}
