"""Bitget mix v2 USDT-margined perpetuals (productType=USDT-FUTURES).

Contracts come from `/api/v2/mix/market/contracts` (`fundInterval` hours), current funding for
every symbol from one `/api/v2/mix/market/current-fund-rate` (`fundingRateInterval`,
`nextUpdate`), prices, open interest and volume from one `/api/v2/mix/market/tickers`. History
is `/api/v2/mix/market/history-fund-rate`: newest first, `pageNo`/`pageSize` ≤ 100 and no time
parameters, so pages are addressed by position (../shared/exchange-apis.md §4).
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

EXCHANGE = "bitget"
CONTRACT_SIZE = 1.0  # quantities are in base units (ccxt: contractSize 1)
CONTRACTS = "/api/v2/mix/market/contracts"
CURRENT = "/api/v2/mix/market/current-fund-rate"
TICKERS = "/api/v2/mix/market/tickers"
HISTORY = "/api/v2/mix/market/history-fund-rate"
PRODUCT = {"productType": "USDT-FUTURES"}
# symbolStatus: listed = pre-launch, off = removed; the others still settle funding.
LISTING = ListingFields(
    "symbol", "symbolType", frozenset({"perpetual"}),
    "symbolStatus", frozenset({"normal", "maintain", "limit_open", "restrictedAPI"}),
)
# code "00000" is success; throttled, throttled and "request timed out" are worth retrying
ENVELOPE = Envelope("code", "msg", ok=frozenset({"00000"}),
                    temporary=frozenset({"429", "1001", "40010"}))


def _rows(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    """The `data` list of a `{code: "00000", data: [...]}` envelope, or the error it names."""
    return objects(EXCHANGE, endpoint, ENVELOPE.open(EXCHANGE, endpoint, payload), "data")


def _first(row: dict[str, Any], endpoint: str, names: tuple[str, ...], convert: Any) -> Any:
    """The first of several names a field has had across API versions (v2 vs UTA v3)."""
    for name in names[:-1]:
        if row.get(name) not in (None, ""):
            return field(EXCHANGE, endpoint, row, name, convert)
    return field(EXCHANGE, endpoint, row, names[-1], convert)


def parse_contracts(payload: Any) -> list[Contract]:
    """Perpetuals that settle funding from `GET /api/v2/mix/market/contracts`.

    Sample (trimmed)::

        {"code": "00000", "msg": "success", "requestTime": 1695793701269, "data": [
          {"symbol": "BTCUSDT", "baseCoin": "BTC", "quoteCoin": "USDT",
           "supportMarginCoins": ["USDT"], "symbolType": "perpetual",
           "symbolStatus": "normal", "launchTime": "", "fundInterval": "8"}]}
    """
    contracts = []
    for row in _rows(payload, CONTRACTS):
        if (live := LISTING.live(EXCHANGE, CONTRACTS, row)) is None:
            continue
        symbol, status = live
        quote = field(EXCHANGE, CONTRACTS, row, "quoteCoin", text)
        margin = row.get("supportMarginCoins") or [quote]
        contract = contract_from_symbol(
            EXCHANGE,
            symbol,
            field(EXCHANGE, CONTRACTS, row, "fundInterval", hours_in(1)),
            base=field(EXCHANGE, CONTRACTS, row, "baseCoin", text),
            quote=quote,
            settle=str(margin[0]),
            listed_at=optional_field(row, "launchTime", from_ms),
            status="trading" if status == "normal" else status,
            contract_size=CONTRACT_SIZE,
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_schedule(payload: Any, endpoint: str = CURRENT) -> dict[str, tuple[datetime, float]]:
    """{symbol: (next settlement, interval hours)} from current-fund-rate or funding-time.

    current-fund-rate names them `nextUpdate`/`fundingRateInterval`, funding-time
    `nextFundingTime`/`ratePeriod`::

        {"code": "00000", "data": [{"symbol": "BTCUSDT", "nextFundingTime": "1695801600000",
                                    "ratePeriod": "8"}]}
    """
    schedule = {}
    for row in _rows(payload, endpoint):
        symbol = field(EXCHANGE, endpoint, row, "symbol", text)
        when = _first(row, endpoint, ("nextFundingTime", "nextUpdate"), from_ms)
        hours = _first(row, endpoint, ("ratePeriod", "fundingRateInterval"), hours_in(1))
        schedule[symbol] = (when, hours)
    return schedule


def parse_tickers(payload: Any) -> dict[str, dict[str, float | None]]:
    """{symbol: {mark, index, oi, volume}} from `GET /api/v2/mix/market/tickers`.

    Sample (trimmed)::

        {"code": "00000", "data": [{"symbol": "BTCUSD", "indexPrice": "29132.353333",
          "markPrice": "12345", "fundingRate": "-0.0007", "holdingAmount": "125.6844",
          "quoteVolume": "0", "ts": "1695794271400"}]}
    """
    return {
        field(EXCHANGE, TICKERS, row, "symbol", text): {
            "mark": optional_field(row, "markPrice"),
            "index": optional_field(row, "indexPrice"),
            "oi": optional_field(row, "holdingAmount"),
            "volume": optional_field(row, "quoteVolume"),
        }
        for row in _rows(payload, TICKERS)
    }


def parse_current(
    payload: Any,
    tickers: dict[str, dict[str, float | None]] | None = None,
    observed_at: datetime | None = None,
) -> list[FundingSnapshot]:
    """Current funding of every symbol from `GET /api/v2/mix/market/current-fund-rate`.

    `tickers` is `parse_tickers(...)` (prices, OI, volume) where it was fetched. Sample::

        {"code": "00000", "msg": "success", "requestTime": 1743054548546, "data": [
          {"symbol": "BTCUSDT", "fundingRate": "0.000068", "fundingRateInterval": "8",
           "nextUpdate": "1743062400000", "minFundingRate": "-0.003",
           "maxFundingRate": "0.003"}]}
    """
    schedule = parse_schedule(payload)
    now = optional_field(payload, "requestTime", from_ms) or observed_at or utcnow()
    tickers = tickers or {}
    snapshots = []
    for row in _rows(payload, CURRENT):
        symbol = row["symbol"]  # parse_schedule checked it
        when, hours = schedule[symbol]
        extra = tickers.get(symbol, {})
        snapshots.append(
            FundingSnapshot(
                exchange=EXCHANGE,
                symbol=symbol,
                funding_rate=field(EXCHANGE, CURRENT, row, "fundingRate", finite),
                funding_interval_hours=hours,
                next_funding_time=when,
                timestamp=now,
                mark_price=extra.get("mark"),
                index_price=extra.get("index"),
                open_interest=extra.get("oi"),
                volume_24h=extra.get("volume"),
                open_interest_unit="base",  # holdingAmount: coins
                volume_unit="quote",  # quoteVolume
                rate_cap=optional_field(row, "maxFundingRate", finite),
                rate_floor=optional_field(row, "minFundingRate", finite),
            )
        )
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled rates from `GET /api/v2/mix/market/history-fund-rate` (newest first).

    Also reads the UTA v3 shape (`data.resultList`, `fundingRateTimestamp`). Sample::

        {"code": "00000", "msg": "success", "requestTime": 1695796546319, "data": [
          {"symbol": "BTCUSDT", "fundingRate": "0.0005", "fundingTime": "1695776400000"}]}
    """
    reply = ENVELOPE.open(EXCHANGE, HISTORY, payload)
    if isinstance(reply.get("data"), dict):  # UTA v3: {"data": {"resultList": [...]}}
        rows = objects(EXCHANGE, HISTORY, reply["data"], "resultList")
    else:
        rows = objects(EXCHANGE, HISTORY, reply, "data")
    return [
        FundingEvent(
            exchange=EXCHANGE,
            symbol=symbol,
            funding_time=_first(row, HISTORY, ("fundingRateTimestamp", "fundingTime"), from_ms),
            funding_rate=field(EXCHANGE, HISTORY, row, "fundingRate", finite),
        )
        for row in rows
    ]


class Adapter(ExchangeAdapter):
    """Bitget USDT-M perpetuals: current-fund-rate + tickers, history addressed by page."""

    id = EXCHANGE
    default_base_url = "https://api.bitget.com"
    rate_limit = RateLimit(20, 1.0)  # 20 requests/s per endpoint and IP (6000/min overall)
    history_page_size = 100
    history_direction = "pages"  # `pageNo` from 1 = the newest rows; no time parameters
    history_unit = "page"

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self.http.get_json(CONTRACTS, PRODUCT))

    def fetch_current(self) -> list[FundingSnapshot]:
        """Rates in one request; prices, OI and volume in one more, if it comes."""
        payload = self.http.get_json(CURRENT, PRODUCT)
        tickers = self.extra("tickers (prices, OI, volume)",
                             lambda: parse_tickers(self.http.get_json(TICKERS, PRODUCT)))
        return parse_current(payload, tickers, self.http.exchange_now())

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """Page `pageNo` of the rows, newest first."""
        params = {**PRODUCT, "symbol": contract.symbol, "pageNo": query.page,
                  "pageSize": self.history_page_size}
        return parse_history(self.http.get_json(HISTORY, params), contract.symbol)
