"""The collection panel's data: `.collection_metrics.json` read into per exchange statuses.

OK: the exchange answered in time; SLOW: it answered, but took over half the time the collector
allows one exchange (HTTP connect + read timeout, at least 5 s) and will time out if it gets
slower; TIMEOUT: it failed by a timeout (the collector gave up on it, or its HTTP request timed
out); ERROR: any other failure, with the collector's reason.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from config.settings import Settings
from lib.dashboards.terminal.views import (
    ERROR,
    OK,
    SLOW,
    TIMEOUT,
    CollectionView,
    ExchangeCycle,
)
from lib.runtime.files import METRICS_FILE, StatusFileError, read_json, runtime_path
from lib.timeutils import from_iso

_TIMEOUT = re.compile(r"timed? ?out|timeout", re.IGNORECASE)


def slow_after_ms(settings: Settings) -> float:
    """Half the collector's per exchange allowance (lib.collection.collector's default)."""
    allowance = max(settings.HTTP_CONNECT_TIMEOUT + settings.HTTP_READ_TIMEOUT, 5.0)
    return allowance * 1000 / 2


def cycle_status(entry: dict[str, Any], slow_ms: float) -> str:
    """OK, SLOW, TIMEOUT or ERROR for one exchange's entry of the metrics file."""
    if not entry.get("success"):
        return TIMEOUT if _TIMEOUT.search(str(entry.get("error") or "")) else ERROR
    return SLOW if float(entry.get("duration_ms") or 0) > slow_ms else OK


def _number(entry: dict[str, Any], key: str) -> int:
    value = entry.get(key)
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def collection_view(document: dict[str, Any] | None, settings: Settings,
                    now: datetime) -> CollectionView:
    """The panel's view of one metrics document (None: no cycle has run yet)."""
    interval = settings.COLLECTION_INTERVAL
    if document is None:
        return CollectionView(interval_s=interval,
                              error="no collection cycle yet (the collector writes "
                                    f"{METRICS_FILE} after its first cycle)")
    entries = document.get("exchanges")
    stamp = document.get("batch_timestamp")
    try:
        last = from_iso(stamp) if isinstance(stamp, str) else None
    except ValueError:
        last = None
    if not isinstance(entries, dict) or last is None:
        return CollectionView(interval_s=interval,
                              error=f"{METRICS_FILE} is not a collection metrics file")
    slow = slow_after_ms(settings)
    rows = [
        ExchangeCycle(
            exchange=str(name), status=cycle_status(entry, slow),
            contracts=_number(entry, "record_count"), duration_ms=_number(entry, "duration_ms"),
            error=None if entry.get("success") else str(entry.get("error") or "failed"),
        )
        for name, entry in sorted(entries.items()) if isinstance(entry, dict)
    ]
    age = (now - last).total_seconds()
    return CollectionView(last_cycle=last, age_s=age, next_in_s=interval - age,
                          duration_ms=_number(document, "duration_ms"), exchanges=rows,
                          interval_s=interval)


def read_collection(settings: Settings, now: datetime) -> CollectionView:
    """The metrics file in RUNTIME_DIR as the panel shows it; a corrupt file is the panel's
    error line."""
    try:
        document = read_json(runtime_path(METRICS_FILE, settings))
    except StatusFileError as e:
        return CollectionView(interval_s=settings.COLLECTION_INTERVAL, error=str(e))
    return collection_view(document, settings, now)
