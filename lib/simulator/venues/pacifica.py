"""Pacifica: every reply wrapped {"success", "data", "error", "code"}, hourly funding.

Facts (exchange-apis-more.md §20 and the recorded real replies): `/api/v1/info` lists markets
oldest first with `created_at` (ms), `instrument_type` perpetual or spot (a spot pair SOL-USDC
in the same list); `/api/v1/info/prices` gives every market's `funding` (fixed for the
settlement at the next full hour), `next_funding` (the running estimate for the one after),
mark, oracle, open interest in base units and 24 h volume in USD, all decimal strings except
`timestamp` (ms); `/api/v1/funding_rate/history` needs `symbol`, `limit` 1..4000 (default 100)
and an optional opaque `cursor`, returns rows newest first with no time filter, `created_at` a
few hundred ms after the hour, each row's `next_funding_rate` the following settlement's rate,
and `next_cursor` + `has_more`. Credits per 60 s per IP: 125 for an unidentified IP, 1 a
request, 9 a history request (measured; "heavy" GETs cost 3-12); headers `ratelimit` and
`ratelimit-policy` in tenths of a credit; HTTP 429 when spent.
"""

from __future__ import annotations

from typing import Any

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import (
    ParamError,
    Route,
    Venue,
    fmt_px,
    fmt_rate,
    int_param,
    to_ms,
)

HISTORY = "/api/v1/funding_rate/history"
MAX_LIMIT, DEFAULT_LIMIT = 4000, 100
CREDITS = 125
HISTORY_CREDITS = 9
SPOT_PAIRS = (("SOL", "USDC", 100.0), ("BTC", "USDC", 95000.0))  # listed beside the perps
B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58(number: int) -> str:
    text = ""
    while number:
        number, digit = divmod(number, 58)
        text = B58[digit] + text
    return "1111" + (text or "1")


def _unb58(text: str) -> int:
    if not text.startswith("1111") or len(text) < 5 or any(ch not in B58 for ch in text):
        raise ValueError(text)
    number = 0
    for ch in text[4:]:
        number = number * 58 + B58.index(ch)
    return number


