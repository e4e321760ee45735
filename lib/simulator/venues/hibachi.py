"""Hibachi: the public `/market/*` data API (data-api.hibachi.xyz), perpetuals `BASE/USDT-P`.

Facts (exchange-apis-more.md §21, Hibachi's SDK and Postman docs): `/market/exchange-info` lists
`futureContracts` (LIVE and CLOSED; `marketCreationTimestamp` a string of seconds with a
fraction); `/market/inventory` adds every market's live `info` (decimal strings; a CLOSED
market's `info` numbers are all null); `estimatedFundingRate` is a fraction per interval, the
estimate for the next settlement. `/market/data/prices?symbol=` has `fundingRateEstimation`
with `nextFundingTimestamp` in seconds. `/market/data/funding-rates` takes `symbol`,
`startTime`/`endTime` (seconds, inclusive), `limit` (above 100 served as 100) and `offset`,
oldest first, `fundingTimestamp` seconds exactly on the boundary. No funding interval is
published anywhere: the venue moved every market from 8 h to 1 h (docs 2025: 8 h; measured
2026: 1 h), which `interval_change` reproduces inside the history window. Without a time
window the history serves the latest `limit` settlements (the real default window is not
documented). No rate limit is published: the simulator enforces the conservative 240 requests
per minute the adapter keeps to, with the SDK's 429 body `{"name", "count", "limit",
"windowDuration"}`; other errors are `{"errorCode", "status", "message"}`.
"""

from __future__ import annotations

from typing import Any

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import (
    IntervalChange,
    ParamError,
    Route,
    Venue,
    fmt_px,
    fmt_rate,
    int_param,
)

MAX_HISTORY = 100
WINDOW_S = 60.0


def _seconds(ms: int) -> str:
    """Seconds with a fraction, as `marketCreationTimestamp` prints them."""
    text = f"{ms / 1000:.5f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


