"""Backpack Exchange perpetuals (exchange-apis-more.md §17).

Contracts and their funding intervals come from `GET /api/v1/markets` (`marketType` "PERP";
`fundingInterval` in ms; closed order books left out), current funding of every perpetual from
one `GET /api/v1/markPrices` (the rate of the running interval, mark and index price) joined
with the markets' intervals and rate bounds (basis points) and `GET /api/v1/openInterest`
(every market, base units). History is
`GET /api/v1/fundingRates?symbol&limit&offset`: newest first, paged by offset, with no time
filter, so the walk starts at an offset estimated from the interval (a guess too far back is
corrected) and stops at the page that reaches the start of the window.

Quirks the code handles:
- the newest history row is the interval still accruing (its end in the future, its rate still
  moving): rows ending after the exchange's clock are dropped, never stored as settled;
- every perpetual has settled hourly since 2025 and 8-hourly before; history rows do not say
  which, so each row's interval is the gap to the row before it (1 h or 8 h, the two Backpack
  has used); after a settlement missing at the venue, and for the oldest row of a page, the
  neighbouring row's interval is kept. A page boundary falling exactly on the switch would
  give that one row the newer interval;
- `nextFundingTimestamp` is documented as an integer but came as a string in ccxt's recording;
  times without a zone (`intervalEndTimestamp`, `createdAt`) are UTC.

Followed the venue's docs where they and exchange-apis-more.md agree; the page size is the
exception: the docs say `limit` up to 10000, ccxt says the API's maximum is 1000 and other
clients page at 1000. 1000 is used: a too-large page the server cut would look like the last
page and lose rows silently, a smaller one only costs requests. Rate limit: Backpack's FAQ,
2000 requests a minute (whether history counts in its 30-a-minute "historical market data"
bucket is not published).

Confirmed by recorded real replies (ccxt's, ../shared/exchange-responses/backpack/): the
markPrices row (with a string `nextFundingTimestamp`) and the history rows (newest first, naive
ISO times, hourly). On the docs alone: the markets fields, offsets, limits, error bodies, the
accruing newest row (a third-party observation) and the 8 h history before the switch.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from typing import Any

from lib.exchanges.base import ExchangeAdapter, HistoryPage, PageQuery
from lib.exchanges.http import RateLimit
from lib.exchanges.replies import (
    ListingFields,
    SnapshotFields,
    contract_from_symbol,
    field,
    finite,
    hours_in,
    objects,
    optional_field,
    reply_error,
    text,
)
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import HOUR_MS, from_ms, normalise_settlement, to_ms

logger = logging.getLogger(__name__)

EXCHANGE = "backpack"
MARKETS = "/api/v1/markets"
MARK_PRICES = "/api/v1/markPrices"
HISTORY = "/api/v1/fundingRates"
OPEN_INTEREST = "/api/v1/openInterest"
CONTRACT_SIZE = 1.0  # quantities in base units (ccxt: contractSize 1)
BPS = 10_000.0
KNOWN_INTERVALS = (1.0, 8.0)  # hours Backpack has settled perpetuals on (8 h until 2025)
# Order books that still trade and accrue funding ("Closed" ones do not).
LISTING = ListingFields("symbol", "marketType", frozenset({"PERP"}), "orderBookState",
                        frozenset({"Open", "PostOnly", "LimitOnly", "CancelOnly"}))
SNAPSHOT = SnapshotFields(rate="fundingRate", mark="markPrice", index="indexPrice",
                          open_interest_unit="base")


def _checked(payload: Any, endpoint: str) -> Any:
    """The reply, unless it is the `{code, message}` object Backpack answers errors with."""
    if isinstance(payload, dict) and "code" in payload and "message" in payload:
        raise reply_error(EXCHANGE, endpoint, payload["message"], payload["code"])
    return payload


def _rows(payload: Any, endpoint: str) -> list[dict[str, Any]]:
    return objects(EXCHANGE, endpoint, _checked(payload, endpoint))


def naive_utc(value: Any) -> datetime:
    """Backpack's zone-less ISO times ("2025-09-11T12:00:00", "...T06:34:54.691858") are UTC."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not an ISO time")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def parse_contracts(payload: Any) -> list[Contract]:
    """Tradable perpetuals from `GET /api/v1/markets` (spot and closed ones left out).

    Sample (trimmed)::

        [{"baseSymbol": "SOL", "createdAt": "2025-01-21T06:34:54.691858",
          "fundingInterval": 3600000, "fundingRateLowerBound": "-100",
          "fundingRateUpperBound": "100", "marketType": "PERP", "orderBookState": "Open",
          "quoteSymbol": "USDC", "symbol": "SOL_USDC_PERP", "visible": true, ...}]
    """
    contracts = []
    for row in _rows(payload, MARKETS):
        if (live := LISTING.live(EXCHANGE, MARKETS, row)) is None:
            continue
        symbol = live[0]
        quote = field(EXCHANGE, MARKETS, row, "quoteSymbol", text)
        contract = contract_from_symbol(
            EXCHANGE,
            symbol,
            field(EXCHANGE, MARKETS, row, "fundingInterval", hours_in(HOUR_MS)),
            base=field(EXCHANGE, MARKETS, row, "baseSymbol", text),
            quote=quote,
            settle=quote,  # USDC-margined
            listed_at=optional_field(row, "createdAt", naive_utc),
            contract_size=CONTRACT_SIZE,
        )
        if contract is not None:
            contracts.append(contract)
    return contracts


