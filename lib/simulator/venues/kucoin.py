"""KuCoin Futures (api-futures) plus the UTA funding-rate list ccxt uses (api.kucoin.com).

Facts (exchange-apis.md §6): envelope {code "200000", data}; mostly JSON numbers; BTC is XBT;
`nextFundingRateTime` is a COUNTDOWN in ms, `nextFundingRateDateTime` the absolute time;
granularity in ms; history needs `from` and `to` (ms); public pool 2000 weight / 30 s,
429 with code 429000.  Both hosts are served under /kucoin.
"""

from __future__ import annotations

from lib.simulator.assets import DeliveryRules, NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_rate, int_param, px, to_ms

WEIGHTS = {
    "/api/v1/contracts/active": 3, "/api/v1/contracts/{symbol}": 3,
    "/api/v1/funding-rate/{symbol}/current": 2, "/api/v1/contract/funding-rates": 5,
    "/api/ua/v2/market/funding-rate": 3, "/api/v1/timestamp": 1,
}
MAX_HISTORY = 100


class Kucoin(Venue):
    name = "kucoin"
    default_size = 240
    interval_mix = (0.82, 0.13, 0.05)
    naming = NamingRules("{base}USDTM", "USDT", "USDT", aliases={"BTC": "XBT"})
    lot_sized = True
    dated_futures = DeliveryRules(3, "{base}M{code}{yy}", "USD")  # inverse: XBTMH26
    rate_decimals = 6
    rate_limits = (Limit("public", 2000, 30.0),)  # weight per request: WEIGHTS
    history_cost = HistoryCost("public", per_request=WEIGHTS["/api/v1/contract/funding-rates"])
    snapshot_call = Call("GET", "/api/v1/contracts/active")

    def register(self) -> None:
        for path, handler in (
            ("/api/v1/timestamp", self.timestamp),
            ("/api/v1/contracts/active", self.active),
            ("/api/v1/contracts/{symbol}", self.one_contract),
            ("/api/v1/funding-rate/{symbol}/current", self.current),
            ("/api/v1/contract/funding-rates", self.history),
            ("/api/ua/v2/market/funding-rate", self.uta_funding),
            ("/api/v3/currencies", self.currencies),
        ):
            self.add("GET", path, handler)

    @staticmethod
    def _ok(data: object, listing: bool = True) -> Response:
        return json_response({"code": "200000", "data": data}, listing=listing)

    def not_found(self, req: Request) -> Response:
        return json_response({"code": "404000", "msg": "Url Not Found"}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"code": str(err.code), "msg": err.message}, status=err.status)

    def internal_error(self, status: int) -> Response:
        return json_response({"code": "500000", "msg": "Internal Server Error"}, status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("public", req, route, WEIGHTS.get(route.name, 1))
        if verdict.allowed:
            return None
        resp = json_response({"code": "429000",
                              "msg": "Too many requests. System-level rate limit exceeded."}, 429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    def decorate(self, req: Request, route: Route, resp: Response) -> None:
        pool = self.limit("public")
        resp.headers["gw-ratelimit-limit"] = str(pool.weight)
        resp.headers["gw-ratelimit-remaining"] = str(max(0, pool.weight - self.used("public")))
        reset_ms = int(pool.window_s / self.limiter.time_scale * 1000)
        resp.headers["gw-ratelimit-reset"] = str(reset_ms)

    def _symbol(self, name: str) -> Contract:
        c = self.lookup(name)
        if c is None:
            raise ParamError("Contract parameter invalid.", "100001", status=200)
        return c

    # ----- endpoints --------------------------------------------------------------------------
    def timestamp(self, req: Request) -> Response:
        return self._ok(self.u.now_ms(), listing=False)

    def active(self, req: Request) -> Response:
        now = self.u.now_ms()
        return self._ok([self._contract(c, now) for c in self.u.instruments(self.name)])

    def one_contract(self, req: Request) -> Response:
        c = self._symbol(req.path_params["symbol"])
        return self._ok(self._contract(c, self.u.now_ms()), listing=False)

    def _contract(self, c: Contract, now: int) -> dict[str, object]:
        snap = self.u.snapshot(c, now)
        perpetual = c.kind == "perpetual"
        nxt = to_ms(snap.next_funding_time)
        gran = c.interval_hours * 3_600_000
        price = snap.mark_price
        return {
            "symbol": c.symbol, "rootSymbol": c.settle, "type": "FFWCSX" if perpetual else "FFICSX",
            "firstOpenDate": c.listed_ms,
            "expireDate": None if perpetual else to_ms(c.delivery_at),
            "settleDate": None if perpetual else to_ms(c.delivery_at),
            "baseCurrency": c.base, "quoteCurrency": c.quote, "settleCurrency": c.settle,
            "maxOrderQty": 1000000, "maxPrice": 1000000.0, "lotSize": 1,
            "tickSize": px(price / 10000, 1),
            "indexPriceTickSize": px(price / 100000, 1),
            "multiplier": c.contract_size if perpetual else -1.0,
            "initialMargin": 0.02, "maintainMargin": 0.01, "maxRiskLimit": 100000,
            "minRiskLimit": 100000, "riskStep": 50000, "makerFeeRate": 0.0002,
            "takerFeeRate": 0.0006, "takerFixFee": 0.0, "makerFixFee": 0.0,
            "settlementFee": None if perpetual else 0.00025, "isDeleverage": True,
            "isQuanto": False, "isInverse": not perpetual,
            "markMethod": "FairPrice",
            "fairMethod": "FundingRate" if perpetual else "InterestRate",
            "fundingBaseSymbol": f".{c.base}INT8H", "fundingQuoteSymbol": f".{c.quote}INT8H",
            "fundingRateSymbol": f".{c.symbol}FPI{c.interval_hours}H",
            "indexSymbol": f".K{c.base}{c.quote}", "settlementSymbol": "",
            "status": "Open",
            "fundingFeeRate": snap.rate if perpetual else None,
            "predictedFundingFeeRate": snap.rate if perpetual else None,
            "fundingRateGranularity": gran if perpetual else None,
            "currentFundingRateGranularity": gran if perpetual else None,
            "fundingRateCap": 0.003 if c.interval_hours == 8 else 0.01,
            "fundingRateFloor": -0.003 if c.interval_hours == 8 else -0.01,
            "period": c.interval_hours,
            "openInterest": str(int(snap.open_interest / c.contract_size)),
            "turnoverOf24h": round(snap.volume_24h * price, 4),
            "volumeOf24h": round(snap.volume_24h, 4),
            "markPrice": px(price), "indexPrice": px(snap.index_price),
            "lastTradePrice": px(price),
            "nextFundingRateTime": (nxt - now) if perpetual else None,
            "nextFundingRateDateTime": nxt if perpetual else None,
            "maxLeverage": 50, "sourceExchanges": ["binance", "okex", "gateio", "bybit"],
            "premiumsSymbol1M": f".{c.symbol}PREM", "premiumsSymbol8H": f".{c.symbol}PREM8H",
            "lowPrice": px(price * 0.98), "highPrice": px(price * 1.02),
            "priceChgPct": 0.0, "priceChg": 0.0, "k": 490.0, "m": 300.0, "f": 1.3,
            "mmrLimit": 0.3, "mmrLevConstant": 50.0, "supportCross": True,
            "buyLimit": px(price * 1.05), "sellLimit": px(price * 0.95),
        }

    def current(self, req: Request) -> Response:
        c = self._symbol(req.path_params["symbol"])
        if c.kind != "perpetual":
            raise ParamError("Contract parameter invalid.", "100001", status=200)
        now = self.u.now_ms()
        snap = self.u.snapshot(c, now)
        nxt = to_ms(snap.next_funding_time)
        return self._ok({
            "symbol": f".{c.symbol}FPI{c.interval_hours}H", "granularity": c.interval_ms,
            "timePoint": nxt - c.interval_ms, "value": snap.rate, "predictedValue": snap.rate,
            "dailyInterestRate": 0.0003, "fundingRateCap": 0.003, "fundingRateFloor": -0.003,
            "period": 1 if c.interval_hours == 8 else 0, "fundingTime": nxt,
        }, listing=False)

    def history(self, req: Request) -> Response:
        name = req.query.get("symbol")
        if not name:
            raise ParamError("symbol must not be blank", "400100")
        c = self._symbol(name)
        start = int_param(req, "from", error=ParamError("from is invalid", "400100"))
        end = int_param(req, "to", error=ParamError("to is invalid", "400100"))
        if start is None or end is None:
            raise ParamError("from and to must not be null", "400100")
        rows = self.u.rows(c, start, end)[-MAX_HISTORY:]
        out = [{"symbol": c.symbol, "fundingRate": r.rate, "timepoint": r.reported_ms}
               for r in reversed(rows)]
        return json_response({"success": True, "code": "200", "msg": "success", "retry": False,
                              "data": out}, listing=True)

    def uta_funding(self, req: Request) -> Response:
        product = req.query.get("productType")
        name = req.query.get("symbol")
        now = self.u.now_ms()
        items = [self._symbol(name)] if name else self.perps()
        if product and product != "USDT-FUTURES":
            items = []
        rows: list[dict[str, object]] = []
        for c in items:
            snap = self.u.snapshot(c, now)
            gran = c.interval_ms
            row = {
                "symbol": c.symbol, "nextFundingRate": fmt_rate(snap.rate, self.rate_decimals),
                "fundingTime": to_ms(snap.next_funding_time),
                "fundingRateCap": "0.003", "fundingRateFloor": "-0.003",
                "currentGranularity": gran, "newGranularity": gran,
                "newGranularityStartTime": to_ms(snap.next_funding_time),
            }
            rows.append(row)
            if not name and c.rank < 5:  # the list also carries funding-index symbols
                rows.append(dict(row, symbol=f".{c.symbol}FPI{c.interval_hours}H"))
        return self._ok(rows)

    def currencies(self, req: Request) -> Response:
        """Spot currency list (api.kucoin.com); only so that ccxt's load_markets works."""
        names = sorted({c.base for c in self.perps()} | {"USDT"})
        return self._ok([{
            "currency": n, "name": n, "fullName": n, "precision": 8, "confirms": None,
            "contractAddress": None, "isMarginEnabled": False, "isDebitEnabled": False,
            "chains": [],
        } for n in names])
