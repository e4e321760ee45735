"""The live collector: every interval, every exchange's current funding, concurrently.

Each cycle runs one task per exchange on its own thread: fetch current funding, refresh the
contract list when it is due (at start, hourly, or when an unknown symbol appears), upsert
`exchange_data`, and hand settlements that happened since the last cycle to the exchange's
`SettlementWorker` (see lib.history.settlements: settled rates come from history). An exchange
writes its rows as soon as its own fetch is done, so a slow or failing one delays nobody; the
cycle waits for it at most `exchange_timeout` seconds before writing the metrics, where it is
recorded as failed with its reason. Cycles start on the interval grid (no drift); a cycle that
overruns is logged and the missed ticks are skipped. Each cycle's result is logged in one line
(`CycleSummary`); `collect_once` returns it for `--once` to print and exit by.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select

from config.settings import Settings, get_settings
from lib.collection.metrics import (
    CycleSummary,
    ExchangeMetrics,
    metrics_document,
    write_metrics,
)
from lib.errors import DatabaseError, FundingError
from lib.exchanges.base import ExchangeAdapter
from lib.history.completeness import load_gaps
from lib.history.jobs import AdapterFactory, adapter_factory_for
from lib.history.settlements import SettlementWorker
from lib.models import Contract, FundingSnapshot
from lib.runtime.files import runtime_path
from lib.runtime.stopping import stop_reason
from lib.storage.admin import CSV_FILENAME, export_exchange_data_csv
from lib.storage.engine import translated_errors, upsert, write_transaction
from lib.storage.schema import exchange_data
from lib.storage.writes import retire_unlisted, save_contracts
from lib.timeutils import from_ms, to_ms, utcnow

logger = logging.getLogger(__name__)

CONTRACTS_REFRESH_S = 3600.0
UNKNOWN_REFRESH_MIN_S = 300.0  # an unknown symbol triggers a refresh at most this often
CATCH_UP_LOOKBACK = timedelta(hours=24)  # how far back a start-up looks for dropped windows


@dataclass
class ExchangeState:
    """What the collector remembers about one exchange between cycles."""

    adapter: ExchangeAdapter
    worker: SettlementWorker
    contracts: dict[str, Contract] = field(default_factory=dict)
    next_funding: dict[str, datetime] = field(default_factory=dict)
    refreshed_at: float | None = None  # monotonic time of the last contract listing
    running: Future[ExchangeMetrics] | None = None
    last_duration_ms: int = 0  # the last cycle's time: the slowest exchanges start first


def _snapshot_row(s: FundingSnapshot, c: Contract | None, now: datetime) -> dict[str, Any]:
    return {
        "exchange": s.exchange, "symbol": s.symbol, "funding_rate": s.funding_rate,
        "next_funding_time": s.next_funding_time, "mark_price": s.mark_price,
        "updated_at": now, "canonical_symbol": c.canonical_symbol if c else None,
        "base": c.base if c else None, "funding_interval_hours": s.funding_interval_hours,
        "index_price": s.index_price, "open_interest": s.open_interest,
        "volume_24h": s.volume_24h, "predicted_rate": s.predicted_rate, "rate_cap": s.rate_cap,
        "rate_floor": s.rate_floor, "open_interest_unit": s.open_interest_unit,
        "volume_unit": s.volume_unit,
    }


class Collector:
    """Collects current funding from several exchanges; `run_cycle()` is one batch."""

    def __init__(self, engine: Engine, exchanges: Sequence[str] | None = None,
                 settings: Settings | None = None,
                 adapter_factory: AdapterFactory | None = None,
                 time_scale: float = 1.0, exchange_timeout: float | None = None) -> None:
        self.engine = engine
        self.settings = settings or get_settings()
        names = list(exchanges or self.settings.EXCHANGES)
        factory = adapter_factory_for(self.settings, time_scale, adapter_factory)
        self.exchange_timeout = exchange_timeout or max(
            self.settings.HTTP_CONNECT_TIMEOUT + self.settings.HTTP_READ_TIMEOUT, 5.0
        )
        previous = self._load_previous(names)
        self.states: dict[str, ExchangeState] = {}
        for ex in names:
            adapter = factory(ex)
            state = ExchangeState(adapter, SettlementWorker(adapter, engine))
            state.next_funding.update(previous.get(ex, {}))
            self.states[ex] = state
        self._pool = ThreadPoolExecutor(max_workers=len(names), thread_name_prefix="collect")

    # -- start-up ------------------------------------------------------------------------------

    def _load_previous(self, names: Sequence[str]) -> dict[str, dict[str, datetime]]:
        """The next funding times the last run stored: the baseline for detecting settlements."""
        query = select(exchange_data.c.exchange, exchange_data.c.symbol,
                       exchange_data.c.next_funding_time).where(
                           exchange_data.c.exchange.in_(list(names)),
                           exchange_data.c.next_funding_time.is_not(None))
        previous: dict[str, dict[str, datetime]] = {}
        with translated_errors(self.engine), self.engine.connect() as conn:
            for ex, symbol, nft in conn.execute(query):
                previous.setdefault(ex, {})[symbol] = nft
        return previous

    def _catch_up(self, state: ExchangeState) -> None:
        """After the first listing: queue what the last run saw settle but did not store.

        A stopped run drops its queued windows (a slow or retrying worker can hold several),
        so each contract's last `CATCH_UP_LOOKBACK` before its stored next funding time is
        checked against the database; older gaps are fill_recent_gaps.py's. Slots from the
        stored next funding time on are the first snapshot's job (see `_settlements`). The
        window ends at the exchange's own times, never at the local clock, which may run
        behind the exchange's by a few seconds (or, with the simulator's time scale, by hours).
        """
        ends = {c.symbol: state.next_funding[c.symbol] - timedelta(seconds=1)
                for c in state.contracts.values() if c.symbol in state.next_funding}
        if not ends:
            return
        items = [state.contracts[symbol] for symbol in ends]
        start = min(ends.values()) - CATCH_UP_LOOKBACK
        with self.engine.connect() as conn:
            all_gaps = load_gaps(conn, state.adapter.id, items, start, max(ends.values()))
        windows = []
        for gaps in all_gaps:
            hi = ends[gaps.contract.symbol]
            lo = hi - CATCH_UP_LOOKBACK
            missing = [t for t in gaps.missing if to_ms(lo) <= t <= to_ms(hi)]
            if missing:
                windows.append((gaps.contract, from_ms(missing[0]), hi))
        state.worker.submit_many(windows)

    # -- one cycle -----------------------------------------------------------------------------

    def _refresh_contracts(self, ex: str, state: ExchangeState) -> None:
        """List the exchange's contracts; a failed listing keeps the previous list."""
        try:
            items = state.adapter.list_contracts()
        except FundingError as e:
            logger.warning("%s: contract list not refreshed: %s", ex, e)
            return
        if not items:  # a venue never lists zero perpetuals: a bad reply, not a delisting
            logger.warning("%s: contract list not refreshed: the exchange listed none", ex)
            return
        first = state.refreshed_at is None
        state.contracts = {c.symbol: c for c in items}
        state.refreshed_at = time.monotonic()
        with self.engine.begin() as conn:
            save_contracts(conn, items, utcnow())
            retire_unlisted(conn, ex, state.contracts)
        logger.info("%s: %d contracts listed", ex, len(items))
        if first:
            self._catch_up(state)

    def _due_refresh(self, state: ExchangeState, snapshots: list[FundingSnapshot]) -> bool:
        if state.refreshed_at is None:
            return True
        age = time.monotonic() - state.refreshed_at
        if age >= CONTRACTS_REFRESH_S:
            return True
        unknown = [s.symbol for s in snapshots if s.symbol not in state.contracts]
        if unknown and age >= UNKNOWN_REFRESH_MIN_S:
            logger.info("%s: unknown symbol(s) %s: refreshing contracts", state.adapter.id,
                        ", ".join(unknown[:5]))
            return True
        return False

    def _settlements(self, state: ExchangeState, snapshots: list[FundingSnapshot]) -> None:
        """Queue every window this snapshot shows settled, all at once (one walk across
        contracts where the venue has one)."""
        windows = []
        for s in snapshots:
            if s.next_funding_time is None:
                continue
            previous = state.next_funding.get(s.symbol)
            if previous is not None and s.next_funding_time > previous:
                contract = state.contracts.get(s.symbol)
                if contract is None:
                    # keep the old baseline: the window is queued once a listing names it
                    logger.warning("%s %s: settled at %s but not in the contract list yet",
                                   s.exchange, s.symbol, previous)
                    continue
                windows.append((contract, previous, s.next_funding_time - timedelta(seconds=1)))
            state.next_funding[s.symbol] = s.next_funding_time
        if windows:
            state.worker.submit_many(windows, live=True)

    def _collect(self, ex: str) -> ExchangeMetrics:
        """One exchange's share of a cycle, on its own thread."""
        state = self.states[ex]
        started = time.monotonic()
        try:
            with translated_errors(self.engine):
                snapshots = state.adapter.fetch_current()
                if self._due_refresh(state, snapshots):
                    self._refresh_contracts(ex, state)
                now = utcnow()
                rows = [_snapshot_row(s, state.contracts.get(s.symbol), now) for s in snapshots]
                with write_transaction(self.engine) as conn:
                    upsert(conn, exchange_data, rows)
                self._settlements(state, snapshots)
        except DatabaseError as e:
            logger.error("%s: %s", ex, e)
            return self._metrics(state, started, 0, str(e))
        except FundingError as e:
            logger.error("%s: collection failed: %s", ex, e)
            return self._metrics(state, started, 0, str(e))
        return self._metrics(state, started, len(rows), None)

    @staticmethod
    def _metrics(state: ExchangeState, started: float, count: int,
                 error: str | None) -> ExchangeMetrics:
        return ExchangeMetrics(
            duration_ms=round((time.monotonic() - started) * 1000), record_count=count,
            success=error is None, error=error, settlements_stored=state.worker.stored,
            settlements_pending=state.worker.pending,
            settlement_lag=state.worker.lag_summary(),
        )

    def run_cycle(self) -> dict[str, Any]:
        """Collect every exchange once, write the metrics file; return its content."""
        batch_id = uuid.uuid4().hex[:16]
        stamp = utcnow()
        started = time.monotonic()
        futures: dict[str, Future[ExchangeMetrics]] = {}
        results: dict[str, ExchangeMetrics] = {}
        # longest first: the exchanges with the longest request chains are the cycle's
        # critical path, and starting them a few ms after the others' request set-up (all on
        # one interpreter) would add those ms to the whole cycle
        order = sorted(self.states.items(), key=lambda item: -item[1].last_duration_ms)
        for ex, state in order:
            if state.running is not None and not state.running.done():
                results[ex] = ExchangeMetrics(0, 0, False, "previous fetch still running")
                continue
            state.running = futures[ex] = self._pool.submit(self._collect, ex)
        wait_futures(list(futures.values()), timeout=self.exchange_timeout)
        for ex, future in futures.items():
            if future.done():
                results[ex] = future.result()
                self.states[ex].last_duration_ms = results[ex].duration_ms
            else:
                results[ex] = ExchangeMetrics(round(self.exchange_timeout * 1000), 0, False,
                                              f"timed out after {self.exchange_timeout:g}s")
                logger.error("%s: no reply within %gs", ex, self.exchange_timeout)
        duration = round((time.monotonic() - started) * 1000)
        document = metrics_document(batch_id, stamp, duration, results)
        write_metrics(document, self.settings)
        self._export_csv()
        return document

    def _export_csv(self) -> None:
        if not self.settings.ENABLE_CSV_EXPORT:
            return
        try:
            with translated_errors(self.engine):
                export_exchange_data_csv(self.engine, runtime_path(CSV_FILENAME, self.settings))
        except (OSError, FundingError) as e:
            logger.error("CSV export failed: %s", e)

    # -- the loop ------------------------------------------------------------------------------

    def run(self, interval: float, stop: threading.Event, cycles: int | None = None) -> int:
        """Run cycles on the interval grid until `stop` is set (or `cycles` ran); return how
        many ran."""
        origin = time.monotonic()
        done = 0
        while not stop.is_set():
            tick = time.monotonic()
            document = self.run_cycle()
            done += 1
            elapsed = time.monotonic() - tick
            logger.info("cycle %s: %s", document["batch_id"],
                        CycleSummary.of(document, elapsed).format())
            if elapsed > interval:
                logger.warning("slow cycle %s: %.1fs for a %gs interval", document["batch_id"],
                               elapsed, interval)
            if cycles is not None and done >= cycles:
                break
            ticks = int((time.monotonic() - origin) // interval) + 1
            stop.wait(max(0.0, origin + ticks * interval - time.monotonic()))
        return done

    def collect_once(self, drain_timeout: float, stop: threading.Event) -> CycleSummary:
        """One cycle, then up to `drain_timeout` s for the settled rates it queued; its summary.

        A cycle that a signal (`stop`) cut short is reported as stopped, not as failed
        exchanges; a stop during the drain leaves the cycle's own outcome standing.
        """
        started = time.monotonic()
        document = self.run_cycle()
        stopped = (stop_reason() or "a stop request") if stop.is_set() else None
        if not stopped:
            self.drain(drain_timeout, stop)
        workers = [s.worker for s in self.states.values()]
        summary = CycleSummary.of(document, time.monotonic() - started,
                                  settled=sum(w.stored for w in workers),
                                  pending=sum(w.pending for w in workers), stopped=stopped)
        logger.info("cycle %s: %s", document["batch_id"], summary.format())
        return summary

    def drain(self, timeout: float, stop: threading.Event | None = None) -> bool:
        """Wait for every exchange's queued settlements to be stored (True), or `timeout`, or
        `stop` (False)."""
        deadline = time.monotonic() + timeout
        return all(s.worker.drain(max(0.0, deadline - time.monotonic()), stop)
                   for s in self.states.values())

    def pending_windows(self) -> list[tuple[Contract, datetime, datetime]]:
        """Settled windows queued but not stored yet, over all exchanges."""
        return [w for s in self.states.values() for w in s.worker.windows()]

    def close(self) -> None:
        """Finish the writes in progress, then release threads and HTTP sessions."""
        self._pool.shutdown(wait=True)
        for state in self.states.values():
            state.worker.stop()
            state.adapter.close()
