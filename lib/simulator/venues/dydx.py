"""dYdX v4 indexer: perpetualMarkets (keyed by ticker) and historicalFunding/{ticker}.

Facts (exchange-apis.md §9): decimals as strings, protocol integers as numbers; funding hourly;
history newest-first by effectiveAtHeight, `limit` ≤ 1000 (default 1000), `effectiveBeforeOrAt`
ISO-8601 or `effectiveBeforeOrAtHeight`; `effectiveAt` ISO stamped up to seconds after the
hour; 100 requests / 10 s per IP, errors as {"errors": [...]}.
"""

from __future__ import annotations

import math
from typing import Any

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit
from lib.simulator.venues.base import (
    ParamError,
    Route,
    Venue,
    fmt_px,
    fmt_rate,
    int_param,
    iso_ms,
    parse_iso_ms,
)

API_LIMIT = 1000
GENESIS_MS = 1_700_000_000_000  # block height model: ~1 block per second from here
GENESIS_HEIGHT = 1_000_000


def _height(ms: int) -> int:
    return GENESIS_HEIGHT + (ms - GENESIS_MS) // 1000


def _validation(path: str, value: object, msg: str) -> ParamError:
    err = ParamError(msg, status=400)
    err.code = f"{path}|{value}"
    return err


class Dydx(Venue):
    name = "dydx"
    default_size = 130
    interval_mix = (0.0, 0.0, 1.0)
    naming = NamingRules("{base}-USD", "USD", "USDC")  # USD-quoted oracle, USDC collateral
    rate_decimals = 8
    jitter = (5, 2500, 0.0)
    rate_limits = (Limit("get", 100, 10.0),)
    history_cost = HistoryCost("get")
    snapshot_call = Call("GET", "/v4/perpetualMarkets")

    def register(self) -> None:
        self.add("GET", "/v4/time", self.server_time)
        self.add("GET", "/v4/height", self.height)
        self.add("GET", "/v4/perpetualMarkets", self.markets)
        self.add("GET", "/v4/historicalFunding/{ticker}", self.history)

    def not_found(self, req: Request) -> Response:
        return json_response({"errors": [{"msg": "Not Found"}]}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        if err.status == 404:
            return json_response({"errors": [{"msg": err.message}]}, status=404)
        path, _, value = str(err.code or "|").partition("|")
        return json_response({"errors": [{"type": "field", "value": value, "msg": err.message,
                                          "path": path, "location": "query"}]}, status=400)

    def internal_error(self, status: int) -> Response:
        return json_response({"errors": [{"msg": "Internal Server Error"}]}, status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("get", req, route)
        if verdict.allowed:
            return None
        resp = json_response({"errors": [{"msg": "Too many requests"}]}, status=429)
        # The indexer's Retry-After is in milliseconds (non-standard, comlink's rate limiter);
        # a client reading it as seconds would wait 1000 times too long.
        resp.headers["Retry-After"] = str(max(1, math.ceil(verdict.retry_after * 1000)))
        resp.headers["RateLimit-Limit"] = str(verdict.limit)
        resp.headers["RateLimit-Remaining"] = "0"
        resp.headers["RateLimit-Reset"] = str(self.u.now_ms() + int(verdict.retry_after * 1000))
        return resp

    # ----- endpoints --------------------------------------------------------------------------
    def server_time(self, req: Request) -> Response:
        now = self.u.now_ms()
        return json_response({"iso": iso_ms(now), "epoch": now / 1000})

    def height(self, req: Request) -> Response:
        now = self.u.now_ms()
        return json_response({"height": str(_height(now)), "time": iso_ms(now)})

    def markets(self, req: Request) -> Response:
        ticker = req.query.get("ticker")
        limit = int_param(req, "limit", None, error=_validation("limit", req.query.get("limit"),
                                                                "limit must be a valid integer"))
        items = self.perps()
        if ticker:
            items = [c for c in items if c.symbol == ticker]
        if limit is not None:
            items = items[:limit]
        now = self.u.now_ms()
        return json_response({"markets": {c.symbol: self._market(c, i, now)
                                          for i, c in enumerate(items)}}, listing=True)

    def _market(self, c: Contract, idx: int, now: int) -> dict[str, Any]:
        snap = self.u.snapshot(c, now)
        price = snap.index_price
        return {
            "clobPairId": str(idx), "ticker": c.symbol, "status": "ACTIVE",
            "oraclePrice": fmt_px(price, 8), "priceChange24H": "0",
            "volume24H": f"{snap.volume_24h * price:.4f}", "trades24H": 1000 + c.rank,
            "nextFundingRate": fmt_rate(snap.rate, self.rate_decimals),
            "initialMarginFraction": "0.05",
            "maintenanceMarginFraction": "0.03", "openInterest": fmt_px(snap.open_interest),
            "atomicResolution": -10 if price > 1000 else -6, "quantumConversionExponent": -9,
            "tickSize": fmt_px(price / 10000, 1), "stepSize": "1" if price < 10 else "0.001",
            "stepBaseQuantums": 1000000, "subticksPerTick": 100000, "marketType": "CROSS",
            "openInterestLowerCap": "0", "openInterestUpperCap": "0",
            "baseOpenInterest": fmt_px(snap.open_interest), "defaultFundingRate1H": "0",
        }

    def history(self, req: Request) -> Response:
        ticker = req.path_params["ticker"]
        c = self.lookup(ticker)
        if c is None:
            raise ParamError(f"{ticker} not found in markets of type PERPETUAL", status=404)
        raw_limit = req.query.get("limit")
        limit = int_param(req, "limit", API_LIMIT, error=_validation(
            "limit", raw_limit, "limit must be a positive integer"))
        if limit is None or not 1 <= limit <= API_LIMIT:
            raise _validation("limit", raw_limit,
                              f"limit must be a positive integer that is not greater than max: "
                              f"{API_LIMIT}")
        hi = self.u.now_ms()
        before = req.query.get("effectiveBeforeOrAt")
        if before:
            try:
                hi = min(hi, parse_iso_ms(before))
            except ValueError:
                raise _validation("effectiveBeforeOrAt", before,
                                  "effectiveBeforeOrAt must be a valid ISO 8601 date") from None
        height = int_param(req, "effectiveBeforeOrAtHeight", None, error=_validation(
            "effectiveBeforeOrAtHeight", req.query.get("effectiveBeforeOrAtHeight"),
            "effectiveBeforeOrAtHeight must be a non-negative integer"))
        if height is not None:
            hi = min(hi, GENESIS_MS + (height - GENESIS_HEIGHT) * 1000 + 999)
        rows = self.u.rows(c, 0, hi)[-limit:]
        out = [{
            "ticker": c.symbol, "rate": fmt_rate(r.rate, self.rate_decimals),
            "price": fmt_px(self.u.price(c, r.time_ms), 8),
            "effectiveAtHeight": str(_height(r.reported_ms)), "effectiveAt": iso_ms(r.reported_ms),
        } for r in reversed(rows)]
        return json_response({"historicalFunding": out}, listing=True)
