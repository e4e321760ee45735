"""Current funding of every contract as the API shows it: one item per stored snapshot.

From `exchange_data` (the collector's latest snapshot), the contract's listing facts
(`contracts`) and its 30-day statistics (`funding_statistics`, written by the z-score job), in
comparable units (DESIGN.md "Units"): rate_1h, rate_8h, rate_1d and rate_7d are the rate scaled
from the contract's own interval to that span, apr = rate x 8760 / interval (simple, not
compounded, a fraction: 0.1 is 10 %). Open interest and volume are in USD, converted once by
`lib.analytics.units.to_usd`. A snapshot older than the analytics' freshness limit is `stale`.
The statistics (mean_30d, std_30d) are in rate_8h like everything compared across venues.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, select

from lib.analytics.current import fresh_since
from lib.analytics.units import to_usd
from lib.api.listing import iso, num
from lib.storage.schema import contracts, exchange_data, funding_statistics

STATS_WINDOW_DAYS = 30
SPANS_HOURS = {"rate_1h": 1.0, "rate_8h": 8.0, "rate_1d": 24.0, "rate_7d": 168.0}
HOURS_PER_YEAR = 8760.0
GRID_VIEWS = {"apr": "apr", "1h": "rate_1h", "8h": "rate_8h", "1d": "rate_1d", "7d": "rate_7d"}


def _query() -> Any:
    e, c, s = exchange_data.c, contracts.c, funding_statistics.c
    return (
        select(e.exchange, e.symbol, e.funding_rate, e.funding_interval_hours,
               e.next_funding_time, e.mark_price, e.index_price, e.open_interest, e.volume_24h,
               e.updated_at, e.predicted_rate, e.open_interest_unit, e.volume_unit,
               e.canonical_symbol.label("data_canonical"), e.base.label("data_base"),
               c.canonical_symbol, c.base, c.quote, c.settle, c.multiplier, c.contract_size,
               c.funding_interval_hours.label("listed_interval"), c.status, c.listed_at,
               s.zscore, s.percentile, s.mean_8h, s.std_8h, s.n, s.calculated_at)
        .select_from(exchange_data)
        .outerjoin(contracts, and_(c.exchange == e.exchange, c.symbol == e.symbol))
        .outerjoin(funding_statistics, and_(s.exchange == e.exchange, s.symbol == e.symbol,
                                            s.window_days == STATS_WINDOW_DAYS))
    )


def _item(row: Any, now: datetime, since: datetime) -> dict[str, Any]:
    m = row._mapping
    interval = m["funding_interval_hours"] or m["listed_interval"]
    rate = float(m["funding_rate"])
    base = m["base"] or m["data_base"]
    settle = m["settle"]
    inverse = settle is not None and settle == base
    price = m["mark_price"] or m["index_price"]
    size = m["contract_size"]
    updated = m["updated_at"]
    item: dict[str, Any] = {
        "exchange": m["exchange"], "symbol": m["symbol"],
        "canonical_symbol": m["canonical_symbol"] or m["data_canonical"], "base": base,
        "quote": m["quote"], "settle": settle, "multiplier": num(m["multiplier"]),
        "funding_rate": rate, "funding_interval_hours": num(interval),
    }
    for name, hours in SPANS_HOURS.items():
        item[name] = rate * hours / interval if interval else None
    item["apr"] = rate * HOURS_PER_YEAR / interval if interval else None
    item.update({
        "next_funding_time": iso(m["next_funding_time"]),
        "mark_price": num(m["mark_price"]), "index_price": num(m["index_price"]),
        "open_interest_usd": num(to_usd(m["open_interest"], m["open_interest_unit"],
                                        price=price, contract_size=size, inverse=inverse)),
        "volume_24h_usd": num(to_usd(m["volume_24h"], m["volume_unit"], price=price,
                                     contract_size=size, inverse=inverse)),
        "predicted_rate": num(m["predicted_rate"]),
        "updated_at": iso(updated),
        "age_seconds": round((now - updated).total_seconds(), 3),
        "stale": updated < since,
        "z_score": num(m["zscore"]), "percentile": num(m["percentile"]),
        "mean_30d": num(m["mean_8h"]), "std_30d": num(m["std_8h"]),
        "stats_n": m["n"], "stats_calculated_at": iso(m["calculated_at"]),
    })
    return item


def rate_items(conn: Connection, now: datetime, max_age: timedelta | None = None,
               where: Any = None) -> list[dict[str, Any]]:
    """Every snapshot as an API item (see the module docstring); `where` narrows the query."""
    since = fresh_since(now, max_age)
    query = _query()
    if where is not None:
        query = query.where(where)
    return [_item(row, now, since) for row in conn.execute(query)]


def grid(items: list[dict[str, Any]], view: str) -> dict[str, Any]:
    """Asset x exchange: per base and exchange the contract with the most open interest (a
    fresh one before a stale one), its rate in the view's unit."""
    field = GRID_VIEWS[view]
    cells: dict[str, dict[str, dict[str, Any]]] = {}
    chosen: dict[tuple[str, str], tuple[Any, ...]] = {}
    for item in items:
        if not item["base"]:
            continue
        key = (item["base"], item["exchange"])
        rank = (not item["stale"], item["open_interest_usd"] or 0.0, item["symbol"])
        if key in chosen and chosen[key] >= rank:
            continue
        chosen[key] = rank
        cells.setdefault(item["base"], {})[item["exchange"]] = {
            "symbol": item["symbol"], "value": item[field],
            "interval_hours": item["funding_interval_hours"],
            "next_funding_time": item["next_funding_time"], "stale": item["stale"],
        }
    exchanges = sorted({ex for row in cells.values() for ex in row})
    rows = [{"base": base, "cells": dict(sorted(row.items()))}
            for base, row in sorted(cells.items())]
    return {"view": view, "unit": "apr (fraction, simple)" if view == "apr"
            else f"rate per {view} (fraction)", "exchanges": exchanges, "rows": rows}
