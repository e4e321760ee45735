"""MEXC contract (futures) API: USDT-margined perpetuals, `BTC_USDT`.

Contracts come from `/api/v1/contract/detail` (every contract, no funding interval: MEXC
documents 1 request per 5 s for it), each contract's interval from `collectCycle` (hours) in
`/api/v1/contract/funding_rate`, which without a symbol lists every contract's current funding
(rate, `nextSettleTime`, interval, `fairPrice` mark, `idxPrice` index, max/min rate) in one
request; open interest (`holdVol`, contracts) and 24 h turnover (`amount24`, quote) come from
one `/api/v1/contract/ticker`. History is `/api/v1/contract/funding_rate/history`: newest
first, `page_num`/`page_size` (at most 1000) and no time parameters, so pages are addressed by
position and paging stops at the page that reaches the start of the window
(../shared/exchange-apis.md §7). Every row carries its own `collectCycle`, so history keeps the
interval each settlement had.

Confirmed by recorded real replies (../shared/exchange-responses/mexc/, 2026-09): the
per-symbol funding_rate shape (numbers, not strings; `collectCycle` 8 and 4; `fairPrice`,
`idxPrice`, `maxFundingRate`/`minFundingRate`), the history page shape (`resultList`, newest
first, `settleTime` ms, per-row `collectCycle`) and the detail fields we read (`futureType` 1,
`state` 0, `contractSize`). On documentation alone: the symbol-less funding_rate returning a
list of the same objects (the docs mark `symbol` optional; widely used), the ticker fields,
`createTime` as the listing time, page_size up to 1000 (current docs; ccxt says 100), the
state codes (0 enabled, 4 paused: both still settle funding) and the error codes (510 "too
frequent" and 429, worth retrying). Where the shared notes and MEXC's docs differ, MEXC's docs
were followed.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    Envelope,
    ListingFields,
    contract_from_symbol,
    field,
    finite,
    hours_in,
    objects,
    optional_field,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import from_ms, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "mexc"
DETAIL = "/api/v1/contract/detail"
FUNDING = "/api/v1/contract/funding_rate"
TICKER = "/api/v1/contract/ticker"
HISTORY = "/api/v1/contract/funding_rate/history"
# futureType 1 = perpetual; state 0 = enabled, 4 = paused (positions stay open and settle
# funding); 1 delivery, 2 completed, 3 offline are left out
LISTING = ListingFields("symbol", "futureType", frozenset({"1"}), "state", frozenset({"0", "4"}))
# code 0 is success; 510 "excessive frequency of requests" and 500 "system internal error!"
# are worth retrying later
ENVELOPE = Envelope("code", "message", ok=frozenset({"0"}), temporary=frozenset({"510", "500"}))


def _data(payload: Any, endpoint: str) -> Any:
    """The `data` of a `{success: true, code: 0, data: ...}` reply, or the error it names
    (MEXC names the text `message`, sometimes `msg`)."""
    reply = dict(ENVELOPE.open(EXCHANGE, endpoint, _with_message(payload)))
    return field(EXCHANGE, endpoint, reply, "data", lambda value: value)


def _with_message(payload: Any) -> Any:
    if isinstance(payload, dict) and "message" not in payload and "msg" in payload:
        return {**payload, "message": payload["msg"]}
    return payload


def _rows(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    """`data` as a list of objects: a symbol-less request lists every contract, a request
    for one symbol returns that one object."""
    data = _data(payload, endpoint)
    return objects(EXCHANGE, endpoint, {"data": [data] if isinstance(data, dict) else data},
                   "data")


def parse_intervals(payload: Any) -> dict[str, float]:
    """{symbol: funding interval in hours} from `GET /api/v1/contract/funding_rate`."""
    return {
        field(EXCHANGE, FUNDING, row, "symbol", text): field(
            EXCHANGE, FUNDING, row, "collectCycle", hours_in(1)
        )
        for row in _rows(payload, FUNDING)
    }


def parse_contracts(payload: Any, intervals: dict[str, float]) -> list[Contract]:
    """Live perpetuals from `GET /api/v1/contract/detail`, with the interval `intervals`
    (`parse_intervals`) gives each; a contract without one is left out, logged.

    Sample (trimmed)::

        {"success": true, "code": 0, "data": [
          {"symbol": "BTC_USDT", "baseCoin": "BTC", "quoteCoin": "USDT", "settleCoin": "USDT",
           "contractSize": 0.0001, "futureType": 1, "state": 0, "isHidden": false,
           "apiAllowed": true, "createTime": 1591242684000}]}
    """
    contracts = []
    for row in _rows(payload, DETAIL):
        if (live := LISTING.live(EXCHANGE, DETAIL, row)) is None:
            continue
        symbol, state = live
        if symbol not in intervals:
            logger.warning("mexc %s: no funding interval in funding_rate, left out", symbol)
            continue
        contract = contract_from_symbol(
            EXCHANGE,
            symbol,
            intervals[symbol],
            base=field(EXCHANGE, DETAIL, row, "baseCoin", text),
            quote=field(EXCHANGE, DETAIL, row, "quoteCoin", text),
            settle=field(EXCHANGE, DETAIL, row, "settleCoin", text),
            listed_at=optional_field(row, "createTime", from_ms),
            status="trading" if state == "0" else "paused",
            contract_size=optional_field(row, "contractSize"),
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_tickers(payload: Any) -> dict[str, dict[str, float | None]]:
    """{symbol: {oi, volume}} from `GET /api/v1/contract/ticker` (no symbol: every contract).

    Sample (trimmed)::

        {"success": true, "code": 0, "data": [{"symbol": "ETH_USDT", "lastPrice": 3581.3,
          "volume24": 4045530, "amount24": 141331823.5755, "holdVol": 5832946,
          "indexPrice": 3580.7852, "fairPrice": 3581.08, "fundingRate": 0.000063,
          "timestamp": 1634162885016}]}
    """
    return {
        field(EXCHANGE, TICKER, row, "symbol", text): {
            "oi": optional_field(row, "holdVol"),  # contracts
            "volume": optional_field(row, "amount24"),  # quote currency
        }
        for row in _rows(payload, TICKER)
    }


def parse_current(
    payload: Any,
    tickers: dict[str, dict[str, float | None]] | None = None,
    observed_at: datetime | None = None,
) -> list[FundingSnapshot]:
    """Current funding from `GET /api/v1/contract/funding_rate` (one object per contract; the
    per-symbol form's single object is read too). `tickers` is `parse_tickers(...)` where it
    came. Sample (a real reply, 2026-09)::

        {"success": true, "code": 0, "data": {"symbol": "BTC_USDT", "fundingRate": 0.000029,
          "maxFundingRate": 0.0018, "minFundingRate": -0.0018, "collectCycle": 8,
          "nextSettleTime": 1789171200000, "timestamp": 1789147684514,
          "idxPrice": 77863.3, "fairPrice": 77825.5}}
    """
    tickers = tickers or {}
    snapshots = []
    for row in _rows(payload, FUNDING):
        symbol = field(EXCHANGE, FUNDING, row, "symbol", text)
        extra = tickers.get(symbol, {})
        snapshots.append(FundingSnapshot(
            exchange=EXCHANGE,
            symbol=symbol,
            funding_rate=field(EXCHANGE, FUNDING, row, "fundingRate", finite),
            funding_interval_hours=field(EXCHANGE, FUNDING, row, "collectCycle", hours_in(1)),
            next_funding_time=field(EXCHANGE, FUNDING, row, "nextSettleTime", from_ms),
            timestamp=optional_field(row, "timestamp", from_ms) or observed_at or utcnow(),
            mark_price=optional_field(row, "fairPrice"),
            index_price=optional_field(row, "idxPrice"),
            open_interest=extra.get("oi"),
            volume_24h=extra.get("volume"),
            rate_cap=optional_field(row, "maxFundingRate", finite),
            rate_floor=optional_field(row, "minFundingRate", finite),
            open_interest_unit="contracts",  # holdVol
            volume_unit="quote",  # amount24
        ))
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled rates from `GET /api/v1/contract/funding_rate/history` (newest first), each
    with the interval it had. Sample (a real first page, 2026-09)::

        {"success": true, "code": 0, "data": {"pageSize": 5, "totalCount": 1618,
          "totalPage": 324, "currentPage": 1, "resultList": [
            {"symbol": "BTC_USDT", "fundingRate": 0.000036, "settleTime": 1789142400000,
             "collectCycle": 8}]}}
    """
    data = _data(payload, HISTORY)
    return [
        FundingEvent(
            exchange=EXCHANGE,
            symbol=symbol,
            funding_time=field(EXCHANGE, HISTORY, row, "settleTime", from_ms),
            funding_rate=field(EXCHANGE, HISTORY, row, "fundingRate", finite),
            funding_interval_hours=field(EXCHANGE, HISTORY, row, "collectCycle", hours_in(1)),
        )
        for row in objects(EXCHANGE, HISTORY, data, "resultList")
    ]


class Adapter(ExchangeAdapter):
    """MEXC USDT perpetuals: funding_rate (+ ticker) = snapshot, history by page number."""

    id = EXCHANGE
    default_base_url = "https://api.mexc.com"
    rate_limit = RateLimit(20, 2.0)  # market endpoints: 20 requests / 2 s each (docs)
    history_page_size = 1000
    history_direction = "pages"  # `page_num` from 1 = the newest rows; no time parameters
    history_unit = "page"

    def list_contracts(self) -> list[Contract]:
        """detail (the contracts) + funding_rate (their intervals): two requests."""
        intervals = parse_intervals(self.http.get_json(FUNDING))
        return parse_contracts(self.http.get_json(DETAIL), intervals)

    def fetch_current(self) -> list[FundingSnapshot]:
        """Rates, prices and caps in one request; OI and volume in one more, if it comes."""
        payload = self.http.get_json(FUNDING)
        tickers = self.extra("ticker (OI, volume)",
                             lambda: parse_tickers(self.http.get_json(TICKER)))
        return parse_current(payload, tickers, self.http.exchange_now())

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """Page `page_num` of the rows, newest first."""
        params = {"symbol": contract.symbol, "page_num": query.page,
                  "page_size": self.history_page_size}
        return parse_history(self.http.get_json(HISTORY, params), contract.symbol)
