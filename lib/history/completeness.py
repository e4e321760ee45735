"""How complete the stored funding history is, contract by contract.

Completeness of a contract = settlements stored / settlements scheduled in a window, counted
from max(window start, listing time) on the contract's own interval grid (settlements sit on
multiples of the interval since the epoch on every supported venue). A settlement the exchange
itself does not have is *known-missing*: its history returned a range around the slot without
it. Those are recorded in `funding_missing_at_exchange` so that they are reported as the
exchange's gap, not ours, and not fetched again by every later run.

Internally times are epoch milliseconds (ints): set arithmetic over a million settlements is
then cheap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, Engine, Table, and_, select

from lib.models import Contract
from lib.storage.engine import insert_ignore, translated_errors
from lib.storage.schema import contracts, funding_rates_historical
from lib.storage.schema import funding_missing_at_exchange as missing_at_exchange
from lib.timeutils import HOUR_MS, from_ms, to_ms


def percent(have: int, expected: int) -> float:
    """Completeness in percent: `have` of `expected`, at most 100, and 100 when none expected."""
    return 100.0 if expected <= 0 else min(100.0, 100.0 * have / expected)


def schedule(interval_hours: float, start_ms: int, end_ms: int,
             listed_ms: int | None = None) -> range:
    """Scheduled settlement instants (ms) in [max(start, listed), end] on the interval grid."""
    step = round(interval_hours * HOUR_MS)
    lo = max(start_ms, listed_ms) if listed_ms is not None else start_ms
    first = -(-lo // step) * step
    return range(first, end_ms + 1, step)


@dataclass
class ContractGaps:
    """One contract's state in a window: what is scheduled, stored and known-missing."""

    contract: Contract
    scheduled: range
    stored: set[int] = field(default_factory=set)
    known_missing: set[int] = field(default_factory=set)

    @property
    def expected(self) -> int:
        """Settlements the exchange has: scheduled minus the ones it is missing itself."""
        sched = self.scheduled
        return len(sched) - sum(1 for t in self.known_missing if t in sched)

    @property
    def have(self) -> int:
        sched = self.scheduled
        return sum(1 for t in self.stored if t in sched)

    @property
    def missing(self) -> list[int]:
        """Scheduled slots neither stored nor known to be missing at the exchange, ascending."""
        return [t for t in self.scheduled if t not in self.stored and t not in self.known_missing]

    @property
    def completeness(self) -> float:
        """Percent of what the exchange has that we store (100 when nothing is expected)."""
        return percent(self.have, self.expected)


def missing_ranges(gaps: ContractGaps, merge_within: int) -> list[tuple[int, int]]:
    """The missing slots as [first, last] ms ranges, merging ranges fewer than `merge_within`
    slots apart (re-reading a few stored rows is cheaper than another request)."""
    step = gaps.scheduled.step
    ranges: list[list[int]] = []
    for t in gaps.missing:
        if ranges and (t - ranges[-1][1]) // step <= merge_within:
            ranges[-1][1] = t
        else:
            ranges.append([t, t])
    return [(a, b) for a, b in ranges]


def confirmed_missing(wanted: Iterable[int], returned: Sequence[int]) -> list[int]:
    """Slots the exchange's reply skipped although it returned settlements on both sides."""
    if not returned:
        return []
    lo, hi = min(returned), max(returned)
    have = set(returned)
    return [t for t in wanted if lo < t < hi and t not in have]


def contracts_from_rows(rows: Iterable[object]) -> list[Contract]:
    """Contract records from `contracts` table rows."""
    out = []
    for r in rows:
        m = r._mapping  # type: ignore[attr-defined]
        out.append(Contract(
            exchange=m["exchange"], symbol=m["symbol"], canonical_symbol=m["canonical_symbol"],
            base=m["base"], quote=m["quote"], settle=m["settle"],
            multiplier=m["multiplier"], funding_interval_hours=m["funding_interval_hours"],
            listed_at=m["listed_at"], status=m["status"],
        ))
    return out


