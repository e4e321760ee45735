"""Binance USDⓈ-M futures (fapi): exchangeInfo, premiumIndex, fundingRate, fundingInfo.

Facts (exchange-apis.md §1): numbers-as-strings for rates/prices, ms integers for times,
fundingRate history ascending from startTime (default 100, max 1000), fundingInfo lists only
symbols with adjusted interval/caps, 2400 weight per minute with X-MBX-USED-WEIGHT-1M, and a
418 ban for clients that keep sending after a 429.
"""

from __future__ import annotations

import threading
import time
from typing import ClassVar

from lib.simulator.assets import DeliveryRules, NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, html_response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.series import unit
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, fmt_rate, int_param, to_ms

PERPETUAL_SENTINEL = 4133404800000
BAN_SECONDS = 120.0
WEIGHTS = {"/fapi/v1/ticker/24hr": 40}


def _illegal(name: str) -> ParamError:
    return ParamError(
        f"Illegal characters found in parameter '{name}'; legal range is '^-?[0-9]{{1,20}}$'.",
        -1100,
    )


class Binance(Venue):
    name = "binance"
    default_size = 400
    interval_mix = (0.80, 0.15, 0.05)
    naming = NamingRules("{base}USDT", "USDT", "USDT", multiplier="prefix",
                         prefixes={"BABYDOGE": "1M"})  # 1MBABYDOGEUSDT
    prelaunch_listed = 2
    dated_futures: ClassVar[DeliveryRules | None] = DeliveryRules(
        3, "{base}USDT_{yy}{mm}{dd}", "USDT", "USDT")
    rate_decimals = 8
    jitter = (1, 9, 0.6)
    rate_limits: ClassVar[tuple[Limit, ...]] = (
        Limit("weight", 2400, 60.0),
        Limit("funding", 500, 300.0),  # /fapi/v1/fundingRate and /fapi/v1/fundingInfo share it
    )
    history_cost = HistoryCost("funding")
    snapshot_call = Call("GET", "/fapi/v1/premiumIndex")
    snapshot_requests = 2  # premiumIndex lacks the interval: fundingInfo, which can change
    # the routes charged to the "funding" limit (Binance-style venues without one: empty)
    funding_routes: ClassVar[frozenset[str]] = frozenset(
        {"/fapi/v1/fundingRate", "/fapi/v1/fundingInfo"})

    def register(self) -> None:
        self._ban_lock = threading.Lock()
        self._after_429_until = 0.0  # monotonic time until which more requests earn a ban
        self._banned_until = 0.0
        self._ban_seconds = BAN_SECONDS
        self.add("GET", "/fapi/v1/ping", lambda r: json_response({}))
        self.add("GET", "/fapi/v1/time", lambda r: json_response({"serverTime": self.u.now_ms()}))
        self.add("GET", "/fapi/v1/exchangeInfo", self.exchange_info)
        self.add("GET", "/fapi/v1/premiumIndex", self.premium_index)
        self.add("GET", "/fapi/v1/fundingRate", self.funding_rate)
        self.add("GET", "/fapi/v1/fundingInfo", self.funding_info)
        self.add("GET", "/fapi/v1/ticker/24hr", self.ticker_24hr)

    # ----- errors and limits ------------------------------------------------------------------
    def not_found(self, req: Request) -> Response:
        return html_response(404, "Not Found")

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"code": err.code, "msg": err.message}, status=err.status)

    def internal_error(self, status: int) -> Response:
        msg = "An unknown error occurred while processing the request."
        return json_response({"code": -1000, "msg": msg}, status=status)

    def reset_bans(self) -> None:
        with self._ban_lock:
            self._after_429_until = self._banned_until = 0.0
            self._ban_seconds = BAN_SECONDS

    def check_limits(self, req: Request, route: Route) -> Response | None:
        now = time.monotonic()
        with self._ban_lock:
            if now < self._banned_until or now < self._after_429_until:
                return self._ban(now)
        weight = self._weight(req, route)
        verdict = self.charge("weight", req, route, weight)
        if verdict.allowed and route.name in self.funding_routes:
            verdict = self.charge("funding", req, route)
        if verdict.allowed:
            return None
        with self._ban_lock:
            self._after_429_until = now + verdict.retry_after
        weight_limit = self.limit("weight").weight
        msg = (
            f"Too many requests; current limit of IP(127.0.0.1) is {weight_limit} requests per "
            "minute. Please use the websocket for live updates to avoid polling the API."
        )
        resp = json_response({"code": -1003, "msg": msg}, status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    def _ban(self, now: float) -> Response:
        """Called with the lock held: a request during a 429 back-off or a ban extends the ban."""
        if now >= self._banned_until:
            span = self._ban_seconds / self.limiter.time_scale
            self._banned_until = now + span
            self._ban_seconds = min(self._ban_seconds * 2, 3 * 86400)
        until_ms = self.u.now_ms() + int((self._banned_until - now) * 1000)
        msg = f"Way too many requests; IP(127.0.0.1) banned until {until_ms}. Please use the "
        msg += "websocket for live updates to avoid bans."
        resp = json_response({"code": -1003, "msg": msg}, status=418)
        resp.headers["Retry-After"] = retry_after_header(self._banned_until - now)
        return resp

    def _weight(self, req: Request, route: Route) -> int:
        if route.name == "/fapi/v1/ticker/24hr" and "symbol" not in req.query:
            return WEIGHTS[route.name]
        return 1

    def decorate(self, req: Request, route: Route, resp: Response) -> None:
        resp.headers["X-MBX-USED-WEIGHT-1M"] = str(self.used("weight"))

    # ----- endpoints --------------------------------------------------------------------------
    def _symbol(self, req: Request) -> Contract | None:
        text = req.query.get("symbol")
        if text is None:
            return None
        c = self.lookup(text)
        if c is None or c.status == "prelaunch":
            raise ParamError("Invalid symbol.", -1121)
        return c

    def exchange_info(self, req: Request) -> Response:
        now = self.u.now_ms()
        return json_response({
            "timezone": "UTC",
            "serverTime": now,
            "futuresType": "U_MARGINED",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1,
                 "limit": self.limit("weight").weight},
                {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            ],
            "exchangeFilters": [],
            "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
            "symbols": [self._symbol_info(c) for c in self.u.instruments(self.name)],
        })

    def _symbol_info(self, c: Contract) -> dict[str, object]:
        price = self.u.price(c, self.u.clock.start_ms)
        tick = fmt_px(price / 10000, 1)
        perpetual = c.kind == "perpetual"
        return {
            "symbol": c.symbol, "pair": c.symbol.split("_")[0],
            "contractType": "PERPETUAL" if perpetual else "CURRENT_QUARTER",
            "deliveryDate": PERPETUAL_SENTINEL if perpetual else to_ms(c.delivery_at),
            "onboardDate": c.listed_ms,
            "status": "PENDING_TRADING" if c.status == "prelaunch" else "TRADING",
            "maintMarginPercent": "2.5000", "requiredMarginPercent": "5.0000",
            "baseAsset": c.base, "quoteAsset": c.quote, "marginAsset": c.settle,
            "pricePrecision": max(0, len(tick.partition(".")[2])),
            "quantityPrecision": 3 if price > 100 else 0,
            "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
            "underlyingSubType": [], "triggerProtect": "0.0500", "liquidationFee": "0.012500",
            "marketTakeBound": "0.05", "maxMoveOrderLimit": 10000,
            "filters": [
                {"filterType": "PRICE_FILTER", "tickSize": tick, "minPrice": tick,
                 "maxPrice": fmt_px(price * 100)},
                {"filterType": "LOT_SIZE", "stepSize": "0.001" if price > 100 else "1",
                 "minQty": "0.001" if price > 100 else "1", "maxQty": "1000000"},
                {"filterType": "MARKET_LOT_SIZE", "stepSize": "0.001" if price > 100 else "1",
                 "minQty": "0.001" if price > 100 else "1", "maxQty": "100000"},
                {"filterType": "MAX_NUM_ORDERS", "limit": 200},
                {"filterType": "MIN_NOTIONAL", "notional": "5"},
                {"filterType": "PERCENT_PRICE", "multiplierUp": "1.0500",
                 "multiplierDown": "0.9500", "multiplierDecimal": "4"},
            ],
            "orderTypes": ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT",
                           "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET"],
            "timeInForce": ["GTC", "IOC", "FOK", "GTX", "GTD"],
            "permissionSets": ["GRID", "COPY"],
        }

    def premium_index(self, req: Request) -> Response:
        one = self._symbol(req)
        now = self.u.now_ms()
        listed = [one] if one else [
            c for c in self.u.instruments(self.name) if c.status != "prelaunch"
        ]
        rows = [self._premium(c, now) for c in listed]
        return json_response(rows[0] if one else rows, listing=not one)

    def _premium(self, c: Contract, now: int) -> dict[str, object]:
        snap = self.u.snapshot(c, now)
        perpetual = c.kind == "perpetual"
        return {
            "symbol": c.symbol,
            "markPrice": f"{snap.mark_price:.8f}",
            "indexPrice": f"{snap.index_price:.8f}",
            "estimatedSettlePrice": f"{snap.index_price * 0.99995:.8f}",
            "lastFundingRate": (
                fmt_rate(snap.rate, self.rate_decimals, trim=False) if perpetual else ""
            ),
            "interestRate": "0.00010000" if perpetual else "",
            "nextFundingTime": to_ms(snap.next_funding_time) if perpetual else 0,
            "time": now,
        }

    def funding_rate(self, req: Request) -> Response:
        c = self._symbol(req)
        start = int_param(req, "startTime", error=_illegal("startTime"))
        end = int_param(req, "endTime", error=_illegal("endTime"))
        limit = int_param(req, "limit", 100, error=_illegal("limit")) or 100
        if limit <= 0:
            raise ParamError("Illegal characters found in parameter 'limit'.", -1100)
        limit = min(limit, 1000)
        if start is not None and end is not None and start > end:
            raise ParamError("startTime must be less than endTime", -1102)
        now = self.u.now_ms()
        if c is None:
            return json_response(self._all_symbols(start, end, limit, now), listing=True)
        rows = self.u.rows(c, start if start is not None else 0, end if end is not None else now)
        out = [self._history_row(c, r.reported_ms, r.time_ms, r.rate) for r in rows]
        # with startTime: the first `limit` rows from it; without: the most recent `limit`
        out = out[:limit] if start is not None else out[-limit:]
        return json_response(out, listing=True)

    def _all_symbols(self, start: int | None, end: int | None, limit: int,
                     now: int) -> list[dict[str, object]]:
        """No `symbol`: every perpetual's settlements, ascending by fundingTime; from
        `startTime` the first `limit`, else the most recent `limit` up to `endTime`.

        The span is widened a day at a time until it holds `limit` rows, so a page costs what
        it returns rather than the whole retained history of every symbol."""
        hi = min(end, now) if end is not None else now
        floor = self.u.window_start_ms  # nothing older is kept
        span = 86_400_000
        while True:
            lo = max(floor, start) if start is not None else max(floor, hi - span)
            top = min(hi, lo + span) if start is not None else hi
            rows = [
                (r.reported_ms, target.symbol, self._history_row(target, r.reported_ms,
                                                                  r.time_ms, r.rate))
                for target in self.perps()
                for r in self.u.rows(target, lo, top)
                if lo <= r.reported_ms <= top
            ]
            covered = top >= hi if start is not None else lo == floor
            if len(rows) >= limit or covered:
                break
            span *= 4
        rows.sort(key=lambda item: (item[0], item[1]))
        picked = rows[:limit] if start is not None else rows[-limit:]
        return [row for _, _, row in picked]

    def _history_row(self, c: Contract, reported: int, t: int, rate: float) -> dict[str, object]:
        return {
            "symbol": c.symbol,
            "fundingTime": reported,
            "fundingRate": fmt_rate(rate, self.rate_decimals, trim=False),
            "markPrice": f"{self.u.price(c, t):.8f}",
        }

    def funding_info(self, req: Request) -> Response:
        rows = []
        for c in self.perps():
            adjusted = c.interval_hours != 8 or unit(c.key, 77) < 0.05
            if adjusted:
                cap = "0.03000000" if c.interval_hours != 8 else "0.02000000"
                rows.append({
                    "symbol": c.symbol, "adjustedFundingRateCap": cap,
                    "adjustedFundingRateFloor": "-" + cap,
                    "fundingIntervalHours": c.interval_hours, "disclaimer": False,
                })
        return json_response(rows, listing=True)

    def ticker_24hr(self, req: Request) -> Response:
        one = self._symbol(req)
        now = self.u.now_ms()
        rows = []
        for c in [one] if one else self.perps():
            snap = self.u.snapshot(c, now)
            rows.append({
                "symbol": c.symbol, "priceChange": "0", "priceChangePercent": "0.000",
                "weightedAvgPrice": fmt_px(snap.mark_price), "lastPrice": fmt_px(snap.mark_price),
                "lastQty": "1", "openPrice": fmt_px(snap.mark_price),
                "highPrice": fmt_px(snap.mark_price * 1.02),
                "lowPrice": fmt_px(snap.mark_price * 0.98),
                "volume": fmt_px(snap.volume_24h), "quoteVolume":
                fmt_px(snap.volume_24h * snap.mark_price), "openTime": now - 86_400_000,
                "closeTime": now, "firstId": 1, "lastId": 2, "count": 2,
            })
        return json_response(rows[0] if one else rows, listing=not one)
