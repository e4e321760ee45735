"""The historical backfill: fetch only what the database lacks in the window, exchange by exchange.

For each exchange: list its contracts (and record them), load what is stored and known-missing
in the window, and for each contract fetch just its missing ranges at the largest page size,
writing the contract's rows in their own transaction. So a run killed at any point loses at
most the contract in flight, and the next run continues where it stopped with no duplicate
(UNIQUE(exchange, symbol, funding_time) + insert-or-ignore). Exchanges run in parallel with
`parallel` (one worker each); the contracts of one exchange run one after the other, so that
exchange's rate limit is what paces them.

Retries are written out, not through tenacity: `fill_with_retries` also repeats a pass after a
short reply that was no error and waits on the stop event so that a signal ends it at once
(tenacity would need custom retry, stop and sleep hooks and be no shorter), and the contract
listing's six-line loop alone would not repay a new dependency.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine

from config.settings import Settings, check_range, get_settings, parse_exchange_names
from lib.errors import DatabaseError, ExchangeDataError, FundingError
from lib.exchanges.base import ExchangeAdapter
from lib.history.completeness import (
    ContractGaps,
    ExchangeCompleteness,
    load_gaps,
    missing_ranges,
    summarise,
)
from lib.history.fetch import fetch_range, store_settlements
from lib.history.jobs import AdapterFactory, adapter_factory_for
from lib.history.planning import BulkFill, RequestPlan, bulk_fill, plan_requests
from lib.history.report import status_table
from lib.history.status import StatusWriter, database_record
from lib.models import Contract, FundingEvent
from lib.runtime.files import BACKFILL_STATUS_FILE, runtime_path
from lib.storage.engine import translated_errors
from lib.storage.writes import retire_unlisted, save_contracts
from lib.timeutils import from_ms, to_ms, utcnow

logger = logging.getLogger(__name__)

CONTRACT_ATTEMPTS = 4
RETRY_DELAY_S = 0.5
PUBLISH_GRACE_MS = 120_000  # an exchange may publish a settlement a little late


@dataclass
class FillResult:
    """What filling one contract's gaps did."""

    symbol: str
    ranges: int = 0
    inserted: int = 0
    in_window: int = 0  # of the inserted, how many fall on the window's schedule
    new_known_missing: int = 0
    attempts: int = 0
    error: str | None = None
    unresolved: int = 0  # settled slots neither stored nor confirmed missing when it ended
    # slots a reply left out with nothing on one side to bracket them
    unbracketed: list[int] = field(default_factory=list)


def fill_contract(adapter: ExchangeAdapter, engine: Engine, gaps: ContractGaps, end_ms: int,
                  source: str = "backfill", merge_within: int | None = None) -> FillResult:
    """Fetch one contract's missing ranges and store them in one transaction.

    Each range is widened by one interval on both sides so that a slot the exchange does not
    have can be confirmed as missing at the exchange (it returned settlements around it).
    Updates `gaps` in place. Exchange and data errors propagate (the caller retries).
    """
    c = gaps.contract
    step = gaps.scheduled.step
    page = merge_within if merge_within is not None else adapter.history_page_size
    result = FillResult(c.symbol)
    events: list[FundingEvent] = []
    confirmed: list[int] = []
    for first, last in missing_ranges(gaps, page):
        result.ranges += 1
        wanted = [t for t in gaps.missing if first <= t <= last]
        # the neighbours before the window only confirm gaps
        got = fetch_range(adapter, c, from_ms(first - step), from_ms(min(last + step, end_ms)),
                          wanted, keep_from=gaps.scheduled.start)
        events.extend(got.events)
        confirmed.extend(got.confirmed)
        if got.times:
            # before the exchange's first settlement (listed inside the window, listing time
            # not given), and after its newest one (the window ends a publish grace ago)
            result.unbracketed.extend(t for t in wanted if t < min(got.times))
            # the exchange's own clock must agree that the slot is a grace old (a local clock
            # running ahead must not turn a slot that has not settled yet into a missing one)
            published = to_ms(adapter.http.exchange_now()) - PUBLISH_GRACE_MS
            result.unbracketed.extend(t for t in wanted if max(got.times) < t <= published)
    result.inserted, result.new_known_missing = store_settlements(engine, c, events, confirmed,
                                                                  source)
    before = gaps.have
    gaps.stored.update(to_ms(e.funding_time) for e in events)
    gaps.known_missing.update(confirmed)
    result.in_window = gaps.have - before
    return result


