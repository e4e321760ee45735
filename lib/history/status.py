"""The `.unified_backfill.status` file: written as the backfill goes, read by anyone.

The backfill's worker threads report into one `StatusWriter`; it rewrites the file atomically
at most every `min_interval` seconds (and at every state change), so 2,300 contracts do not
mean 2,300 fsyncs. A failed write in the middle of a run is logged and retried on the next
update (the data in the database matters more than the progress report); the first and the
last write must succeed, so a run never starts or ends with a status that lies.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from lib.history.completeness import ExchangeCompleteness, overall_completeness
from lib.runtime.files import StatusFileError, write_json_atomic
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)

STATES = ("running", "completed", "stopped", "failed")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _pct(value: float) -> float:
    return round(value, 3)


class StatusWriter:
    """Thread-safe progress of one backfill run, mirrored to the status file."""

    def __init__(self, path: Path, *, days: float, window_start: datetime,
                 window_end: datetime, exchanges: list[str], command: str,
                 min_interval: float = 0.5) -> None:
        self.path = path
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._last_write = 0.0
        self._totals: dict[str, ExchangeCompleteness] = {}
        now = utcnow()
        self.data: dict[str, Any] = {
            "state": "running",
            "pid": os.getpid(),
            "command": command,
            "days": days,
            "window_start": _iso(window_start),
            "window_end": _iso(window_end),
            "started_at": _iso(now),
            "updated_at": _iso(now),
            "finished_at": None,
            "exchanges": {ex: self._pending() for ex in exchanges},
            "overall": {},
        }
        self._refresh_overall()

    @staticmethod
    def _pending() -> dict[str, Any]:
        return {
            "state": "pending", "contracts_total": 0, "contracts_done": 0,
            "percent_complete": 0.0, "records": 0, "requests": 0, "errors": 0,
            "last_error": None, "failed_contracts": [], "completeness": None,
            "settlements_expected": 0, "settlements_stored": 0, "known_missing": 0,
            "started_at": None, "updated_at": None, "finished_at": None,
        }

    # -- updates from workers ----------------------------------------------------------------

    def update(self, exchange: str, *, totals: ExchangeCompleteness | None = None,
               force: bool = False, **fields: Any) -> None:
        """Merge `fields` into one exchange's entry; write the file if due (or forced)."""
        with self._lock:
            entry = self.data["exchanges"][exchange]
            entry.update(fields)
            now = utcnow()
            entry["updated_at"] = _iso(now)
            if fields.get("state") == "running" and not entry["started_at"]:
                entry["started_at"] = _iso(now)
            if fields.get("state") in ("completed", "stopped", "failed"):
                entry["finished_at"] = _iso(now)
            if totals is not None:
                self._totals[exchange] = totals
                entry.update(
                    completeness=_pct(totals.completeness),
                    settlements_expected=totals.expected,
                    settlements_stored=totals.stored,
                    known_missing=totals.known_missing,
                )
            total = entry["contracts_total"]
            entry["percent_complete"] = _pct(
                100.0 * entry["contracts_done"] / total if total else
                (100.0 if entry["state"] == "completed" else 0.0)
            )
            self.data["updated_at"] = _iso(now)
            self._refresh_overall()
            self._write_if_due(force, final=False)

    def error(self, exchange: str, message: str, symbol: str | None = None) -> None:
        """Count one error for an exchange (and the contract it concerns)."""
        with self._lock:
            entry = self.data["exchanges"][exchange]
            entry["errors"] += 1
            entry["last_error"] = message
            if symbol and symbol not in entry["failed_contracts"]:
                entry["failed_contracts"] = [*entry["failed_contracts"], symbol][-50:]

    def finish(self, state: str) -> None:
        """Record the run's final state; this write must succeed (raises StatusFileError)."""
        with self._lock:
            self.data["state"] = state
            now = _iso(utcnow())
            self.data["updated_at"] = self.data["finished_at"] = now
            for entry in self.data["exchanges"].values():
                if entry["state"] in ("pending", "running"):
                    entry["state"] = "stopped" if state == "stopped" else entry["state"]
            self._refresh_overall()
            self._write_if_due(force=True, final=True)

    def start(self) -> None:
        """The first write: fails loudly if the status file cannot be written at all."""
        with self._lock:
            self._write_if_due(force=True, final=True)

    # -- internals ---------------------------------------------------------------------------

    def _refresh_overall(self) -> None:
        entries = self.data["exchanges"].values()
        done = sum(e["contracts_done"] for e in entries)
        total = sum(e["contracts_total"] for e in entries)
        expected = sum(t.expected for t in self._totals.values())
        stored = sum(t.stored for t in self._totals.values())
        self.data["overall"] = {
            "completeness": _pct(overall_completeness(self._totals.values()))
            if self._totals else None,
            "percent_complete": _pct(100.0 * done / total) if total else 0.0,
            "contracts_done": done,
            "contracts_total": total,
            "records": sum(e["records"] for e in entries),
            "requests": sum(e["requests"] for e in entries),
            "errors": sum(e["errors"] for e in entries),
            "settlements_expected": expected,
            "settlements_stored": stored,
            "known_missing": sum(t.known_missing for t in self._totals.values()),
        }

    def _write_if_due(self, force: bool, final: bool) -> None:
        now = time.monotonic()
        if not force and now - self._last_write < self.min_interval:
            return
        try:
            write_json_atomic(self.path, self.data)
        except StatusFileError as e:
            if final:
                raise
            logger.warning("backfill status not updated (will retry): %s", e)
            return
        self._last_write = now
