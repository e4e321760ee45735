"""Drift Protocol's Data API (data.api.drift.trade): `SOL-PERP`, `1MBONK-PERP`, `1KMEW-PERP`.

Facts (exchange-apis-more.md §19, drift-labs/v2-teacher `_data_api.md`, ccxt's recorded
`/stats/markets`): `/stats/markets` lists perp and spot markets with decimal strings already
scaled; `fundingRate.long` / `.short` are the live estimate in **percent per hour**, signed as
each side's profit or loss (longs paying shows as a negative `long`); `fundingRateUpdateTs`
(seconds) is the last on-chain update; open interest per side in base units (short
negative). Funding is hourly and updated lazily, so a record's `ts` (seconds) is seconds to
minutes past the hour. `/market/{symbol}/fundingRates` pages newest first (`limit` 1-750,
default 20, numbered `page` from 1, `meta.nextPage`; the real one keeps ~31 days, the
simulator all it holds, so that paging past one page is exercised); its
`fundingRate` is quote per base unit for the hour (rate = fundingRate / oraclePriceTwap),
printed here with 15 decimals (the real API prints 9) so that the hourly rate the ground truth
holds is recovered exactly. The legacy `/fundingRates?marketName=` gives the last 30 days
(oldest first; the order is not documented) as raw on-chain integers in strings: fundingRate
x 1e9, oraclePriceTwap x 1e6, so the same value is 1000 times smaller if the new endpoint's
values were scaled like them. `/contracts` (legacy, CoinGecko style) gives `funding_rate` and
`next_funding_rate` in percent per hour with the standard sign.

No rate limit is published: the simulator enforces the conservative 120 requests per minute
the adapter keeps to (429 `{"message": "Too Many Requests"}`). The venue may be winding down
(exploited 2026-04, renamed Velocity): set `forbidden` and it answers every request 403
`{"message": "Forbidden"}`, as plain clients got in 2026; set `stopped_days_ago` and its
markets' last funding update is that old (the data stopped around 2026-03-31).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from lib.simulator.assets import NamingRules
from lib.simulator.contracts import DAY_MS, HOUR_MS, Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, retry_after_header
from lib.simulator.venues.base import ParamError, Route, Venue, fmt_px, int_param

MAX_LIMIT = 750
DEFAULT_LIMIT = 20
LEGACY_MS = 30 * DAY_MS
ACTIVE = "active"
SPOT_MARKETS = ("USDC", "SOL", "mSOL")  # spot markets on the same list: adapters skip them


def _percent(rate: float, sign: int = 1) -> str:
    """A fraction per hour as Drift's percent string (6 significant decimals of percent)."""
    text = f"{sign * rate * 100:.9f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


