"""Bybit v5 (category=linear): instruments-info (cursor pages), tickers, funding/history.

Facts (exchange-apis.md §2): everything a string except `fundingInterval` (minutes, number) and
the top-level `time`; history newest-first, endTime-driven, limit [1, 200]; a lone startTime
is refused ("Time is invalid"); PreLaunch contracts only with status=PreLaunch; 600 requests
per 5 s per IP.
"""

from __future__ import annotations

import base64

from lib.simulator.assets import DeliveryRules, NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, fmt_rate, int_param, to_ms

CATEGORIES = ("linear", "inverse", "spot", "option")


class Bybit(Venue):
    name = "bybit"
    default_size = 380
    interval_mix = (0.78, 0.16, 0.06)
    naming = NamingRules("{base}USDT", "USDT", "USDT", multiplier="prefix")
    prelaunch_listed = 2
    dated_futures = DeliveryRules(3, "{base}USDT-{dd}{mon}{yy}", "USDT", "USDT")
    rate_decimals = 8
    rate_limits = (Limit("ip", 600, 5.0),)
    history_cost = HistoryCost("ip")
    snapshot_call = Call("GET", "/v5/market/tickers", {"category": "linear"})

    def register(self) -> None:
        self.add("GET", "/v5/market/time", self.server_time)
        self.add("GET", "/v5/market/instruments-info", self.instruments)
        self.add("GET", "/v5/market/tickers", self.tickers)
        self.add("GET", "/v5/market/funding/history", self.funding_history)

    def _envelope(self, result: object, code: int = 0, msg: str = "OK") -> dict[str, object]:
        return {"retCode": code, "retMsg": msg, "result": result, "retExtInfo": {},
                "time": self.u.now_ms()}

    def not_found(self, req: Request) -> Response:
        return json_response(self._envelope({}, 10404, "Not Found"), status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response(self._envelope({}, int(err.code or 10001), err.message))

    def internal_error(self, status: int) -> Response:
        return json_response(self._envelope({}, 10016, "Internal server error."), status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("ip", req, route)
        if verdict.allowed:
            return None
        resp = json_response(self._envelope({}, 10006, "Too many visits!"), status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        resp.headers["X-Bapi-Limit-Reset-Timestamp"] = str(
            self.u.now_ms() + int(verdict.retry_after * 1000)
        )
        return resp

    # ----- endpoints --------------------------------------------------------------------------
    def server_time(self, req: Request) -> Response:
        now = self.u.now_ms()
        return json_response(self._envelope(
            {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}
        ))

    def _category(self, req: Request) -> str:
        category = req.query.get("category", "")
        if category not in CATEGORIES:
            raise ParamError("params error: Category is invalid", 10001)
        return category

    def _symbol(self, req: Request, required: bool = False) -> Contract | None:
        text = req.query.get("symbol")
        if not text:
            if required:
                raise ParamError("params error: symbol invalid", 10001)
            return None
        c = self.lookup(text.upper())
        if c is None:
            raise ParamError("params error: symbol invalid", 10001)
        return c

    def instruments(self, req: Request) -> Response:
        category = self._category(req)
        limit = int_param(req, "limit", 500, error=ParamError("params error: limit", 10001))
        if limit is None or not 1 <= limit <= 1000:
            raise ParamError("params error: limit must be in [1, 1000]", 10001)
        status = req.query.get("status", "")
        one = self._symbol(req)
        items: list[Contract] = []
        if category == "linear":
            pool = [one] if one else self.u.instruments(self.name)
            wanted = (lambda c: c.status == "prelaunch") if status == "PreLaunch" else (
                lambda c: c.status != "prelaunch"
            )
            items = [c for c in pool if wanted(c)]
        offset = _decode_cursor(req.query.get("cursor", ""))
        page = items[offset : offset + limit]
        nxt = _encode_cursor(offset + limit) if offset + limit < len(items) else ""
        return json_response(self._envelope({
            "category": category, "list": [self._instrument(c) for c in page],
            "nextPageCursor": nxt,
        }), listing=True)

    def _instrument(self, c: Contract) -> dict[str, object]:
        price = self.u.price(c, self.u.clock.start_ms)
        tick = fmt_px(price / 10000, 1)
        cap = "0.03" if c.interval_hours != 8 else "0.005"
        perpetual = c.kind == "perpetual"
        return {
            "symbol": c.symbol,
            "contractType": "LinearPerpetual" if perpetual else "LinearFutures",
            "status": "PreLaunch" if c.status == "prelaunch" else "Trading",
            "baseCoin": c.base, "quoteCoin": c.quote, "settleCoin": c.settle,
            "launchTime": str(c.listed_ms),
            "deliveryTime": "0" if perpetual else str(to_ms(c.delivery_at)),
            "deliveryFeeRate": "" if perpetual else "0.0005",
            "priceScale": str(len(tick.partition(".")[2])),
            "leverageFilter": {"minLeverage": "1", "maxLeverage": "50.00", "leverageStep": "0.01"},
            "priceFilter": {"minPrice": tick, "maxPrice": fmt_px(price * 100), "tickSize": tick},
            "lotSizeFilter": {"maxOrderQty": "1000000", "minOrderQty": "1", "qtyStep": "1",
                              "postOnlyMaxOrderQty": "1000000", "maxMktOrderQty": "100000",
                              "minNotionalValue": "5"},
            "unifiedMarginTrade": True, "fundingInterval": c.interval_hours * 60,
            "copyTrading": "both", "upperFundingRate": cap, "lowerFundingRate": "-" + cap,
            "isPreListing": c.status == "prelaunch", "preListingInfo": None,
            "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.1"},
            "symbolType": "",
        }

    def tickers(self, req: Request) -> Response:
        category = self._category(req)
        one = self._symbol(req)
        now = self.u.now_ms()
        rows: list[dict[str, object]] = []
        if category == "linear":
            pool = [one] if one else self.u.instruments(self.name)
            rows = [self._ticker(c, now) for c in pool if c.status != "prelaunch"]
        return json_response(self._envelope({"category": category, "list": rows}), listing=True)

    def _ticker(self, c: Contract, now: int) -> dict[str, object]:
        snap = self.u.snapshot(c, now)
        perpetual = c.kind == "perpetual"
        mark = fmt_px(snap.mark_price)
        return {
            "symbol": c.symbol, "lastPrice": mark, "indexPrice": fmt_px(snap.index_price),
            "markPrice": mark, "prevPrice24h": mark, "price24hPcnt": "0",
            "highPrice24h": fmt_px(snap.mark_price * 1.02),
            "lowPrice24h": fmt_px(snap.mark_price * 0.98), "prevPrice1h": mark,
            "openInterest": fmt_px(snap.open_interest),
            "openInterestValue": f"{snap.open_interest * snap.mark_price:.2f}",
            "turnover24h": f"{snap.volume_24h * snap.mark_price:.4f}",
            "volume24h": fmt_px(snap.volume_24h),
            "fundingRate": fmt_rate(snap.rate, self.rate_decimals) if perpetual else "",
            "nextFundingTime": str(to_ms(snap.next_funding_time)) if perpetual else "0",
            "predictedDeliveryPrice": "", "basisRate": "", "deliveryFeeRate": "",
            "deliveryTime": "0" if perpetual else str(to_ms(c.delivery_at)),
            "ask1Size": "1", "bid1Price": mark, "ask1Price": mark, "bid1Size": "1",
            "basis": "", "preOpenPrice": "", "preQty": "", "curPreListingPhase": "",
            "fundingIntervalHour": str(c.interval_hours) if perpetual else "",
            "fundingCap": "0.005" if c.interval_hours == 8 else "0.03", "basisRateYear": "",
        }

    def funding_history(self, req: Request) -> Response:
        self._category(req)
        c = self._symbol(req, required=True)
        assert c is not None
        err = ParamError("params error: limit", 10001)
        limit = int_param(req, "limit", 200, error=err)
        if limit is None or not 1 <= limit <= 200:
            raise ParamError("params error: limit must be in [1, 200]", 10001)
        start = int_param(req, "startTime", error=ParamError("Time is invalid", 10001))
        end = int_param(req, "endTime", error=ParamError("Time is invalid", 10001))
        if start is not None and end is None:
            raise ParamError("Time is invalid", 10001)
        if start is not None and end is not None and start > end:
            raise ParamError("Time is invalid", 10001)
        rows = self.u.rows(c, start or 0, end if end is not None else self.u.now_ms())
        page = list(reversed(rows[-limit:]))
        out = [{"symbol": c.symbol, "fundingRate": fmt_rate(r.rate, self.rate_decimals),
                "fundingRateTimestamp": str(r.reported_ms)} for r in page]
        return json_response(self._envelope({"category": "linear", "list": out}), listing=True)


def _encode_cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset={offset}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> int:
    if not cursor:
        return 0
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        return max(0, int(text.partition("=")[2]))
    except ValueError:
        raise ParamError("params error: cursor invalid", 10001) from None