def parse_rate_bounds(payload: Any) -> dict[str, tuple[float, float]]:
    """{symbol: (cap, floor)} as fractions, from the same markets reply (basis points there)."""
    bounds = {}
    for row in _rows(payload, MARKETS):
        cap = optional_field(row, "fundingRateUpperBound", finite)
        floor = optional_field(row, "fundingRateLowerBound", finite)
        if cap is not None and floor is not None:
            bounds[field(EXCHANGE, MARKETS, row, "symbol", text)] = (cap / BPS, floor / BPS)
    return bounds


def parse_current(
    payload: Any, intervals: dict[str, float], observed_at: datetime,
    bounds: dict[str, tuple[float, float]] | None = None,
    open_interest: dict[str, float] | None = None,
) -> list[FundingSnapshot]:
    """Current funding from `GET /api/v1/markPrices` for the perpetuals in `intervals`
    ({symbol: hours} of `parse_contracts`); other rows are no tradable perpetual. `bounds`
    and `open_interest` are `parse_rate_bounds` and `parse_open_interest`.

    `fundingRate` is the rate of the running interval, settling at `nextFundingTimestamp`
    (ms, number or string). Sample::

        [{"fundingRate": "0.0001", "indexPrice": "4308.72205352",
          "markPrice": "4307.57627888", "nextFundingTimestamp": "1754956800000",
          "symbol": "ETH_USDC_PERP"}]
    """
    bounds, open_interest = bounds or {}, open_interest or {}
    snapshots = []
    for row in _rows(payload, MARK_PRICES):
        symbol = field(EXCHANGE, MARK_PRICES, row, "symbol", text)
        if symbol not in intervals:
            logger.debug("backpack %s: not a listed perpetual, left out of the snapshot", symbol)
            continue
        next_time = field(EXCHANGE, MARK_PRICES, row, "nextFundingTimestamp", from_ms)
        snapshot = SNAPSHOT.read(EXCHANGE, MARK_PRICES, row, symbol, intervals[symbol],
                                 next_time, observed_at)
        if symbol in bounds:
            snapshot = replace(snapshot, rate_cap=bounds[symbol][0], rate_floor=bounds[symbol][1])
        snapshot = replace(snapshot, open_interest=open_interest.get(symbol))
        snapshots.append(snapshot)
    return snapshots


def parse_open_interest(payload: Any) -> dict[str, float]:
    """{symbol: open interest in base units} from `GET /api/v1/openInterest` (no symbol: every
    market, prediction markets included; a row without a number is left out). Sample::

        [{"openInterest": "1273.85214", "symbol": "BTC_USDC_PERP", "timestamp": 1753105735301}]
    """
    interest = {}
    for row in _rows(payload, OPEN_INTEREST):
        value = optional_field(row, "openInterest", finite)
        if value is not None:
            interest[field(EXCHANGE, OPEN_INTEREST, row, "symbol", text)] = value
    return interest


def row_intervals(times: list[datetime]) -> list[float | None]:
    """Each row's interval (hours) from rows newest first: the gap to the next older row where
    it is one Backpack has used, else the nearest older row's (a settlement missing at the
    venue), else the nearest newer row's (the oldest row of a page); None with no evidence."""
    if not times:
        return []
    gaps = [(a - b) / timedelta(hours=1) for a, b in pairwise(times)]
    known: list[float | None] = [g if g in KNOWN_INTERVALS else None for g in gaps] + [None]
    for i in range(len(known) - 2, -1, -1):  # oldest to newest: carry the older row's
        if known[i] is None:
            known[i] = known[i + 1]
    for i in range(1, len(known)):  # newest to oldest: carry the newer row's
        if known[i] is None:
            known[i] = known[i - 1]
    return known


