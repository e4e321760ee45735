"""OKX v5 public data for SWAP: instruments, funding-rate (instId=ANY), history, mark price.

Facts (exchange-apis.md §3): every field a string (times in ms), envelope {code,msg,data};
funding-rate `fundingTime` is the upcoming settlement and `nextFundingTime` the one after;
history newest-first with after/before, limit ≤ 400, fundingRate (predicted) next to
realizedRate (what settled); 10 requests / 2 s per instrument.
"""

from __future__ import annotations

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract, Row
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.series import quantize, unit
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, fmt_rate, int_param, to_ms

MAX_HISTORY = 400


class Okx(Venue):
    name = "okx"
    default_size = 220
    interval_mix = (0.92, 0.06, 0.02)
    naming = NamingRules("{base}-USDT-SWAP", "USDT", "USDT")  # small coins: ctVal, not names
    lot_sized = True
    prelaunch_listed = 2
    rate_decimals = 16
    rate_limits = (  # by endpoint, each counted per value of one parameter
        Limit("/api/v5/public/funding-rate", 10, 2.0, "endpoint", "instId"),
        Limit("/api/v5/public/funding-rate-history", 10, 2.0, "endpoint", "instId"),
        Limit("/api/v5/public/instruments", 20, 2.0, "endpoint", "instType"),
        Limit("/api/v5/public/mark-price", 10, 2.0, "endpoint", "instType"),
        Limit("/api/v5/market/tickers", 20, 2.0, "endpoint", "instType"),
        Limit("/api/v5/public/open-interest", 20, 2.0, "endpoint", "instType"),
        Limit("/api/v5/public/time", 10, 2.0, "endpoint", ""),
    )
    history_cost = HistoryCost("/api/v5/public/funding-rate-history")
    snapshot_call = Call("GET", "/api/v5/public/funding-rate", {"instId": "ANY"})
    snapshot_requests = 3  # funding-rate ANY lacks prices and OI: mark-price, open-interest

    def register(self) -> None:
        self.add("GET", "/api/v5/public/time", self.server_time)
        self.add("GET", "/api/v5/public/instruments", self.instruments)
        self.add("GET", "/api/v5/public/funding-rate", self.funding_rate)
        self.add("GET", "/api/v5/public/funding-rate-history", self.funding_history)
        self.add("GET", "/api/v5/public/mark-price", self.mark_price)
        self.add("GET", "/api/v5/market/tickers", self.tickers)
        self.add("GET", "/api/v5/public/open-interest", self.open_interest)

    def not_found(self, req: Request) -> Response:
        return json_response({"msg": "Not Found", "code": "404"}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"code": str(err.code), "msg": err.message, "data": []},
                             status=err.status)

    def internal_error(self, status: int) -> Response:
        return json_response({"code": "50013", "msg": "Systems are busy. Please try again later.",
                              "data": []}, status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge(route.name, req, route)
        if verdict.allowed:
            return None
        resp = json_response({"msg": "Too Many Requests", "code": "50011", "data": []}, 429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    @staticmethod
    def _ok(data: list[dict[str, str]] | list[dict[str, object]]) -> Response:
        return json_response({"code": "0", "msg": "", "data": data}, listing=True)

    def _inst_type(self, req: Request) -> str:
        inst_type = req.query.get("instType", "")
        if not inst_type:
            raise ParamError("Parameter instType can not be empty.", "50014")
        if inst_type not in ("SPOT", "MARGIN", "SWAP", "FUTURES", "OPTION"):
            raise ParamError("Parameter instType error", "51000")
        return inst_type

    def _swap(self, inst_id: str) -> Contract:
        c = self.lookup(inst_id)
        if c is None:
            raise ParamError("Instrument ID does not exist", "51001", status=200)
        return c

    # ----- endpoints --------------------------------------------------------------------------
    def server_time(self, req: Request) -> Response:
        return self._ok([{"ts": str(self.u.now_ms())}])

    def instruments(self, req: Request) -> Response:
        if self._inst_type(req) != "SWAP":
            return self._ok([])
        inst_id = req.query.get("instId")
        family = req.query.get("instFamily") or req.query.get("uly")
        items = [self._swap(inst_id)] if inst_id else self.u.instruments(self.name)
        if family:
            items = [c for c in items if f"{c.asset}-{c.quote}" == family]
        return self._ok([self._instrument(c) for c in items])

    def _instrument(self, c: Contract) -> dict[str, object]:
        price = self.u.price(c, self.u.clock.start_ms)
        tick = fmt_px(price / 10000, 1)
        pre = c.status == "prelaunch"
        return {
            "instType": "SWAP", "instId": c.symbol, "uly": f"{c.asset}-{c.quote}",
            "instFamily": f"{c.asset}-{c.quote}", "baseCcy": "", "quoteCcy": "",
            "settleCcy": c.settle, "ctVal": fmt_px(c.contract_size), "ctMult": "1",
            "ctValCcy": c.asset, "ctType": "linear", "optType": "", "stk": "",
            "listTime": str(c.listed_ms), "expTime": "", "lever": "50", "tickSz": tick,
            "lotSz": "1", "minSz": "1", "maxLmtSz": "100000", "maxMktSz": "10000",
            "maxLmtAmt": "20000000", "maxMktAmt": "", "alias": "",
            "state": "preopen" if pre else "live",
            "ruleType": "pre_market" if pre else "normal", "instCategory": "1",
            "contTdSwTime": "", "openType": "", "futureSettlement": False,
        }

    def funding_rate(self, req: Request) -> Response:
        inst_id = req.query.get("instId", "")
        if not inst_id:
            raise ParamError("Parameter instId can not be empty.", "50014")
        now = self.u.now_ms()
        targets = self.perps() if inst_id == "ANY" else [self._swap(inst_id)]
        return self._ok([self._current(c, now) for c in targets])

    def _current(self, c: Contract, now: int) -> dict[str, str]:
        snap = self.u.snapshot(c, now)
        upcoming = to_ms(snap.next_funding_time)
        step = c.interval_ms
        prev_rate = self.u.rate_at_index(c, upcoming // step - 1)
        cap = "0.015" if c.interval_hours != 8 else "0.00375"
        digits = self.rate_decimals
        return {
            "formulaType": "noRate", "fundingRate": fmt_rate(snap.rate, digits),
            "fundingTime": str(upcoming), "impactValue": "", "instId": c.symbol,
            "instType": "SWAP", "interestRate": "0", "maxFundingRate": cap,
            "method": "current_period", "minFundingRate": "-" + cap, "nextFundingRate": "",
            "nextFundingTime": str(upcoming + step),
            "premium": fmt_rate(snap.rate * 0.8, digits),
            "settFundingRate": fmt_rate(prev_rate, digits),
            "settState": "settled", "ts": str(now),
        }

    def funding_history(self, req: Request) -> Response:
        inst_id = req.query.get("instId", "")
        if not inst_id:
            raise ParamError("Parameter instId can not be empty.", "50014")
        c = self._swap(inst_id)
        err = ParamError("Parameter limit error", "51000")
        limit = int_param(req, "limit", MAX_HISTORY, error=err)
        if limit is None or not 1 <= limit <= MAX_HISTORY:
            raise err
        after = int_param(req, "after", error=ParamError("Parameter after error", "51000"))
        before = int_param(req, "before", error=ParamError("Parameter before error", "51000"))
        lo = before + 1 if before is not None else 0
        hi = after - 1 if after is not None else self.u.now_ms()
        rows = self.u.rows(c, lo, hi)
        # newest first; with only `before`, the page nearest to it (so it pages forward)
        page = rows[:limit] if before is not None and after is None else rows[-limit:]
        return self._ok([self._history_row(c, r) for r in reversed(page)])

    def _history_row(self, c: Contract, r: Row) -> dict[str, str]:
        digits = self.rate_decimals
        predicted = quantize(r.rate * (1 + (unit(c.key, r.grid) - 0.5) * 0.002), digits)
        return {
            "formulaType": "noRate", "fundingRate": fmt_rate(predicted, digits),
            "fundingTime": str(r.reported_ms), "instId": c.symbol, "instType": "SWAP",
            "method": "current_period", "realizedRate": fmt_rate(r.rate, digits),
        }

    def mark_price(self, req: Request) -> Response:
        if self._inst_type(req) != "SWAP":
            return self._ok([])
        now = self.u.now_ms()
        return self._ok([
            {"instType": "SWAP", "instId": c.symbol,
             "markPx": fmt_px(self.u.snapshot(c, now).mark_price), "ts": str(now)}
            for c in self.perps()
        ])

    def tickers(self, req: Request) -> Response:
        if self._inst_type(req) != "SWAP":
            return self._ok([])
        now = self.u.now_ms()
        rows = []
        for c in self.perps():
            snap = self.u.snapshot(c, now)
            last = fmt_px(snap.mark_price)
            vol = snap.volume_24h / c.contract_size
            rows.append({
                "instType": "SWAP", "instId": c.symbol, "last": last, "lastSz": "1",
                "askPx": last, "askSz": "1", "bidPx": last, "bidSz": "1", "open24h": last,
                "high24h": fmt_px(snap.mark_price * 1.02), "low24h": fmt_px(snap.mark_price * 0.98),
                "volCcy24h": fmt_px(snap.volume_24h), "vol24h": fmt_px(vol), "sodUtc0": last,
                "sodUtc8": last, "ts": str(now),
            })
        return self._ok(rows)

    def open_interest(self, req: Request) -> Response:
        if self._inst_type(req) != "SWAP":
            return self._ok([])
        now = self.u.now_ms()
        rows = []
        for c in self.perps():
            snap = self.u.snapshot(c, now)
            rows.append({
                "instType": "SWAP", "instId": c.symbol,
                "oi": fmt_px(snap.open_interest / c.contract_size),
                "oiCcy": fmt_px(snap.open_interest),
                "oiUsd": f"{snap.open_interest * snap.mark_price:.2f}", "ts": str(now),
            })
        return self._ok(rows)
