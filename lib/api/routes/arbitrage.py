"""Arbitrage routes: current cross-exchange opportunities, and one pair in depth."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from config.settings import SUPPORTED_EXCHANGES, Settings
from lib.analytics.fees import fee_schedule
from lib.analytics.inputs import require_snapshots
from lib.api.errors import ERROR_RESPONSES, ApiError
from lib.api.listing import Page, cached_json, page_of, page_params, split_list
from lib.api.pairs import PAIR_ROUTE, opportunity_items, pair_details
from lib.api.routes.data import APR, interval_set
from lib.api.state import engine_of
from lib.timeutils import utcnow

router = APIRouter(tags=["arbitrage"], responses=ERROR_RESPONSES)

OPPORTUNITY_FIELDS = frozenset({
    "base", "settlement", "same_sign", "short_exchange", "long_exchange", "spread_8h",
    "gross_apr", "net_apr", "fees", "hold_days", "min_oi_usd", "combined_oi_usd", "persistence",
    "history_hours", "spread_z"})
USD = Annotated[float | None, Query(ge=0, le=1e13, allow_inf_nan=False)]
HoldDays = Annotated[int, Query(ge=1, le=3650, description="holding period for net APR")]


def _keep(item: dict[str, Any], *, bases: list[str] | None, hours: set[float] | None,
          apr_field: str, min_apr: float | None, max_apr: float | None,
          min_spread: float | None, min_oi: float | None, min_oi_combined: float | None) -> bool:
    apr = item[apr_field]
    legs = (item["short"], item["long"])
    return ((bases is None or item["base"] in bases)
            and (hours is None or all(leg["funding_interval_hours"] in hours for leg in legs))
            and (min_apr is None or apr >= min_apr) and (max_apr is None or apr <= max_apr)
            and (min_spread is None or item["spread_8h"] >= min_spread)
            and (min_oi is None or (item["min_oi_usd"] or 0.0) >= min_oi)
            and (min_oi_combined is None or (item["combined_oi_usd"] or 0.0) >= min_oi_combined))


@router.get("/api/arbitrage/opportunities",
            summary="Current cross-exchange pairs (short the leg paying more), filtered, sorted "
                    "and paged; APR net of taker fees over hold_days unless net_of_fees=false")
def get_opportunities(
    request: Request,
    page: Annotated[Page, Depends(page_params)],
    assets: Annotated[str | None, Query(max_length=500, description="base assets, comma list")]
    = None,
    exchanges: Annotated[str | None, Query(max_length=200, description=(
        "both legs on these exchanges, comma list"))] = None,
    intervals: Annotated[str | None, Query(max_length=50, description=(
        "both legs' funding interval in these hours, comma list"))] = None,
    min_apr: APR = None,
    max_apr: APR = None,
    min_spread: Annotated[float | None, Query(ge=-1, le=1, allow_inf_nan=False, description=(
        "minimum spread in rate_8h (fraction)"))] = None,
    min_oi: USD = None,
    min_oi_combined: USD = None,
    hold_days: HoldDays = 7,
    net_of_fees: bool = True,
) -> Response:
    bases = split_list("assets", assets, transform=str.upper)
    venues = split_list("exchanges", exchanges, SUPPORTED_EXCHANGES, str.lower)
    hours = interval_set(intervals, "intervals")
    apr_field = "net_apr" if net_of_fees else "gross_apr"
    page_of([], page, f"-{apr_field}", OPPORTUNITY_FIELDS)
    settings: Settings = request.app.state.settings

    def compute() -> dict[str, Any]:
        now = utcnow()
        with engine_of(request).connect() as conn:
            require_snapshots(conn)
            items, scan = opportunity_items(conn, now, fee_schedule(settings.TAKER_FEES),
                                            hold_days, venues)
        keep = [i for i in items if _keep(
            i, bases=bases, hours=hours, apr_field=apr_field, min_apr=min_apr, max_apr=max_apr,
            min_spread=min_spread, min_oi=min_oi, min_oi_combined=min_oi_combined)]
        return page_of(keep, page, f"-{apr_field}", OPPORTUNITY_FIELDS, {
            "as_of": now.isoformat(), "legs": scan.legs, "stale_legs": scan.stale_legs,
            "apr": f"{apr_field} (simple, fraction)"})

    return cached_json(request, compute)


@router.get(PAIR_ROUTE, summary=f"One pair, GET {PAIR_ROUTE}: both legs, hourly spread "
            "history (days), spread statistics (7 d, 30 d), realized carry over 1, 7 and 30 "
            "days after fees with completeness; legs in either order")
def get_pair(
    request: Request,
    exchange_a: Annotated[str, Path(max_length=32)],
    symbol_a: Annotated[str, Path(max_length=64)],
    exchange_b: Annotated[str, Path(max_length=32)],
    symbol_b: Annotated[str, Path(max_length=64)],
    days: Annotated[int, Query(ge=1, le=365, description="spread history window")] = 7,
    hold_days: HoldDays = 7,
) -> Response:
    for ex in (exchange_a, exchange_b):
        if ex not in SUPPORTED_EXCHANGES:
            raise ApiError(404, "unknown_exchange", f"unknown exchange {ex!r}; supported: "
                           f"{', '.join(SUPPORTED_EXCHANGES)}")
    if exchange_a == exchange_b:
        raise ApiError(422, "invalid_parameter", "a pair's legs are on two different exchanges")
    settings: Settings = request.app.state.settings

    def compute() -> dict[str, Any]:
        with engine_of(request).connect() as conn:
            return {"data": pair_details(conn, utcnow(), (exchange_a, symbol_a),
                                         (exchange_b, symbol_b), days, hold_days,
                                         fee_schedule(settings.TAKER_FEES))}

    return cached_json(request, compute)