class Hibachi(Venue):
    name = "hibachi"
    default_size = 12
    interval_mix = (0.0, 0.0, 1.0)  # hourly now...
    interval_change = IntervalChange(previous_hours=8, days_ago=12.5)  # ...8 h before
    naming = NamingRules("{base}/USDT-P", "USDT", "USDT")
    delisted_listed = 4  # CLOSED markets stay listed with null info
    rate_decimals = 6
    rate_limits = (Limit("ip", 240, WINDOW_S),)
    history_cost = HistoryCost("ip")
    snapshot_call = Call("GET", "/market/inventory")

    def register(self) -> None:
        self.add("GET", "/market/exchange-info", self.exchange_info)
        self.add("GET", "/market/inventory", self.inventory)
        self.add("GET", "/market/data/prices", self.prices)
        self.add("GET", "/market/data/open-interest", self.open_interest)
        self.add("GET", "/market/data/stats", self.stats)
        self.add("GET", "/market/data/funding-rates", self.funding_rates)
        self.add("GET", "/exchange/utc-timestamp", self.utc_timestamp)

    def not_found(self, req: Request) -> Response:
        return json_response({"errorCode": 4, "status": "failed", "message": "Not found"},
                             status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"errorCode": err.code or 2, "status": "failed",
                              "message": err.message}, status=err.status)

    def internal_error(self, status: int) -> Response:
        return json_response({"errorCode": 1, "status": "failed",
                              "message": "Internal server error"}, status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("ip", req, route)
        if verdict.allowed:
            return None
        resp = json_response({"name": "market-data", "count": verdict.used,
                              "limit": verdict.limit, "windowDuration": f"{WINDOW_S:g}s"},
                             status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    # ----- what the lists hold ----------------------------------------------------------------
    def _listed(self) -> list[Contract]:
        return [c for c in self.u.instruments(self.name) if c.status in ("trading", "delisted")]

    def _contract(self, c: Contract, index: int) -> dict[str, Any]:
        live = c.status == "trading"
        decimals = 10 if c.ref_price > 1000 else 8 if c.ref_price > 1 else 5
        tick = fmt_px(c.ref_price / 100000, 1)
        return {
            "category": "CRYPTO", "displayName": f"{c.base}/USDT Perps", "id": index + 1,
            "initialMarginRate": "0.050000", "maintenanceMarginRate": "0.030000",
            "marketCloseTimestamp": None if live else _seconds(self.u.now_ms() - 30 * 86_400_000),
            "marketCreationTimestamp": _seconds(c.listed_ms), "marketOpenTimestamp": None,
            "minNotional": "1", "minOrderSize": f"{10.0 ** -decimals:.{decimals}f}",
            "nextCloseTimestamp": None, "nextOpenTimestamp": None,
            "orderbookGranularities": [tick, fmt_px(float(tick) * 10), fmt_px(float(tick) * 100)],
            "settlementDecimals": 6, "settlementSymbol": c.settle,
            "status": "LIVE" if live else "CLOSED",
            "stepSize": f"{10.0 ** -decimals:.{decimals}f}", "symbol": c.symbol,
            "symbolStatus": "OPEN", "tickSize": tick, "underlyingDecimals": decimals,
            "underlyingSymbol": c.base,
        }

    def _info(self, c: Contract, now: int) -> dict[str, Any]:
        if c.status != "trading":
            return {key: None for key in (
                "bestAskPrice", "bestBidPrice", "category", "estimatedFundingRate", "markPrice",
                "openInterestQuantity", "price24hAgo", "priceLatest", "spotPrice", "volume24h",
            )} | {"tags": []}
        snap = self.u.snapshot(c, now)
        mark = snap.mark_price
        return {
            "bestAskPrice": fmt_px(mark * 1.0001, 8), "bestBidPrice": fmt_px(mark * 0.9999, 8),
            "category": None,
            "estimatedFundingRate": fmt_rate(snap.rate, self.rate_decimals, trim=False),
            "markPrice": fmt_px(mark, 10), "openInterestQuantity": fmt_px(snap.open_interest, 10),
            "price24hAgo": fmt_px(self.u.price(c, now - 86_400_000), 8),
            "priceLatest": fmt_px(mark, 8), "spotPrice": fmt_px(snap.index_price, 10),
            "tags": [], "volume24h": f"{snap.volume_24h * snap.index_price:.6f}",
        }

    # ----- endpoints --------------------------------------------------------------------------
    def exchange_info(self, req: Request) -> Response:
        contracts = [self._contract(c, i) for i, c in enumerate(self._listed())]
        return json_response({
            "feeConfig": {"depositFees": "0.006769", "tradeMakerFeeRate": "0.00000000",
                          "tradeTakerFeeRate": "0.00045000", "transferFeeRate": "0.00010000",
                          "withdrawalFees": "0.018052"},
            "futureContracts": contracts, "maintenanceWindow": [],
            "instantWithdrawalLimit": {"lowerLimit": "0.18", "upperLimit": "35154.41"},
            "status": "NORMAL",
        }, listing=True)

    def inventory(self, req: Request) -> Response:
        now = self.u.now_ms()
        markets = [{"contract": self._contract(c, i), "info": self._info(c, now)}
                   for i, c in enumerate(self._listed())]
        return json_response({"markets": markets, "crossChainAssets": [], "feeConfig": {},
                              "tradingTiers": []}, listing=True)

    def _symbol(self, req: Request) -> Contract:
        symbol = req.query.get("symbol")
        if not symbol:
            raise ParamError("symbol is required", code=2, status=400)
        c = self.lookup(symbol)
        if c is None or c.kind != "perpetual":
            raise ParamError(f"Unknown symbol {symbol}", code=3, status=400)
        return c

    def prices(self, req: Request) -> Response:
        c = self._symbol(req)
        snap = self.u.snapshot(c, self.u.now_ms())
        mark = snap.mark_price
        return json_response({
            "askPrice": fmt_px(mark * 1.0001, 10), "bidPrice": fmt_px(mark * 0.9999, 10),
            "fundingRateEstimation": {
                "estimatedFundingRate": fmt_rate(snap.rate, self.rate_decimals, trim=False),
                "nextFundingTimestamp": int(snap.next_funding_time.timestamp()),
            },
            "markPrice": fmt_px(mark, 10), "spotPrice": fmt_px(snap.index_price, 10),
            "symbol": c.symbol, "tradePrice": fmt_px(mark, 10),
        })

    def open_interest(self, req: Request) -> Response:
        c = self._symbol(req)
        return json_response({"totalQuantity": fmt_px(
            self.u.snapshot(c, self.u.now_ms()).open_interest, 10)})

    def stats(self, req: Request) -> Response:
        c = self._symbol(req)
        snap = self.u.snapshot(c, self.u.now_ms())
        return json_response({"high24h": fmt_px(snap.mark_price * 1.02, 8),
                              "low24h": fmt_px(snap.mark_price * 0.98, 8), "symbol": c.symbol,
                              "volume24h": f"{snap.volume_24h * snap.index_price:.6f}"})

    def funding_rates(self, req: Request) -> Response:
        c = self._symbol(req)
        bad = ParamError("startTime, endTime, limit and offset must be integers", code=2)
        start = int_param(req, "startTime", None, error=bad)
        end = int_param(req, "endTime", None, error=bad)
        limit = int_param(req, "limit", MAX_HISTORY, error=bad) or MAX_HISTORY
        offset = int_param(req, "offset", 0, error=bad) or 0
        if limit < 0 or offset < 0:
            raise bad
        limit = min(limit, MAX_HISTORY)  # values above 100 are served as 100
        now = self.u.now_ms()
        hi = min(now, end * 1000 + 999) if end is not None else now
        if start is None:
            rows = self.u.rows(c, 0, hi)[-limit - offset:]
            rows = rows[:limit]
        else:
            rows = self.u.rows(c, start * 1000, hi)[offset:offset + limit]
        index = self._listed().index(c) + 1
        data = [{"contractId": index, "fundingTimestamp": r.reported_ms // 1000,
                 "fundingRate": fmt_rate(r.rate, self.rate_decimals, trim=False),
                 "indexPrice": fmt_px(self.u.price(c, r.time_ms), 10)} for r in rows]
        return json_response({"data": data, "pagination": {"limit": limit, "offset": offset}},
                             listing=True)

    def utc_timestamp(self, req: Request) -> Response:
        return json_response({"timestampMs": self.u.now_ms()})

    def empty(self, resp: Response) -> Response:
        body = resp.body
        if isinstance(body, dict):
            for key in ("data", "markets", "futureContracts"):
                if key in body:
                    body[key] = []
        return resp

