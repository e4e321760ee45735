"""Repair jobs: fill recent gaps, retry contracts below the completeness threshold.

Both work from the `contracts` table (the schedule each contract should have), fetch only the
missing ranges through the same `fill_contract` as the backfill, and run exchanges in parallel
with each exchange's contracts one after the other (its rate limit paces them). `dry_run`
reports what would be fetched and makes no request.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import astuple, dataclass, fields

from sqlalchemy import Engine
from tabulate import tabulate

from config.settings import Settings, check_range, get_settings
from lib.history.backfill import Window, fill_with_retries
from lib.history.completeness import stored_gaps
from lib.history.jobs import AdapterFactory, adapter_factory_for
from lib.timeutils import to_ms

logger = logging.getLogger(__name__)


@dataclass
class GapReport:
    """fill_recent_gaps' summary of one exchange."""

    exchange: str
    contracts: int = 0
    contracts_with_gaps: int = 0
    gaps_found: int = 0
    filled: int = 0
    missing_at_exchange: int = 0
    still_missing: int = 0
    requests: int = 0
    errors: int = 0


def _run_parallel(exchanges: Sequence[str], job: Callable[[str], object]) -> list:
    with ThreadPoolExecutor(max_workers=max(1, len(exchanges)), thread_name_prefix="repair") as p:
        return list(p.map(job, exchanges))


@dataclass
class GapRun:
    """fill_recent_gaps' result: one report per exchange."""

    reports: list[GapReport]
    dry_run: bool

    @property
    def exit_code(self) -> int:
        """2 when any contract's gaps could not be fetched (a dry run fetches nothing: 0)."""
        return 0 if self.dry_run or not any(r.errors for r in self.reports) else 2

    def format(self) -> str:
        """The per-exchange table and a summary line."""
        headers = [f.name.replace("_", " ") for f in fields(GapReport)]
        table = tabulate([astuple(r) for r in self.reports], headers=headers, tablefmt="simple")
        found = sum(r.gaps_found for r in self.reports)
        left = sum(r.still_missing for r in self.reports)
        return (f"{table}\n{'dry run: ' if self.dry_run else ''}{found} gaps found, "
                f"{left} still missing")


def fill_recent_gaps(engine: Engine, hours: float, exchanges: Sequence[str] | None = None,
                     dry_run: bool = False, settings: Settings | None = None,
                     adapter_factory: AdapterFactory | None = None,
                     stop: threading.Event | None = None,
                     time_scale: float = 1.0) -> GapRun:
    """Find and fill missing settlements of the last `hours`, per exchange."""
    settings = settings or get_settings()
    names = list(exchanges or settings.EXCHANGES)
    factory = adapter_factory_for(settings, time_scale, adapter_factory)
    window = Window.last(hours / 24)
    end_ms = to_ms(window.end)
    plans = stored_gaps(engine, names, window.start, window.end)
    stop = stop or threading.Event()

    def one(ex: str) -> GapReport:
        report = GapReport(ex, contracts=len(plans[ex]))
        todo = [g for g in plans[ex] if g.missing]
        report.contracts_with_gaps = len(todo)
        report.gaps_found = sum(len(g.missing) for g in todo)
        if dry_run or not todo:
            report.still_missing = report.gaps_found
            return report
        adapter = factory(ex)
        try:
            for gaps in todo:
                if stop.is_set():
                    break
                before = len(gaps.missing)
                result = fill_with_retries(adapter, engine, gaps, end_ms, stop=stop,
                                           source="repair")
                report.filled += result.in_window
                report.missing_at_exchange += result.new_known_missing
                report.errors += 1 if result.error else 0
                logger.info("%s %s: %d gaps, %d filled, %d missing at the exchange", ex,
                            gaps.contract.symbol, before, result.in_window,
                            result.new_known_missing)
            report.requests = adapter.request_count
        finally:
            adapter.close()
        report.still_missing = sum(len(g.missing) for g in todo)
        return report

    return GapRun(_run_parallel(names, one), dry_run)


@dataclass
class RetryReport:
    """retry_incomplete_contracts' line for one contract."""

    exchange: str
    symbol: str
    before: float
    after: float
    attempts: int = 0
    success: bool = False
    error: str | None = None
    missing_at_exchange: int = 0


@dataclass
class RetryRun:
    """retry_incomplete's result: one report per contract that was below the threshold."""

    reports: list[RetryReport]
    threshold: float
    dry_run: bool

    @property
    def failed(self) -> int:
        return sum(1 for r in self.reports if not r.success)

    @property
    def exit_code(self) -> int:
        """2 when a contract is still below the threshold (a dry run fetches nothing: 0)."""
        return 0 if self.dry_run or not self.failed else 2

    def format(self) -> str:
        """One line per contract and a summary line."""
        rows = [(r.exchange, r.symbol, r.attempts, "dry run" if self.dry_run else
                 ("ok" if r.success else f"failed: {r.error or 'still below threshold'}"),
                 f"{r.before:.2f}%", f"{r.after:.2f}%") for r in self.reports]
        table = tabulate(rows, headers=("exchange", "symbol", "attempts", "result", "before",
                                        "after"), tablefmt="simple")
        done = "" if self.dry_run else (f", {len(self.reports) - self.failed} fixed, "
                                        f"{self.failed} not")
        return f"{table}\n{len(self.reports)} contracts below {self.threshold:g}%{done}"


def retry_incomplete(engine: Engine, threshold: float | None = None, days: float | None = None,
                     exchanges: Sequence[str] | None = None, dry_run: bool = False,
                     settings: Settings | None = None,
                     adapter_factory: AdapterFactory | None = None,
                     attempts: int = 4, delay: float = 1.0,
                     stop: threading.Event | None = None,
                     time_scale: float = 1.0) -> RetryRun:
    """Retry every contract below `threshold` % (default BACKFILL_COMPLETENESS_THRESHOLD) over
    the last `days` (default HISTORICAL_DAYS), with back-off. A window outside --days' range
    is ConfigurationError (0 is not "the default"), before anything is fetched."""
    settings = settings or get_settings()
    limit = settings.BACKFILL_COMPLETENESS_THRESHOLD if threshold is None else threshold
    days = check_range("--days", settings.HISTORICAL_DAYS if days is None else days)
    names = list(exchanges or settings.EXCHANGES)
    factory = adapter_factory_for(settings, time_scale, adapter_factory)
    window = Window.last(days)
    end_ms = to_ms(window.end)
    plans = stored_gaps(engine, names, window.start, window.end)
    stop = stop or threading.Event()

    def one(ex: str) -> list[RetryReport]:
        todo = [g for g in plans[ex] if g.completeness < limit]
        reports = [RetryReport(ex, g.contract.symbol, g.completeness, g.completeness)
                   for g in todo]
        if dry_run or not todo:
            return reports
        adapter = factory(ex)
        try:
            for gaps, report in zip(todo, reports, strict=True):
                if stop.is_set():
                    break
                result = fill_with_retries(adapter, engine, gaps, end_ms, attempts, delay,
                                           stop, source="repair")
                report.attempts = result.attempts
                report.after = gaps.completeness
                report.error = result.error
                report.missing_at_exchange = result.new_known_missing
                report.success = result.error is None and gaps.completeness >= limit
        finally:
            adapter.close()
        return reports

    return RetryRun([r for part in _run_parallel(names, one) for r in part], limit, dry_run)

