"""Binance USDⓈ-M futures (fapi).

Contracts come from `/fapi/v1/exchangeInfo`, current funding for every symbol from one
`/fapi/v1/premiumIndex`, and the funding interval from `/fapi/v1/fundingInfo`, which lists only
symbols whose interval or caps were adjusted (every other perpetual settles every 8 h). History
is `/fapi/v1/fundingRate`, oldest first, up to 1000 rows from `startTime`
(../shared/exchange-apis.md §1).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from lib.errors import ExchangeDataError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit, WeightHeader
from lib.exchanges.replies import (
    ListingFields,
    SnapshotFields,
    contract_from_symbol,
    field,
    finite,
    funding_events,
    json_object,
    objects,
    optional_field,
    reply_error,
    text,
)
from lib.exchanges.symbols import is_dated_future
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import from_ms, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "binance"
EXCHANGE_INFO = "/fapi/v1/exchangeInfo"
PREMIUM_INDEX = "/fapi/v1/premiumIndex"
FUNDING_INFO = "/fapi/v1/fundingInfo"
HISTORY = "/fapi/v1/fundingRate"
# fundingInfo omits symbols that were never adjusted: Binance documents 8 h for all of them.
UNLISTED_INTERVAL_HOURS = 8.0
CONTRACT_SIZE = 1.0  # quantities are in base units (ccxt: contractSize 1)
LISTING = ListingFields("symbol", "contractType", frozenset({"PERPETUAL", "TRADIFI_PERPETUAL"}),
                        "status", frozenset({"TRADING"}))
SNAPSHOT = SnapshotFields(rate="lastFundingRate", mark="markPrice", index="indexPrice")


def _checked(payload: Any, endpoint: str) -> Any:
    """The reply, unless it is the `{code, msg}` object Binance answers errors with."""
    if isinstance(payload, dict) and "code" in payload and "msg" in payload:
        raise reply_error(EXCHANGE, endpoint, payload["msg"], payload["code"])
    return payload


def _rows(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    return objects(EXCHANGE, endpoint, _checked(payload, endpoint))


def parse_funding_info(payload: Any) -> dict[str, float]:
    """Adjusted funding intervals from `GET /fapi/v1/fundingInfo`: {symbol: hours}.

    Sample::

        [{"symbol": "BLZUSDT", "adjustedFundingRateCap": "0.03000000",
          "adjustedFundingRateFloor": "-0.03000000", "fundingIntervalHours": 4,
          "disclaimer": false}]
    """
    intervals = {}
    for row in _rows(payload, FUNDING_INFO):
        symbol = field(EXCHANGE, FUNDING_INFO, row, "symbol", text)
        hours = field(EXCHANGE, FUNDING_INFO, row, "fundingIntervalHours", float)
        if hours <= 0:
            raise ExchangeDataError(
                EXCHANGE, FUNDING_INFO, f"{symbol}: field 'fundingIntervalHours' is {hours}"
            )
        intervals[symbol] = hours
    if not intervals:
        # Binance always lists dozens of adjusted symbols; taking an empty (cut) reply at its
        # word would give every 4 h and 1 h contract the 8 h default
        raise ExchangeDataError(EXCHANGE, FUNDING_INFO, "the reply lists no symbol")
    return intervals


def parse_funding_caps(payload: Any) -> dict[str, tuple[float, float]]:
    """{symbol: (cap, floor)} of the symbols whose caps Binance adjusted, from the same
    `GET /fapi/v1/fundingInfo` reply as `parse_funding_info` (others: not published)."""
    caps = {}
    for row in _rows(payload, FUNDING_INFO):
        cap = optional_field(row, "adjustedFundingRateCap", finite)
        floor = optional_field(row, "adjustedFundingRateFloor", finite)
        if cap is not None and floor is not None:
            caps[field(EXCHANGE, FUNDING_INFO, row, "symbol", text)] = (cap, floor)
    return caps


def _interval(symbol: str, intervals: dict[str, float]) -> float:
    return intervals.get(symbol, UNLISTED_INTERVAL_HOURS)


def parse_contracts(payload: Any, intervals: dict[str, float] | None = None) -> list[Contract]:
    """Trading perpetuals from `GET /fapi/v1/exchangeInfo` (delivery and pending left out).

    `intervals` is `parse_funding_info(...)`; symbols missing from it settle every 8 h. Sample::

        {"serverTime": 1565613908500, "symbols": [
          {"symbol": "1000PEPEUSDT", "pair": "1000PEPEUSDT", "contractType": "PERPETUAL",
           "deliveryDate": 4133404800000, "onboardDate": 1683244800000, "status": "TRADING",
           "baseAsset": "1000PEPE", "quoteAsset": "USDT", "marginAsset": "USDT", ...}]}
    """
    reply = json_object(EXCHANGE, EXCHANGE_INFO, _checked(payload, EXCHANGE_INFO))
    rows = field(EXCHANGE, EXCHANGE_INFO, reply, "symbols", list)
    intervals = intervals or {}
    contracts = []
    for row in rows:
        if (live := LISTING.live(EXCHANGE, EXCHANGE_INFO, row)) is None:
            continue
        symbol = live[0]
        contract = contract_from_symbol(
            EXCHANGE,
            symbol,
            _interval(symbol, intervals),
            base=field(EXCHANGE, EXCHANGE_INFO, row, "baseAsset", text),
            quote=field(EXCHANGE, EXCHANGE_INFO, row, "quoteAsset", text),
            settle=field(EXCHANGE, EXCHANGE_INFO, row, "marginAsset", text),
            listed_at=optional_field(row, "onboardDate", from_ms),
            contract_size=CONTRACT_SIZE,
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_current(
    payload: Any, intervals: dict[str, float] | None = None, observed_at: datetime | None = None,
    caps: dict[str, tuple[float, float]] | None = None,
) -> list[FundingSnapshot]:
    """Current funding of every perpetual from `GET /fapi/v1/premiumIndex` (no symbol), with
    the caps of `parse_funding_caps` where Binance publishes them.

    Delivery contracts on the same list (BTCUSDT_260925, empty `lastFundingRate`) are left
    out. Sample (trimmed)::

        [{"symbol": "BTCUSDT", "markPrice": "11793.63104562", "indexPrice": "11781.80495970",
          "lastFundingRate": "0.00038246", "nextFundingTime": 1597392000000,
          "interestRate": "0.00010000", "time": 1597370495002}]
    """
    intervals, caps = intervals or {}, caps or {}
    now = observed_at or utcnow()
    snapshots = []
    for row in _rows(payload, PREMIUM_INDEX):
        symbol = field(EXCHANGE, PREMIUM_INDEX, row, "symbol", text)
        if is_dated_future(EXCHANGE, symbol):
            logger.debug("binance %s: delivery contract, left out of the snapshot", symbol)
            continue
        if row.get("lastFundingRate") == "":
            logger.warning("binance %s: no funding rate, left out of the snapshot", symbol)
            continue
        next_time = field(EXCHANGE, PREMIUM_INDEX, row, "nextFundingTime", from_ms)
        observed = optional_field(row, "time", from_ms) or now
        snapshot = SNAPSHOT.read(EXCHANGE, PREMIUM_INDEX, row, symbol,
                                 _interval(symbol, intervals), next_time, observed)
        if symbol in caps:
            snapshot = replace(snapshot, rate_cap=caps[symbol][0], rate_floor=caps[symbol][1])
        snapshots.append(snapshot)
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled rates from `GET /fapi/v1/fundingRate` (ascending, `fundingTime` ms).

    Sample::

        [{"symbol": "BTCUSDT", "fundingRate": "-0.03750000", "fundingTime": 1570608000000,
          "markPrice": "34287.54619963"}]
    """
    return funding_events(EXCHANGE, HISTORY, _rows(payload, HISTORY), symbol,
                          time=("fundingTime", from_ms), rate="fundingRate", mark="markPrice")


