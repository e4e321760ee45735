"""Deribit perpetuals: inverse `BTC-PERPETUAL` (BTC-settled) and linear `ETH_USDC-PERPETUAL`.

JSON-RPC over HTTP GET (`/api/v2/public/<method>`; replies `{"jsonrpc": "2.0", "result": ...,
"usIn", "usOut", ...}`, errors `{"error": {"code", "message"}}`), ../shared/exchange-apis.md §10.

- Contracts: one `get_instruments?currency=any&kind=future` (documented at 1 request / 10 s,
  burst 5); perpetual = `settlement_period` "perpetual", live = `is_active`. Base, quote
  (`counter_currency`, else `quote_currency`) and settle (`settlement_currency`; replies from
  before 2022 lack it, and an inverse name then says the coin) come from the row.
- Funding interval: Deribit accrues funding continuously and quotes it as an 8-hour rate; what
  it publishes as settled history is hourly (`get_funding_rate_history`: "hourly historical
  interest rate", one row a full hour, `interest_1h` the funding realized over that hour,
  `interest_8h` the trailing 8 hours). The docs show no other grid, so every contract is stored
  with a 1 h interval and history rows are `interest_1h` at `timestamp` (the end of the hour):
  rates per interval like every other venue's, comparable through rate × 8 / 1.
- Current funding: one `get_book_summary_by_currency?kind=future` per settlement currency with
  perpetuals (BTC, ETH, USDC: three requests; the last listing says which). `current_funding`
  is the instantaneous funding rate in Deribit's 8-hour terms, so the running hour's rate is
  current_funding / 8; its next hourly row is at the next full hour (no field gives it).
  Mark is `mark_price`, index `estimated_delivery_price` (a perpetual's index), open interest
  `open_interest` (USD for inverse contracts, coins for linear), volume `volume_usd`.
  `funding_8h` (realized over the trailing 8 h) is not a rate of the running interval and is
  not stored.
- History: both timestamps required (ms; the start is exclusive, as ccxt found), rows
  ascending, at most 744 (31 days of hours) a reply, the newest ones before the end. Pages are
  therefore windows of 744 hours, walked back from the end: each request is complete whatever
  Deribit keeps when a range is longer, and missing hours never end the walk early.

Confirmed by recorded real replies (../shared/exchange-responses/deribit/, get_instruments for
BTC in 2021 and USDC in 2022): the instrument shape, `settlement_period` "perpetual", the
year-3000 expiry, USDC linear names, `creation_timestamp`, `contract_size` (10 USD for
BTC-PERPETUAL) and the missing `settlement_currency` of 2021. On documentation alone: the book
summary's funding fields and their 8-hour meaning, the history shape (Deribit's docs example)
and its 744-row cap and window end (ccxt's comment; ccxt issue 24921), `currency=any`, the
rate limits (20 requests/s sustained, credit system) and error code 10028 (too_many_requests).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from lib.errors import ExchangeDataError, UnknownSymbolError
from lib.exchanges.base import ExchangeAdapter, HistoryPage, PageQuery
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
from lib.exchanges.symbols import parse_native
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import HOUR_MS, from_ms, to_ms, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "deribit"
INSTRUMENTS = "/api/v2/public/get_instruments"
SUMMARY = "/api/v2/public/get_book_summary_by_currency"
HISTORY = "/api/v2/public/get_funding_rate_history"
INTERVAL_HOURS = 1.0  # hourly history rows (see the module docstring)
QUOTED_HOURS = 8.0  # current_funding is an 8-hour rate
PERPETUAL = "perpetual"
# the settlement currencies Deribit lists perpetuals in, until a listing says otherwise
DEFAULT_CURRENCIES = ("BTC", "ETH", "USDC")
HISTORY_ROWS = 744  # hours a history reply holds at most
# 10028 too_many_requests, 10066 too_many_concurrent_requests, 10040 retry, 11051 system
# maintenance: worth retrying later
TEMPORARY = frozenset({"10028", "10066", "10040", "11051"})


def _result(payload: Any, endpoint: str) -> Any:
    """The `result` of a JSON-RPC reply, or the error its `error` object names."""
    reply = json_object(EXCHANGE, endpoint, payload)
    error = reply.get("error")
    if isinstance(error, dict):
        raise reply_error(EXCHANGE, endpoint, error.get("message", ""),
                          str(error.get("code")), TEMPORARY)
    return field(EXCHANGE, endpoint, reply, "result", lambda value: value)


def _rows(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    return objects(EXCHANGE, endpoint, {"result": _result(payload, endpoint)}, "result")


def reply_time(payload: Any) -> datetime | None:
    """When the server answered: `usOut` (microseconds), where the reply carries it."""
    micros = optional_field(payload if isinstance(payload, dict) else {}, "usOut", int)
    return from_ms(micros // 1000) if micros else None


def parse_contracts(payload: Any) -> list[Contract]:
    """Active perpetuals from `GET /public/get_instruments` (futures, options and spot rows
    of the same reply left out).

    Sample (a real reply, USDC, 2022; trimmed)::

        {"jsonrpc": "2.0", "result": [
          {"instrument_name": "ETH_USDC-PERPETUAL", "kind": "future",
           "settlement_period": "perpetual", "is_active": true, "base_currency": "ETH",
           "quote_currency": "USDC", "counter_currency": "USDC",
           "settlement_currency": "USDC", "future_type": "linear", "contract_size": 0.01,
           "creation_timestamp": 1647262800000, "expiration_timestamp": 32503708800000}],
         "usIn": 1653848421538170, "usOut": 1653848421539474, "usDiff": 1304, "testnet": false}
    """
    contracts = []
    for row in _rows(payload, INSTRUMENTS):
        symbol = field(EXCHANGE, INSTRUMENTS, row, "instrument_name", text)
        if row.get("kind") != "future" or row.get("settlement_period") != PERPETUAL:
            continue
        if row.get("is_active") is not True:
            logger.debug("deribit %s: skipped, not active", symbol)
            continue
        quote = row.get("counter_currency") or field(
            EXCHANGE, INSTRUMENTS, row, "quote_currency", text)
        contract = contract_from_symbol(
            EXCHANGE,
            symbol,
            INTERVAL_HOURS,
            base=field(EXCHANGE, INSTRUMENTS, row, "base_currency", text),
            quote=str(quote),
            settle=row.get("settlement_currency") or None,
            listed_at=optional_field(row, "creation_timestamp", from_ms),
            contract_size=optional_field(row, "contract_size"),
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def _open_interest_unit(symbol: str) -> str | None:
    """Deribit counts open interest in USD for inverse contracts, in coins for linear ones."""
    try:
        info = parse_native(EXCHANGE, symbol)
    except UnknownSymbolError:
        return None
    return "quote" if info.settle == info.base else "base"


def _next_hour(when: datetime) -> datetime:
    return from_ms((to_ms(when) // HOUR_MS + 1) * HOUR_MS)


def parse_current(payload: Any, observed_at: datetime | None = None) -> list[FundingSnapshot]:
    """Perpetuals' current funding from one `GET /public/get_book_summary_by_currency`.

    Dated futures of the same currency are left out. Sample (trimmed)::

        {"jsonrpc": "2.0", "result": [
          {"instrument_name": "BTC-PERPETUAL", "base_currency": "BTC", "quote_currency": "USD",
           "mark_price": 7022.89, "estimated_delivery_price": 7021.5, "open_interest": 5e8,
           "volume": 223, "volume_usd": 1565000, "current_funding": 0.00012,
           "funding_8h": 0.00009, "creation_timestamp": 1583761588590}],
         "usIn": 1583761588590479, "usOut": 1583761588590544, "usDiff": 65, "testnet": false}
    """
    rows = _rows(payload, SUMMARY)
    now = reply_time(payload) or observed_at or utcnow()
    snapshots = []
    for row in rows:
        symbol = field(EXCHANGE, SUMMARY, row, "instrument_name", text)
        if not symbol.endswith("-PERPETUAL"):
            continue
        rate = field(EXCHANGE, SUMMARY, row, "current_funding", finite) / QUOTED_HOURS
        snapshots.append(FundingSnapshot(
            exchange=EXCHANGE,
            symbol=symbol,
            funding_rate=rate,
            funding_interval_hours=INTERVAL_HOURS,
            next_funding_time=_next_hour(now),
            timestamp=now,
            mark_price=optional_field(row, "mark_price"),
            index_price=optional_field(row, "estimated_delivery_price"),
            open_interest=optional_field(row, "open_interest"),
            volume_24h=optional_field(row, "volume_usd"),
            open_interest_unit=_open_interest_unit(symbol),
            volume_unit="quote",  # volume_usd
        ))
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Hourly realized funding from `GET /public/get_funding_rate_history` (ascending).

    Sample (Deribit's docs)::

        {"jsonrpc": "2.0", "id": 7617, "result": [
          {"timestamp": 1569891600000, "index_price": 8222.87, "prev_index_price": 8305.72,
           "interest_8h": -0.00009234260068476106, "interest_1h": -4.739622041017375e-7}]}
    """
    return [
        FundingEvent(
            exchange=EXCHANGE,
            symbol=symbol,
            funding_time=field(EXCHANGE, HISTORY, row, "timestamp", from_ms),
            funding_rate=field(EXCHANGE, HISTORY, row, "interest_1h", finite),
            funding_interval_hours=INTERVAL_HOURS,
        )
        for row in _rows(payload, HISTORY)
    ]


