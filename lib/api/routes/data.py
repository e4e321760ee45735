"""Data routes: current funding rates, the asset x exchange grid, one contract and its history,
assets, exchanges and summary statistics. Units as in `lib.api.rates`."""

from __future__ import annotations

import statistics
from collections import defaultdict
from enum import IntEnum
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy import func, select

from config.settings import SUPPORTED_EXCHANGES, Settings
from lib.analytics.fees import fee_schedule
from lib.analytics.inputs import require_snapshots
from lib.api.contract import contract_details, contract_history
from lib.api.errors import ERROR_RESPONSES, ApiError, bad_parameter
from lib.api.listing import Page, cached_json, iso, num, page_of, page_params, split_list
from lib.api.rates import grid, rate_items
from lib.api.routes.health import collection_metrics
from lib.api.state import engine_of
from lib.storage.schema import (
    arbitrage_pairs,
    contracts,
    funding_rates_historical,
    funding_statistics,
)
from lib.timeutils import utcnow

router = APIRouter(tags=["data"], responses=ERROR_RESPONSES)


class Window(IntEnum):
    """The statistics windows the z-score job writes (days)."""

    WEEK = 7
    MONTH = 30


RATE_FIELDS = frozenset({
    "exchange", "symbol", "canonical_symbol", "base", "quote", "settle", "multiplier",
    "funding_rate", "funding_interval_hours", "rate_1h", "rate_8h", "rate_1d", "rate_7d", "apr",
    "next_funding_time", "mark_price", "index_price", "open_interest_usd", "volume_24h_usd",
    "predicted_rate", "updated_at", "age_seconds", "stale", "z_score", "percentile", "mean_30d",
    "std_30d", "stats_n", "stats_calculated_at"})
APR = Annotated[float | None, Query(ge=-1e6, le=1e6, allow_inf_nan=False,
                                    description="APR as a fraction (0.1 = 10 %), simple")]
Exchange = Annotated[str, Path(max_length=32, description="exchange id, e.g. binance")]
Symbol = Annotated[str, Path(max_length=64, description="exchange-native symbol, e.g. BTCUSDT")]


def _known_exchange(exchange: str) -> str:
    if exchange not in SUPPORTED_EXCHANGES:
        raise ApiError(404, "unknown_exchange", f"unknown exchange {exchange!r}; supported: "
                       f"{', '.join(SUPPORTED_EXCHANGES)}")
    return exchange


def all_items(request: Request, include_stale: bool = True) -> list[dict[str, Any]]:
    """Every snapshot as an item; 404 (no_data) when the collector has stored none yet."""
    now = utcnow()
    with engine_of(request).connect() as conn:
        require_snapshots(conn)
        items = rate_items(conn, now)
    return items if include_stale else [i for i in items if not i["stale"]]


def interval_set(raw: str | None, name: str = "interval") -> set[float] | None:
    """A comma list of funding intervals in hours (query parameter `name`), each in (0, 24]."""
    values = split_list(name, raw)
    if values is None:
        return None
    try:
        hours = {float(v) for v in values}
    except ValueError:
        raise bad_parameter(name, f"{raw!r} is not a comma list of hours, e.g. 1,8") from None
    if not all(0 < h <= 24 for h in hours):
        raise bad_parameter(name, "hours must be above 0 and at most 24")
    return hours


@router.get("/api/funding-rates", summary="Current funding of every contract, filtered, "
            "sorted and paged (stale snapshots left out unless include_stale)")
