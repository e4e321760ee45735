"""Aster (AsterDEX) futures: Binance's "fapi" with Aster's differences (exchange-apis-more.md §16).

The same paths under `/fapi/v1/` ("legacy") and `/fapi/v3/` (what ccxt calls), the same error
body, weight header, 429 and 418 ban as Binance, so the venue is Binance's with these
differences, from Aster's docs and ccxt's recorded replies:

- `fundingInfo` lists every symbol in Aster's own row shape (`interestRate`, `time`,
  `fundingIntervalHours`, `fundingFeeCap`/`fundingFeeFloor` numbers or null);
- `fundingRate` rows have no `markPrice` and are stamped exactly on the settlement; without
  `symbol` the endpoint returns every symbol's rows, ascending from `startTime` (or the most
  recent `limit` rows without it), up to 1000;
- only 2400 weight a minute: no separate funding budget; no dated futures; pending
  perpetuals show `contractType: ""`;
- `premiumIndex` and `fundingInfo` also carry USD-quoted rows that are no tradable perpetual
  (BTCUSD, rate "0"): clients must join with exchangeInfo or the symbol rules.
"""

from __future__ import annotations

from typing import ClassVar

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit
from lib.simulator.series import unit
from lib.simulator.venues.base import Route, fmt_rate
from lib.simulator.venues.binance import Binance

DECOYS = ("BTC", "ETH")  # USD-quoted rows in premiumIndex/fundingInfo that are no perpetual


class Aster(Binance):
    name = "aster"
    default_size = 150
    interval_mix = (0.60, 0.25, 0.15)
    two_hour_share = 0.3  # 1, 2, 4 and 8 h are all seen in fundingInfo
    naming = NamingRules("{base}USDT", "USDT", "USDT", multiplier="prefix")
    prelaunch_listed = 1
    dated_futures = None
    rate_decimals = 8
    jitter = (0, 0, 0.0)  # stamped exactly on the settlement (the recorded reply)
    rate_limits = (Limit("weight", 2400, 60.0),)
    history_cost = HistoryCost("weight")
    snapshot_call = Call("GET", "/fapi/v1/premiumIndex")
    snapshot_requests = 2  # premiumIndex lacks the interval: fundingInfo
    funding_routes: ClassVar[frozenset[str]] = frozenset()

    def register(self) -> None:
        super().register()
        v1 = list(self.routes)
        for route in v1:  # the same public endpoints under /fapi/v3, counted alike
            path = "/" + "/".join(route.segments).replace("fapi/v1/", "fapi/v3/")
            self.add(route.method, path, route.handler, name=path)

    def _symbol_info(self, c: Contract) -> dict[str, object]:
        info = super()._symbol_info(c)
        if c.status == "prelaunch":
            info["contractType"] = ""
        return info

    def _weight(self, req: Request, route: Route) -> int:
        if route.name.endswith("/ticker/24hr") and "symbol" not in req.query:
            return 40
        return 1

    def premium_index(self, req: Request) -> Response:
        resp = super().premium_index(req)
        if "symbol" not in req.query:
            now = self.u.now_ms()
            resp.body = resp.body + [
                {"symbol": f"{asset}USD", "markPrice": "0.00000000", "indexPrice": "0.00000000",
                 "estimatedSettlePrice": "0.00000000", "lastFundingRate": "0",
                 "interestRate": "0", "nextFundingTime": (now // 3_600_000 + 1) * 3_600_000,
                 "time": now}
                for asset in DECOYS
            ]
        return resp

    def _history_row(self, c: Contract, reported: int, t: int, rate: float) -> dict[str, object]:
        return {"symbol": c.symbol, "fundingTime": reported,
                "fundingRate": fmt_rate(rate, self.rate_decimals, trim=False)}

    def funding_info(self, req: Request) -> Response:
        one = self._symbol(req)
        now = self.u.now_ms()
        rows = []
        for c in [one] if one else self.perps():
            capped = c.interval_hours != 8 or unit(c.key, 77) < 0.3
            cap = 0.03 if c.interval_hours == 8 else 0.02
            rows.append({
                "symbol": c.symbol, "interestRate": "0.00010000", "time": now,
                "fundingIntervalHours": c.interval_hours,
                "fundingFeeCap": cap if capped else None,
                "fundingFeeFloor": -cap if capped else None,
            })
        if one is None:
            rows += [{"symbol": f"{asset}USD", "interestRate": "0.00000000", "time": now,
                      "fundingIntervalHours": 2, "fundingFeeCap": None, "fundingFeeFloor": None}
                     for asset in DECOYS]
        return json_response(rows, listing=True)
