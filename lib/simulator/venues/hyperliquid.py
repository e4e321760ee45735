"""Hyperliquid: everything is POST /info with a JSON body {"type": ...}.

Facts (exchange-apis.md §8): metaAndAssetCtxs = [meta, assetCtxs] aligned by index (delisted
coins stay in place with isDelisted); funding hourly, values strings; fundingHistory needs
startTime, ≤ 500 rows ascending, `time` a few ms after the hour; 1200 weight per minute
(info 20, +1 per 20 rows of fundingHistory; allMids 2).
"""

from __future__ import annotations

from typing import Any

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, fmt_rate

WEIGHT, LIGHT_WEIGHT = 20, 2  # per /info request; the light types below cost 2
ROWS_PER_EXTRA_WEIGHT = 20  # fundingHistory: +1 weight per 20 rows returned
LIGHT = {"l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState",
         "exchangeStatus"}
MAX_HISTORY = 500


class Hyperliquid(Venue):
    name = "hyperliquid"
    default_size = 170
    interval_mix = (0.0, 0.0, 1.0)
    naming = NamingRules("{base}", "USDC", "USDC", multiplier="k")  # kPEPE = 1000 PEPE
    delisted_listed = 3
    rate_decimals = 10
    jitter = (1, 120, 0.0)
    rate_limits = (Limit("ip", 1200, 60.0),)
    history_cost = HistoryCost("ip", per_request=WEIGHT, per_row=1 / ROWS_PER_EXTRA_WEIGHT)
    snapshot_call = Call("POST", "/info", body={"type": "metaAndAssetCtxs"})

    def register(self) -> None:
        self.add("POST", "/info", self.info)

    def not_found(self, req: Request) -> Response:
        return Response(status=404, raw=b"", content_type="text/plain")

    def param_error(self, req: Request, err: ParamError) -> Response:
        return Response(status=err.status, raw=err.message.encode(), content_type="text/plain")

    def internal_error(self, status: int) -> Response:
        return Response(status=status, raw=b"Internal Server Error", content_type="text/plain")

    def check_limits(self, req: Request, route: Route) -> Response | None:
        kind = _body_type(req)
        weight = LIGHT_WEIGHT if kind in LIGHT else WEIGHT
        verdict = self.charge("ip", req, route, weight)
        if verdict.allowed:
            return None
        resp = json_response(None, status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    # ----- endpoints --------------------------------------------------------------------------
    def info(self, req: Request) -> Response:
        try:
            body = req.json_body()
        except ValueError:
            raise ParamError("Failed to deserialize the JSON body into the target type",
                             status=422) from None
        if not isinstance(body, dict) or not isinstance(body.get("type"), str):
            raise ParamError("Failed to deserialize the JSON body into the target type: "
                             "missing field `type`", status=422)
        handler = {
            "meta": self.meta,
            "metaAndAssetCtxs": self.meta_and_ctxs,
            "fundingHistory": self.funding_history,
            "allMids": self.all_mids,
            "predictedFundings": self.predicted,
            "spotMeta": lambda b: json_response({"universe": [], "tokens": []}),
            "perpDexs": lambda b: json_response([None]),
        }.get(body["type"])
        if handler is None:
            raise ParamError("Failed to deserialize the JSON body into the target type: "
                             f"unknown variant `{body['type']}`", status=422)
        return handler(body)

    def _universe(self) -> list[Contract]:
        return [c for c in self.u.instruments(self.name) if c.status != "prelaunch"]

    def _meta_entry(self, c: Contract) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "szDecimals": 5 if c.ref_price > 1000 else 2 if c.ref_price > 1 else 0,
            "name": c.symbol, "maxLeverage": 50 if c.rank < 3 else 10, "marginTableId": 50,
        }
        if c.status == "delisted":
            entry["isDelisted"] = True
            entry["onlyIsolated"] = True
        return entry

    def meta(self, body: dict[str, Any]) -> Response:
        return json_response({"universe": [self._meta_entry(c) for c in self._universe()],
                              "marginTables": []})

    def meta_and_ctxs(self, body: dict[str, Any]) -> Response:
        now = self.u.now_ms()
        items = self._universe()
        ctxs = [self._ctx(c, now) for c in items]
        meta = {"universe": [self._meta_entry(c) for c in items], "marginTables": []}
        return json_response([meta, ctxs], listing=True)

    def _ctx(self, c: Contract, now: int) -> dict[str, Any]:
        snap = self.u.snapshot(c, now)
        mark = fmt_px(snap.mark_price, 5)
        live = c.status != "delisted"
        return {
            "funding": fmt_rate(snap.rate, self.rate_decimals) if live else "0.0",
            "openInterest": fmt_px(snap.open_interest) if live else "0.0",
            "prevDayPx": mark, "dayNtlVlm": f"{snap.volume_24h * snap.mark_price:.4f}",
            "premium": fmt_rate(snap.rate * 0.9, 8) if live else None,
            "oraclePx": fmt_px(snap.index_price, 5), "markPx": mark,
            "midPx": mark if live else None, "impactPxs": [mark, mark] if live else None,
            "dayBaseVlm": fmt_px(snap.volume_24h),
        }

    def funding_history(self, body: dict[str, Any]) -> Response:
        coin, start, end = body.get("coin"), body.get("startTime"), body.get("endTime")
        if not isinstance(coin, str) or not isinstance(start, int):
            raise ParamError("Failed to deserialize the JSON body into the target type: "
                             "missing field `startTime`", status=422)
        if end is not None and not isinstance(end, int):
            raise ParamError("Failed to deserialize the JSON body into the target type",
                             status=422)
        c = self.lookup(coin)
        if c is None:
            return json_response([], listing=True)
        rows = self.u.rows(c, start, end if end is not None else self.u.now_ms())
        out = [{"coin": c.symbol, "fundingRate": fmt_rate(r.rate, self.rate_decimals),
                "premium": fmt_rate(r.rate * 0.9, 8), "time": r.reported_ms}
               for r in rows[:MAX_HISTORY]]
        extra = len(out) // ROWS_PER_EXTRA_WEIGHT
        if extra:  # charged after the fact, so never refused
            window = self.limit("ip").window_s
            self.limiter.charge(f"{self.name}:ip", 10**9, window, extra)
        return json_response(out, listing=True)

    def all_mids(self, body: dict[str, Any]) -> Response:
        now = self.u.now_ms()
        return json_response({c.symbol: fmt_px(self.u.snapshot(c, now).mark_price, 5)
                              for c in self.perps()})

    def predicted(self, body: dict[str, Any]) -> Response:
        now = self.u.now_ms()
        out = []
        for c in self.perps():
            snap = self.u.snapshot(c, now)
            out.append([c.symbol, [["HlPerp", {
                "fundingRate": fmt_rate(snap.rate, self.rate_decimals),
                "nextFundingTime": now // 3_600_000 * 3_600_000 + 3_600_000,
                "fundingIntervalHours": 1,
            }]]])
        return json_response(out)

    def empty(self, resp: Response) -> Response:
        if isinstance(resp.body, list) and len(resp.body) == 2 and isinstance(resp.body[0], dict):
            resp.body = [{"universe": [], "marginTables": []}, []]
        elif isinstance(resp.body, list):
            resp.body = []
        return resp


def _body_type(req: Request) -> str:
    try:
        body = req.json_body()
    except ValueError:
        return ""
    return str(body.get("type", "")) if isinstance(body, dict) else ""