def get_funding_rates(
    request: Request,
    page: Annotated[Page, Depends(page_params)],
    exchange: Annotated[str | None, Query(max_length=200, description="comma list")] = None,
    base: Annotated[str | None, Query(max_length=500, description="comma list, e.g. BTC,ETH")]
    = None,
    quote: Annotated[str | None, Query(max_length=100, description="comma list, e.g. USDT")]
    = None,
    min_apr: APR = None,
    max_apr: APR = None,
    interval: Annotated[str | None, Query(max_length=50, description="hours, comma list")]
    = None,
    include_stale: bool = False,
) -> Response:
    exchanges = split_list("exchange", exchange, SUPPORTED_EXCHANGES, str.lower)
    bases = split_list("base", base, transform=str.upper)
    quotes = split_list("quote", quote, transform=str.upper)
    hours = interval_set(interval)
    page_of([], page, "-apr", RATE_FIELDS)  # a bad sort is a 422 before any work

    def compute() -> dict[str, Any]:
        items = all_items(request, include_stale)
        keep = [i for i in items
                if (exchanges is None or i["exchange"] in exchanges)
                and (bases is None or i["base"] in bases)
                and (quotes is None or i["quote"] in quotes)
                and (hours is None or i["funding_interval_hours"] in hours)
                and (min_apr is None or (i["apr"] is not None and i["apr"] >= min_apr))
                and (max_apr is None or (i["apr"] is not None and i["apr"] <= max_apr))]
        return page_of(keep, page, "-apr", RATE_FIELDS)

    return cached_json(request, compute)


@router.get("/api/funding-rates/grid", summary="Asset x exchange grid of current rates in one "
            "unit: view=apr|1h|8h|1d|7d")
def get_grid(request: Request,
             view: Literal["apr", "1h", "8h", "1d", "7d"] = "apr",
             include_stale: bool = True) -> Response:
    return cached_json(request, lambda: {"data": grid(all_items(request, include_stale), view)})


@router.get("/api/contracts/{exchange}/{symbol}",
            summary="One contract: listing, current funding, statistics per window, history span")
def get_contract(request: Request, exchange: Exchange, symbol: Symbol) -> Response:
    _known_exchange(exchange)

    def compute() -> dict[str, Any]:
        with engine_of(request).connect() as conn:
            return {"data": contract_details(conn, exchange, symbol, utcnow())}

    return cached_json(request, compute)


@router.get("/api/contracts/{exchange}/{symbol}/history",
            summary="Settled funding of one contract over the last `days` days, with its "
                    "completeness and gaps")
def get_contract_history(request: Request, exchange: Exchange, symbol: Symbol,
                         days: Annotated[int, Query(ge=1, le=3650)] = 7) -> Response:
    _known_exchange(exchange)

    def compute() -> dict[str, Any]:
        with engine_of(request).connect() as conn:
            return {"data": contract_history(conn, exchange, symbol, days, utcnow())}

    return cached_json(request, compute)


def _weighted(items: list[dict[str, Any]], weight: str) -> float | None:
    pairs = [(i[weight], i["rate_8h"]) for i in items
             if i[weight] and i[weight] > 0 and i["rate_8h"] is not None]
    total = sum(w for w, _ in pairs)
    return sum(w * r for w, r in pairs) / total if total else None