class Drift(Venue):
    name = "drift"
    default_size = 60
    interval_mix = (0.0, 0.0, 1.0)  # hourly (fundingPeriod 3600 on-chain)
    naming = NamingRules("{base}-PERP", "USDC", "USDC", multiplier="prefix",
                         prefix_names={1000: "1K", 1_000_000: "1M"})
    delisted_listed = 2
    rate_decimals = 9
    jitter = (1_000, 150_000, 0.0)  # lazy on-chain updates: seconds to minutes late
    rate_limits = (Limit("ip", 120, 60.0),)
    history_cost = HistoryCost("ip")
    snapshot_call = Call("GET", "/stats/markets")
    forbidden: bool = False  # set on the running venue: every request answered 403
    stopped_days_ago: float = 0.0  # set: no funding update since then (data stopped publishing)

    def register(self) -> None:
        self.add("GET", "/stats/markets", self.stats_markets)
        self.add("GET", "/contracts", self.contracts)
        self.add("GET", "/market/{symbol}/fundingRates", self.funding_rates)
        self.add("GET", "/fundingRates", self.legacy_funding_rates)

    def handle(self, req: Request) -> Response:
        if self.forbidden:
            return json_response({"message": "Forbidden"}, status=403)
        return super().handle(req)

    def not_found(self, req: Request) -> Response:
        return json_response({"message": "Not Found"}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"success": False, "message": err.message}, status=err.status)

    def internal_error(self, status: int) -> Response:
        return json_response({"message": "Internal server error"}, status=status)

    def check_limits(self, req: Request, route: Route) -> Response | None:
        verdict = self.charge("ip", req, route)
        if verdict.allowed:
            return None
        resp = json_response({"message": "Too Many Requests"}, status=429)
        resp.headers["Retry-After"] = retry_after_header(verdict.retry_after)
        return resp

    # ----- markets ----------------------------------------------------------------------------
    def _listed(self) -> list[Contract]:
        return [c for c in self.u.instruments(self.name) if c.status in ("trading", "delisted")]

    def _market(self, c: Contract, index: int, now: int) -> dict[str, Any]:
        snap = self.u.snapshot(c, now)
        live = c.status == "trading"
        rate = snap.rate if live else 0.0
        last = self.u.rows(c, now - 6 * HOUR_MS, now)
        updated = (last[-1].reported_ms if last else now - now % HOUR_MS) // 1000
        if self.stopped_days_ago:  # the on-chain updates stopped: the last one is that old
            updated = (now - int(self.stopped_days_ago * DAY_MS)) // 1000
        oi = snap.open_interest if live else 0.0
        return {
            "symbol": c.symbol, "marketIndex": index, "marketType": "perp",
            "baseAsset": c.base, "quoteAsset": c.quote, "status": ACTIVE if live else "delisted",
            "precision": 9, "limits": {"leverage": {"min": 1, "max": 20 if c.rank < 3 else 5},
                                       "amount": {"min": 0.0001, "max": 3500}},
            "fees": {"maker": -0.00002, "taker": 0.00035},
            "oraclePrice": f"{snap.index_price:.6f}", "markPrice": f"{snap.mark_price:.6f}",
            "baseVolume": f"{snap.volume_24h:.6f}",
            "quoteVolume": f"{snap.volume_24h * snap.index_price:.6f}",
            "openInterest": {"long": f"{oi:.4f}", "short": f"{-oi * 0.93:.4f}"},
            "fundingRate": {"long": _percent(rate, -1), "short": _percent(rate)},
            "fundingRate24h": _percent(rate), "fundingRateUpdateTs": updated,
            "price": f"{snap.mark_price:.6f}", "priceChange24h": "0.000000",
            "priceChange24hPercent": "0.00",
        }

    def _spot(self, name: str, index: int) -> dict[str, Any]:
        return {"symbol": name, "marketIndex": index, "marketType": "spot", "baseAsset": name,
                "quoteAsset": "USDC", "status": ACTIVE, "precision": 6,
                "oraclePrice": "1.000000", "markPrice": "1.000000", "baseVolume": "0",
                "quoteVolume": "0", "openInterest": {"long": "0", "short": "0"},
                "fundingRate": {"long": "0", "short": "0"}, "fundingRate24h": "0",
                "fundingRateUpdateTs": 0, "price": "1.000000"}

    def stats_markets(self, req: Request) -> Response:
        now = self.u.now_ms()
        markets = [self._market(c, i, now) for i, c in enumerate(self._listed())]
        markets += [self._spot(name, i) for i, name in enumerate(SPOT_MARKETS)]
        return json_response({"success": True, "markets": markets}, listing=True)

    def contracts(self, req: Request) -> Response:
        now = self.u.now_ms()
        out = []
        for i, c in enumerate(self.perps()):
            snap = self.u.snapshot(c, now)
            last = self.u.rows(c, now - 6 * HOUR_MS, now)
            out.append({
                "contract_index": i, "ticker_id": c.symbol, "base_currency": c.base,
                "quote_currency": c.quote, "last_price": fmt_px(snap.mark_price),
                "base_volume": f"{snap.volume_24h:.9f}",
                "quote_volume": f"{snap.volume_24h * snap.index_price:.6f}",
                "high": fmt_px(snap.mark_price * 1.02), "low": fmt_px(snap.mark_price * 0.98),
                "product_type": "PERP", "open_interest": f"{snap.open_interest:.9f}",
                "index_price": fmt_px(snap.index_price), "index_name": c.base,
                "index_currency": c.quote, "start_timestamp": str(c.listed_ms),
                "end_timestamp": str(now),
                "funding_rate": _percent(last[-1].rate) if last else "N/A",
                "next_funding_rate": _percent(snap.rate),
                "next_funding_rate_timestamp": str(now - now % HOUR_MS + HOUR_MS),
            })
        return json_response({"contracts": out}, listing=True)

    # ----- history ----------------------------------------------------------------------------
    def _perp(self, symbol: str) -> Contract:
        c = self.lookup(symbol)
        if c is None or c.kind != "perpetual":
            raise ParamError(f"Market {symbol} not found", status=404)
        return c

    def _twap(self, c: Contract, at_ms: int) -> Decimal:
        return Decimal(f"{self.u.price(c, at_ms):.6f}")

    def funding_rates(self, req: Request) -> Response:
        c = self._perp(req.path_params["symbol"])
        bad = ParamError("limit must be an integer from 1 to 750; page a positive integer")
        limit = int_param(req, "limit", DEFAULT_LIMIT, error=bad) or 0
        page = int_param(req, "page", 1, error=bad) or 0
        if not 1 <= limit <= MAX_LIMIT or page < 1:
            raise bad
        now = self.u.now_ms()
        rows = self.u.rows(c, 0, now)[::-1]  # newest first
        chunk = rows[(page - 1) * limit: page * limit]
        records = []
        for r in chunk:
            twap = self._twap(c, r.time_ms)
            quote = Decimal(repr(r.rate)) * twap  # exact: quote per base for the hour
            records.append({
                "ts": r.reported_ms // 1000, "txSig": f"sim{c.key % 10**8:08d}{r.grid}",
                "slot": 300_000_000 + r.reported_ms // 400, "recordId": str(r.grid),
                "marketIndex": self._listed().index(c), "symbol": c.symbol,
                "fundingRate": f"{quote:.15f}", "fundingRateLong": f"{quote:.15f}",
                "fundingRateShort": f"{quote:.15f}",
                "cumulativeFundingRateLong": "44.373045417",
                "cumulativeFundingRateShort": "44.166845742",
                "oraclePriceTwap": f"{twap:.6f}",
                "markPriceTwap": f"{twap * (1 + Decimal(repr(r.rate))):.6f}",
                "periodRevenue": "0.000000", "baseAssetAmountWithAmm": "0.000000000",
                "baseAssetAmountWithUnsettledLp": "0.000000000",
            })
        more = page * limit < len(rows)
        return json_response({"success": True, "records": records,
                              "meta": {"nextPage": page + 1 if more else None}}, listing=True)

    def legacy_funding_rates(self, req: Request) -> Response:
        name = req.query.get("marketName")
        if not name:
            raise ParamError("marketName or marketIndex is required")
        c = self._perp(name)
        now = self.u.now_ms()
        out = []
        for r in self.u.rows(c, now - LEGACY_MS, now):
            twap = self._twap(c, r.time_ms)
            quote = Decimal(repr(r.rate)) * twap
            out.append({
                "ts": str(r.reported_ms // 1000), "slot": str(300_000_000 + r.reported_ms // 400),
                "marketIndex": str(self._listed().index(c)), "symbol": c.symbol,
                "fundingRate": str(round(quote * 10**9)),
                "fundingRateLong": str(round(quote * 10**9)),
                "fundingRateShort": str(round(quote * 10**9)),
                "oraclePriceTwap": str(round(twap * 10**6)),
                "markPriceTwap": str(round(twap * (1 + Decimal(repr(r.rate))) * 10**6)),
            })
        return json_response({"fundingRates": out}, listing=True)

    def empty(self, resp: Response) -> Response:
        body = resp.body
        if isinstance(body, dict):
            for key in ("records", "markets", "fundingRates", "contracts"):
                if key in body:
                    body[key] = []
        return resp
