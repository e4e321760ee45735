"""Lighter (zkLighter) perpetuals: markets addressed by numeric `market_id` (ETH is 0).

Three endpoints, three units for the same rate (../shared/exchange-apis-more.md §18):

- `/api/v1/funding-rates` (one request, every market): `rate` a JSON number, the next hour's
  rate as an **8-hour equivalent** fraction (hourly = rate / 8). It also relays Binance's,
  Bybit's and Hyperliquid's rates under Lighter's market ids: only `exchange == "lighter"` rows
  are Lighter's own.
- `/api/v1/fundings` (history): `rate` an **unsigned percent per hour** string truncated to
  4 decimals, the sign in `direction` (the side that paid: "long" = positive), `timestamp` in
  seconds on the hour; oldest first from `start_timestamp` (inclusive) to `end_timestamp`
  (exclusive), about 750 rows a reply at most (silently cut, no cursor).
- `/api/v1/orderBookDetails`: the market list with prices (`mark_price`, `index_price`),
  one-sided open interest in base units, the day's USDC volume and the clamps (percent).

Interval: the documented 1 h ("each deployed market has a funding period of 1 hour"; no
interval field exists); history rows carry the step their own timestamps show. Next funding:
the next full hour (no field). Rate cap: `funding_clamp_big` (percent, 8-hour scale) / 8.
Rate limit: 60 requests per rolling minute for standard (unauthenticated) accounts.

Confirmed by recorded real replies (../shared/exchange-responses/lighter/, ccxt's): the
funding-rates shape with `rate` a number (ETH market 0, 0.000096 = 8 x the 0.0012 % hourly
floor) and the orderBookDetails perp row (open_interest, volumes as numbers). Documentation and
third-party measurements only: the /8 and percent units (no official sentence; confirmed by
data in §18), the fundings shape and its 750-row cap, `end_timestamp` exclusive,
`count_back=0` returning the window oldest first, `mark_price`/`index_price`/clamps in
orderBookDetails, and the rate-limit reply (HTTP 429 assumed; codes 23000-23003).
"""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from lib.errors import ExchangeError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    Envelope,
    SnapshotFields,
    contract_from_symbol,
    field,
    finite,
    objects,
    optional_field,
    text,
)
from lib.exchanges.settlement_spacing import schedule_hours
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import floor_to_interval, from_seconds, hours, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "lighter"
DETAILS = "/api/v1/orderBookDetails"
RATES = "/api/v1/funding-rates"
FUNDINGS = "/api/v1/fundings"
INTERVAL_HOURS = 1.0  # documented: every market settles each hour
RATE_PER_HOURS = 8.0  # funding-rates gives the hourly rate scaled to 8 hours
CONTRACT_SIZE = 1.0  # sizes are in base units
# `code` 200 is success; 23000-23003 are "Too Many Requests!" and kin (ccxt's mapping)
ENVELOPE = Envelope("code", "message", frozenset({"200"}),
                    temporary=frozenset({"23000", "23001", "23002", "23003"}))
# merged row: the hourly rate and cap computed from funding-rates + orderBookDetails
SNAPSHOT = SnapshotFields(rate="hourly_rate", mark="mark_price", index="index_price",
                          open_interest="open_interest", volume="daily_quote_token_volume",
                          open_interest_unit="base", volume_unit="quote",
                          cap="hourly_cap", symmetric_cap=True)


