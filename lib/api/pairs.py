"""Cross-exchange pairs as the API shows them: the opportunity list and one pair in depth.

Built on `lib.analytics`: current pairs from `opportunities.current_opportunities`, the 30-day
spread statistics from `ranking.spread_history`, realized carry from `carry.realized_carry`.
Everything faces the leg to short now (the one paying more per 8 h): spread = rate_8h(short) -
rate_8h(long), so the stored series (kept as leg a - leg b) is flipped where b is the short leg.
Net APR = gross APR - the taker fees in and out of both legs spread over the holding period.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, or_, select

from lib.analytics.carry import RealizedCarry, realized_carry
from lib.analytics.current import fresh_since
from lib.analytics.fees import FeeSchedule
from lib.analytics.opportunities import Leg, Opportunity, current_opportunities
from lib.analytics.ranking import SpreadHistory, spread_history
from lib.api.errors import ApiError
from lib.api.listing import iso, num
from lib.storage.schema import (
    arbitrage_legs,
    arbitrage_pairs,
    arbitrage_spread_statistics,
    arbitrage_spreads_select,
)

PAIR_ROUTE = "/api/arbitrage/pairs/{exchange_a}/{symbol_a}/{exchange_b}/{symbol_b}"
CARRY_PERIODS = (1, 7, 30)
EVER = timedelta(days=36500)  # the pair route shows stale legs too, flagged


def pair_path(o: Opportunity) -> str:
    return (f"/api/arbitrage/pairs/{o.short.exchange}/{o.short.symbol}/{o.long.exchange}/"
            f"{o.long.symbol}")


def leg_json(leg: Leg, since: datetime) -> dict[str, Any]:
    return {
        "exchange": leg.exchange, "symbol": leg.symbol, "ccxt_symbol": leg.ccxt_symbol,
        "base": leg.base, "quote": leg.quote, "settle": leg.settle,
        "multiplier": leg.multiplier, "funding_interval_hours": leg.interval_hours,
        "funding_rate": leg.rate, "rate_8h": leg.rate_8h, "apr": leg.apr,
        "predicted_rate": num(leg.predicted_rate), "predicted_8h": num(leg.predicted_8h),
        "next_funding_time": iso(leg.next_funding_time), "mark_price": num(leg.mark_price),
        "open_interest_usd": num(leg.open_interest_usd),
        "volume_24h_usd": num(leg.volume_24h_usd), "updated_at": iso(leg.updated_at),
        "stale": leg.updated_at < since,
    }


def opportunity_item(o: Opportunity, fees: float, hold_days: int, history: SpreadHistory | None,
                     since: datetime) -> dict[str, Any]:
    ois = [o.short.open_interest_usd, o.long.open_interest_usd]
    known = [x for x in ois if x is not None]
    net = o.spread_apr - fees * 365.0 / hold_days
    return {
        "base": o.base, "settlement": o.settlement, "same_sign": o.same_sign,
        "short_exchange": o.short.exchange, "long_exchange": o.long.exchange,
        "short": leg_json(o.short, since), "long": leg_json(o.long, since),
        "spread_8h": o.spread_8h, "gross_apr": o.spread_apr, "net_apr": net, "fees": fees,
        "hold_days": hold_days,
        "min_oi_usd": min(known) if len(known) == 2 else None,
        "combined_oi_usd": sum(known) if len(known) == 2 else None,
        "persistence": num(history.persistence) if history else None,
        "history_hours": history.n if history else 0,
        "spread_z": num(history.zscore(o.spread_8h)) if history else None,
        "path": pair_path(o),
    }


def opportunity_items(conn: Connection, now: datetime, fees: FeeSchedule, hold_days: int,
                      exchanges: list[str] | None) -> tuple[list[dict[str, Any]], Any]:
    """Every current (fresh) pair as an item, with its 30-day spread history; and the scan."""
    scan = current_opportunities(conn, now, None, exchanges)
    history = spread_history(conn, [o.legs for o in scan.opportunities])
    since = fresh_since(now, None)
    items = [opportunity_item(o, fees.round_trip(o.short.exchange, o.long.exchange), hold_days,
                              history.get(o.legs), since) for o in scan.opportunities]
    return items, scan


def _find_pair(conn: Connection, now: datetime, a: tuple[str, str],
               b: tuple[str, str]) -> Opportunity:
    scan = current_opportunities(conn, now, EVER, sorted({a[0], b[0]}))
    wanted = {a, b}
    for o in scan.opportunities:
        if {o.short.key, o.long.key} == wanted:
            return o
    raise ApiError(404, "pair_not_found",
                   f"no pair {a[0]}:{a[1]} / {b[0]}:{b[1]}: both contracts need a stored "
                   "snapshot and the same base asset on two different exchanges")


def _series(conn: Connection, o: Opportunity, start: datetime) -> list[dict[str, Any]]:
    v = arbitrage_spreads_select().subquery("spreads")
    (se, ss), (le, ls) = o.short.key, o.long.key
    rows = conn.execute(
        select(v.c.ts, v.c.exchange_a, v.c.rate_8h_a, v.c.rate_8h_b)
        .where(or_(and_(v.c.exchange_a == se, v.c.symbol_a == ss, v.c.exchange_b == le,
                        v.c.symbol_b == ls),
                   and_(v.c.exchange_a == le, v.c.symbol_a == ls, v.c.exchange_b == se,
                        v.c.symbol_b == ss)),
               v.c.ts >= start)
        .order_by(v.c.ts)).all()
    out = []
    for ts, ex_a, rate_a, rate_b in rows:
        short, long = (rate_a, rate_b) if ex_a == se else (rate_b, rate_a)
        out.append({"ts": iso(ts), "short_rate_8h": short, "long_rate_8h": long,
                    "spread_8h": short - long, "spread_apr": (short - long) * 1095.0})
    return out


def _statistics(conn: Connection, o: Opportunity) -> dict[str, Any]:
    s, p = arbitrage_spread_statistics, arbitrage_pairs
    la, lb = arbitrage_legs.alias("la"), arbitrage_legs.alias("lb")
    rows = conn.execute(
        select(s, la.c.exchange, la.c.symbol)
        .join(p, p.c.pair_id == s.c.pair_id)
        .join(la, la.c.leg_id == p.c.leg_a).join(lb, lb.c.leg_id == p.c.leg_b)
        .where(or_(and_(la.c.exchange == o.short.exchange, la.c.symbol == o.short.symbol,
                        lb.c.exchange == o.long.exchange, lb.c.symbol == o.long.symbol),
                   and_(la.c.exchange == o.long.exchange, la.c.symbol == o.long.symbol,
                        lb.c.exchange == o.short.exchange, lb.c.symbol == o.short.symbol))))
    out = {}
    for row in rows:
        m = row._mapping
        flip = (m["exchange"], m["symbol"]) != o.short.key
        sign = -1.0 if flip else 1.0

        def signed(name: str, m: Any = m, sign: float = sign) -> float | None:
            value = num(m[name])
            return None if value is None else sign * value

        out[f"{m['window_days']}d"] = {
            "n": m["n"], "mean_8h": signed("mean_8h"), "std_8h": num(m["std_8h"]),
            "median_8h": signed("median_8h"),
            "p95_8h": None if flip else num(m["p95_8h"]),
            "min_8h": signed("max_8h") if flip else num(m["min_8h"]),
            "max_8h": signed("min_8h") if flip else num(m["max_8h"]),
            "last_8h": signed("last_8h"), "last_ts": iso(m["last_ts"]),
            "persistence": num(m["share_negative"] if flip else m["share_positive"]),
            "carry": signed("carry"), "current_8h": signed("current_8h"),
            "zscore": signed("zscore"), "calculated_at": iso(m["calculated_at"]),
        }
    return out


def _carry_json(c: RealizedCarry) -> dict[str, Any]:
    return {"days": c.days, "start": iso(c.start), "end": iso(c.end), "complete": c.complete,
            "completeness": c.completeness, "net": c.net, "net_apr": c.net_apr, "fees": c.fees,
            "partial_net": None if c.complete else c.partial_net,
            "short_settlements": c.short.settlements if c.short else 0,
            "long_settlements": c.long.settlements if c.long else 0}


def pair_details(conn: Connection, now: datetime, a: tuple[str, str], b: tuple[str, str],
                 days: int, hold_days: int, fees: FeeSchedule) -> dict[str, Any]:
    """Both legs now, the spread's hourly history over `days`, its statistics per window and
    the realized carry over 1, 7 and 30 days after fees."""
    o = _find_pair(conn, now, a, b)
    since = fresh_since(now, None)
    cost = fees.round_trip(o.short.exchange, o.long.exchange)
    stats = _statistics(conn, o)
    window = stats.get("30d")
    history = (SpreadHistory(window["n"], window["mean_8h"], window["std_8h"],
                             window["persistence"]) if window else None)
    carry = realized_carry(conn, [o.legs], fees, now, CARRY_PERIODS)[o.legs]
    item = opportunity_item(o, cost, hold_days, history, since)
    item.update({
        "spread_history": _series(conn, o, now - timedelta(days=days)),
        "spread_history_days": days, "statistics": stats,
        "realized_carry": {str(d): _carry_json(c) for d, c in carry.items()},
    })
    return item
