"""Bybit v5, category=linear (USDT and USDC perpetuals).

Contracts come from `/v5/market/instruments-info` (cursor pages of up to 1000; `fundingInterval`
in minutes), current funding for every symbol from one `/v5/market/tickers` (with
`fundingIntervalHour` since 2025-10), history from `/v5/market/funding/history`, newest first,
up to 200 rows ending at `endTime` (../shared/exchange-apis.md §2).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from lib.errors import ExchangeDataError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    Envelope,
    ListingFields,
    SnapshotFields,
    contract_from_symbol,
    field,
    funding_events,
    hours_in,
    objects,
    optional_field,
    text,
)
from lib.exchanges.symbols import is_dated_future
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import from_ms, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "bybit"
INSTRUMENTS = "/v5/market/instruments-info"
TICKERS = "/v5/market/tickers"
HISTORY = "/v5/market/funding/history"
CATEGORY = "linear"
LISTING = ListingFields("symbol", "contractType", frozenset({"LinearPerpetual"}),
                        "status", frozenset({"Trading"}))
# retCode 0 is success; "too many visits" and "exceed ip rate limit" are worth retrying
ENVELOPE = Envelope("retCode", "retMsg", ok=frozenset({"0"}),
                    temporary=frozenset({"10006", "10018"}))
INSTRUMENTS_PAGE = 1000
# linear contracts: open interest in base coins, turnover in the quote currency; `fundingCap`
# (since 2025-10) bounds the rate both ways
SNAPSHOT = SnapshotFields(rate="fundingRate", mark="markPrice", index="indexPrice",
                          open_interest="openInterest", volume="turnover24h",
                          open_interest_unit="base", volume_unit="quote",
                          cap="fundingCap", symmetric_cap=True)
CONTRACT_SIZE = 1.0  # quantities are in base units (ccxt: contractSize 1)


def _result(payload: Any, endpoint: str) -> dict[str, Any]:
    """The `result` of a `{retCode: 0, result: {...}}` envelope, or the error it names."""
    result: dict[str, Any] = field(
        EXCHANGE, endpoint, ENVELOPE.open(EXCHANGE, endpoint, payload), "result", dict
    )
    return result


def _list(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    return objects(EXCHANGE, endpoint, _result(payload, endpoint), "list")


def next_cursor(payload: Any) -> str | None:
    """The instruments-info `nextPageCursor`, None on the last page ("")."""
    cursor = _result(payload, INSTRUMENTS).get("nextPageCursor")
    return str(cursor) if cursor else None


def parse_contracts(payload: Any) -> list[Contract]:
    """Trading linear perpetuals from one `GET /v5/market/instruments-info` page.

    Sample (trimmed)::

        {"retCode": 0, "retMsg": "OK", "result": {"category": "linear", "list": [
          {"symbol": "1000PEPEUSDT", "contractType": "LinearPerpetual", "status": "Trading",
           "baseCoin": "1000PEPE", "quoteCoin": "USDT", "settleCoin": "USDT",
           "launchTime": "1683187200000", "deliveryTime": "0", "fundingInterval": 480}],
         "nextPageCursor": ""}, "time": 1672712495660}
    """
    contracts = []
    for row in _list(payload, INSTRUMENTS):
        if (live := LISTING.live(EXCHANGE, INSTRUMENTS, row)) is None:
            continue
        symbol = live[0]
        settle = field(EXCHANGE, INSTRUMENTS, row, "settleCoin", text)
        contract = contract_from_symbol(
            EXCHANGE,
            symbol,
            field(EXCHANGE, INSTRUMENTS, row, "fundingInterval", hours_in(60)),
            base=field(EXCHANGE, INSTRUMENTS, row, "baseCoin", text),
            quote=field(EXCHANGE, INSTRUMENTS, row, "quoteCoin", text),
            # old USDC perpetuals (BTCPERP) say "USD"; they settle in USDC (as ccxt reads)
            settle="USDC" if settle == "USD" else settle,
            listed_at=optional_field(row, "launchTime", from_ms),
            contract_size=CONTRACT_SIZE,
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_current(
    payload: Any, intervals: dict[str, float] | None = None, observed_at: datetime | None = None
) -> list[FundingSnapshot]:
    """Current funding of every linear perpetual from `GET /v5/market/tickers`.

    The interval is the row's `fundingIntervalHour`; replies from before 2025-10 lack it, and
    then `intervals` ({symbol: hours} from instruments-info) must name the symbol. Dated
    futures on the same list (BTCUSDT-27MAR26, empty `fundingRate`) are left out. Sample::

        {"retCode": 0, "result": {"category": "linear", "list": [
          {"symbol": "BTCUSDT", "markPrice": "19255.00", "indexPrice": "19260.68",
           "openInterest": "48069.549", "turnover24h": "4686694853.047006",
           "fundingRate": "0.0001", "nextFundingTime": "1663689600000",
           "fundingIntervalHour": "8"}]}, "time": 1663670053454}
    """
    rows = _list(payload, TICKERS)
    now = optional_field(payload, "time", from_ms) or observed_at or utcnow()
    intervals = intervals or {}
    snapshots = []
    for row in rows:
        symbol = field(EXCHANGE, TICKERS, row, "symbol", text)
        if is_dated_future(EXCHANGE, symbol):
            logger.debug("bybit %s: dated future, left out of the snapshot", symbol)
            continue
        if row.get("fundingRate") == "":
            logger.warning("bybit %s: no funding rate, left out of the snapshot", symbol)
            continue
        if row.get("fundingIntervalHour") not in (None, ""):
            interval = field(EXCHANGE, TICKERS, row, "fundingIntervalHour", hours_in(1))
        elif symbol in intervals:
            interval = intervals[symbol]
        else:
            raise ExchangeDataError(
                EXCHANGE, TICKERS, f"{symbol}: missing field 'fundingIntervalHour'"
            )
        next_time = field(EXCHANGE, TICKERS, row, "nextFundingTime", from_ms)
        snapshots.append(SNAPSHOT.read(EXCHANGE, TICKERS, row, symbol, interval, next_time, now))
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled rates from `GET /v5/market/funding/history` (newest first, ms strings).

    Sample::

        {"retCode": 0, "result": {"category": "linear", "list": [
          {"symbol": "ETHPERP", "fundingRate": "0.0001",
           "fundingRateTimestamp": "1672041600000"}]}, "time": 1672051897447}
    """
    return funding_events(EXCHANGE, HISTORY, _list(payload, HISTORY), symbol,
                          time=("fundingRateTimestamp", from_ms), rate="fundingRate")


