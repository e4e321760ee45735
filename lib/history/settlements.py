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
waits, and this worker must go on with other contracts' windows meanwhile. A settlement the
venue has not published yet is asked again through one probe for its whole instant, never by
every contract on every retry (see `SettlementWorker`): on Pacifica, at 9 credits a request,
one round of needless asks for 40 contracts costs three minutes of budget.

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
from lib.timeutils import HOUR_MS, to_ms

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
RETRY_BASE_S = 2.0  # a settlement may appear in history a little after the instant
MAX_CATCH_UP = timedelta(days=7)  # older gaps are fill_recent_gaps.py's job
LAGS_KEPT = 20_000  # the most recent settlements the freshness figures describe
FETCHERS = 4  # per-contract venues: history requests in flight at once, within the limiter
MAX_BACKOFF_DOUBLINGS = 5  # an instant's probe is asked again at most every 2 s x 32
PUBLISH_POLL_S = 5.0  # how often a venue's published settlements are read while windows wait
MAX_PARKED_S = 900.0  # after this long unpublished by the venue's word, its history is asked


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
    parked_since: float | None = field(default=None, compare=False)  # waiting for publication

    @property
    def instant(self) -> int:
        """The newest settlement (ms) the window waits for: windows of one settlement instant
        are published together, so one of them can stand for the rest."""
        step = round(self.contract.funding_interval_hours * HOUR_MS)
        return to_ms(self.end) // step * step


