"""The backfill panel's data: `.unified_backfill.status` and whether its lock is held.

While a run holds `.unified_backfill.lock` the panel shows its progress per exchange; else the
last run's result. A status still 'running' whose lock nobody holds was left by a killed run
(the next run continues it), and a status that describes another database is shown as such:
the dashboard never presents another database's completeness as this one's.
"""

from __future__ import annotations

from typing import Any

from config.settings import Settings
from lib.dashboards.terminal.views import BackfillExchange, BackfillView
from lib.history.status import read_status
from lib.runtime.files import (
    BACKFILL_STATUS_FILE,
    UNIFIED_LOCK_FILE,
    StatusFileError,
    runtime_path,
)
from lib.runtime.locks import FileLock
from lib.storage.engine import database_fingerprint


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _int(value: object) -> int:
    number = _float(value)
    return int(number) if number is not None else 0


def _exchange(name: str, entry: dict[str, Any]) -> BackfillExchange:
    return BackfillExchange(
        exchange=name, state=str(entry.get("state") or "pending"),
        percent=_float(entry.get("percent_complete")) or 0.0, records=_int(entry.get("records")),
        contracts_done=_int(entry.get("contracts_done")),
        contracts_total=_int(entry.get("contracts_total")),
        completeness=_float(entry.get("completeness")), errors=_int(entry.get("errors")),
    )


def backfill_view(status: dict[str, Any] | None, running: bool, holder: str | None,
                  database_url: str) -> BackfillView:
    """The panel's view of a (validated) status file and the lock's state."""
    if status is None:
        return BackfillView(running=running, holder=holder,
                            note="a backfill is starting" if running else "no backfill yet")
    overall = status.get("overall") or {}
    note = None
    if status["database"]["fingerprint"] != database_fingerprint(database_url):
        note = f"the last status describes another database ({status['database']['url']})"
    elif status["state"] == "running" and not running:
        note = "stale: the run that wrote it is gone (killed?); B runs it again"
    return BackfillView(
        running=running, state=status["state"], holder=holder,
        started_at=status.get("started_at"), finished_at=status.get("finished_at"),
        updated_at=status.get("updated_at"), days=_float(status.get("days")),
        percent=_float(overall.get("percent_complete")),
        completeness=_float(overall.get("completeness")), records=_int(overall.get("records")),
        exchanges=[_exchange(n, e) for n, e in sorted(status["exchanges"].items())],
        note=note,
    )


def read_backfill(settings: Settings) -> BackfillView:
    """The status file and lock in RUNTIME_DIR as the panel shows them."""
    try:
        lock = FileLock(runtime_path(UNIFIED_LOCK_FILE, settings))
        running = lock.is_held()
        who = lock.holder() if running else None
        status = read_status(runtime_path(BACKFILL_STATUS_FILE, settings))
    except StatusFileError as e:
        return BackfillView(error=str(e))
    holder = f"pid {who.pid}, {who.command}" if who else None
    return backfill_view(status, running, holder, settings.database_url)
