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
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc

from config.settings import Settings, get_settings
from lib.exchanges import get_adapter
from lib.exchanges.base import ExchangeAdapter
from lib.history.backfill import Window, fill_with_retries
from lib.history.completeness import ContractGaps, load_gaps, stored_contracts
from lib.storage.engine import translate_error
from lib.timeutils import to_ms

logger = logging.getLogger(__name__)

AdapterFactory = Callable[[str], ExchangeAdapter]


def _load(engine: Engine, exchanges: Sequence[str],
          window: Window) -> dict[str, list[ContractGaps]]:
    try:
        with engine.connect() as conn:
            items = stored_contracts(conn, exchanges)
            return {
                ex: load_gaps(conn, ex, [c for c in items if c.exchange == ex], window.start,
                              window.end)
                for ex in exchanges
            }
    except sa_exc.SQLAlchemyError as e:
        raise translate_error(e, str(engine.url)) from e


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


def fill_recent_gaps(engine: Engine, hours: float, exchanges: Sequence[str] | None = None,
                     dry_run: bool = False, settings: Settings | None = None,
                     adapter_factory: AdapterFactory | None = None,
                     stop: threading.Event | None = None,
                     time_scale: float = 1.0) -> list[GapReport]:
    """Find and fill missing settlements of the last `hours`, per exchange."""
    settings = settings or get_settings()
    names = list(exchanges or settings.EXCHANGES)
    factory = adapter_factory or (lambda ex: get_adapter(ex, settings, time_scale))
    window = Window.last(hours / 24)
    end_ms = to_ms(window.end)
    plans = _load(engine, names, window)
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

    return _run_parallel(names, one)


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


def retry_incomplete(engine: Engine, threshold: float, days: float,
                     exchanges: Sequence[str] | None = None, dry_run: bool = False,
                     settings: Settings | None = None,
                     adapter_factory: AdapterFactory | None = None,
                     attempts: int = 4, delay: float = 1.0,
                     stop: threading.Event | None = None,
                     time_scale: float = 1.0) -> list[RetryReport]:
    """Retry every contract below `threshold` % over the last `days`, with back-off."""
    settings = settings or get_settings()
    names = list(exchanges or settings.EXCHANGES)
    factory = adapter_factory or (lambda ex: get_adapter(ex, settings, time_scale))
    window = Window.last(days)
    end_ms = to_ms(window.end)
    plans = _load(engine, names, window)
    stop = stop or threading.Event()

    def one(ex: str) -> list[RetryReport]:
        todo = [g for g in plans[ex] if g.completeness < threshold]
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
                report.success = result.error is None and gaps.completeness >= threshold
        finally:
            adapter.close()
        return reports

    return [r for part in _run_parallel(names, one) for r in part]

