"""Bitget mix v2 (productType=USDT-FUTURES): contracts, current-fund-rate, tickers, history.

Facts (exchange-apis.md §4): envelope {code "00000", msg, requestTime (number), data}; all data
fields strings; history by pageNo/pageSize (default 20, max 100), newest first, no time
parameters; 20 requests/s per endpoint and 6000/min overall per IP; 429 when over.
"""

from __future__ import annotations

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, fmt_rate, int_param, to_ms

PRODUCT_TYPES = ("USDT-FUTURES", "COIN-FUTURES", "USDC-FUTURES",
                 "SUSDT-FUTURES", "SCOIN-FUTURES", "SUSDC-FUTURES")


class Bitget(Venue):
    name = "bitget"
    default_size = 360
    interval_mix = (0.80, 0.14, 0.06)
    naming = NamingRules("{base}USDT", "USDT", "USDT", multiplier="prefix")
    prelaunch_listed = 2
    rate_decimals = 6
    rate_limits = (Limit("endpoint", 20, 1.0, per="endpoint"), Limit("ip", 6000, 60.0))
    history_cost = HistoryCost("endpoint")
    snapshot_call = Call(
        "GET", "/api/v2/mix/market/current-fund-rate", {"productType": "USDT-FUTURES"}
    )
    snapshot_requests = 2  # current-fund-rate lacks prices and volume: tickers

    def register(self) -> None:
        self.add("GET", "/api/v2/public/time", self.server_time)
        self.add("GET", "/api/v2/mix/market/contracts", self.contracts)
        self.add("GET", "/api/v2/mix/market/current-fund-rate", self.current_fund_rate)
        self.add("GET", "/api/v2/mix/market/tickers", self.tickers)
        self.add("GET", "/api/v2/mix/market/ticker", self.tickers)
        self.add("GET", "/api/v2/mix/market/history-fund-rate", self.history)
        self.add("GET", "/api/v2/mix/market/funding-time", self.funding_time)
        self.add("GET", "/api/v2/spot/public/coins", self.coins)

    def _ok(self, data: object, listing: bool = True) -> Response:
        return json_response({"code": "00000", "msg": "success", "requestTime": self.u.now_ms(),
                              "data": data}, listing=listing)

    def not_found(self, req: Request) -> Response:
        return json_response({"code": "40404", "msg": "Request URL NOT FOUND",
                              "requestTime": self.u.now_ms(), "data": None}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"code": str(err.code), "msg": err.message,
                              "requestTime": self.u.now_ms(), "data": None}, status=err.status)

    def internal_error(self, status: int) -> Response:
        return json_response({"code": "40010", "msg": "Request timed out",
                              "requestTime": self.u.now_ms(), "data": None}, status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("endpoint", req, route)
        if verdict.allowed:
            verdict = self.charge("ip", req, route)
        if verdict.allowed:
            return None
        resp = json_response({"code": "429", "msg": "Too Many Requests",
                              "requestTime": self.u.now_ms(), "data": None}, status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    def _product(self, req: Request) -> str:
        product = req.query.get("productType", "").upper()
        if not product:
            raise ParamError("productType cannot be empty", "40019")
        if product not in PRODUCT_TYPES:
            raise ParamError("Parameter productType error", "40034")
        return product

    def _listed(self, req: Request, product: str, include_prelaunch: bool) -> list[Contract]:
        """USDT-FUTURES holds our contracts; other product types are empty."""
        if product != "USDT-FUTURES":
            return []
        symbol = req.query.get("symbol")
        if symbol:
            c = self.lookup(symbol.upper())
            if c is None:
                raise ParamError(f"Parameter {symbol} does not exist", "40034")
            return [c]
        return [c for c in self.u.instruments(self.name)
                if include_prelaunch or c.status != "prelaunch"]

    # ----- endpoints --------------------------------------------------------------------------
    def server_time(self, req: Request) -> Response:
        return self._ok({"serverTime": str(self.u.now_ms())}, listing=False)

    def contracts(self, req: Request) -> Response:
        product = self._product(req)
        return self._ok([self._contract(c) for c in self._listed(req, product, True)])

    def _contract(self, c: Contract) -> dict[str, object]:
        price = self.u.price(c, self.u.clock.start_ms)
        tick = fmt_px(price / 10000, 1)
        decimals = len(tick.partition(".")[2])
        pre = c.status == "prelaunch"
        return {
            "symbol": c.symbol, "baseCoin": c.base, "quoteCoin": c.quote,
            "buyLimitPriceRatio": "0.05", "sellLimitPriceRatio": "0.05",
            "feeRateUpRatio": "0.005", "makerFeeRate": "0.0002", "takerFeeRate": "0.0006",
            "openCostUpRatio": "0.01", "supportMarginCoins": [c.settle], "minTradeNum": "1",
            "priceEndStep": "1", "volumePlace": "0", "pricePlace": str(decimals),
            "sizeMultiplier": "1", "symbolType": "perpetual", "minTradeUSDT": "5",
            "maxSymbolOrderNum": "200", "maxProductOrderNum": "400", "maxPositionNum": "150",
            "symbolStatus": "listed" if pre else "normal", "offTime": "-1",
            "limitOpenTime": "-1", "deliveryTime": "", "deliveryStartTime": "",
            "deliveryPeriod": "", "launchTime": str(c.listed_ms) if pre else "",
            "fundInterval": str(c.interval_hours), "minLever": "1", "maxLever": "50",
            "posLimit": "0.05", "maintainTime": "", "maxMarketOrderQty": "100000",
            "maxOrderQty": "1000000", "isRwa": "NO",
        }

    def current_fund_rate(self, req: Request) -> Response:
        product = self._product(req)
        now = self.u.now_ms()
        rows = []
        for c in self._listed(req, product, False):
            snap = self.u.snapshot(c, now)
            cap = "0.003" if c.interval_hours == 8 else "0.01"
            rows.append({
                "symbol": c.symbol, "fundingRate": fmt_rate(snap.rate, self.rate_decimals),
                "fundingRateInterval": str(c.interval_hours),
                "nextUpdate": str(to_ms(snap.next_funding_time)),
                "minFundingRate": "-" + cap, "maxFundingRate": cap,
            })
        return self._ok(rows)

    def tickers(self, req: Request) -> Response:
        product = self._product(req)
        if req.path.endswith("/ticker") and not req.query.get("symbol"):
            raise ParamError("symbol cannot be empty", "40019")
        now = self.u.now_ms()
        rows = []
        for c in self._listed(req, product, False):
            snap = self.u.snapshot(c, now)
            last = fmt_px(snap.mark_price)
            rows.append({
                "symbol": c.symbol, "lastPr": last, "askPr": last, "bidPr": last,
                "bidSz": "1", "askSz": "1", "high24h": fmt_px(snap.mark_price * 1.02),
                "low24h": fmt_px(snap.mark_price * 0.98), "ts": str(now), "change24h": "0",
                "baseVolume": fmt_px(snap.volume_24h),
                "quoteVolume": f"{snap.volume_24h * snap.mark_price:.4f}",
                "usdtVolume": f"{snap.volume_24h * snap.mark_price:.4f}", "openUtc": last,
                "changeUtc24h": "0", "indexPrice": fmt_px(snap.index_price),
                "fundingRate": fmt_rate(snap.rate, self.rate_decimals),
                "holdingAmount": fmt_px(snap.open_interest), "deliveryStartTime": None,
                "deliveryTime": None, "deliveryStatus": "", "open24h": last,
                "markPrice": last,
            })
        return self._ok(rows)

    def history(self, req: Request) -> Response:
        product = self._product(req)
        if not req.query.get("symbol"):
            raise ParamError("symbol cannot be empty", "40019")
        listed = self._listed(req, product, False)
        err = ParamError("Parameter verification failed", "40808")
        size = int_param(req, "pageSize", 20, error=err)
        page = int_param(req, "pageNo", 1, error=err)
        if size is None or page is None or not 1 <= size <= 100 or page < 1:
            raise err
        if not listed:
            return self._ok([])
        c = listed[0]
        rows = self.u.rows(c, 0, self.u.now_ms())
        rows.reverse()
        chunk = rows[(page - 1) * size : page * size]
        return self._ok([{"symbol": c.symbol, "fundingRate": fmt_rate(r.rate, self.rate_decimals),
                          "fundingTime": str(r.reported_ms)} for r in chunk])

    def funding_time(self, req: Request) -> Response:
        product = self._product(req)
        if not req.query.get("symbol"):
            raise ParamError("symbol cannot be empty", "40019")
        now = self.u.now_ms()
        out = []
        for c in self._listed(req, product, False):
            snap = self.u.snapshot(c, now)
            out.append({"symbol": c.symbol, "nextFundingTime": str(to_ms(snap.next_funding_time)),
                        "ratePeriod": str(c.interval_hours)})
        return self._ok(out)

    def coins(self, req: Request) -> Response:
        """Spot coin list; only so that ccxt's load_markets (fetch_currencies) works."""
        names = sorted({c.settle for c in self.perps()} | {c.asset for c in self.perps()})
        return self._ok([{"coinId": str(i + 1), "coin": n, "transfer": "true", "chains": [],
                          "areaCoin": "no"} for i, n in enumerate(names)])