def fill_with_retries(adapter: ExchangeAdapter, engine: Engine, gaps: ContractGaps,
                      end_ms: int, attempts: int = CONTRACT_ATTEMPTS,
                      delay: float = RETRY_DELAY_S, stop: threading.Event | None = None,
                      source: str = "backfill",
                      absent: Counter[int] | None = None) -> FillResult:
    """`fill_contract` until nothing settled is left unresolved, with back-off on errors.

    A reply can be short without being an error (an empty page ends pagination early), so a
    contract whose settled slots are still neither stored nor confirmed missing is asked again,
    up to `attempts` passes. The database's errors are fatal and propagate. `absent` carries
    slots an earlier reply (a walk across contracts) already left out unbracketed.
    """
    total = FillResult(gaps.contract.symbol)
    absent = absent if absent is not None else Counter()
    waiter = stop or threading.Event()
    for attempt in range(1, attempts + 1):
        total.attempts = attempt
        try:
            result = fill_contract(adapter, engine, gaps, end_ms, source)
        except DatabaseError:
            raise
        except FundingError as e:
            total.error = str(e)
            if waiter.is_set():  # stopping: the failure is the stop's, not worth a warning
                break
            logger.warning("%s %s: attempt %d/%d failed: %s", adapter.id,
                           gaps.contract.symbol, attempt, attempts, e)
            if attempt < attempts and waiter.wait(delay * 2 ** (attempt - 1)):
                break
            continue
        total.error = None
        total.ranges += result.ranges
        total.inserted += result.inserted
        total.in_window += result.in_window
        total.new_known_missing += result.new_known_missing
        total.new_known_missing += _confirm_unbracketed(engine, gaps, result.unbracketed,
                                                        absent)
        unresolved = gaps.missing
        if not unresolved or waiter.is_set():
            break
        logger.info("%s %s: %d settled slots still unresolved, asking again", adapter.id,
                    gaps.contract.symbol, len(unresolved))
    total.unresolved = len(gaps.missing)
    return total


def _confirm_unbracketed(engine: Engine, gaps: ContractGaps, unbracketed: list[int],
                         absent: Counter[int]) -> int:
    """Confirm as missing at the exchange the slots that two separate replies left out with
    nothing on one side of them: before the exchange's first settlement of the contract (it
    was listed later, and the exchange gives no listing time) or after its newest one, past
    the publish grace. Asking twice keeps one faulted, cut-short reply from confirming them."""
    absent.update(unbracketed)
    confirmed = [t for t in unbracketed if absent[t] >= 2 and t in gaps.missing]
    if not confirmed:
        return 0
    _, new = store_settlements(engine, gaps.contract, [], confirmed, "backfill")
    gaps.known_missing.update(confirmed)
    return new


def list_with_retries(adapter: ExchangeAdapter, attempts: int = CONTRACT_ATTEMPTS,
                      delay: float = RETRY_DELAY_S,
                      stop: threading.Event | None = None) -> list[Contract]:
    """The exchange's contracts, retrying temporary failures with back-off.

    An empty list is taken as a bad reply, not as "no contracts": a venue never lists zero
    perpetuals, and accepting it would retire every contract and skip the exchange. A `stop`
    ends the back-off and raises the last error.
    """
    waiter = stop or threading.Event()
    for attempt in range(1, attempts + 1):
        try:
            items = adapter.list_contracts()
            if not items:
                raise ExchangeDataError(adapter.id, "contracts", "the contract list is empty")
            return items
        except FundingError as e:
            if attempt == attempts or waiter.is_set():
                raise
            logger.warning("%s: listing contracts failed (attempt %d/%d): %s",
                           adapter.id, attempt, attempts, e)
            if waiter.wait(delay * 2 ** (attempt - 1)):
                raise
    raise AssertionError("unreachable")


