"""Reading exchange replies into the project's records: what every adapter's parsers share.

The venue names its fields and codes as data; the loops are here: which listing rows are live
perpetuals (`ListingFields`), the contract a native name stands for (`contract_from_symbol`,
which logs and skips a name the symbol rules do not know), snapshot and settled rows
(`SnapshotFields`, `funding_events`). What a reply's body says is translated into the project's
errors here (`Envelope` for `{code, msg, data}` wrappers, `reply_error`, and `objects`,
`json_object` and `field`, whose errors name the exchange, endpoint and field); HTTP and
transport failures are `lib.exchanges.http`'s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from lib.errors import (
    ExchangeDataError,
    ExchangeError,
    TemporaryExchangeError,
    UnknownSymbolError,
)
from lib.exchanges.symbols import parse_native
from lib.models import Contract, FundingEvent, FundingSnapshot

logger = logging.getLogger(__name__)

T = TypeVar("T")


# --- records from venue rows: the venue names its fields, the base reads them -------------
@dataclass(frozen=True, slots=True)
class ListingFields:
    """Where a venue's instrument rows name the contract, its kind and its status, and which
    kinds and statuses are a live perpetual (delivery, pre-launch and removed ones are not)."""

    symbol: str
    kind: str
    kinds: frozenset[str]
    status: str
    statuses: frozenset[str]

    def live(self, exchange: str, endpoint: str, row: dict[str, Any]) -> tuple[str, str] | None:
        """(symbol, status) of a live perpetual's row; None (logged) for any other row."""
        symbol = field(exchange, endpoint, row, self.symbol, text)
        kind = field(exchange, endpoint, row, self.kind, str)
        status = field(exchange, endpoint, row, self.status, str)
        if kind not in self.kinds or status not in self.statuses:
            logger.debug("%s %s: skipped, %s %s", exchange, symbol, kind, status)
            return None
        return symbol, status


def contract_from_symbol(
    exchange: str,
    symbol: str,
    interval_hours: float,
    *,
    base: str | None = None,
    quote: str | None = None,
    settle: str | None = None,
    listed_at: datetime | None = None,
    status: str = "trading",
    contract_size: float | None = None,
) -> Contract | None:
    """The contract a native perpetual name stands for, with the facts its listing gives
    (base, quote, settle: they win over what the name suggests), or None when the symbol rules
    do not know the name: logged, so one odd listing never fails the whole list."""
    try:
        info = parse_native(exchange, symbol, base=base, quote=quote, settle=settle)
    except UnknownSymbolError as e:
        logger.warning("%s %s: contract skipped: %s", exchange, symbol, e)
        return None
    return Contract(
        exchange=exchange,
        symbol=symbol,
        canonical_symbol=info.canonical,
        base=info.base,
        quote=info.quote,
        settle=info.settle,
        multiplier=info.multiplier,
        funding_interval_hours=interval_hours,
        listed_at=listed_at,
        status=status,
        ccxt_symbol=info.ccxt,
        contract_size=contract_size,
    )


def funding_events(
    exchange: str,
    endpoint: str,
    rows: list[dict[str, Any]],
    symbol: str,
    *,
    time: tuple[str, Callable[[Any], datetime]],
    rate: str,
    mark: str | None = None,
    interval_hours: float | None = None,
) -> list[FundingEvent]:
    """Settled funding rows as events: `time` names the settlement-time field and how to read
    it, `rate` the settled rate, `mark` the mark price where the venue gives one."""
    name, when = time
    return [
        FundingEvent(
            exchange=exchange,
            symbol=symbol,
            funding_time=field(exchange, endpoint, row, name, when),
            funding_rate=field(exchange, endpoint, row, rate, finite),
            funding_interval_hours=interval_hours,
            mark_price=optional_field(row, mark) if mark else None,
        )
        for row in rows
    ]