def _market_id(endpoint: str, row: dict[str, Any]) -> int:
    """A row's market id: an integer, 0 included (ETH), never read as "missing"."""
    def integer(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ValueError(f"{value!r} is not a market id")
        return int(value)

    result: int = field(EXCHANGE, endpoint, row, "market_id", integer)
    return result


def _active_perps(payload: Any) -> list[dict[str, Any]]:
    """The active perpetual rows of orderBookDetails (spot markets are in another list)."""
    rows = objects(EXCHANGE, DETAILS, ENVELOPE.open(EXCHANGE, DETAILS, payload),
                   "order_book_details")
    live = []
    for row in rows:
        symbol = field(EXCHANGE, DETAILS, row, "symbol", text)
        kind = row.get("market_type", "perp")  # older replies omit it: the list is perps
        status = field(EXCHANGE, DETAILS, row, "status", str)
        if kind != "perp" or status != "active":
            logger.debug("lighter %s: skipped, %s %s", symbol, kind, status)
            continue
        _market_id(DETAILS, row)
        live.append(row)
    return live


def parse_contracts(payload: Any) -> list[Contract]:
    """Active perpetuals from `GET /api/v1/orderBookDetails`.

    Sample (ccxt's recording, trimmed)::

        {"code": 200, "order_book_details": [{"symbol": "ETH", "market_id": 0,
          "status": "active", "taker_fee": "0.0000", "size_decimals": 4,
          "quote_multiplier": 1, "last_trade_price": 3550.69, "open_interest": 39559.3278,
          "daily_quote_token_volume": 1671431095.263844, ...}]}
    """
    contracts = []
    for row in _active_perps(payload):
        contract = contract_from_symbol(EXCHANGE, row["symbol"], INTERVAL_HOURS,
                                        contract_size=CONTRACT_SIZE)
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_market_ids(payload: Any) -> dict[str, int]:
    """{symbol: market_id} of the active perpetuals (history is asked by market id)."""
    return {row["symbol"]: _market_id(DETAILS, row) for row in _active_perps(payload)}


def _hourly_cap(row: dict[str, Any]) -> float | None:
    """`funding_clamp_big` is a percent on the 8-hour scale ("4.0000"): hourly cap = /100/8."""
    clamp = optional_field(row, "funding_clamp_big")
    return None if clamp is None else clamp / 100 / RATE_PER_HOURS


def parse_current(
    payload: Any, details: Any | None = None, observed_at: datetime | None = None
) -> list[FundingSnapshot]:
    """Lighter's own current rates from `GET /api/v1/funding-rates`, hourly (rate / 8), with
    prices, open interest, volume and cap from `orderBookDetails` where it came.

    Sample (trimmed; the relayed rows of other venues are left out)::

        {"code": 200, "funding_rates": [
          {"market_id": 1, "exchange": "binance", "symbol": "BTC", "rate": 0.00002494},
          {"market_id": 0, "exchange": "lighter", "symbol": "ETH", "rate": 0.000096}]}
    """
    rows = objects(EXCHANGE, RATES, ENVELOPE.open(EXCHANGE, RATES, payload), "funding_rates")
    extras: dict[int, dict[str, Any]] = {}
    if details is not None:
        extras = {_market_id(DETAILS, row): row for row in _active_perps(details)}
    now = observed_at or utcnow()
    next_time = floor_to_interval(now, INTERVAL_HOURS) + hours(INTERVAL_HOURS)
    snapshots = []
    for row in rows:
        if field(EXCHANGE, RATES, row, "exchange", text) != EXCHANGE:
            continue  # another venue's rate, relayed
        market = _market_id(RATES, row)
        symbol = field(EXCHANGE, RATES, row, "symbol", text)
        if details is not None and market not in extras:
            logger.debug("lighter %s: skipped, not an active perpetual", symbol)
            continue
        extra = extras.get(market, {})
        eight_hour = field(EXCHANGE, RATES, row, "rate", finite)
        merged = dict(extra, hourly_rate=eight_hour / RATE_PER_HOURS,
                      hourly_cap=_hourly_cap(extra))
        snapshots.append(SNAPSHOT.read(EXCHANGE, RATES, merged, symbol, INTERVAL_HOURS,
                                       next_time, now))
    return snapshots


def _percent(value: Any) -> Decimal:
    """An unsigned percent string ("0.0012"): Decimal keeps 0.0012 % exactly 0.000012."""
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise ValueError(f"{value!r} is not a percent")
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite() or number < 0:
        raise ValueError(f"{value!r} is not an unsigned percent")
    return number


def _direction(value: Any) -> int:
    """The side that paid: longs pay a positive rate, shorts a negative one."""
    if value not in ("long", "short"):
        raise ValueError(f"{value!r} is neither 'long' nor 'short'")
    return 1 if value == "long" else -1


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled hourly rates from `GET /api/v1/fundings` (oldest first, `timestamp` seconds).

    Sample::

        {"code": 200, "resolution": "1h", "fundings": [
          {"timestamp": 1789135200, "value": "0.79227600", "rate": "0.0010",
           "direction": "long"},
          {"timestamp": 1789138800, "value": "0.07879940", "rate": "0.0001",
           "direction": "short"}]}
    """
    rows = objects(EXCHANGE, FUNDINGS, ENVELOPE.open(EXCHANGE, FUNDINGS, payload), "fundings")
    times = [field(EXCHANGE, FUNDINGS, row, "timestamp", from_seconds) for row in rows]
    step = schedule_hours(times)
    events = []
    for row, when in zip(rows, times, strict=True):
        percent = field(EXCHANGE, FUNDINGS, row, "rate", _percent)
        sign = field(EXCHANGE, FUNDINGS, row, "direction", _direction)
        events.append(FundingEvent(exchange=EXCHANGE, symbol=symbol, funding_time=when,
                                   funding_rate=sign * float(percent / 100),
                                   funding_interval_hours=step))
    return events


class Adapter(ExchangeAdapter):
    """Lighter: funding-rates + orderBookDetails per snapshot; history forward by seconds."""

    id = EXCHANGE
    default_base_url = "https://mainnet.zklighter.elliot.ai"
    rate_limit = RateLimit(60, 60.0)  # standard account: 60 requests per rolling minute
    history_page_size = 750  # the silent per-reply cap (lighter-data, df-lighter-core)
    history_direction = "forward"  # oldest rows from `start_timestamp`
    history_unit = "s"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._market_ids: dict[str, int] = {}

    def _details(self) -> Any:
        payload = self.http.get_json(DETAILS)
        self._market_ids.update(parse_market_ids(payload))
        return payload

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self._details())

    def fetch_current(self) -> list[FundingSnapshot]:
        rates = self.http.get_json(RATES)
        details = self.extra("order book details", lambda: {"reply": self._details()})
        return parse_current(rates, details.get("reply"), self.http.exchange_now())

    def market_id(self, symbol: str) -> int:
        """The market id of a symbol, from the latest listing (one request if none yet)."""
        if symbol not in self._market_ids:
            self._details()
        if symbol not in self._market_ids:
            raise ExchangeError(EXCHANGE, f"{symbol}: no active perpetual market of that name")
        return self._market_ids[symbol]

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """Rows from `start_timestamp` to `end_timestamp` (seconds; the end is exclusive, so
        one past the last second wanted); count_back 0 returns the window oldest first."""
        params = {"market_id": self.market_id(contract.symbol), "resolution": "1h",
                  "start_timestamp": query.first, "end_timestamp": query.last + 1,
                  "count_back": 0}
        return parse_history(self.http.get_json(FUNDINGS, params), contract.symbol)