def parse_history(payload: Any, symbol: str, now: datetime) -> list[FundingEvent]:
    """Settled rates from `GET /api/v1/fundingRates` (newest first); rows whose interval ends
    after `now` (the exchange's clock) are still accruing and left out. Sample::

        [{"fundingRate": "0.0000125", "intervalEndTimestamp": "2025-09-11T12:00:00",
          "symbol": "ETH_USDC_PERP"},
         {"fundingRate": "0.000006196", "intervalEndTimestamp": "2025-09-11T11:00:00",
          "symbol": "ETH_USDC_PERP"}]
    """
    rows = [
        (field(EXCHANGE, HISTORY, row, "intervalEndTimestamp", naive_utc),
         field(EXCHANGE, HISTORY, row, "fundingRate", finite))
        for row in _rows(payload, HISTORY)
    ]
    settled = [(when, rate) for when, rate in rows if when <= now]
    intervals = row_intervals([normalise_settlement(when) for when, _ in settled])
    return [
        FundingEvent(exchange=EXCHANGE, symbol=symbol, funding_time=when, funding_rate=rate,
                     funding_interval_hours=hours)
        for (when, rate), hours in zip(settled, intervals, strict=True)
    ]


def _margin(rows: int) -> int:
    """Rows to start newer than estimated: settlements missing at the venue make the true
    offset smaller, and a page started too far back costs a request."""
    return rows // 100 + 1


class Adapter(ExchangeAdapter):
    """Backpack perpetuals: markPrices + markets; history newest first by offset."""

    id = EXCHANGE
    default_base_url = "https://api.backpack.exchange"
    rate_limit = RateLimit(2000, 60.0)
    history_page_size = 1000
    history_direction = "backward"  # newest first; the cursor is an offset (see history_page)

    def _markets(self) -> Any:
        return self.http.get_json(MARKETS)

    def list_contracts(self) -> list[Contract]:
        return parse_contracts(self._markets())

    def fetch_current(self) -> list[FundingSnapshot]:
        """Three requests: markPrices (rates, prices), markets (intervals, rate bounds) and
        openInterest, an extra whose failure leaves it out."""
        payload = self.http.get_json(MARK_PRICES)
        markets = self._markets()
        interest = self.extra("open interest",
                              lambda: parse_open_interest(self.http.get_json(OPEN_INTEREST)))
        intervals = {c.symbol: c.funding_interval_hours for c in parse_contracts(markets)}
        return parse_current(payload, intervals, self.http.exchange_now(),
                             parse_rate_bounds(markets), interest)

    def _offset_page(self, contract: Contract, offset: int) -> tuple[list[FundingEvent], int]:
        """One request: the settled events at `offset` and how many rows the reply had."""
        params = {"symbol": contract.symbol, "limit": self.history_page_size, "offset": offset}
        payload = self.http.get_json(HISTORY, params)
        rows = len(payload) if isinstance(payload, list) else 0
        return parse_history(payload, contract.symbol, self.http.exchange_now()), rows

    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """The page of rows starting `query.first` rows from the newest."""
        return self._offset_page(contract, query.first)[0]

    def history_page(
        self, contract: Contract, start: datetime, end: datetime, cursor: Any | None
    ) -> HistoryPage:
        """One page by offset. Cursor: (offset, whether it is a first guess).

        The first offset counts the settlements after `end` (and the accruing row) from the
        interval. A guess too far back (an empty page, or one whose newest row leaves room
        for a settlement at or before `end`) is corrected towards newer rows; then the walk
        goes to older rows until a page reaches `start` or comes back short."""
        step = timedelta(hours=contract.funding_interval_hours)
        if cursor is None:
            now = self.http.exchange_now()
            step_ms = int(step / timedelta(milliseconds=1))
            newer = max(0, to_ms(now) // step_ms - to_ms(end) // step_ms) + 1
            offset, guess = max(0, newer - _margin(newer)), True
        else:
            offset, guess = cursor
        events, rows = self._offset_page(contract, offset)
        times = [normalise_settlement(e.funding_time) for e in events]
        if guess and offset > 0 and (not times or max(times) + step <= end):
            if not times:  # past the oldest row (an older interval, a short history)
                return HistoryPage(events, (offset // 2, True))
            newer = (end - max(times)) // step
            return HistoryPage(events, (max(0, offset - newer - _margin(newer)), True))
        if rows >= self.history_page_size and (not times or min(times) > start):
            return HistoryPage(events, (offset + rows, False))
        return HistoryPage(events, None)
