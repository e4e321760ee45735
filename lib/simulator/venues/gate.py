"""Gate APIv4 futures (settle=usdt): contracts (the funding snapshot), tickers, funding_rate.

Facts (exchange-apis.md §5): bare JSON arrays, no envelope; prices/rates strings, times in
Unix SECONDS (numbers), funding_interval in seconds; history `from`/`to` seconds, `limit`
(default 100, max 1000), newest first; 200 requests / 10 s per endpoint, errors
{label, message}.
"""

from __future__ import annotations

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, fmt_rate, int_param, to_ms

SETTLES = ("usdt", "btc")


class Gate(Venue):
    name = "gate"
    default_size = 400
    interval_mix = (0.76, 0.18, 0.06)
    naming = NamingRules("{base}_USDT", "USDT", "USDT")  # small coins: quanto_multiplier
    lot_sized = True
    prelaunch_listed = 2
    rate_decimals = 6
    rate_limits = (Limit("endpoint", 200, 10.0, per="endpoint"),)
    history_cost = HistoryCost("endpoint")
    snapshot_call = Call("GET", "/api/v4/futures/usdt/contracts")

    def register(self) -> None:
        base = "/api/v4/futures/{settle}"
        self.add("GET", f"{base}/contracts", self.contracts, "contracts")
        self.add("GET", f"{base}/contracts/{{contract}}", self.contract, "contract")
        self.add("GET", f"{base}/tickers", self.tickers, "tickers")
        self.add("GET", f"{base}/funding_rate", self.funding_rate, "funding_rate")
        self.add("GET", "/api/v4/spot/currencies", self.currencies, "currencies")

    def not_found(self, req: Request) -> Response:
        return json_response({"label": "NOT_FOUND", "message": "Not Found"}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"label": err.code, "message": err.message}, status=err.status)

    def internal_error(self, status: int) -> Response:
        return json_response({"label": "SERVER_ERROR", "message": "Internal server error"},
                             status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("endpoint", req, route)
        headers = {
            "X-Gate-RateLimit-Limit": str(verdict.limit),
            "X-Gate-RateLimit-Requests-Remain": str(max(0, verdict.limit - verdict.used)),
            "X-Gate-RateLimit-Reset-Timestamp": str(
                (self.u.now_ms() + int(verdict.retry_after * 1000)) // 1000
            ),
        }
        if verdict.allowed:
            return None
        resp = json_response({"label": "TOO_MANY_REQUESTS",
                              "message": "Request Rate limit Exceeded"}, status=429)
        resp.headers.update(headers)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    def _settle(self, req: Request) -> str:
        settle = req.path_params.get("settle", "")
        if settle not in SETTLES:
            raise ParamError(f"invalid settle currency {settle}", "INVALID_PARAM_VALUE")
        return settle

    def _listed(self, req: Request) -> list[Contract]:
        return self.u.instruments(self.name) if self._settle(req) == "usdt" else []

    def _one(self, req: Request, name: str) -> Contract:
        c = self.lookup(name) if self._settle(req) == "usdt" else None
        if c is None:
            raise ParamError("Contract not found", "CONTRACT_NOT_FOUND")
        return c

    # ----- endpoints --------------------------------------------------------------------------
    def contracts(self, req: Request) -> Response:
        items = self._listed(req)
        limit = int_param(req, "limit", None, error=_bad("limit"))
        offset = int_param(req, "offset", 0, error=_bad("offset")) or 0
        if limit is not None:
            items = items[offset : offset + limit]
        now = self.u.now_ms()
        return json_response([self._contract(c, now) for c in items], listing=True)

    def contract(self, req: Request) -> Response:
        return json_response(self._contract(self._one(req, req.path_params["contract"]),
                                            self.u.now_ms()))

    def _contract(self, c: Contract, now: int) -> dict[str, object]:
        snap = self.u.snapshot(c, now)
        pre = c.status == "prelaunch"
        price = snap.mark_price
        tick = fmt_px(price / 10000, 1)
        rate = fmt_rate(snap.rate, self.rate_decimals)
        return {
            "name": c.symbol, "type": "direct", "quanto_multiplier": fmt_px(c.contract_size),
            "ref_discount_rate": "0", "order_price_deviate": "0.5", "maintenance_rate": "0.005",
            "mark_type": "index", "last_price": fmt_px(price), "mark_price": fmt_px(price),
            "index_price": fmt_px(snap.index_price), "funding_rate_indicative": rate,
            "mark_price_round": tick, "funding_offset": 0, "in_delisting": False,
            "risk_limit_base": "1000000", "interest_rate": "0.0003", "order_price_round": tick,
            "order_size_min": 1, "ref_rebate_rate": "0.2",
            "funding_interval": c.interval_hours * 3600, "risk_limit_step": "1000000",
            "leverage_min": "1", "leverage_max": "50", "risk_limit_max": "8000000",
            "maker_fee_rate": "-0.0001", "taker_fee_rate": "0.00075", "funding_rate": rate,
            "order_size_max": 1000000, "funding_next_apply": to_ms(snap.next_funding_time) // 1000,
            "short_users": 100 + c.rank % 50, "config_change_time": c.listed_ms // 1000,
            "trade_size": int(snap.volume_24h * 30 / c.contract_size),
            "position_size": int(snap.open_interest / c.contract_size),
            "long_users": 120 + c.rank % 70, "funding_impact_value": "5000",
            "orders_limit": 50, "trade_id": 1000 + c.rank, "orderbook_id": 5000 + c.rank,
            "enable_bonus": True, "enable_credit": True, "create_time": c.listed_ms // 1000,
            "launch_time": c.listed_ms // 1000, "funding_cap_ratio": "0.75",
            "funding_rate_limit": "0.003" if c.interval_hours == 8 else "0.01",
            "status": "prelaunch" if pre else "trading", "is_pre_market": pre,
            "contract_type": "", "enable_decimal": False, "voucher_leverage": "0",
            "cross_leverage_default": "10",
        }

    def tickers(self, req: Request) -> Response:
        name = req.query.get("contract")
        items = [self._one(req, name)] if name else self._listed(req)
        now = self.u.now_ms()
        rows = []
        for c in items:
            if c.status == "prelaunch":
                continue
            snap = self.u.snapshot(c, now)
            last = fmt_px(snap.mark_price)
            rate = fmt_rate(snap.rate, self.rate_decimals)
            rows.append({
                "contract": c.symbol, "last": last, "low_24h": fmt_px(snap.mark_price * 0.98),
                "high_24h": fmt_px(snap.mark_price * 1.02), "change_percentage": "0",
                "total_size": str(int(snap.open_interest / c.contract_size)),
                "volume_24h": str(int(snap.volume_24h / c.contract_size)),
                "volume_24h_base": fmt_px(snap.volume_24h),
                "volume_24h_quote": f"{snap.volume_24h * snap.mark_price:.0f}",
                "volume_24h_settle": f"{snap.volume_24h * snap.mark_price:.0f}",
                "mark_price": last, "funding_rate": rate, "funding_rate_indicative": rate,
                "index_price": fmt_px(snap.index_price), "highest_bid": last,
                "lowest_ask": last, "highest_size": "1", "lowest_size": "1",
            })
        return json_response(rows, listing=True)

    def funding_rate(self, req: Request) -> Response:
        name = req.query.get("contract")
        if not name:
            raise ParamError("Missing required parameter: contract", "MISSING_REQUIRED_PARAM")
        c = self._one(req, name)
        limit = int_param(req, "limit", 100, error=_bad("limit"))
        if limit is None or not 1 <= limit <= 1000:
            raise ParamError("limit must be between 1 and 1000", "INVALID_PARAM_VALUE")
        start = int_param(req, "from", None, error=_bad("from"))
        end = int_param(req, "to", None, error=_bad("to"))
        lo = start * 1000 if start is not None else 0
        hi = end * 1000 if end is not None else self.u.now_ms()
        rows = self.u.rows(c, lo, hi)[-limit:]
        out = [{"t": r.reported_ms // 1000, "r": fmt_rate(r.rate, self.rate_decimals)}
               for r in reversed(rows)]
        return json_response(out, listing=True)

    def currencies(self, req: Request) -> Response:
        """Spot currency list; only so that ccxt's load_markets (fetch_currencies) works."""
        names = sorted({c.asset for c in self.perps()} | {"USDT"})
        return json_response([{
            "currency": n, "name": n, "delisted": False, "withdraw_disabled": False,
            "withdraw_delayed": False, "deposit_disabled": False, "trade_disabled": False,
            "chain": n, "chains": [],
        } for n in names], listing=True)


def _bad(name: str) -> ParamError:
    return ParamError(f"invalid argument: {name}", "INVALID_PARAM_VALUE")
