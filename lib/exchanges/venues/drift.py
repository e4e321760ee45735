"""Drift Protocol (Solana) perpetuals from its Data API, data.api.drift.trade: `SOL-PERP`.

`/stats/markets` lists every market (perp and spot) with the live funding estimate, mark and
oracle price, open interest per side and 24 h volume: one request for the whole snapshot.
Its `fundingRate.long` / `.short` are **percent per hour** signed as each side's profit or loss
(longs paying shows as a negative `long`), so the project's rate (a fraction, positive when
longs pay shorts) is `-long / 100`. History comes from `/market/{symbol}/fundingRates`,
newest first, numbered pages of up to 750, about 31 days retained; a record's `fundingRate`
is quote per base unit for the hour, already scaled: the fraction is `fundingRate /
oraclePriceTwap`. The legacy `/fundingRates?marketName=` (`parse_legacy_history`) gives the
same records as raw on-chain integers (fundingRate x 1e9, oraclePriceTwap x 1e6): applying
that scaling to the new endpoint's values would make every rate 1000 times too small, so the
two are parsed apart (../shared/exchange-apis-more.md §19).

Funding is hourly: every rate field is published per hour (on-chain `fundingPeriod` 3600), so
the interval is the unit the venue states, and a lazy update stamped minutes past the hour
belongs to that hour. The venue may be winding down (exploited 2026-04, renamed Velocity,
plain clients answered 403 and data stopped around 2026-03-31): a 403 or a snapshot whose
newest funding update is older than `STALE_AFTER` is an error naming that, which the collector
records as this venue's failure while the others carry on.

Confirmed by recorded real replies (../shared/exchange-responses/drift/, ccxt's
`/stats/markets`): the market list's shape, strings for decimals, `marketType`, `status`
`active`, the side-signed percent rates (`long` +0.00093 with `fundingRate24h` -0.000569) and
`fundingRateUpdateTs` in seconds. From documentation and third-party notes alone: the history
endpoints, their paging (`page`, `meta.nextPage`), retention and scales, the sign convention's
reading, the 403s, and the rate limit: none is published; we keep to 120 requests per minute
(ccxt's unmerged drift client allows 240, a third-party collector uses 60), our own choice.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from lib.errors import ExchangeDataError, ExchangeError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    contract_from_symbol,
    field,
    finite,
    json_object,
    objects,
    optional_field,
    reply_error,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import floor_to_interval, hours, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "drift"
MARKETS = "/stats/markets"
HISTORY = "/market/{symbol}/fundingRates"
LEGACY_HISTORY = "/fundingRates"
INTERVAL_HOURS = 1.0  # every rate field is per hour; fundingPeriod 3600 on-chain
# ccxt treats these as active; others (delisted, settlement, reduceOnly...) are not collected
LIVE_STATUSES = frozenset({"active", "fundingPaused", "ammPaused"})
CONTRACT_SIZE = 1.0  # sizes in base units
STALE_AFTER = timedelta(hours=6)  # no funding update for this long: the venue stopped publishing
LEGACY_RATE_SCALE = Decimal(10) ** 9  # FUNDING_RATE_PRECISION
LEGACY_PRICE_SCALE = Decimal(10) ** 6  # PRICE_PRECISION


def _check(payload: Any, endpoint: str) -> dict[str, Any]:
    """The reply object; `{"success": false, "message": ...}` raises."""
    reply = json_object(EXCHANGE, endpoint, payload)
    if reply.get("success") is False:
        raise reply_error(EXCHANGE, endpoint, reply.get("message", ""))
    return reply


def _decimal(value: Any) -> Decimal:
    """A decimal string or number as an exact Decimal, for `field(...)`."""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a finite number")
    return number


def seconds(value: Any) -> datetime:
    return datetime.fromtimestamp(float(value), tz=UTC)


def side_percent_to_rate(long_percent: Any) -> float:
    """`fundingRate.long` (percent per hour, the longs' P&L) as a fraction per hour, positive
    when longs pay shorts: longs paying 0.001 % shows as "-0.001" and is +0.00001."""
    return float(-_decimal(long_percent) / 100)


def _perps(payload: Any) -> list[dict[str, Any]]:
    """The live perp markets of a `/stats/markets` reply (spot and delisted left out)."""
    rows = []
    for row in objects(EXCHANGE, MARKETS, _check(payload, MARKETS), "markets"):
        symbol = field(EXCHANGE, MARKETS, row, "symbol", text)
        kind = field(EXCHANGE, MARKETS, row, "marketType", text)
        status = field(EXCHANGE, MARKETS, row, "status", text)
        if kind != "perp" or status not in LIVE_STATUSES:
            logger.debug("drift %s: skipped, %s %s", symbol, kind, status)
            continue
        rows.append(row)
    return rows


def parse_contracts(payload: Any) -> list[Contract]:
    """Live perpetuals from `GET /stats/markets` (no listing time is given).

    Sample (trimmed)::

        {"success": true, "markets": [{"symbol": "BTC-PERP", "marketIndex": 1,
          "marketType": "perp", "baseAsset": "BTC", "quoteAsset": "USDC", "status": "active",
          ...}]}
    """
    contracts = []
    for row in _perps(payload):
        symbol = row["symbol"]
        quote_asset = field(EXCHANGE, MARKETS, row, "quoteAsset", text)
        contract = contract_from_symbol(
            EXCHANGE, symbol, INTERVAL_HOURS,
            base=symbol.removesuffix("-PERP"), quote=quote_asset, settle=quote_asset,
            contract_size=CONTRACT_SIZE,
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_current(payload: Any, observed_at: datetime | None = None) -> list[FundingSnapshot]:
    """Live hourly estimates of every perp from `GET /stats/markets`.

    Rate = -`fundingRate.long` / 100; open interest = the larger side (base units); volume
    `quoteVolume` (USDC). When even the newest `fundingRateUpdateTs` is `STALE_AFTER` old the
    venue has stopped publishing: an error, not stale rates. Sample (trimmed)::

        {"success": true, "markets": [{"symbol": "BTC-PERP", "marketType": "perp",
          "status": "active", "oraclePrice": "68525.837797", "markPrice": "68481.850665",
          "quoteVolume": "20508203.775252",
          "openInterest": {"long": "264.7866", "short": "-312.3766"},
          "fundingRate": {"long": "0.00093", "short": "-0.00093"},
          "fundingRateUpdateTs": 1770728410, ...}]}
    """
    now = observed_at or utcnow()
    rows = _perps(payload)
    if not rows:
        raise ExchangeError(EXCHANGE, f"{MARKETS}: no live perp markets: the venue has stopped "
                                      "publishing (winding down or renamed?)")
    updates = [optional_field(r, "fundingRateUpdateTs", seconds) for r in rows]
    newest = max((u for u in updates if u is not None), default=None)
    if newest is None or now - newest > STALE_AFTER:
        raise ExchangeError(EXCHANGE, f"{MARKETS}: no funding update since {newest}: the venue "
                                      "has stopped publishing (winding down or renamed?)")
    next_time = floor_to_interval(now, INTERVAL_HOURS) + hours(INTERVAL_HOURS)
    snapshots = []
    for row in rows:
        symbol = row["symbol"]
        rates = field(EXCHANGE, MARKETS, row, "fundingRate", dict)
        interest: dict[str, Any] = row["openInterest"] if isinstance(
            row.get("openInterest"), dict) else {}
        sides = [abs(v) for side in ("long", "short")
                 if (v := optional_field(interest, side)) is not None]
        snapshots.append(FundingSnapshot(
            exchange=EXCHANGE, symbol=symbol,
            funding_rate=finite(field(EXCHANGE, MARKETS, rates, "long", side_percent_to_rate)),
            funding_interval_hours=INTERVAL_HOURS, next_funding_time=next_time, timestamp=now,
            mark_price=optional_field(row, "markPrice"),
            index_price=optional_field(row, "oraclePrice"),
            open_interest=max(sides) if sides else None,
            volume_24h=optional_field(row, "quoteVolume"),
            open_interest_unit="base", volume_unit="quote",
        ))
    return snapshots


def parse_updates(payload: Any) -> dict[str, datetime]:
    """{symbol: last funding update} from `GET /stats/markets` (`fundingRateUpdateTs`, s);
    markets without one are left out."""
    updates = {}
    for row in _perps(payload):
        when = optional_field(row, "fundingRateUpdateTs", seconds)
        if when is not None:
            updates[row["symbol"]] = when
    return updates


def _events(rows: list[dict[str, Any]], symbol: str, endpoint: str,
            scale: Decimal) -> list[FundingEvent]:
    """Records as hourly events: fraction = (fundingRate / oraclePriceTwap) / `scale`."""
    events = []
    for row in rows:
        quote_per_base = field(EXCHANGE, endpoint, row, "fundingRate", _decimal)
        twap = field(EXCHANGE, endpoint, row, "oraclePriceTwap", _decimal)
        if twap <= 0:
            raise ExchangeDataError(EXCHANGE, endpoint, f"field 'oraclePriceTwap' is {twap}")
        events.append(FundingEvent(
            exchange=EXCHANGE, symbol=symbol,
            funding_time=field(EXCHANGE, endpoint, row, "ts", seconds),
            funding_rate=float(quote_per_base / twap / scale),
            funding_interval_hours=INTERVAL_HOURS,
        ))
    return events


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Hourly rates from `GET /market/{symbol}/fundingRates` (newest first; decimal strings
    already scaled): fraction per hour = fundingRate / oraclePriceTwap.

    Sample (trimmed)::

        {"success": true, "records": [{"ts": 1775066400, "symbol": "SOL-PERP",
          "fundingRate": "-0.001024958", "oraclePriceTwap": "84.693889", ...}],
         "meta": {"nextPage": null}}
    """
    rows = objects(EXCHANGE, HISTORY, _check(payload, HISTORY), "records")
    return _events(rows, symbol, HISTORY, Decimal(1))


def parse_legacy_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Hourly rates from the legacy `GET /fundingRates?marketName=` (raw on-chain integers in
    strings): fraction per hour = (fundingRate / 1e9) / (oraclePriceTwap / 1e6).

    Sample (trimmed)::

        {"fundingRates": [{"ts": "1771383600", "symbol": "SOL-PERP",
          "fundingRate": "-1889875", "oraclePriceTwap": "84642173", ...}]}
    """
    rows = objects(EXCHANGE, LEGACY_HISTORY, _check(payload, LEGACY_HISTORY), "fundingRates")
    return _events(rows, symbol, LEGACY_HISTORY, LEGACY_RATE_SCALE / LEGACY_PRICE_SCALE)


class Adapter(ExchangeAdapter):
    """Drift: stats/markets = snapshot; history by numbered pages, newest first."""

    id = EXCHANGE
    default_base_url = "https://data.api.drift.trade"
    rate_limit = RateLimit(120, 60.0)  # none published: our conservative 2 requests/s
    history_page_size = 750
    history_direction = "pages"  # numbered pages from 1, newest first, no time parameters
    history_unit = "page"

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self.http.get_json(MARKETS))

    def fetch_current(self) -> list[FundingSnapshot]:
        return parse_current(self.http.get_json(MARKETS), self.http.exchange_now())

    def published_settlements(self) -> dict[str, datetime]:
        """Each perp's last on-chain funding update: Drift updates lazily, seconds to minutes
        after the hour, and its history has the hour's record only from then on."""
        return parse_updates(self.http.get_json(MARKETS))

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        path = HISTORY.format(symbol=quote(contract.symbol, safe=""))
        params = {"limit": self.history_page_size, "page": query.page}
        return parse_history(self.http.get_json(path, params), contract.symbol)

    def legacy_history(self, contract: Contract) -> list[FundingEvent]:
        """The last 30 days from the legacy endpoint (one request, oldest first)."""
        payload = self.http.get_json(LEGACY_HISTORY, {"marketName": contract.symbol})
        return sorted(parse_legacy_history(payload, contract.symbol),
                      key=lambda e: e.funding_time)
