"""Settled rates for the live collector: detect settlements between cycles, fetch, store once.

Why history and not the last snapshot: on most venues the current rate is a *prediction* that
keeps moving until the settlement instant (Binance/Bybit/Bitget/Gate/KuCoin average the premium
over the interval; Hyperliquid and dYdX estimate hourly), our last snapshot may be up to one
collection interval older than the settlement, and OKX settles `realizedRate`, which can differ
from the `fundingRate` shown. The exchange's history endpoint is the one authoritative record,
so a settlement is fetched from it for the just-settled window. That costs one small request per
contract per settlement, made here on a background worker per exchange so snapshot cycles are
never delayed. insert-or-ignore on UNIQUE(exchange, symbol, funding_time) (times normalised to
the schedule) keeps every settlement single, whichever path (live, backfill, repair) stores it.

Detection: a snapshot whose next_funding_time is later than the one we stored before means the
slots in [previous next_funding_time, new next_funding_time) have settled. The previous value
lives in `exchange_data`, so a restart continues where the last run stopped, and at start-up
each contract's most recent settled slot is checked too (a crash between storing a snapshot and
fetching its settlement loses nothing).

Retries are a schedule in the worker's queue, not tenacity: tenacity blocks its caller while it
waits, and this worker must go on with other contracts' windows meanwhile.

Where the venue answers history across contracts (`adapter.has_bulk_history`: Binance, Aster),
the worker takes every window that is due at once and stores them from one walk across
contracts: a busy settlement instant (about 400 Binance contracts at 00:00 UTC) costs one or
two requests instead of 400 against the budget the backfill shares, and a window the venue has
not published yet is asked again in the next walk, not contract by contract.

Freshness: the lag from each settlement instant to its row being stored (the venue's clock, so a
time-scaled simulator reports venue seconds) is kept for the settlements that happened while
the worker ran, and summarised as p50, p99 and max for the metrics file and the log.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from lib.errors import FundingError
from lib.exchanges.base import ExchangeAdapter
from lib.history.completeness import confirmed_missing, schedule
from lib.history.fetch import fetch_range, store_settlements
from lib.models import Contract, FundingEvent
from lib.timeutils import to_ms

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE_S = 2.0  # a settlement may appear in history a little after the instant
MAX_CATCH_UP = timedelta(days=7)  # older gaps are fill_recent_gaps.py's job
LAGS_KEPT = 20_000  # the most recent settlements the freshness figures describe


def lag_summary(lags: Sequence[float]) -> dict[str, Any] | None:
    """p50, p99 and max of settlement lags in seconds (None: no settlement stored yet)."""
    if not lags:
        return None
    ordered = sorted(lags)
    p99 = ordered[0] if len(ordered) == 1 else statistics.quantiles(ordered, n=100,
                                                                       method="inclusive")[98]
    return {"count": len(ordered), "p50_s": round(statistics.median(ordered), 3),
            "p99_s": round(p99, 3), "max_s": round(ordered[-1], 3)}


@dataclass(order=True)
class Pending:
    """A contract's settled window still to store."""

    due: float
    seq: int
    contract: Contract = field(compare=False)
    start: datetime = field(compare=False)
    end: datetime = field(compare=False)
    attempts: int = field(default=0, compare=False)
    live: bool = field(default=False, compare=False)  # seen settling by a snapshot: its lag counts


