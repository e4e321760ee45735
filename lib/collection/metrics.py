"""`.collection_metrics.json`: what the last collection cycle did, per exchange.

Rewritten atomically every cycle (readers: the API's health endpoint, the dashboards), so it
always describes one whole cycle.
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