@dataclass
class Window:
    start: datetime
    end: datetime

    @classmethod
    def last(cls, days: float, now: datetime | None = None) -> Window:
        """`days` ending one publish grace before `now`: a settlement younger than that may not
        be in the exchange's history yet (it is the live collector's), and every slot in the
        window is then old enough that a reply without it shows it missing at the exchange."""
        end = (now or utcnow()) - timedelta(milliseconds=PUBLISH_GRACE_MS)
        return cls(end - timedelta(days=days), end)


class ExchangeBackfill:
    """One exchange's share of a run: list, plan, fill contract by contract, report."""

    def __init__(self, exchange: str, adapter: ExchangeAdapter, engine: Engine, window: Window,
                 status: StatusWriter, stop: threading.Event) -> None:
        self.exchange = exchange
        self.adapter = adapter
        self.engine = engine
        self.window = window
        self.status = status
        self.stop = stop
        self.requests0 = adapter.request_count

    def _requests(self) -> int:
        return self.adapter.request_count - self.requests0

    def run(self) -> str:
        """Fill this exchange; return its final state."""
        self.status.update(self.exchange, state="running", force=True)
        try:
            items = list_with_retries(self.adapter, stop=self.stop)
            with translated_errors(self.engine), self.engine.begin() as conn:
                save_contracts(conn, items, utcnow())
                retire_unlisted(conn, self.exchange, [c.symbol for c in items])
                all_gaps = load_gaps(conn, self.exchange, items, self.window.start,
                                     self.window.end)
        except DatabaseError:
            raise
        except FundingError as e:
            if self.stop.is_set():  # the listing was cut short by a stop, it did not fail
                self.status.update(self.exchange, state="stopped", force=True)
                return "stopped"
            logger.error("%s: cannot list contracts: %s", self.exchange, e)
            self.status.error(self.exchange, str(e))
            self.status.update(self.exchange, state="failed", requests=self._requests(),
                               force=True)
            return "failed"
        return self._fill(all_gaps)

    def _fill(self, all_gaps: list[ContractGaps]) -> str:
        totals = summarise(self.exchange, all_gaps)
        end_ms = to_ms(self.window.end)
        plan = plan_requests(self.adapter, all_gaps, end_ms)
        # the minimum: the history the plan needs plus the listing as it was made
        minimum = plan.minimum + self._requests()
        self.status.update(self.exchange, contracts_total=len(all_gaps), totals=totals,
                           requests_min=minimum, force=True)
        absent = self._walk_across(all_gaps, plan, end_ms, totals) if plan.bulk else BulkFill()
        done, records = 0, absent.inserted
        for gaps in all_gaps:
            if self.stop.is_set():
                self.status.update(self.exchange, state="stopped", requests=self._requests(),
                                   force=True)
                return "stopped"
            if gaps.missing:
                records += self._fill_one(gaps, end_ms, totals,
                                          absent.absent.get(gaps.contract.symbol))
            done += 1
            self.status.update(self.exchange, contracts_done=done, records=records,
                               requests=self._requests(), totals=totals)
        logger.info("%s: backfill done: %d contracts, %d rows, %d requests (minimum %d), "
                    "%.2f%% complete", self.exchange, done, records + absent.inserted,
                    self._requests(), minimum, totals.completeness)
        self.status.update(self.exchange, state="completed", requests=self._requests(),
                           records=records, totals=totals, force=True)
        return "completed"

    def _walk_across(self, all_gaps: list[ContractGaps], plan: RequestPlan, end_ms: int,
                     totals: ExchangeCompleteness) -> BulkFill:
        """The planned walk across contracts; on an exchange error, contract by contract."""
        try:
            result = bulk_fill(self.adapter, self.engine, all_gaps, plan, end_ms,
                               PUBLISH_GRACE_MS)
        except DatabaseError:
            raise
        except FundingError as e:
            logger.warning("%s: history across contracts failed, asking contract by contract: "
                           "%s", self.exchange, e)
            return BulkFill()
        totals.stored += result.in_window
        totals.expected -= result.new_known_missing
        totals.known_missing += result.new_known_missing
        self.status.update(self.exchange, records=result.inserted, requests=self._requests(),
                           totals=totals, force=True)
        return result

    def _fill_one(self, gaps: ContractGaps, end_ms: int, totals: ExchangeCompleteness,
                  absent: Counter[int] | None = None) -> int:
        result = fill_with_retries(self.adapter, self.engine, gaps, end_ms, stop=self.stop,
                                   absent=absent)
        # given up: the last attempt failed, or every attempt left settled slots unresolved
        # (short replies, e.g. empty pages, are no error); a stop cut it short: not the contract's
        why = result.error or (f"{result.unresolved} settled slot(s) neither returned nor shown "
                               "missing by the exchange" if result.unresolved else None)
        if why and not self.stop.is_set():
            logger.error("%s %s: giving up after %d attempts: %s", self.exchange,
                         gaps.contract.symbol, result.attempts, why)
            self.status.error(self.exchange, why, gaps.contract.symbol)
        totals.stored += result.in_window
        totals.expected -= result.new_known_missing
        totals.known_missing += result.new_known_missing
        return result.inserted


