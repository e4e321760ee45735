"""The ranked table as text rows and as JSON, for `scripts/top_opportunities.py` and the API.

Percentages are shown with their unit; APR is simple, not compounded. A realized carry whose
history is incomplete shows "incomplete" and its completeness, never a partial sum.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any

from tabulate import tabulate

from lib.analytics.carry import RealizedCarry
from lib.analytics.opportunities import Leg
from lib.analytics.ranking import RankedOpportunity, Ranking

HEADERS = ("pair", "short", "long", "intervals", "gross APR", "net APR", "persistence",
           "spread z", "carry 7d", "carry 30d")


def _pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value * 100:.{digits}f}%"


def _hours(value: float) -> str:
    return f"{value:g}h"


def carry_cell(carry: RealizedCarry | None) -> str:
    """"0.125% (100%)" when both legs' history is complete, else "incomplete (87%)"."""
    if carry is None or carry.short is None:
        return "no history"
    coverage = f"({carry.completeness * 100:.0f}%)"
    if carry.net is None:
        return f"incomplete {coverage}"
    return f"{carry.net * 100:.3f}% {coverage}"


def table_rows(ranking: Ranking) -> list[tuple[str, ...]]:
    """One row per ranked pair, in the order of HEADERS."""
    rows: list[tuple[str, ...]] = []
    for r in ranking.rows:
        o = r.opportunity
        z = r.spread_z
        rows.append((
            f"{o.base} {o.settlement}",
            f"{o.short.exchange} {o.short.symbol}",
            f"{o.long.exchange} {o.long.symbol}",
            f"{_hours(o.short.interval_hours)}/{_hours(o.long.interval_hours)}",
            _pct(o.spread_apr), _pct(r.net_apr),
            _pct(r.history.persistence if r.history else None, 0),
            "-" if z is None else f"{z:+.2f}",
            carry_cell(r.carry.get(7)), carry_cell(r.carry.get(30)),
        ))
    return rows


def summary_line(ranking: Ranking) -> str:
    scan = ranking.scan
    return (f"{len(ranking.rows)} of {ranking.candidates} pairs shown; {scan.legs} current legs, "
            f"{scan.stale_legs} stale legs left out; APR is simple (not compounded), net of "
            f"taker fees in and out of both legs")


def ranking_table(ranking: Ranking) -> str:
    """The table and its summary line, as top_opportunities.py prints them."""
    table = tabulate(table_rows(ranking), headers=HEADERS, tablefmt="simple")
    return f"{table}\n{summary_line(ranking)}"


def _json_value(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _leg_json(leg: Leg, now: datetime) -> dict[str, Any]:
    out = {f.name: _json_value(getattr(leg, f.name)) for f in fields(leg)}
    out["predicted_8h"] = leg.predicted_8h
    out["seconds_to_funding"] = leg.seconds_to_funding(now)
    return out


def _carry_json(carry: RealizedCarry) -> dict[str, Any]:
    return {
        "complete": carry.complete, "completeness": carry.completeness, "net": carry.net,
        "net_apr": carry.net_apr, "fees": carry.fees,
        "partial_net": None if carry.complete else carry.partial_net,
        "start": _json_value(carry.start), "end": _json_value(carry.end),
    }


def ranked_json(r: RankedOpportunity, now: datetime) -> dict[str, Any]:
    o = r.opportunity
    return {
        "base": o.base, "settlement": o.settlement, "same_sign": o.same_sign,
        "short": _leg_json(o.short, now), "long": _leg_json(o.long, now),
        "spread_8h": o.spread_8h, "gross_apr": o.spread_apr, "net_apr": r.net_apr,
        "fees": r.fees, "hold_days": r.hold_days,
        "persistence": r.history.persistence if r.history else None,
        "history_hours": r.history.n if r.history else 0, "spread_z": r.spread_z,
        "realized_carry": {str(days): _carry_json(c) for days, c in r.carry.items()},
    }


def ranking_json(ranking: Ranking) -> dict[str, Any]:
    scan = ranking.scan
    return {
        "as_of": scan.as_of.isoformat(), "legs": scan.legs, "stale_legs": scan.stale_legs,
        "candidates": ranking.candidates,
        "opportunities": [ranked_json(r, scan.as_of) for r in ranking.rows],
    }
