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
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine

from lib.errors import FundingError
from lib.exchanges.base import ExchangeAdapter
from lib.history.completeness import schedule
from lib.history.fetch import fetch_range, store_settlements
from lib.models import Contract
from lib.timeutils import to_ms

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE_S = 2.0  # a settlement may appear in history a little after the instant
MAX_CATCH_UP = timedelta(days=7)  # older gaps are fill_recent_gaps.py's job


@dataclass(order=True)
class Pending:
    """A contract's settled window still to store."""

    due: float
    seq: int
    contract: Contract = field(compare=False)
    start: datetime = field(compare=False)
    end: datetime = field(compare=False)
    attempts: int = field(default=0, compare=False)


class SettlementWorker:
    """One exchange's queue of settled windows, fetched in the background and stored."""

    def __init__(self, adapter: ExchangeAdapter, engine: Engine,
                 retry_base: float = RETRY_BASE_S) -> None:
        self.adapter = adapter
        self.engine = engine
        self.retry_base = retry_base
        self.stored = 0  # rows this worker inserted
        self._heap: list[Pending] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._busy: Pending | None = None
        self._thread = threading.Thread(target=self._loop, name=f"settle-{adapter.id}",
                                        daemon=True)
        self._thread.start()

    def submit(self, contract: Contract, start: datetime, end: datetime) -> None:
        """Store the settlements of `contract` in [start, end] as soon as history has them."""
        start = max(start, end - MAX_CATCH_UP)
        with self._cond:
            heapq.heappush(self._heap, Pending(time.monotonic(), next(self._seq), contract,
                                               start, end))
            self._cond.notify()

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._heap) + (1 if self._busy else 0)

    def windows(self) -> list[tuple[Contract, datetime, datetime]]:
        """The windows not stored yet (the one in progress first): what a stop would leave to
        the next start-up's catch-up or to fill_recent_gaps.py."""
        with self._cond:
            items = ([self._busy] if self._busy else []) + sorted(self._heap)
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

    def _next(self) -> Pending | None:
        with self._cond:
            while not self._stop:
                now = time.monotonic()
                if self._heap and self._heap[0].due <= now:
                    self._busy = heapq.heappop(self._heap)
                    return self._busy
                wait = self._heap[0].due - now if self._heap else None
                self._cond.wait(wait)
            return None

    def _loop(self) -> None:
        while (item := self._next()) is not None:
            try:
                done = self._store(item)
            except FundingError as e:
                logger.warning("%s %s: settled rate not stored yet: %s", self.adapter.id,
                               item.contract.symbol, e)
                done = False
            except Exception:  # a bug: log it with its traceback, but never let it end the
                # thread, which would silently stop storing this exchange's settlements
                logger.exception("%s %s: storing settlements %s..%s failed", self.adapter.id,
                                 item.contract.symbol, item.start, item.end)
                done = False
            with self._cond:
                self._busy = None
                if not done:
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
        have = set(got.times) | set(got.confirmed)
        left = [t for t in wanted if t not in have]
        if left:
            logger.info("%s %s: %d settlement(s) not in history yet", c.exchange, c.symbol,
                        len(left))
        return not left
