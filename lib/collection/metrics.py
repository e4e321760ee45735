"""`.collection_metrics.json`: what the last collection cycle did, per exchange.

Rewritten atomically every cycle (readers: the API's health endpoint, the dashboards), so it
always describes one whole cycle. `CycleSummary` is the same cycle in one line, with the exit
code `collect_funding_rates.py --once` reports it by (cron hears of a failed exchange).
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from config.settings import Settings
from lib.runtime.files import METRICS_FILE, StatusFileError, runtime_path, write_json_atomic

logger = logging.getLogger(__name__)


@dataclass
class ExchangeMetrics:
    """One exchange's part of a cycle."""

    duration_ms: int
    record_count: int
    success: bool
    error: str | None = None
    settlements_stored: int = 0  # settled rates stored by the live path so far
    settlements_pending: int = 0
    # freshness of the settled rates stored live: {count, p50_s, p99_s, max_s} from each
    # settlement instant to its stored row (None until one is stored)
    settlement_lag: dict[str, Any] | None = None


def metrics_document(batch_id: str, batch_timestamp: datetime, duration_ms: int,
                     exchanges: dict[str, ExchangeMetrics]) -> dict[str, Any]:
    """The metrics file's content for one cycle."""
    return {
        "batch_id": batch_id,
        "batch_timestamp": batch_timestamp.isoformat(timespec="milliseconds"),
        "duration_ms": duration_ms,
        "total_records": sum(m.record_count for m in exchanges.values()),
        "exchanges_ok": sum(1 for m in exchanges.values() if m.success),
        "exchanges_failed": sum(1 for m in exchanges.values() if not m.success),
        "exchanges": {ex: asdict(m) for ex, m in sorted(exchanges.items())},
    }


def write_metrics(document: dict[str, Any], settings: Settings | None = None) -> bool:
    """Replace the metrics file in the settings' RUNTIME_DIR; a failed write is logged, not
    fatal (collection goes on)."""
    try:
        write_json_atomic(runtime_path(METRICS_FILE, settings), document)
    except StatusFileError as e:
        logger.error("collection metrics not written: %s", e)
        return False
    return True


# `collect_funding_rates.py --once` exit codes (documented in its docstring and the README)
EXIT_ALL_OK = 0
EXIT_ALL_FAILED = 2  # every exchange failed, or nothing could be written (also a bad input's)
EXIT_SOME_FAILED = 3  # some exchanges failed: the rest was collected and stored


@dataclass(frozen=True)
class CycleSummary:
    """One cycle in one line: exchanges ok and failed (named), contracts collected, settled
    rates stored, seconds; and the exit code that stands for it."""

    ok: list[str]
    failed: list[str]
    contracts: int
    settled: int  # settled rates stored by the live path so far
    pending: int  # settled windows queued but not stored yet
    seconds: float
    stopped: str | None = None  # the signal that cut the cycle short

    @classmethod
    def of(cls, document: dict[str, Any], seconds: float, settled: int | None = None,
           pending: int | None = None, stopped: str | None = None) -> CycleSummary:
        """The summary of a metrics document; `settled`/`pending` when newer than it (after
        a drain)."""
        entries = document["exchanges"]
        return cls(
            ok=[ex for ex, m in entries.items() if m["success"]],
            failed=[ex for ex, m in entries.items() if not m["success"]],
            contracts=document["total_records"],
            settled=sum(m["settlements_stored"] for m in entries.values())
            if settled is None else settled,
            pending=sum(m["settlements_pending"] for m in entries.values())
            if pending is None else pending,
            seconds=seconds, stopped=stopped,
        )

    @property
    def exit_code(self) -> int:
        """0 all exchanges ok (or a signal cut the cycle short), 3 some failed, 2 all failed."""
        if self.stopped or not self.failed:
            return EXIT_ALL_OK
        return EXIT_SOME_FAILED if self.ok else EXIT_ALL_FAILED

    def format(self) -> str:
        """E.g. 'collected: 7 of 8 exchanges ok, 1 failed (bybit); 110 contracts; 3 settled
        rates stored; 2.4 s'."""
        total = len(self.ok) + len(self.failed)
        failed = f", {len(self.failed)} failed ({', '.join(self.failed)})" if self.failed else ""
        pending = (f" ({self.pending} still pending: the next run or fill_recent_gaps.py "
                   "stores them)") if self.pending else ""
        head = f"stopped by {self.stopped}" if self.stopped else "collected"
        return (f"{head}: {len(self.ok)} of {total} exchanges ok{failed}; {self.contracts} "
                f"contracts; {self.settled} settled rates stored{pending}; "
                f"{self.seconds:.1f} s")
