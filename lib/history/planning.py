"""How a backfill asks a venue for history: the fewest requests the venue's API allows.

A venue that pages history per contract needs at least one request per missing range of each
contract (more where a range holds more rows than a page). A venue that also answers for every
contract at once (`ExchangeAdapter.has_bulk_history`: Binance, Aster) can return the whole
window in one page per `bulk_history_page_size` rows, whichever contracts they belong to. The
plan takes the cheaper of the two, so a first 30-day backfill of Binance costs about one
request per 1,000 settlements, and a re-run that only fills a few contracts' gaps stays per
contract. The minimum it computes is what the backfill reports beside the requests it made.

`bulk_fill` carries a bulk plan out: one walk over the window across contracts, then each
contract's rows stored in its own transaction, exactly as `backfill.fill_contract` stores a
per-contract reply (slots the reply skipped between two settlements are confirmed missing).
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import Engine

from lib.exchanges.base import ExchangeAdapter
from lib.history.completeness import ContractGaps, confirmed_missing, missing_ranges
from lib.history.fetch import store_settlements
from lib.timeutils import from_ms, to_ms

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RequestPlan:
    """The requests one venue's history needs: per contract, or in pages across contracts."""

    bulk: bool
    minimum: int  # history requests the chosen way needs at least
    per_contract: int  # what asking contract by contract would need
    span_start_ms: int = 0  # bulk: where the walk across contracts starts


def _per_contract_minimum(gaps: ContractGaps, page: int) -> int:
    """Pages for one contract's missing ranges, each range's slots in full pages."""
    step = gaps.scheduled.step
    return sum(math.ceil(((last - first) // step + 1) / page)
               for first, last in missing_ranges(gaps, page))


def plan_requests(adapter: ExchangeAdapter, all_gaps: Sequence[ContractGaps],
                  end_ms: int) -> RequestPlan:
    """The cheaper way to fetch every missing slot of `all_gaps` up to `end_ms`.

    A walk across contracts returns every listed contract's rows from the earliest missing
    slot on, stored or not, so its size is estimated from each contract's schedule over that
    span; it is chosen only when it needs fewer requests than contract by contract.
    """
    wanted = [g for g in all_gaps if g.missing]
    per_contract = sum(_per_contract_minimum(g, adapter.history_page_size) for g in wanted)
    if not wanted or not adapter.has_bulk_history:
        return RequestPlan(False, per_contract, per_contract)
    start = min(g.missing[0] - g.scheduled.step for g in wanted)
    rows = sum(len(range(max(start, g.scheduled.start), end_ms + 1, g.scheduled.step))
               for g in all_gaps)
    bulk = max(1, math.ceil(rows / adapter.bulk_history_page_size))
    if bulk < per_contract:
        return RequestPlan(True, bulk, per_contract, start)
    return RequestPlan(False, per_contract, per_contract)


@dataclass
class BulkFill:
    """What one walk across contracts stored."""

    inserted: int = 0
    new_known_missing: int = 0
    in_window: int = 0
    # per contract, slots the walk left out with nothing on one side (listed late, or newer
    # than its newest row): one of the two replies that confirm them (see backfill)
    absent: dict[str, Counter[int]] = field(default_factory=dict)


def bulk_fill(adapter: ExchangeAdapter, engine: Engine, all_gaps: Sequence[ContractGaps],
              plan: RequestPlan, end_ms: int, publish_grace_ms: int) -> BulkFill:
    """Fetch the window across contracts once and store each contract's part.

    Exchange and data errors propagate before anything is stored (the caller falls back to
    contract by contract); the database's propagate too. Updates `all_gaps` in place.
    """
    wanted = {g.contract.symbol: g for g in all_gaps if g.missing}
    got = adapter.fetch_bulk_history({s: g.contract for s, g in wanted.items()},
                                     from_ms(plan.span_start_ms), from_ms(end_ms))
    published = to_ms(adapter.http.exchange_now()) - publish_grace_ms
    result = BulkFill()
    for symbol, gaps in wanted.items():
        events = got.get(symbol, [])
        times = [to_ms(e.funding_time) for e in events]
        missing = gaps.missing
        confirmed = confirmed_missing(missing, times)
        kept = [e for e, t in zip(events, times, strict=True) if t >= gaps.scheduled.start]
        inserted, new = store_settlements(engine, gaps.contract, kept, confirmed, "backfill")
        before = gaps.have
        gaps.stored.update(times)
        gaps.known_missing.update(confirmed)
        result.inserted += inserted
        result.new_known_missing += new
        result.in_window += gaps.have - before
        if times:
            left_out = [t for t in missing if t < min(times) or max(times) < t <= published]
            if left_out:
                result.absent[symbol] = Counter(left_out)
    logger.info("%s: %d settlements of %d contracts stored from one walk across contracts",
                adapter.id, result.inserted, len(wanted))
    return result