class SettlementWorker:
    """One exchange's queue of settled windows, fetched in the background and stored."""

    def __init__(self, adapter: ExchangeAdapter, engine: Engine,
                 retry_base: float = RETRY_BASE_S) -> None:
        self.adapter = adapter
        self.engine = engine
        self.retry_base = retry_base
        self.stored = 0  # rows this worker inserted
        self.lags: deque[float] = deque(maxlen=LAGS_KEPT)  # seconds, settlement to stored
        self._heap: list[Pending] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._busy: Pending | None = None
        self._batch: list[Pending] = []
        self._thread = threading.Thread(target=self._loop, name=f"settle-{adapter.id}",
                                        daemon=True)
        self._thread.start()

    def submit(self, contract: Contract, start: datetime, end: datetime) -> None:
        """Store the settlements of `contract` in [start, end] as soon as history has them."""
        self.submit_many([(contract, start, end)])

    def submit_many(self, windows: Sequence[tuple[Contract, datetime, datetime]],
                    live: bool = False) -> None:
        """`submit` for several windows at once, so a venue with history across contracts
        takes them in one walk (a snapshot sees a whole settlement instant at once). `live`:
        a snapshot just saw them settle, so their lag goes into the freshness figures (a
        start-up's catch-up of older windows would only distort them)."""
        now = time.monotonic()
        with self._cond:
            for contract, start, end in windows:
                heapq.heappush(self._heap, Pending(now, next(self._seq), contract,
                                                   max(start, end - MAX_CATCH_UP), end,
                                                   live=live))
            self._cond.notify()

    def lag_summary(self) -> dict[str, Any] | None:
        return lag_summary(list(self.lags))

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + (len(self._batch) or (1 if self._busy else 0))

    def windows(self) -> list[tuple[Contract, datetime, datetime]]:
        """The windows not stored yet (the one in progress first): what a stop would leave to
        the next start-up's catch-up or to fill_recent_gaps.py."""
        with self._cond:
            items = (self._batch or ([self._busy] if self._busy else [])) + sorted(self._heap)
            return [(p.contract, p.start, p.end) for p in items]

    def drain(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Wait until the queue is empty (True) or `timeout` passes or `stop` is set (False)."""
        deadline = time.monotonic() + timeout
        waiter = stop or threading.Event()
        while self.pending and time.monotonic() < deadline:
            if waiter.wait(0.05):
                break
        return not self.pending

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the item in progress, then end the thread; queued items are dropped (the
        next start-up's catch-up finds them)."""
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout)

    def _next(self) -> list[Pending] | None:
        """The next due window, or for a venue with history across contracts every due one."""
        with self._cond:
            while not self._stop:
                now = time.monotonic()
                if self._heap and self._heap[0].due <= now:
                    batch = [heapq.heappop(self._heap)]
                    while (self.adapter.has_bulk_history and self._heap
                           and self._heap[0].due <= now):
                        batch.append(heapq.heappop(self._heap))
                    self._busy = batch[0]
                    self._batch = batch
                    return batch
                wait = self._heap[0].due - now if self._heap else None
                self._cond.wait(wait)
            return None

    def _loop(self) -> None:
        while (batch := self._next()) is not None:
            first = batch[0]
            try:
                if len(batch) == 1 and not self.adapter.has_bulk_history:
                    left = [] if self._store(first) else batch
                else:
                    left = self._store_across(batch)
            except FundingError as e:
                logger.warning("%s %s: settled rate not stored yet: %s", self.adapter.id,
                               ", ".join(p.contract.symbol for p in batch[:3]), e)
                left = batch
            except Exception:  # a bug: log it with its traceback, but never let it end the
                # thread, which would silently stop storing this exchange's settlements
                logger.exception("%s %s: storing settlements %s..%s failed", self.adapter.id,
                                 first.contract.symbol, first.start, first.end)
                left = batch
            with self._cond:
                self._busy = None
                self._batch = []
                for item in left:
                    self._retry(item)

    def _retry(self, item: Pending) -> None:
        item.attempts += 1
        if item.attempts >= MAX_ATTEMPTS:
            logger.error("%s %s: settlements %s..%s still not in the exchange's history after "
                         "%d attempts; fill_recent_gaps.py will pick them up", self.adapter.id,
                         item.contract.symbol, item.start, item.end, item.attempts)
            return
        item.due = time.monotonic() + self.retry_base * 2 ** (item.attempts - 1)
        item.seq = next(self._seq)
        heapq.heappush(self._heap, item)

    def _store(self, item: Pending) -> bool:
        """Fetch and store one window; True when every slot in it is accounted for."""
        c = item.contract
        step_h = c.funding_interval_hours
        lo = to_ms(item.start)
        wanted = list(schedule(step_h, lo, to_ms(item.end)))
        got = fetch_range(self.adapter, c, item.start - timedelta(hours=step_h), item.end,
                          wanted, keep_from=lo)
        inserted, _ = store_settlements(self.engine, c, got.events, got.confirmed, "live")
        self.stored += inserted
        if item.live:
            self._record_lags(got.events)
        have = set(got.times) | set(got.confirmed)
        left = [t for t in wanted if t not in have]
        if left:
            logger.info("%s %s: %d settlement(s) not in history yet", c.exchange, c.symbol,
                        len(left))
        return not left

    def _store_across(self, batch: list[Pending]) -> list[Pending]:
        """Fetch every window of `batch` in one walk across contracts and store each; return
        the windows with slots the venue has not published yet."""
        contracts = {p.contract.symbol: p.contract for p in batch}
        lo = min(p.start - timedelta(hours=p.contract.funding_interval_hours) for p in batch)
        got = self.adapter.fetch_bulk_history(contracts, lo, max(p.end for p in batch))
        left, stored = [], []
        for p in batch:
            c = p.contract
            first = to_ms(p.start)
            wanted = list(schedule(c.funding_interval_hours, first, to_ms(p.end)))
            step = timedelta(hours=c.funding_interval_hours)
            events = [e for e in got.get(c.symbol, []) if p.start - step <= e.funding_time <= p.end]
            times = [to_ms(e.funding_time) for e in events]
            confirmed = confirmed_missing(wanted, times)
            kept = [e for e, t in zip(events, times, strict=True) if t >= first]
            inserted, _ = store_settlements(self.engine, c, kept, confirmed, "live")
            self.stored += inserted
            if p.live:
                stored.extend(kept)
            have = set(times) | set(confirmed)
            if any(t not in have for t in wanted):
                left.append(p)
        self._record_lags(stored)
        if left:
            logger.info("%s: %d of %d contracts' settlements not in history yet",
                        self.adapter.id, len(left), len(batch))
        return left

    def _record_lags(self, events: Sequence[FundingEvent]) -> None:
        """Lag of each settlement a snapshot saw happen, from its instant to now, by the
        venue's clock."""
        if not events:
            return
        now = self.adapter.http.exchange_now()
        lags = [(now - e.funding_time).total_seconds() for e in events]
        self.lags.extend(lags)
        summary = lag_summary(lags)
        assert summary is not None
        logger.info("%s: %d settled rate(s) stored, lag p50 %.1f s, p99 %.1f s, max %.1f s",
                    self.adapter.id, len(lags), summary["p50_s"], summary["p99_s"],
                    summary["max_s"])
