"""The one interface every exchange adapter implements, and the flow they share.

An adapter declares its facts as class attributes: base URL, rate limit (and, where the venue
counts history per instrument, `history_rate_limit`; where it reports its count in a header,
`weight_header` or `remaining_header`), and how its history pages (`history_page_size`,
`history_direction`, `history_unit`, `history_bounds`, `history_slack`). It implements three
small hooks:

- `list_contracts()`: the perpetual contracts (delivery and pre-launch ones left out);
- `fetch_current()`: current funding of every contract in the fewest requests;
- `history_rows(contract, query)`: one history request, parsed: the rows between `query.first`
  and `query.last` in the venue's cursor unit, or page `query.page` of a page-number venue.

A venue whose history endpoint also answers for every contract at once (Binance and Aster's
`fundingRate` without `symbol`: all symbols' settlements from `startTime`, ascending) declares
`bulk_history_page_size` and implements `bulk_history_rows(query)`; `fetch_bulk_history()` then
stores a whole settlement instant, or a whole window, in one request per page instead of one
per contract. The collector and the backfill plan their requests from that fact.

`fetch_history()` owns the pagination loop: where the first request starts (the range widened
by the slack), the next cursor (one unit past the last row seen where the venue's bounds are
inclusive, that row's own time where they are exclusive, the next page number), when to stop
(a short page, or one reaching the range end), de-duplication and normalising settlement times
to the schedule, so no adapter writes it again.

Parsing lives in pure module-level functions `parse_*` in each adapter module, tested on
recorded responses; what their loops share (reading rows, building contracts, translating what
a reply's body says into errors) is `lib.exchanges.replies`.
"""

from __future__ import annotations

import logging
import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal, TypeVar

from config.settings import Settings, get_settings
from lib.errors import (
    ExchangeDataError,
    ExchangeError,
)
from lib.exchanges.http import ExchangeHttp, RateLimit, RemainingHeader, WeightHeader
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import HOUR_MS, normalise_settlement, to_ms

logger = logging.getLogger(__name__)

T = TypeVar("T")

# forward: oldest rows first from a start cursor; backward: newest rows first down from an end
# cursor; pages: numbered pages, newest first, with no time parameters.
Direction = Literal["forward", "backward", "pages"]
Unit = Literal["ms", "s", "page"]  # what a cursor counts: epoch ms, epoch seconds, page numbers
# inclusive: a row exactly at a bound is in the reply, so the next cursor steps one unit past
# the last row seen; exclusive: it is not, so the next cursor is that row's own time.
Bounds = Literal["inclusive", "exclusive"]


