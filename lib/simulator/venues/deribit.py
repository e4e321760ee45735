"""Deribit API v2 over HTTP GET (JSON-RPC replies): instruments, book summaries, funding.

Facts (exchange-apis.md §10, docs.deribit.com): every reply is
{"jsonrpc": "2.0", "result": ..., "usIn", "usOut", "usDiff" (microseconds), "testnet"};
errors {"jsonrpc": "2.0", "error": {"code", "message"[, "data"]}, ...}; all values JSON
numbers. Perpetuals: inverse BTC-PERPETUAL and ETH-PERPETUAL (USD-quoted, coin-settled,
contract_size 10 / 1 USD) and linear <COIN>_USDC-PERPETUAL; quarterly futures (BTC-27MAR26)
beside them. Funding accrues continuously and is quoted as an 8-hour rate: a book summary's
`current_funding` is that rate now (8 x the running hour's), `funding_8h` what the trailing 8
hours realized; get_funding_rate_history has one row a full hour (`interest_1h` realized over
the hour ending at `timestamp`, `interest_8h` over the 8 hours ending there), ascending, both
timestamps required, start exclusive, at most 744 rows (the newest before the end);
get_funding_rate_value sums `interest_1h` over (start, end]. Book summaries come per
currency (BTC, ETH, USDC: no "any"); get_instruments takes `any` or no currency at all.
Limits: 20 requests/s sustained with a burst of 100 (credits), counted as 100 per 5 s;
get_instruments 1 per 10 s with a burst of 5, counted as 11 a minute (the most that fits in
any minute). Over a limit: HTTP 429, error 10028 too_many_requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from lib.simulator.assets import DeliveryRules, Naming, NamingRules
from lib.simulator.contracts import HOUR_MS, Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import ParamError, Route, Venue, int_param, px, to_ms

PUBLIC = "/api/v2/public"
INSTRUMENTS = f"{PUBLIC}/get_instruments"
CURRENCIES = ("BTC", "ETH", "USDC", "USDT", "EURR")
KINDS = ("future", "option", "spot", "future_combo", "option_combo")
PERPETUAL_EXPIRY = 32503708800000  # year 3000: a perpetual never expires
MAX_HISTORY = 744


@dataclass(frozen=True)
class DeribitNaming(NamingRules):
    """USDC linear perpetuals (ETH_USDC-PERPETUAL), except the inverse BTC and ETH ones
    (BTC-PERPETUAL: USD-quoted, settled in the coin)."""

    inverse: frozenset[str] = frozenset({"BTC", "ETH"})

    def name(self, asset: str, price: float) -> Naming:
        if asset in self.inverse:
            return Naming(f"{asset}-PERPETUAL", asset, "USD", asset, 1)
        return super().name(asset, price)

    def quotes(self) -> frozenset[str]:
        return frozenset({self.quote, "USD"})


class Deribit(Venue):
    name = "deribit"
    default_size = 16
    interval_mix = (0.0, 0.0, 1.0)  # hourly rows of a continuous accrual
    naming = DeribitNaming("{base}_USDC-PERPETUAL", "USDC", "USDC")
    lot_sized = True  # linear: contract_size coins (0.01 ETH); inverse: USD (BTC 10, ETH 1)
    dated_futures = DeliveryRules(2, "{base}-{dd}{mon}{yy}", "USD")  # BTC-27MAR26, inverse
    rate_decimals = 10
    rate_limits = (Limit("ip", 100, 5.0), Limit("instruments", 11, 60.0))
    history_cost = HistoryCost("ip")
    snapshot_call = Call("GET", f"{PUBLIC}/get_book_summary_by_currency",
                         {"currency": "USDC", "kind": "future"})
    snapshot_calls = tuple(
        Call("GET", f"{PUBLIC}/get_book_summary_by_currency", {"currency": c, "kind": "future"})
        for c in ("BTC", "ETH", "USDC")
    )
    snapshot_requests = 3  # one book summary per settlement currency with perpetuals

    def register(self) -> None:
        self.add("GET", f"{PUBLIC}/get_time", self.get_time)
        self.add("GET", INSTRUMENTS, self.get_instruments, INSTRUMENTS)
        self.add("GET", f"{PUBLIC}/get_currencies", self.get_currencies)
        self.add("GET", f"{PUBLIC}/get_book_summary_by_currency", self.book_summary)
        self.add("GET", f"{PUBLIC}/get_funding_rate_history", self.funding_history)
        self.add("GET", f"{PUBLIC}/get_funding_rate_value", self.funding_value)
        self.add("GET", f"{PUBLIC}/ticker", self.ticker)

    # ----- envelope and errors ----------------------------------------------------------------
    def _stamp(self) -> dict[str, Any]:
        now_us = self.u.now_ms() * 1000
        return {"usIn": now_us, "usOut": now_us + 150, "usDiff": 150, "testnet": False}

    def _ok(self, result: object, listing: bool = True) -> Response:
        return json_response({"jsonrpc": "2.0", "result": result, **self._stamp()},
                             listing=listing)

    def _error(self, code: int, message: str, status: int, data: Any = None) -> Response:
        error: dict[str, Any] = {"message": message, "code": code}
        if data is not None:
            error["data"] = data
        return json_response({"jsonrpc": "2.0", "error": error, **self._stamp()}, status=status)

    def not_found(self, req: Request) -> Response:
        return self._error(-32601, "Method not found", 404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return self._error(-32602, "Invalid params", err.status,
                           {"reason": err.message, "param": err.code})

    def internal_error(self, status: int) -> Response:
        return self._error(11094, "internal_server_error", status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("instruments", req, route) if route.name == INSTRUMENTS else None
        if verdict is None or verdict.allowed:
            verdict = self.charge("ip", req, route)
        if verdict.allowed:
            return None
        resp = self._error(10028, "too_many_requests", 429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    # ----- helpers ----------------------------------------------------------------------------
    def _perpetual(self, req: Request) -> Contract:
        name = req.query.get("instrument_name")
        if not name:
            raise ParamError("value must be provided", "instrument_name")
        c = self.lookup(name)
        if c is None or c.kind != "perpetual" or c.status != "trading":
            raise ParamError("instrument not found", "instrument_name")
        return c

    def _window(self, req: Request) -> tuple[int, int]:
        bounds = []
        for name in ("start_timestamp", "end_timestamp"):
            value = int_param(req, name, None, error=ParamError("must be an integer", name))
            if value is None:
                raise ParamError("value must be provided", name)
            bounds.append(value)
        return bounds[0], bounds[1]

    def _currency(self, req: Request, allow_any: bool) -> str | None:
        currency = req.query.get("currency")
        if currency in (None, "any") and allow_any:
            return None
        if currency not in CURRENCIES:
            raise ParamError("must be one of " + ", ".join(CURRENCIES), "currency")
        return currency

    def _kind(self, req: Request) -> str | None:
        kind = req.query.get("kind")
        if kind is not None and kind not in KINDS:
            raise ParamError("must be one of " + ", ".join(KINDS), "kind")
        return kind

    def _listed(self, currency: str | None) -> list[Contract]:
        """Live futures (perpetual and dated) in a currency: the coin for inverse ones."""
        return [c for c in self.u.instruments(self.name) if c.status == "trading"
                and (currency is None or c.settle == currency)]

    # ----- endpoints --------------------------------------------------------------------------
    def get_time(self, req: Request) -> Response:
        return self._ok(self.u.now_ms(), listing=False)

    def get_currencies(self, req: Request) -> Response:
        return self._ok([{"currency": c, "currency_long": c, "coin_type": c,
                          "fee_precision": 4, "min_confirmations": 1,
                          "min_withdrawal_fee": 0.0001, "withdrawal_fee": 0.0001,
                          "withdrawal_priorities": []} for c in ("BTC", "ETH", "USDC")])

    def get_instruments(self, req: Request) -> Response:
        currency, kind = self._currency(req, allow_any=True), self._kind(req)
        items = self._listed(currency) if kind in (None, "future") else []
        return self._ok([self._instrument(c) for c in items])

    def _instrument(self, c: Contract) -> dict[str, Any]:
        inverse = c.settle == c.base
        price = self.u.price(c, self.u.clock.start_ms)
        perpetual = c.kind == "perpetual"
        size = (10 if c.base == "BTC" else 1) if inverse else c.contract_size
        return {
            "tick_size": px(max(price / 20000, 1e-5), 1), "taker_commission": 0.0005,
            "settlement_period": "perpetual" if perpetual else "month",
            "settlement_currency": c.settle, "rfq": False, "quote_currency": c.quote,
            "price_index": f"{c.base.lower()}_{c.quote.lower()}",
            "min_trade_amount": size, "max_liquidation_commission": 0.0075,
            "max_leverage": 50 if c.rank < 2 else 25, "maker_commission": 0.0,
            "kind": "future", "is_active": True, "instrument_name": c.symbol,
            "instrument_id": 200000 + c.key % 100000,
            "future_type": "reversed" if inverse else "linear",
            "instrument_type": "reversed" if inverse else "linear",
            "expiration_timestamp": PERPETUAL_EXPIRY if perpetual else to_ms(c.delivery_at),
            "creation_timestamp": c.listed_ms, "counter_currency": c.quote,
            "contract_size": size, "block_trade_commission": 0.0001, "base_currency": c.base,
        }

    def book_summary(self, req: Request) -> Response:
        currency, kind = self._currency(req, allow_any=False), self._kind(req)
        now = self.u.now_ms()
        rows = []
        for c in self._listed(currency) if kind in (None, "future") else []:
            snap = self.u.snapshot(c, now)
            inverse = c.settle == c.base
            mark = px(snap.mark_price)
            row: dict[str, Any] = {
                "volume_usd": round(snap.volume_24h * snap.mark_price, 2),
                "volume": round(snap.volume_24h, 4), "quote_currency": c.quote,
                "price_change": 0.0, "open_interest": round(
                    snap.open_interest * snap.mark_price if inverse else snap.open_interest, 4),
                "mid_price": mark, "mark_price": mark, "low": px(snap.mark_price * 0.98),
                "last": mark, "instrument_name": c.symbol, "high": px(snap.mark_price * 1.02),
                "estimated_delivery_price": px(snap.index_price), "creation_timestamp": now,
                "bid_price": mark, "base_currency": c.base, "ask_price": mark,
            }
            if c.kind == "perpetual":
                row["current_funding"] = snap.rate * 8
                row["funding_8h"] = self._trailing(c, now // HOUR_MS * HOUR_MS)
            rows.append(row)
        return self._ok(rows)

    def _trailing(self, c: Contract, end_ms: int) -> float:
        """Funding realized over the 8 hours ending at `end_ms`."""
        return sum(r.rate for r in self.u.rows(c, end_ms - 8 * HOUR_MS + 1, end_ms))

    def ticker(self, req: Request) -> Response:
        c = self._perpetual(req)
        now = self.u.now_ms()
        snap = self.u.snapshot(c, now)
        return self._ok({
            "timestamp": now, "state": "open", "instrument_name": c.symbol,
            "mark_price": px(snap.mark_price), "index_price": px(snap.index_price),
            "estimated_delivery_price": px(snap.index_price),
            "current_funding": snap.rate * 8,
            "funding_8h": self._trailing(c, now // HOUR_MS * HOUR_MS),
            "open_interest": round(snap.open_interest, 4),
        }, listing=False)

    def funding_history(self, req: Request) -> Response:
        c = self._perpetual(req)
        start, end = self._window(req)
        rows = self.u.rows(c, start + 1, end)[-MAX_HISTORY:]  # the start is exclusive
        if not rows:
            return self._ok([])
        rates = {r.time_ms: r.rate for r in self.u.rows(
            c, rows[0].time_ms - 7 * HOUR_MS, rows[-1].time_ms, by_reported=False)}
        out = []
        for r in rows:
            trailing = sum(rates.get(r.time_ms - k * HOUR_MS, 0.0) for k in range(8))
            out.append({"timestamp": r.reported_ms,
                        "index_price": px(self.u.price(c, r.time_ms)),
                        "prev_index_price": px(self.u.price(c, r.time_ms - HOUR_MS)),
                        "interest_8h": trailing, "interest_1h": r.rate})
        return self._ok(out)

    def funding_value(self, req: Request) -> Response:
        c = self._perpetual(req)
        start, end = self._window(req)
        return self._ok(sum(r.rate for r in self.u.rows(c, start + 1, end)), listing=False)

