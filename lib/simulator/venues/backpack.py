"""Backpack Exchange: markets, markPrices and fundingRates (exchange-apis-more.md §17).

Facts from Backpack's API docs and ccxt's recorded replies:
- `GET /api/v1/markets`: spot and perpetual markets (only perpetuals are simulated, so
  `marketType` other than PERP lists none); perpetuals are `marketType: "PERP"`,
  tradable while `orderBookState` is "Open" (closed ones stay listed), `fundingInterval` in ms
  (3600000: every perpetual settles hourly since 2025), `fundingRateUpper/LowerBound` strings in
  basis points, `createdAt` a naive ISO time in UTC (the listing time);
- `GET /api/v1/markPrices`: every perpetual's running-interval rate (decimal string), mark and
  index price and `nextFundingTimestamp` (ms; documented as an integer, a number here);
- `GET /api/v1/fundingRates?symbol=` (required), `limit` (default 100; the docs say up to 10000,
  ccxt says the API's maximum is 1000: this venue caps at 1000), `offset`: newest first, no time
  filter; the newest row is the interval still accruing (its end in the future, its rate still
  moving). `intervalEndTimestamp` is a naive ISO time, seconds, UTC;
- `GET /api/v1/openInterest` (optional `symbol`; none: every market): `openInterest` a decimal
  string in base units, `timestamp` ms; prediction markets' rows (`*_USDC_PREDICTION`) come
  with it though no market lists them;
- errors `{"code": "<CODE>", "message": "..."}`; 2000 requests a minute (Backpack's FAQ; how
  unauthenticated calls are keyed is not published: per IP here), 429 with Retry-After.
"""

from __future__ import annotations

from datetime import UTC, datetime

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import HOUR_MS, Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.series import unit
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, fmt_rate, int_param

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


def _naive_iso(ms: int, micros: bool = False) -> str:
    """Backpack's times: ISO without a zone, in UTC (createdAt with microseconds)."""
    value = datetime.fromtimestamp(ms / 1000, tz=UTC).replace(tzinfo=None)
    return value.isoformat(timespec="microseconds" if micros else "seconds")


def _bad(message: str) -> ParamError:
    return ParamError(message, "INVALID_CLIENT_REQUEST")