def stored_contracts(conn: Connection, exchanges: Sequence[str]) -> list[Contract]:
    """Trading contracts recorded in `contracts` for these exchanges."""
    query = select(contracts).where(
        contracts.c.exchange.in_(list(exchanges)), contracts.c.status == "trading"
    ).order_by(contracts.c.exchange, contracts.c.symbol)
    return contracts_from_rows(conn.execute(query))


def _times_by_symbol(conn: Connection, table: Table, exchange: str, start: datetime,
                     end: datetime) -> dict[str, set[int]]:
    query = select(table.c.symbol, table.c.funding_time).where(and_(
        table.c.exchange == exchange, table.c.funding_time >= start, table.c.funding_time <= end,
    ))
    out: dict[str, set[int]] = defaultdict(set)
    for symbol, when in conn.execute(query):
        out[symbol].add(to_ms(when))
    return out


def load_gaps(conn: Connection, exchange: str, items: Sequence[Contract], start: datetime,
              end: datetime) -> list[ContractGaps]:
    """Each contract's schedule, stored and known-missing settlements in [start, end]."""
    stored = _times_by_symbol(conn, funding_rates_historical, exchange, start, end)
    known = _times_by_symbol(conn, missing_at_exchange, exchange, start, end)
    start_ms, end_ms = to_ms(start), to_ms(end)
    out = []
    for c in items:
        listed = to_ms(c.listed_at) if c.listed_at else None
        sched = schedule(c.funding_interval_hours, start_ms, end_ms, listed)
        out.append(ContractGaps(c, sched, stored.get(c.symbol, set()),
                                known.get(c.symbol, set())))
    return out


def record_known_missing(conn: Connection, exchange: str, symbol: str, times: Iterable[int],
                         now: datetime) -> int:
    """Remember slots the exchange itself lacks; return how many were new."""
    rows = [
        {"exchange": exchange, "symbol": symbol, "funding_time": from_ms(t), "checked_at": now}
        for t in times
    ]
    return insert_ignore(conn, missing_at_exchange, rows) if rows else 0


@dataclass
class ExchangeCompleteness:
    """Totals of one exchange over a window."""

    exchange: str
    contracts: int = 0
    complete_contracts: int = 0
    scheduled: int = 0
    expected: int = 0
    stored: int = 0
    known_missing: int = 0

    @property
    def completeness(self) -> float:
        return percent(self.stored, self.expected)

    def add(self, gaps: ContractGaps, threshold: float) -> None:
        self.contracts += 1
        self.scheduled += len(gaps.scheduled)
        self.expected += gaps.expected
        self.stored += gaps.have
        self.known_missing += len(gaps.scheduled) - gaps.expected
        if gaps.completeness >= threshold:
            self.complete_contracts += 1


def summarise(exchange: str, gaps: Iterable[ContractGaps],
              threshold: float = 100.0) -> ExchangeCompleteness:
    """Add up contracts' completeness for one exchange."""
    total = ExchangeCompleteness(exchange)
    for g in gaps:
        total.add(g, threshold)
    return total


def overall_completeness(parts: Iterable[ExchangeCompleteness]) -> float:
    """Completeness of several exchanges together, weighted by settlements."""
    expected = stored = 0
    for p in parts:
        expected += p.expected
        stored += p.stored
    return percent(stored, expected)


def stored_gaps(engine: Engine, exchanges: Sequence[str], start: datetime,
                end: datetime) -> dict[str, list[ContractGaps]]:
    """Per exchange, each trading contract's gaps in [start, end], from the database alone."""
    with translated_errors(engine), engine.connect() as conn:
        by_exchange: dict[str, list[Contract]] = defaultdict(list)
        for c in stored_contracts(conn, exchanges):
            by_exchange[c.exchange].append(c)
        return {ex: load_gaps(conn, ex, by_exchange[ex], start, end) for ex in exchanges}


def database_completeness(engine: Engine, exchanges: Sequence[str], start: datetime,
                          end: datetime, threshold: float = 100.0,
                          ) -> dict[str, ExchangeCompleteness]:
    """Per exchange completeness of the stored history in [start, end], from the database."""
    return {ex: summarise(ex, gaps, threshold)
            for ex, gaps in stored_gaps(engine, exchanges, start, end).items()}
