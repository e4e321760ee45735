"""The `.unified_backfill.status` file: written as the backfill goes, read by anyone.

The backfill's worker threads report into one `StatusWriter`; it rewrites the file atomically
at most every `min_interval` seconds (and at every state change), so 2,300 contracts do not
mean 2,300 fsyncs. A failed write in the middle of a run is logged and retried on the next
update (the data in the database matters more than the progress report); the first and the
last write must succeed, so a run never starts or ends with a status that lies.

The file names the database it describes (`database`: a fingerprint of the URL without user or
password, and the URL masked for people), so a report never checks it against another one.
`read_status` is the reading side: a file of the wrong shape, or one naming an exchange this
code does not know, is refused in one line rather than read as a backfill that went well.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url

from config.redact import redact_url
from config.settings import SUPPORTED_EXCHANGES
from lib.history.completeness import ExchangeCompleteness, overall_completeness
from lib.runtime.files import StatusFileError, read_json, write_json_atomic
from lib.storage.engine import database_fingerprint
from lib.timeutils import from_iso, utcnow

logger = logging.getLogger(__name__)

STATES = ("running", "completed", "stopped", "failed")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def _pct(value: float) -> float:
    return round(value, 3)


def database_record(url: URL | str) -> dict[str, str]:
    """How a status file names its database: a fingerprint to compare, and the URL to show
    (password masked, no driver: as a user writes DATABASE_URL)."""
    parsed = make_url(url)
    shown = parsed.set(drivername=parsed.get_backend_name())
    return {"fingerprint": database_fingerprint(parsed),
            "url": redact_url(shown.render_as_string(hide_password=False))}


class StatusWriter:
    """Thread-safe progress of one backfill run, mirrored to the status file."""

    def __init__(self, path: Path, *, days: float, window_start: datetime,
                 window_end: datetime, exchanges: list[str], command: str,
                 database: dict[str, str], min_interval: float = 0.5) -> None:
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
            "database": database,
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
            "percent_complete": 0.0, "records": 0, "requests": 0, "requests_min": 0,
            "errors": 0,
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
            "requests_min": sum(e.get("requests_min", 0) for e in entries),
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


# -- reading -----------------------------------------------------------------------------------

_NUMBERS = ("percent_complete", "completeness", "contracts_done", "contracts_total", "records",
            "requests", "requests_min", "errors", "settlements_expected", "settlements_stored",
            "known_missing")


def _entry_problem(name: str, entry: object) -> str | None:
    if not isinstance(entry, dict):
        return f"the entry for {name} is not an object"
    for key in _NUMBERS:
        value = entry.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            return f"{name}.{key} is {value!r}, not a number"
    return None


def _time(status: dict[str, Any], key: str) -> datetime | None:
    value = status.get(key)
    try:
        return from_iso(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _window_problem(status: dict[str, Any]) -> str | None:
    start, end = _time(status, "window_start"), _time(status, "window_end")
    for key, value in (("window_start", start), ("window_end", end)):
        if value is None:
            return f"{key} is {status.get(key)!r}, not an ISO-8601 time"
    if start is not None and end is not None and start >= end:
        return "its window is empty or reversed (written by a run with --days 0 or less)"
    return None


def _shape_problem(status: dict[str, Any]) -> str | None:
    """What makes `status` (a JSON object) unusable as a backfill status, or None."""
    if status.get("state") not in STATES:
        return f"state is {status.get('state')!r}, not one of {', '.join(STATES)}"
    problem = _window_problem(status)
    if problem:
        return problem
    exchanges = status.get("exchanges")
    if not isinstance(exchanges, dict) or not exchanges:
        return "exchanges is missing, empty or not an object"
    unknown = sorted(set(exchanges) - set(SUPPORTED_EXCHANGES))
    if unknown:
        return (f"it names exchange(s) this code does not know: {', '.join(unknown)} "
                f"(supported: {', '.join(SUPPORTED_EXCHANGES)})")
    for name, entry in [*exchanges.items(), ("overall", status.get("overall", {}))]:
        problem = _entry_problem(name, entry)
        if problem:
            return problem
    database = status.get("database")
    if not isinstance(database, dict) or not all(
            isinstance(database.get(k), str) for k in ("fingerprint", "url")):
        return "it does not say which database it describes (written by an older version)"
    return None


def read_status(path: Path) -> dict[str, Any] | None:
    """The backfill status at `path`, None when there is none; StatusFileError (one line) when
    it is not a backfill status this code can trust."""
    status = read_json(path)
    if status is None:
        return None
    problem = _shape_problem(status)
    if problem:
        raise StatusFileError(f"{path} is not a usable backfill status: {problem}; run the "
                              "backfill again")
    return status


def require_database(status: dict[str, Any], path: Path, url: str) -> None:
    """StatusFileError (one line naming both, masked) unless `status` describes `url`'s
    database."""
    if status["database"]["fingerprint"] != database_fingerprint(url):
        raise StatusFileError(
            f"{path} describes the database {status['database']['url']}, not "
            f"{redact_url(url)}: run the backfill for this database"
        )