def _asset(base: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    aprs = [i["apr"] for i in items if i["apr"] is not None]
    ois = [i["open_interest_usd"] for i in items if i["open_interest_usd"] is not None]
    vols = [i["volume_24h_usd"] for i in items if i["volume_24h_usd"] is not None]
    exchanges = sorted({i["exchange"] for i in items})
    return {
        "base": base, "exchanges": exchanges, "exchange_count": len(exchanges),
        "contracts": len(items), "mean_apr": statistics.fmean(aprs) if aprs else None,
        "min_apr": min(aprs, default=None), "max_apr": max(aprs, default=None),
        "apr_range": max(aprs) - min(aprs) if aprs else None,
        "oi_weighted_rate_8h": _weighted(items, "open_interest_usd"),
        "volume_weighted_rate_8h": _weighted(items, "volume_24h_usd"),
        "open_interest_usd": sum(ois) if ois else None,
        "volume_24h_usd": sum(vols) if vols else None,
    }


ASSET_FIELDS = frozenset({"base", "exchange_count", "contracts", "mean_apr", "min_apr",
                          "max_apr", "apr_range", "oi_weighted_rate_8h",
                          "volume_weighted_rate_8h", "open_interest_usd", "volume_24h_usd"})


@router.get("/api/assets", summary="Base assets across exchanges: venues, APR range, OI- and "
            "volume-weighted rate_8h (fresh snapshots)")
def get_assets(request: Request, page: Annotated[Page, Depends(page_params)],
               min_exchanges: Annotated[int, Query(ge=1, le=len(SUPPORTED_EXCHANGES))] = 1,
               ) -> Response:
    page_of([], page, "base", ASSET_FIELDS)

    def compute() -> dict[str, Any]:
        groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in all_items(request, include_stale=False):
            if item["base"]:
                groups[item["base"]].append(item)
        assets = [_asset(b, members) for b, members in groups.items()]
        keep = [a for a in assets if a["exchange_count"] >= min_exchanges]
        return page_of(keep, page, "base", ASSET_FIELDS)

    return cached_json(request, compute)


EXCHANGE_FIELDS = frozenset({"exchange", "contracts_listed", "snapshots", "fresh", "stale",
                             "newest_snapshot", "age_seconds", "mean_apr", "taker_fee"})


@router.get("/api/exchanges", summary="Each configured exchange: contracts, snapshots, "
            "freshness, mean APR, taker fee, last collection cycle")
def get_exchanges(request: Request, page: Annotated[Page, Depends(page_params)]) -> Response:
    page_of([], page, "exchange", EXCHANGE_FIELDS)
    settings: Settings = request.app.state.settings

    def compute() -> dict[str, Any]:
        items = all_items(request)
        with engine_of(request).connect() as conn:
            query = select(contracts.c.exchange, func.count()).where(
                contracts.c.status == "trading").group_by(contracts.c.exchange)
            listed: dict[str, int] = {ex: int(n) for ex, n in conn.execute(query)}
        fees = fee_schedule(settings.TAKER_FEES)
        doc, _ = collection_metrics(settings)
        entries = doc.get("exchanges", {}) if doc else {}
        by_exchange: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for item in items:
            by_exchange[item["exchange"]].append(item)
        rows = []
        for ex in sorted(set(settings.EXCHANGES) | set(by_exchange)):
            mine = by_exchange.get(ex, [])
            fresh = [i for i in mine if not i["stale"]]
            aprs = [i["apr"] for i in fresh if i["apr"] is not None]
            newest = max(mine, key=lambda i: i["updated_at"], default=None)
            rows.append({
                "exchange": ex, "contracts_listed": int(listed.get(ex, 0)),
                "snapshots": len(mine), "fresh": len(fresh), "stale": len(mine) - len(fresh),
                "newest_snapshot": newest["updated_at"] if newest else None,
                "age_seconds": newest["age_seconds"] if newest else None,
                "mean_apr": statistics.fmean(aprs) if aprs else None,
                "taker_fee": fees.taker.get(ex), "last_cycle": entries.get(ex),
            })
        return page_of(rows, page, "exchange", EXCHANGE_FIELDS)

    return cached_json(request, compute)


def _extreme_apr(items: list[dict[str, Any]], pick: Any) -> dict[str, Any] | None:
    rated = [i for i in items if i["apr"] is not None]
    if not rated:
        return None
    best = pick(rated, key=lambda i: i["apr"])
    return {"exchange": best["exchange"], "symbol": best["symbol"], "apr": best["apr"]}


@router.get("/api/statistics/summary", summary="Counts, APR distribution, history and "
            "statistics coverage across the whole database")
def get_summary(request: Request) -> Response:
    def compute() -> dict[str, Any]:
        items = all_items(request)
        fresh = [i for i in items if not i["stale"]]
        aprs = [i["apr"] for i in fresh if i["apr"] is not None]
        f, s = funding_rates_historical.c, funding_statistics.c
        with engine_of(request).connect() as conn:
            rows, oldest, newest = conn.execute(select(func.count(), func.min(f.funding_time),
                                                       func.max(f.funding_time))).one()
            z_rows, z_at = conn.execute(select(func.count(), func.max(s.calculated_at)).where(
                s.window_days == 30)).one()
            hot = {k: int(conn.execute(select(func.count()).where(
                s.window_days == 30, func.abs(s.zscore) > k)).scalar_one()) for k in (2, 3)}
            pairs = int(conn.execute(select(func.count()).select_from(arbitrage_pairs))
                        .scalar_one())
        bases: dict[str, set[str]] = defaultdict(set)
        for i in fresh:
            if i["base"]:
                bases[i["base"]].add(i["exchange"])
        return {"data": {
            "snapshots": len(items), "fresh": len(fresh), "stale": len(items) - len(fresh),
            "exchanges": len({i["exchange"] for i in items}), "assets": len(bases),
            "assets_on_two_or_more_exchanges": sum(1 for v in bases.values() if len(v) > 1),
            "apr": {"mean": statistics.fmean(aprs) if aprs else None,
                    "median": statistics.median(aprs) if aprs else None,
                    "positive_share": sum(1 for a in aprs if a > 0) / len(aprs) if aprs else None,
                    "min": _extreme_apr(fresh, min), "max": _extreme_apr(fresh, max)},
            "history": {"settlements": int(rows), "oldest": iso(oldest), "newest": iso(newest)},
            "statistics": {"contracts_30d": int(z_rows), "calculated_at": iso(z_at),
                           "abs_z_above_2": hot[2], "abs_z_above_3": hot[3]},
            "arbitrage_pairs": pairs,
        }}

    return cached_json(request, compute)


EXTREME_FIELDS = frozenset({"exchange", "symbol", "base", "window_days", "n", "mean_8h",
                            "std_8h", "current_8h", "current_apr", "latest_8h", "zscore",
                            "abs_z", "percentile", "completeness", "confidence",
                            "calculated_at"})


@router.get("/api/statistics/extremes", summary="Contracts whose current rate is unusual "
            "against their own history: |z| >= min_abs_z")
def get_extremes(request: Request, page: Annotated[Page, Depends(page_params)],
                 min_abs_z: Annotated[float, Query(ge=0, le=1000, allow_inf_nan=False)] = 2.0,
                 window: Window = Window.MONTH) -> Response:
    page_of([], page, "-abs_z", EXTREME_FIELDS)

    def compute() -> dict[str, Any]:
        s, c = funding_statistics.c, contracts.c
        with engine_of(request).connect() as conn:
            if not conn.execute(select(func.count()).select_from(funding_statistics)
                                .where(s.window_days == int(window))).scalar_one():
                raise ApiError(404, "no_statistics", "no z-scores computed yet: the z-score "
                               "calculator (start.py runs it) writes them")
            rows = conn.execute(
                select(s.exchange, s.symbol, c.base, s.window_days, s.n, s.mean_8h, s.std_8h,
                       s.current_8h, s.current_apr, s.latest_8h, s.zscore, s.percentile,
                       s.completeness, s.confidence, s.calculated_at)
                .outerjoin(contracts, (c.exchange == s.exchange) & (c.symbol == s.symbol))
                .where(s.window_days == int(window), s.zscore.is_not(None),
                       func.abs(s.zscore) >= min_abs_z)).all()
        items = []
        for r in rows:
            m = r._mapping
            item: dict[str, Any] = {k: num(v) if isinstance(v, float) else v
                                    for k, v in m.items()}
            item["abs_z"] = abs(float(m["zscore"]))
            item["calculated_at"] = iso(m["calculated_at"])
            items.append(item)
        return page_of(items, page, "-abs_z", EXTREME_FIELDS, {"min_abs_z": min_abs_z,
                                                                 "window_days": int(window)})

    return cached_json(request, compute)
