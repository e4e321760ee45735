"""Aster (AsterDEX) perpetual futures: the Binance-style "fapi" (exchange-apis-more.md §16).

The same API shape as Binance USDⓈ-M, so the listing and snapshot rows are read with Binance's
field descriptions (`binance.LISTING`, `binance.SNAPSHOT`); where Aster differs, this module
says so:

- `GET /fapi/v1/fundingInfo` ("Get Funding Rate Config") has its own row shape
  (`fundingFeeCap`/`fundingFeeFloor`, numbers or null) and lists 8 h symbols too (ccxt's
  recorded reply: BTCUSDT, 8 h, null caps), but the docs do not promise every symbol. A symbol
  missing from it settles on the default of this Binance-compatible API, 8 h (the interval of
  Aster's main perpetuals, BTCUSDT and ETHUSDT); the reply itself wins wherever it has one.
- History rows (`GET /fapi/v1/fundingRate`) carry no `markPrice` and are stamped exactly on the
  settlement (confirmed by the recorded reply); ascending from `startTime`, 1000 a page
  (docs: default 100, max 1000). Without `symbol` it pages every symbol's settlements the same
  way (docs), which the collector and the backfill use to store a whole settlement instant or
  window in one request a page (`bulk_history_rows`).
- `premiumIndex` also lists rows that are no trading perpetual (BTCUSD-style names with rate
  "0"): the symbol rules do not know them and they are left out.
- Limits (docs): 2400 weight a minute per IP with `X-MBX-USED-WEIGHT-1M`, 429 then a 418 ban;
  no separate funding-history budget is documented (Binance's 500 per 5 min is Binance's).

Confirmed by recorded real replies (ccxt's, ../shared/exchange-responses/aster/): the
premiumIndex row (strings and ms numbers), the history row and the fundingInfo row. On the
docs alone: page limits, inclusive bounds, the weight budget and the exchangeInfo shape
(Binance's; numbers may come as strings, both are read); on neither, an assumption: the 8 h
default for a symbol fundingInfo leaves out, and 1000-prefixed multiplier names.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from lib.errors import ExchangeDataError, UnknownSymbolError
from lib.exchanges.base import ExchangeAdapter, PageQuery
from lib.exchanges.http import RateLimit, WeightHeader
from lib.exchanges.replies import (
    contract_from_symbol,
    field,
    finite,
    funding_events,
    hours_in,
    json_object,
    objects,
    optional_field,
    reply_error,
    text,
)
from lib.exchanges.symbols import parse_native
from lib.exchanges.venues.binance import LISTING, SNAPSHOT
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import from_ms, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "aster"
EXCHANGE_INFO = "/fapi/v1/exchangeInfo"
PREMIUM_INDEX = "/fapi/v1/premiumIndex"
FUNDING_INFO = "/fapi/v1/fundingInfo"
HISTORY = "/fapi/v1/fundingRate"
# A symbol fundingInfo does not list settles on the Binance-compatible default, every 8 hours.
UNLISTED_INTERVAL_HOURS = 8.0
CONTRACT_SIZE = 1.0  # quantities in base units (ccxt: contractSize 1)


def _checked(payload: Any, endpoint: str) -> Any:
    """The reply, unless it is the `{code, msg}` object Aster answers errors with."""
    if isinstance(payload, dict) and "code" in payload and "msg" in payload:
        raise reply_error(EXCHANGE, endpoint, payload["msg"], payload["code"])
    return payload


def _rows(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    return objects(EXCHANGE, endpoint, _checked(payload, endpoint))


def parse_funding_info(payload: Any) -> dict[str, float]:
    """Funding interval of every symbol from `GET /fapi/v1/fundingInfo`: {symbol: hours}.

    Sample::

        [{"symbol": "INJUSDT", "interestRate": "0.00010000", "time": 1756197479000,
          "fundingIntervalHours": 8, "fundingFeeCap": 0.03, "fundingFeeFloor": -0.03},
         {"symbol": "BTCUSDT", "interestRate": "0.00010000", "time": 1760513159000,
          "fundingIntervalHours": 8, "fundingFeeCap": null, "fundingFeeFloor": null}]
    """
    intervals = {
        field(EXCHANGE, FUNDING_INFO, row, "symbol", text):
            field(EXCHANGE, FUNDING_INFO, row, "fundingIntervalHours", hours_in(1))
        for row in _rows(payload, FUNDING_INFO)
    }
    if not intervals:
        # Aster lists every symbol; an empty (cut) reply taken at its word would give every
        # 1, 2 and 4 h contract the 8 h default
        raise ExchangeDataError(EXCHANGE, FUNDING_INFO, "the reply lists no symbol")
    return intervals


def parse_funding_caps(payload: Any) -> dict[str, tuple[float, float]]:
    """{symbol: (cap, floor)} where the same fundingInfo reply gives both (null: unpublished)."""
    caps = {}
    for row in _rows(payload, FUNDING_INFO):
        cap = optional_field(row, "fundingFeeCap", finite)
        floor = optional_field(row, "fundingFeeFloor", finite)
        if cap is not None and floor is not None:
            caps[field(EXCHANGE, FUNDING_INFO, row, "symbol", text)] = (cap, floor)
    return caps


def _interval(symbol: str, intervals: dict[str, float]) -> float:
    return intervals.get(symbol, UNLISTED_INTERVAL_HOURS)


def _perpetual_name(symbol: str) -> bool:
    """Whether the symbol rules know the name (BTCUSD-style premiumIndex rows: not)."""
    try:
        parse_native(EXCHANGE, symbol)
    except UnknownSymbolError:
        return False
    return True


def parse_contracts(payload: Any, intervals: dict[str, float] | None = None) -> list[Contract]:
    """Trading perpetuals from `GET /fapi/v1/exchangeInfo` (pending and settling left out).

    `intervals` is `parse_funding_info(...)`. Rows without a `baseAsset` are skipped (ccxt
    does the same). Sample::

        {"serverTime": 1750147224000, "symbols": [
          {"symbol": "BTCUSDT", "pair": "BTCUSDT", "contractType": "PERPETUAL",
           "deliveryDate": 4133404800000, "onboardDate": 1743148800000, "status": "TRADING",
           "baseAsset": "BTC", "quoteAsset": "USDT", "marginAsset": "USDT", ...}]}
    """
    reply = json_object(EXCHANGE, EXCHANGE_INFO, _checked(payload, EXCHANGE_INFO))
    rows = objects(EXCHANGE, EXCHANGE_INFO, reply, "symbols")
    intervals = intervals or {}
    contracts = []
    for row in rows:
        if row.get("baseAsset") is None:
            logger.debug("aster %s: no baseAsset, skipped", row.get("symbol"))
            continue
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
    """Current funding of every perpetual from `GET /fapi/v1/premiumIndex` (no symbol).

    `lastFundingRate` is the rate of the running interval, settling at `nextFundingTime`;
    the interval is not in the row (it is `intervals`' from fundingInfo). Sample::

        [{"symbol": "BTCUSDT", "markPrice": "106630.71786957",
          "indexPrice": "106678.52086957", "estimatedSettlePrice": "106705.75192609",
          "lastFundingRate": "0.00010000", "interestRate": "0.00010000",
          "nextFundingTime": 1750176000000, "time": 1750147224000}]
    """
    intervals, caps = intervals or {}, caps or {}
    now = observed_at or utcnow()
    snapshots = []
    for row in _rows(payload, PREMIUM_INDEX):
        symbol = field(EXCHANGE, PREMIUM_INDEX, row, "symbol", text)
        if not _perpetual_name(symbol):
            logger.debug("aster %s: not a perpetual name, left out of the snapshot", symbol)
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
    """Settled rates from `GET /fapi/v1/fundingRate` (ascending, `fundingTime` ms, no mark).

    Sample::

        [{"symbol": "BTCUSDT", "fundingTime": 1750060800000, "fundingRate": "0.00010000"}]
    """
    return funding_events(EXCHANGE, HISTORY, _rows(payload, HISTORY), symbol,
                          time=("fundingTime", from_ms), rate="fundingRate")


def parse_bulk_history(payload: Any) -> list[FundingEvent]:
    """Settled rates of every symbol from `GET /fapi/v1/fundingRate` without `symbol`
    (ascending by `fundingTime` across symbols; each row names its symbol, no mark price).

    Sample::

        [{"symbol": "BTCUSDT", "fundingTime": 1750060800000, "fundingRate": "0.00010000"},
         {"symbol": "ETHUSDT", "fundingTime": 1750060800000, "fundingRate": "0.00004711"}]
    """
    events = []
    for row in _rows(payload, HISTORY):
        symbol = field(EXCHANGE, HISTORY, row, "symbol", text)
        events.extend(funding_events(EXCHANGE, HISTORY, [row], symbol,
                                     time=("fundingTime", from_ms), rate="fundingRate"))
    return events


class Adapter(ExchangeAdapter):
    """Aster perpetuals: premiumIndex + fundingInfo, history paged forward (per contract, or
    every contract at once without `symbol`)."""

    id = EXCHANGE
    default_base_url = "https://fapi.asterdex.com"
    rate_limit = RateLimit(2400, 60.0)  # every call here weighs 1 (docs)
    history_page_size = 1000
    history_direction = "forward"  # `startTime` inclusive, ms
    history_slack = timedelta(minutes=1)
    bulk_history_page_size = 1000  # the same endpoint without `symbol`: every symbol's rows
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
        """The oldest rows from `startTime` to `endTime` (ms, both inclusive)."""
        params = {"symbol": contract.symbol, "startTime": query.first, "endTime": query.last,
                  "limit": self.history_page_size}
        return parse_history(self.http.get_json(HISTORY, params), contract.symbol)

    def bulk_history_rows(self, query: PageQuery) -> list[FundingEvent]:
        """Every symbol's oldest rows from `startTime` to `endTime` (ms)."""
        params = {"startTime": query.first, "endTime": query.last,
                  "limit": self.bulk_history_page_size}
        return parse_bulk_history(self.http.get_json(HISTORY, params))