def parse_bulk_history(payload: Any) -> list[FundingEvent]:
    """Settled rates of every symbol from `GET /fapi/v1/fundingRate` without `symbol`
    (ascending by `fundingTime` across symbols; each row names its symbol).

    Sample::

        [{"symbol": "BTCUSDT", "fundingRate": "0.00010000", "fundingTime": 1570636800000,
          "markPrice": "34287.54619963"},
         {"symbol": "ETHUSDT", "fundingRate": "0.00007112", "fundingTime": 1570636800003,
          "markPrice": "180.10361034"}]
    """
    events = []
    for row in _rows(payload, HISTORY):
        symbol = field(EXCHANGE, HISTORY, row, "symbol", text)
        events.extend(funding_events(EXCHANGE, HISTORY, [row], symbol,
                                     time=("fundingTime", from_ms), rate="fundingRate",
                                     mark="markPrice"))
    return events


class Adapter(ExchangeAdapter):
    """Binance USDⓈ-M perpetuals: premiumIndex + fundingInfo, history paged forward."""

    id = EXCHANGE
    default_base_url = "https://fapi.binance.com"
    # fundingRate (history) and fundingInfo share 500 requests per 5 min per IP: that, not
    # the 2400 weight per minute (watched through the weight header), bounds a backfill.
    rate_limit = RateLimit(500, 300.0)
    history_page_size = 1000
    history_direction = "forward"  # `startTime` inclusive, ms
    history_slack = timedelta(minutes=1)  # settlements are stamped a few ms late
    # without `symbol` the same endpoint pages every symbol's settlements from `startTime`
    bulk_history_page_size = 1000
    weight_header = WeightHeader("X-MBX-USED-WEIGHT-1M", limit=2400, window=60.0)

    def funding_intervals(self) -> dict[str, float]:
        return parse_funding_info(self.http.get_json(FUNDING_INFO))

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self.http.get_json(EXCHANGE_INFO), self.funding_intervals())

    def fetch_current(self) -> list[FundingSnapshot]:
        """Two requests: premiumIndex (rates, prices) and fundingInfo (intervals, caps)."""
        payload = self.http.get_json(PREMIUM_INDEX)
        info = self.http.get_json(FUNDING_INFO)
        return parse_current(payload, parse_funding_info(info), self.http.exchange_now(),
                             parse_funding_caps(info))

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The oldest rows from `startTime` to `endTime` (ms)."""
        params = {"symbol": contract.symbol, "startTime": query.first, "endTime": query.last,
                  "limit": self.history_page_size}
        return parse_history(self.http.get_json(HISTORY, params), contract.symbol)

    def bulk_history_rows(self, query: PageQuery) -> list[FundingEvent]:
        """Every symbol's oldest rows from `startTime` to `endTime` (ms): one request of the
        same shared 500-per-5-minutes budget as one symbol's."""
        params = {"startTime": query.first, "endTime": query.last,
                  "limit": self.bulk_history_page_size}
        return parse_bulk_history(self.http.get_json(HISTORY, params))
