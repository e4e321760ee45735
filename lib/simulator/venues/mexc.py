"""MEXC contract API (/api/v1/contract): detail, funding_rate, ticker, funding_rate/history.

Facts (exchange-apis.md §7, MEXC's futures API docs): envelope {success, code (number, 0 = ok),
data}; every value a JSON number (rates, prices, times in ms); `collectCycle` the interval in
hours, also on every history row; funding_rate and ticker without a symbol list every contract
(`data` an array), with one the single object; history by `page_num`/`page_size` (default 20,
max 1000), newest first, no time parameters, inside `data.resultList` with page counts.
Limits: 20 requests / 2 s per market endpoint; `detail` is documented at 1 request / 5 s and
is counted here as 12 a minute (the same rate, in minute windows, so that a burst of a few
listings passes as it would with a client pacing itself). Over a limit: HTTP 429 with code 510
"Requests are too frequent". Errors otherwise come with HTTP 200 and success false. Contracts
are lot-sized (`contractSize` base units a contract); offline (state 3) contracts stay listed
in detail but have no funding.
"""

from __future__ import annotations

from typing import Any

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import ParamError, Route, Venue, int_param, px, to_ms

MAX_PAGE = 1000
DETAIL = "/api/v1/contract/detail"


class Mexc(Venue):
    name = "mexc"
    default_size = 300
    interval_mix = (0.80, 0.14, 0.06)
    naming = NamingRules("{base}_USDT", "USDT", "USDT")  # small coins: contractSize
    lot_sized = True
    delisted_listed = 2
    rate_decimals = 6
    rate_limits = (Limit("endpoint", 20, 2.0, per="endpoint"), Limit("detail", 12, 60.0))
    history_cost = HistoryCost("endpoint")
    snapshot_call = Call("GET", "/api/v1/contract/funding_rate")
    snapshot_requests = 2  # funding_rate lacks open interest and volume: ticker

    def register(self) -> None:
        base = "/api/v1/contract"
        self.add("GET", f"{base}/ping", self.ping)
        self.add("GET", DETAIL, self.detail)
        self.add("GET", f"{base}/funding_rate", self.funding_rate)
        self.add("GET", f"{base}/funding_rate/history", self.history)  # before {symbol}
        self.add("GET", f"{base}/funding_rate/{{symbol}}", self.funding_rate)
        self.add("GET", f"{base}/ticker", self.ticker)
        self.add("GET", "/api/v3/exchangeInfo", self.spot_exchange_info)

    def _ok(self, data: object, listing: bool = True) -> Response:
        return json_response({"success": True, "code": 0, "data": data}, listing=listing)

    def _error(self, code: int, message: str, status: int = 200) -> Response:
        return json_response({"success": False, "code": code, "message": message},
                             status=status)

    def not_found(self, req: Request) -> Response:
        return self._error(404, "Not Found", status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return self._error(int(err.code or 600), err.message, status=err.status)

    def internal_error(self, status: int) -> Response:
        return self._error(500, "System internal error!", status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("detail" if route.name == DETAIL else "endpoint", req, route)
        if verdict.allowed:
            return None
        resp = self._error(510, "Requests are too frequent, please try again later",
                           status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    def empty(self, resp: Response) -> Response:
        data = resp.body.get("data") if isinstance(resp.body, dict) else None
        if isinstance(data, dict) and "resultList" in data:
            resp.body = dict(resp.body, data=dict(data, resultList=[]))
            return resp
        return super().empty(resp)

    def _one(self, symbol: str) -> Contract:
        c = self.lookup(symbol)
        if c is None or c.status != "trading":
            raise ParamError("Contract does not exist!", 1001)
        return c

    def _chosen(self, req: Request) -> tuple[list[Contract], bool]:
        """The contracts a symbol-less request lists, or the one it names (single object)."""
        symbol = req.path_params.get("symbol") or req.query.get("symbol")
        if symbol:
            return [self._one(symbol)], True
        return self.perps(), False

    # ----- endpoints --------------------------------------------------------------------------
    def ping(self, req: Request) -> Response:
        return self._ok(self.u.now_ms(), listing=False)

    def detail(self, req: Request) -> Response:
        symbol = req.query.get("symbol")
        if symbol:
            rows: Any = self._detail(self._one(symbol))
        else:
            rows = [self._detail(c) for c in self.u.instruments(self.name)]
        return self._ok(rows)

    def _detail(self, c: Contract) -> dict[str, Any]:
        price = self.u.price(c, self.u.clock.start_ms)
        tick = px(price / 10000, 1)
        return {
            "symbol": c.symbol, "displayName": f"{c.symbol}永续",
            "displayNameEn": f"{c.symbol} PERPETUAL", "positionOpenType": 3,
            "baseCoin": c.base, "quoteCoin": c.quote, "settleCoin": c.settle,
            "contractSize": c.contract_size, "minLeverage": 1,
            "maxLeverage": 200 if c.rank < 3 else 50, "priceScale": 2, "volScale": 0,
            "amountScale": 4, "priceUnit": tick, "volUnit": 1, "minVol": 1, "maxVol": 1000000,
            "bidLimitPriceRate": 0.1, "askLimitPriceRate": 0.1, "takerFeeRate": 0.0002,
            "makerFeeRate": 0.0, "maintenanceMarginRate": 0.004, "initialMarginRate": 0.008,
            "state": 3 if c.status == "delisted" else 0, "isNew": False, "isHot": c.rank < 5,
            "isHidden": False, "apiAllowed": True, "futureType": 1,
            "createTime": c.listed_ms, "openingTime": 0,
        }

    def funding_rate(self, req: Request) -> Response:
        items, single = self._chosen(req)
        now = self.u.now_ms()
        rows = []
        for c in items:
            snap = self.u.snapshot(c, now)
            cap = 0.0018 if c.interval_hours == 8 else 0.003
            rows.append({
                "symbol": c.symbol, "fundingRate": round(snap.rate, self.rate_decimals),
                "maxFundingRate": cap, "minFundingRate": -cap,
                "collectCycle": c.interval_hours,
                "nextSettleTime": to_ms(snap.next_funding_time), "timestamp": now,
                "idxPrice": px(snap.index_price), "fairPrice": px(snap.mark_price),
            })
        return self._ok(rows[0] if single else rows)

    def ticker(self, req: Request) -> Response:
        items, single = self._chosen(req)
        now = self.u.now_ms()
        rows = []
        for c in items:
            snap = self.u.snapshot(c, now)
            last = px(snap.mark_price)
            rows.append({
                "contractId": 10000 + c.rank, "symbol": c.symbol, "lastPrice": last,
                "bid1": last, "ask1": last,
                "volume24": int(snap.volume_24h / c.contract_size),
                "amount24": round(snap.volume_24h * snap.mark_price, 4),
                "holdVol": int(snap.open_interest / c.contract_size),
                "lower24Price": px(snap.mark_price * 0.98),
                "high24Price": px(snap.mark_price * 1.02), "riseFallRate": 0.0,
                "riseFallValue": 0.0, "indexPrice": px(snap.index_price), "fairPrice": last,
                "fundingRate": round(snap.rate, self.rate_decimals),
                "maxBidPrice": px(snap.mark_price * 1.1),
                "minAskPrice": px(snap.mark_price * 0.9), "timestamp": now,
            })
        return self._ok(rows[0] if single else rows)

    def history(self, req: Request) -> Response:
        symbol = req.query.get("symbol")
        if not symbol:
            raise ParamError("Parameter error: symbol is required", 600)
        c = self._one(symbol)
        err = ParamError("Parameter error", 600)
        size = int_param(req, "page_size", 20, error=err)
        page = int_param(req, "page_num", 1, error=err)
        if size is None or page is None or not 1 <= size <= MAX_PAGE or page < 1:
            raise err
        rows = self.u.rows(c, 0, self.u.now_ms())
        rows.reverse()
        chunk = rows[(page - 1) * size : page * size]
        return self._ok({
            "pageSize": size, "totalCount": len(rows),
            "totalPage": -(-len(rows) // size), "currentPage": page,
            "resultList": [{"symbol": c.symbol, "fundingRate": round(r.rate, self.rate_decimals),
                            "settleTime": r.reported_ms, "collectCycle": c.interval_hours}
                           for r in chunk],
        })

    def spot_exchange_info(self, req: Request) -> Response:
        """Spot exchange info with no symbols: only so that ccxt's load_markets works."""
        return json_response({"timezone": "CST", "serverTime": self.u.now_ms(),
                              "rateLimits": [], "exchangeFilters": [], "symbols": []})