class Backpack(Venue):
    name = "backpack"
    default_size = 60
    interval_mix = (0.0, 0.0, 1.0)  # hourly on every perpetual
    naming = NamingRules("{base}_USDC_PERP", "USDC", "USDC", multiplier="k")  # kPEPE_USDC_PERP
    delisted_listed = 2  # orderBookState "Closed"
    rate_decimals = 9
    rate_limits = (Limit("ip", 2000, 60.0),)
    history_cost = HistoryCost("ip")
    snapshot_call = Call("GET", "/api/v1/markPrices")
    snapshot_requests = 3  # markPrices lacks the interval (markets) and OI (openInterest)

    def register(self) -> None:
        self.add("GET", "/api/v1/markets", self.markets)
        self.add("GET", "/api/v1/markPrices", self.mark_prices)
        self.add("GET", "/api/v1/fundingRates", self.funding_rates)
        self.add("GET", "/api/v1/openInterest", self.open_interest)

    # ----- errors and limits ------------------------------------------------------------------
    def not_found(self, req: Request) -> Response:
        return json_response({"code": "NOT_FOUND", "message": "Not found"}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"code": err.code, "message": err.message}, status=err.status)

    def internal_error(self, status: int) -> Response:
        return json_response({"code": "INTERNAL_ERROR", "message": "Internal error"},
                             status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("ip", req, route)
        if verdict.allowed:
            return None
        resp = json_response({"code": "TOO_MANY_REQUESTS", "message": "Too many requests"},
                             status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    # ----- endpoints --------------------------------------------------------------------------
    def _perp(self, req: Request, required: bool) -> Contract | None:
        symbol = req.query.get("symbol")
        if symbol is None:
            if required:
                raise _bad("Missing required query parameter: symbol")
            return None
        c = self.lookup(symbol)
        if c is None:
            raise ParamError("Market not found", "INVALID_MARKET", status=404)
        return c

    def markets(self, req: Request) -> Response:
        wanted = req.query.get("marketType")
        rows = [] if wanted not in (None, "PERP") else [
            self._market(c) for c in self.u.instruments(self.name)
        ]
        return json_response(rows, listing=True)

    def _market(self, c: Contract) -> dict[str, object]:
        price = self.u.price(c, self.u.clock.start_ms)
        tick = fmt_px(price / 10000, 1)
        bound = "150" if unit(c.key, 5) < 0.3 else "100"
        return {
            "baseSymbol": c.base,
            "createdAt": _naive_iso(c.listed_ms, micros=True),
            "filters": {
                "price": {"borrowEntryFeeMaxMultiplier": None,
                          "borrowEntryFeeMinMultiplier": None, "maxImpactMultiplier": "1.03",
                          "maxMultiplier": "1.25", "maxPrice": fmt_px(price * 100),
                          "meanMarkPriceBand": {"maxMultiplier": "1.1", "minMultiplier": "0.9"},
                          "meanPremiumBand": {"tolerancePct": "0.05"},
                          "minImpactMultiplier": "0.97", "minMultiplier": "0.75",
                          "minPrice": tick, "tickSize": tick},
                "quantity": {"maxQuantity": None, "minQuantity": "0.01", "stepSize": "0.01"},
            },
            "fundingInterval": c.interval_hours * HOUR_MS,
            "fundingRateLowerBound": "-" + bound,
            "fundingRateUpperBound": bound,
            "imfFunction": {"base": "0.02", "factor": "0.0001275", "type": "sqrt"},
            "marketType": "PERP",
            "mmfFunction": {"base": "0.0125", "factor": "0.0000765", "type": "sqrt"},
            "openInterestLimit": "4000000",
            "orderBookState": "Open" if c.status == "trading" else "Closed",
            "positionLimitWeight": None,
            "quoteSymbol": c.quote,
            "rwaMarketType": None,
            "symbol": c.symbol,
            "visible": True,
        }

    def mark_prices(self, req: Request) -> Response:
        one = self._perp(req, required=False)
        now = self.u.now_ms()
        listed = [one] if one else self.perps()
        rows = []
        for c in listed:
            snap = self.u.snapshot(c, now)
            rows.append({
                "fundingRate": fmt_rate(snap.rate, self.rate_decimals),
                "indexPrice": fmt_px(snap.index_price, 9),
                "markPrice": fmt_px(snap.mark_price, 9),
                "nextFundingTimestamp": (now // c.interval_ms + 1) * c.interval_ms,
                "symbol": c.symbol,
            })
        return json_response(rows, listing=True)  # an array, for one symbol too

    def funding_rates(self, req: Request) -> Response:
        c = self._perp(req, required=True)
        assert c is not None
        limit = int_param(req, "limit", DEFAULT_LIMIT, error=_bad("Invalid limit"))
        offset = int_param(req, "offset", 0, error=_bad("Invalid offset"))
        assert limit is not None and offset is not None
        if limit < 0 or offset < 0:
            raise _bad("limit and offset must not be negative")
        limit = min(limit, MAX_LIMIT)
        now = self.u.now_ms()
        rows = []
        if c.status == "trading":  # the running interval first: its end is in the future
            k = self.u.next_index(c, now)
            rows.append((k * c.interval_ms, self.u.rate_at_index(c, k)))
        rows += [(r.time_ms, r.rate) for r in reversed(self.u.rows(c, 0, now))]
        page = rows[offset:offset + limit]
        return json_response([
            {"fundingRate": fmt_rate(rate, self.rate_decimals),
             "intervalEndTimestamp": _naive_iso(t), "symbol": c.symbol}
            for t, rate in page
        ], listing=True)

    def open_interest(self, req: Request) -> Response:
        one = self._perp(req, required=False)
        now = self.u.now_ms()
        rows: list[dict[str, object]] = [
            {"openInterest": fmt_px(self.u.snapshot(c, now).open_interest, 9),
             "symbol": c.symbol, "timestamp": now}
            for c in ([one] if one else self.perps())
        ]
        if one is None:  # a prediction market's row, which no market list names
            rows.append({"openInterest": "1520", "symbol": "BTC100K_USDC_PREDICTION",
                         "timestamp": now})
        return json_response(rows, listing=True)
