"""OKX v5 perpetual swaps (instType=SWAP).

Contracts come from `/api/v5/public/instruments`; current funding for every swap from one
`/api/v5/public/funding-rate?instId=ANY`, whose `nextFundingTime − fundingTime` is each
contract's funding interval; mark prices and open interest from one bulk request each. History
is `/api/v5/public/funding-rate-history`, newest first, up to 400 rows, and its `realizedRate`
is the rate that actually settled (`fundingRate` there is the prediction)
(../shared/exchange-apis.md §3). OKX counts history requests per IP and instrument, so each
instrument's history has a limiter of its own (`history_rate_limit`).
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
    contract_from_symbol,
    field,
    finite,
    objects,
    optional_field,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import from_ms, utcnow

logger = logging.getLogger(__name__)

EXCHANGE = "okx"
INSTRUMENTS = "/api/v5/public/instruments"
FUNDING_RATE = "/api/v5/public/funding-rate"
MARK_PRICE = "/api/v5/public/mark-price"
OPEN_INTEREST = "/api/v5/public/open-interest"
HISTORY = "/api/v5/public/funding-rate-history"
LIVE_STATES = {"live", "suspend"}  # suspend: trading halted, funding still settles
# code "0" is success; maintenance, rate limit and system busy are worth retrying
ENVELOPE = Envelope("code", "msg", ok=frozenset({"0"}),
                    temporary=frozenset({"50001", "50011", "50013"}))
HOUR_MS = 3_600_000


def _data(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    """The `data` array of a `{code: "0", data: [...]}` envelope, or the error code it names
    (51001 unknown instrument, 50011 rate limit: with HTTP 200 too)."""
    return objects(EXCHANGE, endpoint, ENVELOPE.open(EXCHANGE, endpoint, payload), "data")


def _swaps(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    """Rows of instType SWAP (instId=ANY may also carry X-Perp FUTURES rows)."""
    return [row for row in _data(payload, endpoint) if row.get("instType", "SWAP") == "SWAP"]


def parse_intervals(payload: Any) -> dict[str, float]:
    """{instId: hours} from `funding-rate?instId=ANY`: `nextFundingTime − fundingTime`."""
    intervals = {}
    for row in _swaps(payload, FUNDING_RATE):
        inst_id = field(EXCHANGE, FUNDING_RATE, row, "instId", text)
        upcoming = field(EXCHANGE, FUNDING_RATE, row, "fundingTime", int)
        following = field(EXCHANGE, FUNDING_RATE, row, "nextFundingTime", int)
        if following <= upcoming:
            raise ExchangeDataError(
                EXCHANGE, FUNDING_RATE,
                f"{inst_id}: 'nextFundingTime' {following} is not after 'fundingTime' {upcoming}",
            )
        intervals[inst_id] = (following - upcoming) / HOUR_MS
    return intervals


def parse_contracts(payload: Any, intervals: dict[str, float]) -> list[Contract]:
    """Live swaps from `GET /api/v5/public/instruments?instType=SWAP`.

    `intervals` is `parse_intervals(...)`; a live swap it does not name is logged and left
    out (OKX has no interval field on the instrument). Base and quote come from `uly`. Sample::

        {"code": "0", "msg": "", "data": [
          {"instType": "SWAP", "instId": "BTC-USDT-SWAP", "uly": "BTC-USDT",
           "settleCcy": "USDT", "ctVal": "0.01", "ctType": "linear",
           "listTime": "1611916828000", "state": "live", "ruleType": "normal"}]}
    """
    contracts = []
    for row in _swaps(payload, INSTRUMENTS):
        inst_id = field(EXCHANGE, INSTRUMENTS, row, "instId", text)
        state = field(EXCHANGE, INSTRUMENTS, row, "state", str)
        if state not in LIVE_STATES or row.get("ruleType") == "pre_market":
            logger.debug("okx %s: skipped, state %s", inst_id, state)
            continue
        base, _, quote = field(EXCHANGE, INSTRUMENTS, row, "uly", text).partition("-")
        settle = field(EXCHANGE, INSTRUMENTS, row, "settleCcy", text)
        if inst_id not in intervals:
            logger.warning("okx %s: contract skipped: no funding rate listed for it", inst_id)
            continue
        contract = contract_from_symbol(
            EXCHANGE,
            inst_id,
            intervals[inst_id],
            base=base,
            quote=quote,
            settle=settle,
            listed_at=optional_field(row, "listTime", from_ms),
            status="trading" if state == "live" else state,
            contract_size=optional_field(row, "ctVal"),  # base units (USD when inverse)
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_prices(payload: Any, endpoint: str, name: str) -> dict[str, float]:
    """{instId: value} from a bulk SWAP list (`mark-price` markPx, `open-interest` oiCcy).

    Open interest is read in coin units (`oiCcy`), not contracts (`oi`), whose size varies.
    """
    values = {}
    for row in _swaps(payload, endpoint):
        value = optional_field(row, name)
        if value is not None:
            values[field(EXCHANGE, endpoint, row, "instId", text)] = value
    return values


def parse_current(
    payload: Any,
    mark_prices: dict[str, float] | None = None,
    open_interest: dict[str, float] | None = None,
    observed_at: datetime | None = None,
) -> list[FundingSnapshot]:
    """Current funding of every swap from `GET /api/v5/public/funding-rate?instId=ANY`.

    `fundingTime` is the upcoming settlement (when `fundingRate` is paid), `nextFundingTime`
    the one after; `maxFundingRate`/`minFundingRate` bound the rate; `nextFundingRate`, the
    predicted next rate, is mostly sent empty now. Sample (trimmed)::

        {"code": "0", "msg": "", "data": [
          {"instId": "BTC-USDT-SWAP", "instType": "SWAP", "fundingRate": "0.0000182221218054",
           "fundingTime": "1743609600000", "nextFundingTime": "1743638400000",
           "settFundingRate": "0.0000145824401745", "settState": "settled",
           "maxFundingRate": "0.00375", "minFundingRate": "-0.00375", "nextFundingRate": "",
           "ts": "1743588686291"}]}
    """
    intervals = parse_intervals(payload)
    mark_prices, open_interest = mark_prices or {}, open_interest or {}
    now = observed_at or utcnow()
    snapshots = []
    for row in _swaps(payload, FUNDING_RATE):
        inst_id = row["instId"]  # parse_intervals checked it
        snapshots.append(
            FundingSnapshot(
                exchange=EXCHANGE,
                symbol=inst_id,
                funding_rate=field(EXCHANGE, FUNDING_RATE, row, "fundingRate", finite),
                funding_interval_hours=intervals[inst_id],
                next_funding_time=field(EXCHANGE, FUNDING_RATE, row, "fundingTime", from_ms),
                timestamp=optional_field(row, "ts", from_ms) or now,
                mark_price=mark_prices.get(inst_id),
                open_interest=open_interest.get(inst_id),
                open_interest_unit="base",  # oiCcy: coins, see parse_prices
                predicted_rate=optional_field(row, "nextFundingRate", finite),
                rate_cap=optional_field(row, "maxFundingRate", finite),
                rate_floor=optional_field(row, "minFundingRate", finite),
            )
        )
    return snapshots


def parse_history(payload: Any, symbol: str) -> list[FundingEvent]:
    """Settled rates from `GET /api/v5/public/funding-rate-history` (newest first).

    `realizedRate` is what settled; rows without it (old ones) fall back to `fundingRate`.
    Sample::

        {"code": "0", "msg": "", "data": [
          {"instId": "BTC-USD-SWAP", "instType": "SWAP", "fundingRate": "0.0000746604960499",
           "realizedRate": "0.0000746572360545", "fundingTime": "1703059200000",
           "method": "next_period"}]}
    """
    events = []
    for row in _data(payload, HISTORY):
        name = "realizedRate" if row.get("realizedRate") not in (None, "") else "fundingRate"
        events.append(
            FundingEvent(
                exchange=EXCHANGE,
                symbol=symbol,
                funding_time=field(EXCHANGE, HISTORY, row, "fundingTime", from_ms),
                funding_rate=field(EXCHANGE, HISTORY, row, name, finite),
            )
        )
    return events


class Adapter(ExchangeAdapter):
    """OKX swaps: funding-rate ANY = snapshot and intervals, history paged backward by `after`."""

    id = EXCHANGE
    default_base_url = "https://www.okx.com"
    # Public limits are per endpoint and IP + instrument (or instType): funding-rate and its
    # history 10 per 2 s per instId, instruments 20 per 2 s. Everything but history goes
    # through the shared 10 per 2 s; history through one 10 per 2 s limiter per instId, so a
    # settlement's ~220 contracts are not paced as one instrument (44 s at 10 per 2 s).
    rate_limit = RateLimit(10, 2.0)
    history_rate_limit = RateLimit(10, 2.0)
    history_page_size = 400
    history_direction = "backward"  # newest rows older than `after` (ms)
    history_bounds = "exclusive"  # `before` and `after` leave out a row exactly at them
    history_slack = timedelta(minutes=1)

    def list_contracts(self) -> list[Contract]:
        """Two requests: the instruments, and funding-rate ANY for their intervals."""
        instruments = self.http.get_json(INSTRUMENTS, {"instType": "SWAP"})
        funding = self.http.get_json(FUNDING_RATE, {"instId": "ANY"})
        return parse_contracts(instruments, parse_intervals(funding))

    def fetch_current(self) -> list[FundingSnapshot]:
        """Rates in one request; mark price and open interest in one more each, if they come."""
        payload = self.http.get_json(FUNDING_RATE, {"instId": "ANY"})
        marks = self._extra(MARK_PRICE, "markPx")
        interest = self._extra(OPEN_INTEREST, "oiCcy")
        return parse_current(payload, marks, interest, self.http.exchange_now())

    def _extra(self, endpoint: str, name: str) -> dict[str, float]:
        """Prices and OI are extras: their failure is logged and leaves them empty."""
        def read() -> dict[str, float]:
            return parse_prices(self.http.get_json(endpoint, {"instType": "SWAP"}), endpoint, name)

        return self.extra(f"{endpoint} {name}", read)

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The newest rows newer than `before` and older than `after` (ms)."""
        params = {"instId": contract.symbol, "before": query.first, "after": query.last,
                  "limit": self.history_page_size}
        payload = self.http.get_json(HISTORY, params, limit_key=contract.symbol)
        return parse_history(payload, contract.symbol)
