"""Lighter (zkLighter): markets by numeric market_id, three units for one hourly rate.

Facts (exchange-apis-more.md §18 and ccxt's recorded replies): ETH is market 0, BTC market 1;
`/api/v1/orderBookDetails` lists perps (`order_book_details`; spot in a list of its own) with
numbers for prices/volumes/OI except `mark_price`/`index_price`/clamps (strings);
`/api/v1/funding-rates` gives each market's next hourly rate x 8 as a JSON number and relays
Binance's, Bybit's and Hyperliquid's rates under Lighter's market ids; `/api/v1/fundings` needs
market_id, resolution (1h|1d), start_timestamp, end_timestamp (seconds, end exclusive) and
count_back (0: the window oldest first; n > 0: the newest n before the end), returns at most
750 rows with `rate` an unsigned percent per hour truncated to 4 decimals and `direction` the
side that paid, `timestamp` seconds on the hour. 60 requests per minute per IP (standard
account); errors `{"code": <int>, "message": ...}`; over the limit code 23000 with HTTP 429.
"""

from __future__ import annotations

from decimal import ROUND_DOWN, Decimal
from typing import Any

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.series import unit
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, int_param, px

MAX_FUNDINGS = 750  # the silent per-reply cap
RATE_SCALE = 8  # funding-rates prints the hourly rate as an 8-hour equivalent
RELAYED = ("binance", "bybit", "hyperliquid")  # other venues' rates in funding-rates
RELAYED_MARKETS = 20  # markets (by id) whose rows the relayed venues have
INVALID_PARAM = 20001
TOO_MANY_REQUESTS = 23000
RESOLUTIONS = {"1h": 1, "1d": 24}  # hours per row


def _percent(rate: float) -> str:
    """|rate| as a percent truncated toward zero to 4 decimals ("0.0012")."""
    value = (Decimal(repr(abs(rate))) * 100).quantize(Decimal("0.0001"), rounding=ROUND_DOWN)
    return f"{value:.4f}"


