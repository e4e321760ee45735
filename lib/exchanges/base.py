"""The one interface every exchange adapter implements, and the flow they share.

An adapter declares its facts as class attributes (base URL, rate limit, history page size,
pagination direction) and implements three small hooks:

- `list_contracts()`: the perpetual contracts (delivery and pre-launch ones left out);
- `fetch_current()`: current funding of every contract in the fewest requests;
- `history_page(contract, start, end, cursor)`: one page of settled funding.

`fetch_history()` owns the pagination loop (direction, stopping exactly at the range ends,
de-duplication and normalising settlement times to the schedule), so no adapter writes it again.
Parsing lives in pure module-level functions `parse_*` in each adapter module, tested on
recorded responses.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar, Literal

from config.settings import Settings, get_settings
from lib.errors import ExchangeDataError
from lib.exchanges.http import ExchangeHttp, RateLimit, WeightHeader
from lib.models import Contract, FundingEvent, FundingSnapshot
from lib.timeutils import normalise_settlement

logger = logging.getLogger(__name__)

Direction = Literal["forward", "backward", "pages"]


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
    history_page_size: ClassVar[int]
    history_direction: ClassVar[Direction]
    weight_header: ClassVar[WeightHeader | None] = None
    retry_after_unit: ClassVar[float] = 1.0  # seconds per unit of the venue's Retry-After

    def __init__(self, settings: Settings | None = None, time_scale: float = 1.0) -> None:
        self.settings = settings or get_settings()
        self.base_url = self.settings.exchange_base_url(self.id, self.default_base_url)
        limit = self.rate_limit
        if time_scale != 1.0:  # a simulator compressing its windows allows proportionally more
            limit = RateLimit(limit.requests, limit.period / time_scale)
        self.http = ExchangeHttp(
            self.id,
            self.base_url,
            limit,
            connect_timeout=self.settings.HTTP_CONNECT_TIMEOUT,
            read_timeout=self.settings.HTTP_READ_TIMEOUT,
            max_retries=self.settings.HTTP_MAX_RETRIES,
            weight_header=self.weight_header,
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
    def history_page(
        self, contract: Contract, start: datetime, end: datetime, cursor: Any | None
    ) -> HistoryPage:
        """One page of settled funding within [start, end]; cursor None asks for the first."""

    # --- the shared flow -----------------------------------------------------------------
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

    @property
    def request_count(self) -> int:
        return self.http.request_count

    def close(self) -> None:
        self.http.close()


def field(
    exchange: str, endpoint: str, record: dict[str, Any], name: str,
    convert: Callable[[Any], Any] = float,
) -> Any:
    """`convert(record[name])`, or an ExchangeDataError naming the exchange, endpoint and field."""
    try:
        value = record[name]
    except (KeyError, TypeError) as e:
        raise ExchangeDataError(exchange, endpoint, f"missing field {name!r}") from e
    try:
        return convert(value)
    except (TypeError, ValueError) as e:
        raise ExchangeDataError(
            exchange, endpoint, f"field {name!r} has bad value {value!r}"
        ) from e


def optional_field(
    record: dict[str, Any], name: str, convert: Callable[[Any], Any] = float
) -> Any | None:
    """`convert(record[name])` where present and non-empty, else None (for extras like OI)."""
    value = record.get(name)
    if value in (None, ""):
        return None
    try:
        return convert(value)
    except (TypeError, ValueError):
        return None


def next_cursor_forward(
    events: list[FundingEvent], page_size: int, end: datetime, step_ms: int = 1
) -> int | None:
    """For ascending pages: the ms after the last event, or None when the range is done."""
    from lib.timeutils import to_ms

    if len(events) < page_size or not events:
        return None
    last = max(e.funding_time for e in events)
    return None if last >= end else to_ms(last) + step_ms


def next_cursor_backward(
    events: list[FundingEvent], page_size: int, start: datetime, step_ms: int = 1
) -> int | None:
    """For newest-first pages: the ms before the oldest event, or None when the range is done."""
    from lib.timeutils import to_ms

    if len(events) < page_size or not events:
        return None
    oldest = min(e.funding_time for e in events)
    return None if oldest <= start else to_ms(oldest) - step_ms


def finite(value: Any) -> float:
    """A float that is a real number, for `field(..., finite)`: a "NaN" rate is a bad reply."""
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def text(value: Any) -> str:
    """A non-empty string, for `field(..., text)`: a null or numeric name is a bad reply."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a non-empty string")
    return value