class Adapter(ExchangeAdapter):
    """Deribit perpetuals: book summary per currency = snapshot, history in 744-hour windows."""

    id = EXCHANGE
    default_base_url = "https://www.deribit.com"
    rate_limit = RateLimit(20, 1.0)  # non-matching-engine requests: 20/s sustained
    history_page_size = HISTORY_ROWS
    history_direction = "backward"  # windows walked back from the end of the range
    history_slack = timedelta(minutes=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.currencies: tuple[str, ...] = DEFAULT_CURRENCIES

    def list_contracts(self) -> list[Contract]:
        payload = self.http.get_json(INSTRUMENTS, {"currency": "any", "kind": "future",
                                                   "expired": "false"})
        contracts = parse_contracts(payload)
        if contracts:  # the snapshot asks each settlement currency that has perpetuals
            self.currencies = tuple(sorted({c.settle for c in contracts}))
        return contracts

    def fetch_current(self) -> list[FundingSnapshot]:
        """One book summary per settlement currency; each reply's own time stamps its rows."""
        snapshots: list[FundingSnapshot] = []
        for currency in self.currencies:
            payload = self.http.get_json(SUMMARY, {"currency": currency, "kind": "future"})
            observed = self.http.exchange_now()
            snapshots += parse_current(payload, observed)
        return snapshots

    def history_page(
        self, contract: Contract, start: datetime, end: datetime, cursor: Any | None
    ) -> HistoryPage:
        """The window of at most 744 hours ending at the cursor (at first the range end):
        (lower, upper] in ms; the next window ends where this one starts."""
        first = to_ms(start - self.history_slack)
        last = to_ms(end + self.history_slack) if cursor is None else int(cursor)
        lower = max(first, last - HISTORY_ROWS * HOUR_MS)
        events = self.history_rows(contract, PageQuery(lower, last))
        if len(events) > HISTORY_ROWS:
            raise ExchangeDataError(EXCHANGE, HISTORY, f"{contract.symbol}: {len(events)} rows "
                                    f"in {HISTORY_ROWS} hours")
        return HistoryPage(events, None if lower <= first else lower)

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The hourly rows in (`start_timestamp`, `end_timestamp`] (ms)."""
        params = {"instrument_name": contract.symbol, "start_timestamp": query.first,
                  "end_timestamp": query.last}
        return parse_history(self.http.get_json(HISTORY, params), contract.symbol)