class SettlementWorker:
    """One exchange's queue of settled windows, fetched in the background and stored.

    Per-contract venues are asked by `FETCHERS` threads at once, all within the adapter's rate
    limiter: a busy instant's few hundred requests are paced by the venue's budget, not by one
    round trip after another (OKX limits history per instrument, so there the round trips are
    all that paces them). A window whose settlement the venue has not published yet becomes
    its instant's *probe*: the other windows of that instant wait, unasked, until a probe finds
    it published (the probe moves to another contract on each retry, so one contract the venue
    never publishes holds nobody up). Where the venue says what it has published
    (`adapter.published_settlements()`, one request for every contract), windows wait for that
    instead and are only asked once published.
    """

    def __init__(self, adapter: ExchangeAdapter, engine: Engine,
                 retry_base: float = RETRY_BASE_S, fetchers: int | None = None) -> None:
        self.adapter = adapter
        self.engine = engine
        self.retry_base = retry_base
        self.stored = 0  # rows this worker inserted
        self.lags: deque[float] = deque(maxlen=LAGS_KEPT)  # seconds, settlement to stored
        self._heap: list[Pending] = []
        self._seq = itertools.count()
        self._cond = threading.Condition()
        self._stop = False
        self._in_flight: list[Pending] = []
        self._probes: dict[int, Pending] = {}  # instant -> the window asked for it
        self._held: dict[int, list[Pending]] = {}  # instant -> windows waiting on its probe
        self._failures: dict[int, int] = {}  # instant -> probes that found it unpublished
        self._published: dict[str, datetime] = {}  # symbol -> newest settlement published
        self._published_at: float | None = None  # monotonic time of that answer
        self._published_lock = threading.Lock()
        count = 1 if adapter.has_bulk_history else (fetchers or FETCHERS)
        self._threads = [threading.Thread(target=self._loop, name=f"settle-{adapter.id}-{i}",
                                          daemon=True) for i in range(count)]
        for thread in self._threads:
            thread.start()

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
            self._cond.notify_all()

    def lag_summary(self) -> dict[str, Any] | None:
        return lag_summary(list(self.lags))

    @property
    def pending(self) -> int:
        with self._cond:
            return (len(self._heap) + len(self._in_flight)
                    + sum(len(held) for held in self._held.values()))

    def windows(self) -> list[tuple[Contract, datetime, datetime]]:
        """The windows not stored yet (those in progress first): what a stop would leave to
        the next start-up's catch-up or to fill_recent_gaps.py."""
        with self._cond:
            items = (self._in_flight + sorted(self._heap)
                     + [p for held in self._held.values() for p in held])
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
        """Finish the items in progress, then end the threads; queued items are dropped (the
        next start-up's catch-up finds them)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def _next(self) -> list[Pending] | None:
        """The next due window, or for a venue with history across contracts every due one.
        A window whose instant has a probe out is held behind it, unasked."""
        with self._cond:
            while not self._stop:
                now = time.monotonic()
                while self._heap and self._heap[0].due <= now:
                    item = heapq.heappop(self._heap)
                    probe = self._probes.get(item.instant)
                    if (not self.adapter.has_bulk_history and probe is not None
                            and probe is not item):
                        self._held.setdefault(item.instant, []).append(item)
                        continue
                    batch = [item]
                    while (self.adapter.has_bulk_history and self._heap
                           and self._heap[0].due <= now):
                        batch.append(heapq.heappop(self._heap))
                    self._in_flight.extend(batch)
                    return batch
                wait = self._heap[0].due - now if self._heap else None
                self._cond.wait(wait)
            return None

    def _loop(self) -> None:
        with self.adapter.http.in_background():  # snapshots go first at the rate limiter
            while (batch := self._next()) is not None:
                self._work(batch)

    def _work(self, batch: list[Pending]) -> None:
        """Fetch and store `batch`, then settle its outcome in the queue."""
        first = batch[0]
        stored: list[Pending] = []
        try:
            if self.adapter.has_bulk_history:
                left = self._store_across(batch)
            elif not self._is_published(first):
                left = []
                self._park(first)
            else:
                left = [] if self._store(first) else batch
                stored = [first] if not left else []
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
            for item in batch:
                self._in_flight.remove(item)
            for item in stored:
                self._published_found(item)
            for item in left:
                self._retry(item)
            self._cond.notify_all()

    # -- waiting for the venue to publish ------------------------------------------------------

    def _published_found(self, item: Pending) -> None:
        """`item`'s instant is published: release the windows held behind its probe."""
        if self._probes.get(item.instant) is item or item.instant in self._held:
            self._probes.pop(item.instant, None)
            self._failures.pop(item.instant, None)
            now = time.monotonic()
            for held in self._held.pop(item.instant, []):
                held.due = now
                heapq.heappush(self._heap, held)

    def _retry(self, item: Pending) -> None:
        item.attempts += 1
        instant = item.instant
        probe = self._probes.get(instant)
        if not self.adapter.has_bulk_history and probe is not None and probe is not item:
            self._held.setdefault(instant, []).append(item)  # asked alongside the probe
            return
        if item.attempts >= MAX_ATTEMPTS:
            logger.error("%s %s: settlements %s..%s still not in the exchange's history after "
                         "%d attempts; fill_recent_gaps.py will pick them up", self.adapter.id,
                         item.contract.symbol, item.start, item.end, item.attempts)
            if probe is item:  # the next held window asks for the instant from now on
                self._probes.pop(instant)
                self._rotate(instant, self.retry_base)
            return
        if self.adapter.has_bulk_history:
            item.due = time.monotonic() + self.retry_base * 2 ** (item.attempts - 1)
            item.seq = next(self._seq)
            heapq.heappush(self._heap, item)
            return
        failures = self._failures[instant] = self._failures.get(instant, 0) + 1
        delay = self.retry_base * 2 ** min(failures - 1, MAX_BACKOFF_DOUBLINGS)
        self._held.setdefault(instant, []).append(item)
        self._probes.pop(instant, None)
        self._rotate(instant, delay)

    def _rotate(self, instant: int, delay: float) -> None:
        """Make the longest-held window of `instant` its probe, asked after `delay`."""
        held = self._held.get(instant)
        if not held:
            self._held.pop(instant, None)
            self._failures.pop(instant, None)
            return
        probe = held.pop(0)
        if not held:
            self._held.pop(instant)
        self._probes[instant] = probe
        probe.due = time.monotonic() + delay
        probe.seq = next(self._seq)
        heapq.heappush(self._heap, probe)

    def _is_published(self, item: Pending) -> bool:
        """Whether the venue says `item`'s instant is published (True where it cannot say,
        or could not answer: the window is then simply asked)."""
        with self._published_lock:
            now = time.monotonic()
            poll = PUBLISH_POLL_S / self.adapter.http.time_scale
            if self._published_at is None or now - self._published_at >= poll:
                try:
                    published = self.adapter.published_settlements()
                except FundingError as e:
                    logger.warning("%s: published settlements unknown: %s", self.adapter.id, e)
                    published = None
                if published is None:
                    return True
                self._published, self._published_at = published, now
            newest = self._published.get(item.contract.symbol)
        # past MAX_PARKED_S the venue's word has not moved for too long: its history is asked
        return (newest is None or to_ms(newest) >= item.instant
                or (item.parked_since is not None and now - item.parked_since > MAX_PARKED_S))

    def _park(self, item: Pending) -> None:
        """Ask again for `item` once the venue's published settlements are read again."""
        with self._cond:
            if item.parked_since is None:
                item.parked_since = time.monotonic()
            assert self._published_at is not None
            item.due = self._published_at + PUBLISH_POLL_S / self.adapter.http.time_scale
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
        with self._cond:
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
            with self._cond:
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