@dataclass(frozen=True, slots=True)
class SnapshotFields:
    """Where a venue's current-funding rows keep the rate and the extras (None: not given)."""

    rate: str
    mark: str | None = None
    index: str | None = None
    open_interest: str | None = None
    volume: str | None = None  # 24 h turnover
    open_interest_unit: str | None = None  # "contracts", "base" or "quote"
    volume_unit: str | None = None
    predicted: str | None = None  # the predicted next rate
    cap: str | None = None  # the rate cap; with `symmetric_cap` also the floor, negated
    floor: str | None = None
    symmetric_cap: bool = False

    def read(
        self, exchange: str, endpoint: str, row: dict[str, Any], symbol: str,
        interval_hours: float, next_funding_time: datetime | None, timestamp: datetime,
    ) -> FundingSnapshot:
        """One row as a snapshot: the rate must be a finite number; an extra that is absent
        or unreadable is None (the rate is worth storing without it)."""
        cap = optional_field(row, self.cap) if self.cap else None
        return FundingSnapshot(
            exchange=exchange,
            symbol=symbol,
            funding_rate=field(exchange, endpoint, row, self.rate, finite),
            funding_interval_hours=interval_hours,
            next_funding_time=next_funding_time,
            timestamp=timestamp,
            mark_price=optional_field(row, self.mark) if self.mark else None,
            index_price=optional_field(row, self.index) if self.index else None,
            open_interest=optional_field(row, self.open_interest) if self.open_interest else None,
            volume_24h=optional_field(row, self.volume) if self.volume else None,
            predicted_rate=optional_field(row, self.predicted) if self.predicted else None,
            rate_cap=cap,
            rate_floor=-cap if self.symmetric_cap and cap is not None else (
                optional_field(row, self.floor) if self.floor else None),
            open_interest_unit=self.open_interest_unit,
            volume_unit=self.volume_unit,
        )


# --- reading replies: every failure names the exchange, the endpoint and the field -----------
@dataclass(frozen=True, slots=True)
class Envelope:
    """The status a venue wraps every reply in, as data: `{code: "0", msg: "", data: ...}`.

    Such venues report failures with HTTP 200 too; `temporary` codes (throttling, maintenance)
    are worth retrying later."""

    code: str  # the field holding the status code
    message: str  # the field holding the error text
    ok: frozenset[str]
    temporary: frozenset[str] = frozenset()

    def open(self, exchange: str, endpoint: str, payload: Any) -> dict[str, Any]:
        """The reply object when its code says success, else the error it names."""
        reply = json_object(exchange, endpoint, payload)
        code = field(exchange, endpoint, reply, self.code, str)
        if code not in self.ok:
            raise reply_error(exchange, endpoint, reply.get(self.message, ""), code, self.temporary)
        return reply


def reply_error(
    exchange: str, endpoint: str, message: Any, code: Any = None,
    temporary: frozenset[str] = frozenset(),
) -> ExchangeError:
    """The error a reply reports in its body, with the venue's code where it gives one."""
    error = TemporaryExchangeError if code in temporary else ExchangeError
    label = "error" if code is None else f"error {code}"
    return error(exchange, f"{endpoint}: {label}: {message}")


def json_object(exchange: str, endpoint: str, payload: Any) -> dict[str, Any]:
    """`payload` if it is a JSON object, else an ExchangeDataError saying what came instead."""
    if not isinstance(payload, dict):
        raise ExchangeDataError(
            exchange, endpoint, f"expected a JSON object, got {type(payload).__name__}"
        )
    return payload


def objects(
    exchange: str, endpoint: str, payload: Any, name: str | None = None
) -> list[dict[str, Any]]:
    """The list of JSON objects `payload` is (name None) or holds in its field `name`."""
    value = payload if name is None else field(exchange, endpoint, payload, name, _as_is)
    where = "" if name is None else f"field {name!r} is not a list of objects: "
    if not isinstance(value, list):
        detail = (f"expected a JSON array, got {type(value).__name__}" if name is None
                  else f"{where}expected objects, got {value!r:.60}")
        raise ExchangeDataError(exchange, endpoint, detail)
    for row in value:
        if not isinstance(row, dict):
            raise ExchangeDataError(exchange, endpoint, f"{where}expected objects, got {row!r:.60}")
    return value


def _as_is(value: Any) -> Any:
    return value


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


def finite(value: Any) -> float:
    """A float that is a real number, for `field(..., finite)`: a "NaN" rate is a bad reply."""
    number = float(value)
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def hours_in(units_per_hour: float) -> Callable[[Any], float]:
    """For `field(...)`: a funding interval in the venue's unit (hours, minutes, seconds...)
    as hours; zero or negative is a bad reply (it would divide every rate comparison)."""

    def convert(value: Any) -> float:
        hours = float(value) / units_per_hour
        if hours <= 0:
            raise ValueError(f"{value!r} is not a positive interval")
        return hours

    return convert


def text(value: Any) -> str:
    """A non-empty string, for `field(..., text)`: a null or numeric name is a bad reply."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"{value!r} is not a non-empty string")
    return value