class Adapter(ExchangeAdapter):
    """Bybit linear perpetuals: tickers = snapshot, history paged backward by `endTime`."""

    id = EXCHANGE
    default_base_url = "https://api.bybit.com"
    rate_limit = RateLimit(600, 5.0)  # 600 requests per 5 s per IP (403 and a ban beyond)
    history_page_size = 200
    history_direction = "backward"  # newest rows at or before `endTime` (ms)
    history_slack = timedelta(minutes=1)
    instruments_page_size = INSTRUMENTS_PAGE

    def list_contracts(self) -> list[Contract]:
        """Every page of instruments-info (1000 a page; >500 linear symbols exist)."""
        contracts: list[Contract] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"category": CATEGORY, "limit": self.instruments_page_size}
            if cursor:
                params["cursor"] = cursor
            payload = self.http.get_json(INSTRUMENTS, params)
            contracts.extend(parse_contracts(payload))
            cursor = next_cursor(payload)
            if cursor is None:
                return contracts

    def fetch_current(self) -> list[FundingSnapshot]:
        """One tickers request; instruments-info only if a row lacks its interval."""
        payload = self.http.get_json(TICKERS, {"category": CATEGORY})
        rows = _list(payload, TICKERS)
        if all(row.get("fundingIntervalHour") not in (None, "") for row in rows
               if row.get("fundingRate") not in (None, "")):
            return parse_current(payload, None, self.http.exchange_now())
        logger.info("bybit: tickers carry no fundingIntervalHour, reading instruments-info")
        intervals = {c.symbol: c.funding_interval_hours for c in self.list_contracts()}
        return parse_current(payload, intervals, self.http.exchange_now())

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The newest rows in [`startTime`, `endTime`] (ms)."""
        params = {"category": CATEGORY, "symbol": contract.symbol, "startTime": query.first,
                  "endTime": query.last, "limit": self.history_page_size}
        return parse_history(self.http.get_json(HISTORY, params), contract.symbol)