class Lighter(Venue):
    name = "lighter"
    default_size = 90
    interval_mix = (0.0, 0.0, 1.0)
    naming = NamingRules("{base}", "USDC", "USDC", multiplier="prefix")  # 1000PEPE
    delisted_listed = 2  # listed with status "inactive"
    rate_decimals = 6  # percent to 4 decimals = fraction to 6
    jitter = (0, 0, 1.0)  # fundings timestamps are seconds, exactly on the hour
    rate_limits = (Limit("ip", 60, 60.0),)
    history_cost = HistoryCost("ip")
    snapshot_call = Call("GET", "/api/v1/funding-rates")
    snapshot_requests = 2  # + orderBookDetails for prices, open interest and volume

    def register(self) -> None:
        self.add("GET", "/api/v1/orderBookDetails", self.details)
        self.add("GET", "/api/v1/funding-rates", self.funding_rates)
        self.add("GET", "/api/v1/fundings", self.fundings)
        self.add("GET", "/api/v1/assetDetails", self.asset_details)
        self._ids: dict[str, int] | None = None

    # ----- errors -----------------------------------------------------------------------------
    def not_found(self, req: Request) -> Response:
        return json_response({"code": 404, "message": "not found"}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"code": err.code or INVALID_PARAM, "message": err.message},
                             status=err.status)

    def internal_error(self, status: int) -> Response:
        return json_response({"code": status, "message": "internal server error"}, status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("ip", req, route)
        if verdict.allowed:
            return None
        resp = json_response({"code": TOO_MANY_REQUESTS, "message": "Too Many Requests!"},
                             status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    def empty(self, resp: Response) -> Response:
        if isinstance(resp.body, dict):
            resp.body = dict(resp.body)
            for key in ("order_book_details", "funding_rates", "fundings"):
                if key in resp.body:
                    resp.body[key] = []
        return resp

    # ----- market ids -------------------------------------------------------------------------
    def market_ids(self) -> dict[str, int]:
        """ETH 0, BTC 1, then by popularity (delisted markets keep theirs)."""
        if self._ids is None:
            listed = sorted(self.u.instruments(self.name),
                            key=lambda c: (c.asset != "ETH", c.asset != "BTC", c.rank, c.symbol))
            self._ids = {c.symbol: i for i, c in enumerate(listed)}
        return self._ids

    def _listed(self) -> list[Contract]:
        ids = self.market_ids()
        return sorted((c for c in self.u.instruments(self.name) if c.status != "prelaunch"),
                      key=lambda c: ids[c.symbol])

    def _by_id(self, market_id: int) -> Contract | None:
        return next((c for c in self._listed() if self.market_ids()[c.symbol] == market_id),
                    None)

    # ----- endpoints --------------------------------------------------------------------------
    def details(self, req: Request) -> Response:
        wanted = int_param(req, "market_id", None,
                           error=ParamError("invalid param: market_id", INVALID_PARAM))
        items = self._listed()
        if wanted is not None:
            items = [c for c in items if self.market_ids()[c.symbol] == wanted]
            if not items:
                raise ParamError("market not found", INVALID_PARAM)
        now = self.u.now_ms()
        return json_response({"code": 200, "order_book_details": [
            self._detail(c, now) for c in items], "spot_order_book_details": []}, listing=True)

    def _detail(self, c: Contract, now: int) -> dict[str, Any]:
        snap = self.u.snapshot(c, now)
        price, live = snap.mark_price, c.status == "trading"
        size_decimals = 4 if price > 100 else 2 if price > 1 else 0
        price_decimals = max(0, 6 - size_decimals)
        return {
            "symbol": c.symbol, "market_id": self.market_ids()[c.symbol], "market_type": "perp",
            "base_asset_id": 0, "quote_asset_id": 3,
            "status": "active" if live else "inactive",
            "taker_fee": "0.0000", "maker_fee": "0.0000", "liquidation_fee": "1.0000",
            "min_base_amount": fmt_px(10 / price, 2), "min_quote_amount": "10.000000",
            "order_quote_limit": "", "supported_size_decimals": size_decimals,
            "supported_price_decimals": price_decimals, "supported_quote_decimals": 6,
            "size_decimals": size_decimals, "price_decimals": price_decimals,
            "quote_multiplier": 1, "default_initial_margin_fraction": 500,
            "min_initial_margin_fraction": 200, "maintenance_margin_fraction": 120,
            "closeout_margin_fraction": 80, "last_trade_price": px(price),
            "daily_trades_count": 1000 + c.key % 100_000,
            "daily_base_token_volume": px(snap.volume_24h),
            "daily_quote_token_volume": round(snap.volume_24h * price, 6),
            "daily_price_low": px(price * 0.97), "daily_price_high": px(price * 1.02),
            "daily_price_change": round(4 * unit(c.key, now // 86_400_000) - 2, 6),
            "open_interest": px(snap.open_interest) if live else 0,
            "daily_chart": {},
            "market_config": {"market_margin_mode": 0,
                              "insurance_fund_account_index": 281474976710655,
                              "liquidation_mode": 0, "force_reduce_only": not live,
                              "trading_hours": "", "hidden": False},
            "funding_clamp_small": "0.0500", "funding_clamp_big": "4.0000",
            "base_interest_rate": "0.0100", "funding_premium_multiplier": 100,
            "mark_price": fmt_px(price), "index_price": fmt_px(snap.index_price),
        }

    def asset_details(self, req: Request) -> Response:
        """The collateral asset (ccxt reads it as the currency list)."""
        return json_response({"code": 200, "asset_details": [{
            "asset_id": 3, "symbol": "USDC", "l1_decimals": 6, "decimals": 6,
            "min_transfer_amount": "1.000000", "min_withdrawal_amount": "1.000000",
            "margin_mode": "enabled", "index_price": "1.000000",
            "l1_address": "0x95Fd23d5110f9D89A4b0B7d63D78F5B5Ea5074D1"}]})

    def funding_rates(self, req: Request) -> Response:
        now = self.u.now_ms()
        live = [c for c in self._listed() if c.status == "trading"]
        rows: list[dict[str, Any]] = []
        for c in live:
            market = self.market_ids()[c.symbol]
            hourly = self.u.snapshot(c, now).rate
            if market < RELAYED_MARKETS:  # other venues' 8-hour rates for the same coin
                for i, venue in enumerate(RELAYED):
                    other = hourly * RATE_SCALE * (0.5 + unit(c.key, 7 + i))
                    rows.append({"market_id": market, "exchange": venue, "symbol": c.symbol,
                                 "rate": round(other, 10)})
            rows.append({"market_id": market, "exchange": "lighter", "symbol": c.symbol,
                         "rate": hourly * RATE_SCALE})
        return json_response({"code": 200, "funding_rates": rows}, listing=True)

    def fundings(self, req: Request) -> Response:
        values = {}
        for name in ("market_id", "start_timestamp", "end_timestamp", "count_back"):
            value = int_param(req, name, None,
                              error=ParamError(f"invalid param: {name}", INVALID_PARAM))
            if value is None:
                raise ParamError(f"invalid param: {name} is required", INVALID_PARAM)
            values[name] = value
        resolution = req.query.get("resolution", "")
        if resolution not in RESOLUTIONS:
            raise ParamError("invalid param: resolution", INVALID_PARAM)
        start, end = values["start_timestamp"], values["end_timestamp"]
        if not 0 <= start <= 5_000_000_000_000 or not 0 <= end <= 5_000_000_000_000:
            raise ParamError("invalid param: timestamp out of range", INVALID_PARAM)
        c = self._by_id(values["market_id"])
        if c is None:
            raise ParamError("market not found", INVALID_PARAM)
        step_s = RESOLUTIONS[resolution] * 3600
        rows = [r for r in self.u.rows(c, start * 1000, end * 1000 - 1)
                if (r.reported_ms // 1000) % step_s == 0]
        count_back = values["count_back"]
        rows = rows[-min(count_back, MAX_FUNDINGS):] if count_back > 0 else rows[:MAX_FUNDINGS]
        out = [{"timestamp": r.reported_ms // 1000,
                "value": f"{self.u.price(c, r.time_ms) * abs(r.rate):.8f}",
                "rate": _percent(r.rate), "direction": "long" if r.rate >= 0 else "short"}
               for r in rows]
        return json_response({"code": 200, "resolution": resolution, "fundings": out},
                             listing=True)