EXIT_CODES = {"completed": 0, "stopped": 0, "failed": 2}


@dataclass
class BackfillResult:
    """The outcome of a run, as the status file holds it."""

    state: str
    status: dict[str, Any]

    @property
    def exit_code(self) -> int:
        """0 completed or stopped by a signal (a re-run continues it), 2 failed."""
        return EXIT_CODES[self.state]

    def format(self) -> str:
        """Per exchange progress and the final state, as the script prints them."""
        return f"{status_table(self.status)}\nbackfill {self.state}"


def _close(adapters: dict[str, ExchangeAdapter]) -> None:
    for adapter in adapters.values():
        adapter.close()


def _run_exchange(job: ExchangeBackfill) -> str:
    try:
        return job.run()
    except DatabaseError:
        job.stop.set()  # the database is gone for everyone: stop the other workers too
        raise


def run_backfill(
    engine: Engine,
    days: float | None = None,
    exchanges: Sequence[str] | None = None,
    parallel: bool = True,
    stop: threading.Event | None = None,
    settings: Settings | None = None,
    adapter_factory: AdapterFactory | None = None,
    command: str = "unified_historical_backfill",
    time_scale: float = 1.0,
    now: datetime | None = None,
) -> BackfillResult:
    """Backfill `days` (default HISTORICAL_DAYS, the retention) of settled funding for
    `exchanges` up to `now` (default: the current time) less the publish grace; return the
    final status.

    Stops between contracts when `stop` is set (state 'stopped'). Raises ConfigurationError,
    before anything is recorded, for a window outside --days' range (zero or negative would
    record an empty or reversed window) and an exchange named twice; DatabaseError when the
    database fails (state 'failed' is recorded first) and StatusFileError when the status file
    cannot be written at the start or the end.
    """
    settings = settings or get_settings()
    days = check_range("--days", settings.HISTORICAL_DAYS if days is None else days)
    names = list(parse_exchange_names(",".join(exchanges), "--exchanges") if exchanges
                 else settings.EXCHANGES)
    stop = stop or threading.Event()
    factory = adapter_factory_for(settings, time_scale, adapter_factory)
    window = Window.last(days, now)
    status = StatusWriter(runtime_path(BACKFILL_STATUS_FILE, settings), days=days,
                          window_start=window.start, window_end=window.end,
                          exchanges=names, command=command,
                          database=database_record(engine.url))
    status.start()
    adapters = {ex: factory(ex) for ex in names}
    jobs = [ExchangeBackfill(ex, adapters[ex], engine, window, status, stop) for ex in names]
    try:
        with ThreadPoolExecutor(max_workers=len(jobs) if parallel else 1,
                                thread_name_prefix="backfill") as pool:
            states = list(pool.map(_run_exchange, jobs))
    except DatabaseError:
        status.finish("failed")
        raise
    finally:
        _close(adapters)
    if stop.is_set():
        state = "stopped"
    else:
        state = "completed" if all(s == "completed" for s in states) else "failed"
    status.finish(state)
    return BackfillResult(state, status.data)