@dataclass(frozen=True, slots=True)
class PageQuery:
    """One history request in the venue's cursor unit: the rows from `first` to `last`, or, for
    a page-number venue, the page `first` (== `last`)."""

    first: int
    last: int

    @property
    def page(self) -> int:
        return self.first


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of history and where the next page starts (None: no more pages)."""

    events: list[FundingEvent]
    next_cursor: Any | None


class ExchangeAdapter(ABC):
    """Base of every exchange adapter."""

    id: ClassVar[str]
    default_base_url: ClassVar[str]
    rate_limit: ClassVar[RateLimit]
    weight_header: ClassVar[WeightHeader | None] = None
    remaining_header: ClassVar[RemainingHeader | None] = None
    # Where the venue counts history requests per instrument (OKX: 10 / 2 s per IP and instId),
    # that budget: history requests sent with `limit_key=<symbol>` are then limited by it, one
    # limiter per instrument, and not by the shared `rate_limit`. None: history shares it.
    history_rate_limit: ClassVar[RateLimit | None] = None
    retry_after_unit: ClassVar[float] = 1.0  # seconds per unit of the venue's Retry-After
    history_page_size: ClassVar[int]  # the most rows one history request returns
    history_direction: ClassVar[Direction]
    history_unit: ClassVar[Unit] = "ms"
    history_bounds: ClassVar[Bounds] = "inclusive"
    # How far past the range ends to ask: venues stamp a settlement late (a few ms to seconds),
    # so the row for a settlement exactly at `end` is only in a reply that reaches past it.
    # fetch_history keeps exactly [start, end] after normalising.
    history_slack: ClassVar[timedelta] = timedelta(0)
    # The most rows one history request across every contract returns (forward, by time);
    # 0: the venue pages history per contract only.
    bulk_history_page_size: ClassVar[int] = 0
    # How much earlier than `start` an adapter reads history to judge its first row by the
    # rows before it (Hibachi infers each row's interval from the spacing); not returned.
    history_lead: ClassVar[timedelta] = timedelta(0)

    def __init__(self, settings: Settings | None = None, time_scale: float = 1.0) -> None:
        self.settings = settings or get_settings()
        self.base_url = self.settings.exchange_base_url(self.id, self.default_base_url)
        history_limit = self.history_rate_limit
        self.http = ExchangeHttp(
            self.id,
            self.base_url,
            _scaled(self.rate_limit, time_scale),
            connect_timeout=self.settings.HTTP_CONNECT_TIMEOUT,
            read_timeout=self.settings.HTTP_READ_TIMEOUT,
            max_retries=self.settings.HTTP_MAX_RETRIES,
            weight_header=self.weight_header,
            remaining_header=self.remaining_header,
            keyed_rate_limit=None if history_limit is None else _scaled(history_limit, time_scale),
            time_scale=time_scale,
            retry_after_unit=self.retry_after_unit,
        )

    # --- the interface -------------------------------------------------------------------
    @abstractmethod
    def list_contracts(self) -> list[Contract]:
        """Every live perpetual contract with its canonical symbol and funding interval."""

    @abstractmethod
    def fetch_current(self) -> list[FundingSnapshot]:
        """Current funding of every perpetual contract, in as few requests as possible."""

    @abstractmethod
    def history_rows(self, contract: Contract, query: PageQuery) -> list[FundingEvent]:
        """One history request, parsed (the venue's own order and reported times)."""

    def bulk_history_rows(self, query: PageQuery) -> list[FundingEvent]:
        """One history request across every contract, parsed: the oldest rows from
        `query.first` to `query.last`, each event naming its own symbol. Only venues with
        `bulk_history_page_size` implement it."""
        raise NotImplementedError(f"{self.id} has no history across contracts")

    @property
    def has_bulk_history(self) -> bool:
        return self.bulk_history_page_size > 0

    def published_settlements(self) -> dict[str, datetime] | None:
        """The newest settlement each contract's history holds, where the venue says so for
        every contract in one request (Drift's `fundingRateUpdateTs`); None where it cannot.
        The settlement worker then asks history for a settlement only once it is published,
        instead of asking until it appears."""
        return None

    # --- the shared flow -----------------------------------------------------------------
    def fetch_bulk_history(
        self, contracts: dict[str, Contract], start: datetime, end: datetime
    ) -> dict[str, list[FundingEvent]]:
        """Settled funding of every contract in `contracts` ({symbol: contract}) in
        [start, end]: {symbol: events oldest first}, one row a settlement, times normalised.

        A full page may end inside one settlement instant (hundreds of contracts settle at
        once, each stamped a few ms apart, some on the same ms): the rows stamped exactly at the
        page's last time are dropped and the next page starts at that time, so rows the page
        cut off at a tie are asked again rather than lost, and none is doubled. Only a page
        whose rows all share one time cannot advance (an error). Rows of symbols not in
        `contracts` (delivery futures, delisted) are left out.
        """
        size = self.bulk_history_page_size
        first = self._in_unit(start - self.history_slack)
        last = self._in_unit(end + self.history_slack)
        found: dict[str, dict[datetime, FundingEvent]] = {}
        while True:
            rows = self.bulk_history_rows(PageQuery(first, last))
            full = len(rows) >= size
            if full:
                newest = max(self._in_unit(e.funding_time) for e in rows)
                rows = [e for e in rows if self._in_unit(e.funding_time) != newest]
                if not rows:
                    raise ExchangeDataError(self.id, "history", f"more than {size} settlements "
                                            f"stamped {newest}: a page across contracts "
                                            "cannot advance")
            for event in rows:
                contract = contracts.get(event.symbol)
                when = normalise_settlement(event.funding_time)
                if contract is None or not start <= when <= end:
                    continue
                interval = event.funding_interval_hours or contract.funding_interval_hours
                found.setdefault(event.symbol, {})[when] = replace(
                    event, funding_time=when, funding_interval_hours=interval)
            if not full or newest > last:
                break
            first = newest
        return {symbol: [by_time[t] for t in sorted(by_time)]
                for symbol, by_time in found.items()}

    def fetch_history(
        self, contract: Contract, start: datetime, end: datetime
    ) -> list[FundingEvent]:
        """Settled funding of one contract in [start, end], oldest first, one row a settlement.

        Pages are requested in the exchange's own direction until the page that reaches the
        range end; settlement times are normalised to the schedule.
        """
        events: dict[datetime, FundingEvent] = {}
        cursor: Any | None = None
        seen_cursors: set[Any] = set()
        while True:
            page = self.history_page(contract, start, end, cursor)
            for event in page.events:
                when = normalise_settlement(event.funding_time)
                if start <= when <= end:
                    interval = event.funding_interval_hours or contract.funding_interval_hours
                    events[when] = replace(
                        event, funding_time=when, funding_interval_hours=interval
                    )
            if page.next_cursor is None:
                break
            if page.next_cursor in seen_cursors:
                raise ExchangeDataError(
                    self.id, "history", f"{contract.symbol}: pagination did not advance"
                )
            seen_cursors.add(page.next_cursor)
            cursor = page.next_cursor
        return [events[t] for t in sorted(events)]

    def history_page(
        self, contract: Contract, start: datetime, end: datetime, cursor: Any | None
    ) -> HistoryPage:
        """One page of settled funding for [start, end]; cursor None asks for the first."""
        if self.history_direction == "pages":
            return self._numbered_page(contract, start, end, cursor)
        return self._time_page(contract, start, end, cursor)

    def _in_unit(self, when: datetime) -> int:
        return to_ms(when) if self.history_unit == "ms" else int(when.timestamp())

    def _time_page(
        self, contract: Contract, start: datetime, end: datetime, cursor: int | None
    ) -> HistoryPage:
        """A forward venue's cursor is the lower bound, moved past the newest row of each
        full page; a backward venue's is the upper bound, moved below the oldest row."""
        forward = self.history_direction == "forward"
        first = self._in_unit(start - self.history_slack)
        last = self._in_unit(end + self.history_slack)
        if cursor is not None:
            first, last = (cursor, last) if forward else (first, cursor)
        events = self.history_rows(contract, PageQuery(first, last))
        if len(events) < self.history_page_size:
            return HistoryPage(events, None)
        step = 1 if self.history_bounds == "inclusive" else 0
        if forward:
            newest = max(e.funding_time for e in events)
            done = normalise_settlement(newest) >= end
            return HistoryPage(events, None if done else self._in_unit(newest) + step)
        oldest = min(e.funding_time for e in events)
        done = normalise_settlement(oldest) <= start
        return HistoryPage(events, None if done else self._in_unit(oldest) - step)

    def _numbered_page(
        self, contract: Contract, start: datetime, end: datetime,
        cursor: tuple[int, bool] | None,
    ) -> HistoryPage:
        """One page by number. Cursor: (page number, whether it is a first guess).

        The first page is estimated from the interval. If the guess went too far back (the
        page is empty, or a settlement at or before `end` would be newer than its newest row:
        missing settlements, an interval change, a clock ahead of the exchange's), the walk
        starts again from a newer page; then it goes to older pages until one reaches `start`.
        """
        size = self.history_page_size
        page, guess = cursor if cursor is not None else (
            first_page(contract, end, self.http.exchange_now(), size), True
        )
        events = self.history_rows(contract, PageQuery(page, page))
        times = [normalise_settlement(e.funding_time) for e in events]
        step = timedelta(hours=contract.funding_interval_hours)
        if guess and page > 1 and (not times or max(times) + step <= end):
            newer = (end - max(times)) // step if times else page * size
            row = max(0, (page - 1) * size - newer)
            return HistoryPage(events, (row // size + 1, True))
        if len(events) >= size and min(times) > start:
            return HistoryPage(events, (page + 1, False))
        return HistoryPage(events, None)

    def extra(self, what: str, read: Callable[[], dict[str, T]]) -> dict[str, T]:
        """{symbol: value} a snapshot can do without (prices, open interest from a second
        request): its failure is logged and leaves it empty; the rates are stored all the same."""
        try:
            return read()
        except ExchangeError as e:
            logger.warning("%s: %s unavailable, snapshot without it: %s", self.id, what, e)
            return {}

    @property
    def request_count(self) -> int:
        return self.http.request_count

    def close(self) -> None:
        self.http.close()


def _scaled(limit: RateLimit, time_scale: float) -> RateLimit:
    """A simulator compressing its windows `time_scale` times allows proportionally more."""
    return limit if time_scale == 1.0 else RateLimit(limit.requests, limit.period / time_scale)


def first_page(contract: Contract, end: datetime, now: datetime, page_size: int) -> int:
    """The numbered page (newest first, from 1) that should hold the newest settlement at or
    before `end`: settlements after `end` are estimated from the interval. A guess too far back
    is corrected by stepping to newer pages (see `ExchangeAdapter._numbered_page`)."""
    step_ms = contract.funding_interval_hours * HOUR_MS
    newer = max(0, math.floor(to_ms(now) / step_ms) - math.floor(to_ms(end) / step_ms))
    return newer // page_size + 1