class Pacifica(Venue):
    name = "pacifica"
    default_size = 40
    interval_mix = (0.0, 0.0, 1.0)
    naming = NamingRules("{base}", "USDC", "USDC", multiplier="k")  # kBONK = 1000 BONK
    rate_decimals = 8
    jitter = (250, 700, 0.0)  # created_at ~0.4 s after the hour
    rate_limits = (Limit("credits", CREDITS, 60.0),)
    history_cost = HistoryCost("credits", per_request=HISTORY_CREDITS)
    snapshot_call = Call("GET", "/api/v1/info/prices")

    def register(self) -> None:
        self.add("GET", "/api/v1/info", self.info)
        self.add("GET", "/api/v1/info/prices", self.prices)
        self.add("GET", HISTORY, self.history)

    # ----- errors and limits ------------------------------------------------------------------
    def _error(self, message: str, status: int) -> Response:
        return json_response({"success": False, "data": None, "error": message, "code": status},
                             status=status)

    def not_found(self, req: Request) -> Response:
        return self._error("Not Found", 404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return self._error(err.message, err.status)

    def internal_error(self, status: int) -> Response:
        return self._error("Internal server error", status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        cost = HISTORY_CREDITS if route.name == HISTORY else 1
        verdict = self.charge("credits", req, route, cost)
        if verdict.allowed:
            return None
        resp = self._error("Rate limit exceeded", 429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    def decorate(self, req: Request, route: Route, resp: Response) -> None:
        """Credits left and the policy, both in tenths of a credit (as Pacifica sends them), and
        the seconds until the window resets."""
        left = max(0, CREDITS - self.used("credits"))
        resp.headers["ratelimit"] = f'"credits";r={left * 10};t={self.reset_in("credits")}'
        resp.headers["ratelimit-policy"] = f'"credits";q={CREDITS * 10};w=60'

    # ----- endpoints --------------------------------------------------------------------------
    def _perps(self) -> list[Contract]:
        return sorted(self.perps(), key=lambda c: (c.listed_at, c.rank))

    def info(self, req: Request) -> Response:
        now = self.u.now_ms()
        rows = [self._info_row(c, now) for c in self._perps()]
        rows += [self._spot_info(base, quote, price) for base, quote, price in SPOT_PAIRS]
        return self._ok(rows)

    def _ok(self, data: Any, **extra: Any) -> Response:
        return json_response({"success": True, "data": data, "error": None, "code": None,
                              **extra}, listing=True)

    def _info_row(self, c: Contract, now: int) -> dict[str, Any]:
        k = self.u.next_index(c, now)
        price = self.u.price(c, now)
        return {
            "symbol": c.symbol, "tick_size": fmt_px(price / 10000, 1), "min_tick": "0",
            "max_tick": "1000000", "lot_size": fmt_px(10 / price / 10, 1),
            "max_leverage": 50 if c.rank < 2 else 10, "isolated_only": False,
            "min_order_size": "10", "max_order_size": "5000000",
            "funding_rate": fmt_rate(self.u.rate_at_index(c, k), self.rate_decimals),
            "next_funding_rate": fmt_rate(self.u.rate_at_index(c, k + 1), self.rate_decimals),
            "created_at": to_ms(c.listed_at), "instrument_type": "perpetual",
            "base_asset": c.base, "execution_modes": ["orderbook"],
        }

    def _spot_info(self, base: str, quote: str, price: float) -> dict[str, Any]:
        return {
            "symbol": f"{base}-{quote}", "tick_size": "0.01", "min_tick": "0",
            "max_tick": "1000000", "lot_size": fmt_px(10 / price / 10, 1), "max_leverage": 1,
            "isolated_only": False, "min_order_size": "10", "max_order_size": "1000000",
            "funding_rate": "0", "next_funding_rate": "0",
            "created_at": self.u.clock.start_ms - 30 * 86_400_000, "instrument_type": "spot",
            "base_asset": base, "execution_modes": ["orderbook"],
        }

    def prices(self, req: Request) -> Response:
        now = self.u.now_ms()
        rows = []
        for c in self._perps():
            snap = self.u.snapshot(c, now)
            k = self.u.next_index(c, now)
            rows.append({
                "funding": fmt_rate(snap.rate, self.rate_decimals),
                "mark": fmt_px(snap.mark_price), "mid": fmt_px(snap.mark_price * 0.99999),
                "next_funding": fmt_rate(self.u.rate_at_index(c, k + 1), self.rate_decimals),
                "open_interest": fmt_px(snap.open_interest), "oracle": fmt_px(snap.index_price),
                "symbol": c.symbol, "timestamp": now,
                "volume_24h": fmt_px(snap.volume_24h * snap.mark_price, 11),
                "yesterday_price": fmt_px(self.u.price(c, now - 86_400_000)),
            })
        for base, quote, price in SPOT_PAIRS:
            rows.append({"funding": "0", "mark": fmt_px(price), "mid": fmt_px(price),
                         "next_funding": "0", "open_interest": "0", "oracle": fmt_px(price),
                         "symbol": f"{base}-{quote}", "timestamp": now,
                         "volume_24h": "125066.59352", "yesterday_price": fmt_px(price)})
        return self._ok(rows)

    def history(self, req: Request) -> Response:
        symbol = req.query.get("symbol")
        if not symbol:
            raise ParamError("Missing required parameter: symbol", status=400)
        limit = int_param(req, "limit", DEFAULT_LIMIT,
                          error=ParamError("Invalid limit", status=400))
        if limit is None or not 1 <= limit <= MAX_LIMIT:
            raise ParamError(f"limit must be between 1 and {MAX_LIMIT}", status=400)
        c = self.lookup(symbol)
        if c is None:
            raise ParamError(f"Market {symbol} not found", status=404)
        below = self.u.now_ms()
        cursor = req.query.get("cursor")
        if cursor:
            try:
                below = _unb58(cursor) - 1
            except ValueError:
                raise ParamError("Invalid cursor", status=400) from None
        rows = self.u.rows(c, 0, below)
        page = list(reversed(rows[-limit:]))
        more = len(rows) > limit
        out = []
        for r in page:
            oracle = self.u.price(c, r.time_ms)
            out.append({
                "oracle_price": fmt_px(oracle, 11), "bid_impact_price": fmt_px(oracle * 0.9995),
                "ask_impact_price": fmt_px(oracle * 1.0005),
                "funding_rate": fmt_rate(r.rate, self.rate_decimals),
                "next_funding_rate": fmt_rate(self.u.rate_at_index(c, r.grid + 1),
                                              self.rate_decimals),
                "created_at": r.reported_ms,
            })
        next_cursor = _b58(rows[-limit].reported_ms) if more else None  # the oldest sent
        return self._ok(out, next_cursor=next_cursor, has_more=more)
