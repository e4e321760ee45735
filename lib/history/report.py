"""What `check_backfill_status.py` and the backfill print: progress, records, completeness.

The status file says what the last run did; the database says what is stored now; the lock
says whether a run is alive. A status still 'running' whose lock nobody holds is stale (the
run was killed): the next run continues it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine
from tabulate import tabulate

from config.settings import SUPPORTED_EXCHANGES, Settings, get_settings
from lib.history.completeness import database_completeness, overall_completeness
from lib.runtime.files import (
    BACKFILL_STATUS_FILE,
    UNIFIED_LOCK_FILE,
    StatusFileError,
    read_json,
    runtime_path,
)
from lib.runtime.locks import FileLock
from lib.storage.engine import database
from lib.timeutils import from_iso

EXIT_COMPLETE, EXIT_RUNNING, EXIT_INCOMPLETE, EXIT_NO_STATUS = 0, 1, 2, 3

_COLUMNS = ("exchange", "state", "progress", "contracts", "records", "stored", "known missing",
            "completeness", "errors")


def _fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def status_table(status: dict[str, Any]) -> str:
    """The status file's per exchange progress as a table, with an overall row."""
    rows = []
    for ex, e in status.get("exchanges", {}).items():
        rows.append((
            ex, e.get("state"), _fmt_pct(e.get("percent_complete")),
            f"{e.get('contracts_done', 0)}/{e.get('contracts_total', 0)}", e.get("records", 0),
            e.get("settlements_stored", 0), e.get("known_missing", 0),
            _fmt_pct(e.get("completeness")), e.get("errors", 0),
        ))
    o = status.get("overall", {})
    rows.append((
        "overall", status.get("state"), _fmt_pct(o.get("percent_complete")),
        f"{o.get('contracts_done', 0)}/{o.get('contracts_total', 0)}", o.get("records", 0),
        o.get("settlements_stored", 0), o.get("known_missing", 0),
        _fmt_pct(o.get("completeness")), o.get("errors", 0),
    ))
    return tabulate(rows, headers=_COLUMNS, tablefmt="simple")


@dataclass
class StatusReport:
    """The answer of check_backfill_status: an exit code, a text and the same as data."""

    code: int
    text: str
    data: dict[str, Any]


def _verdict(state: str, running: bool, completeness: float, threshold: float) -> tuple[int, str]:
    if running:
        return EXIT_RUNNING, "a backfill is running"
    if state == "running":
        return EXIT_INCOMPLETE, ("stale status: the backfill that wrote it is gone "
                                 "(killed?); run the backfill again to finish it")
    if state == "completed" and completeness >= threshold:
        return EXIT_COMPLETE, f"complete: {completeness:.2f}% >= {threshold:.2f}%"
    if state == "completed":
        return EXIT_INCOMPLETE, f"incomplete: {completeness:.2f}% < {threshold:.2f}%"
    return EXIT_INCOMPLETE, f"backfill {state}: {completeness:.2f}% complete"


def _db_rows(engine: Engine, status: dict[str, Any], threshold: float) -> tuple[list, float]:
    start = from_iso(status["window_start"])
    end = from_iso(status["window_end"])
    totals = database_completeness(engine, list(status["exchanges"]), start, end, threshold)
    rows = [
        {"exchange": ex, "contracts": t.contracts, "complete_contracts": t.complete_contracts,
         "expected": t.expected, "stored": t.stored, "known_missing": t.known_missing,
         "completeness": round(t.completeness, 3)}
        for ex, t in totals.items()
    ]
    return rows, overall_completeness(totals.values())


_NUMBERS = ("percent_complete", "completeness", "contracts_done", "contracts_total", "records",
            "settlements_stored", "known_missing", "errors")


def _shape_problem(status: dict[str, Any]) -> str | None:
    """What makes `status` (valid JSON) not a backfill status file, or None."""
    if not isinstance(status.get("state"), str):
        return "'state' is missing or not a text"
    for key in ("window_start", "window_end"):
        value = status.get(key)
        try:
            from_iso(value if isinstance(value, str) else "")
        except ValueError:
            return f"{key!r} is missing or not an ISO-8601 time"
    exchanges = status.get("exchanges")
    if not isinstance(exchanges, dict) or not exchanges:
        return "'exchanges' is missing or not an object of exchanges"
    unknown = sorted(set(exchanges) - set(SUPPORTED_EXCHANGES))
    if unknown:
        return f"it names unknown exchange(s) {', '.join(unknown)}"
    entries = {**exchanges, "overall": status.get("overall", {})}
    for name, entry in entries.items():
        if not isinstance(entry, dict):
            return f"the entry for {name} is not an object"
        for key in _NUMBERS:
            value = entry.get(key)
            if value is not None and (isinstance(value, bool) or
                                      not isinstance(value, int | float)):
                return f"{name}.{key} is not a number"
    return None


def check_status(settings: Settings | None = None) -> StatusReport:
    """Read the status file, the lock and the database; decide the exit code.

    The database is only opened when there is a status to check against it.
    """
    settings = settings or get_settings()
    path = runtime_path(BACKFILL_STATUS_FILE, settings)
    status = read_json(path)
    if status is None:
        return StatusReport(EXIT_NO_STATUS, f"no backfill status yet ({path})",
                            {"state": None, "path": str(path)})
    problem = _shape_problem(status)
    if problem:
        raise StatusFileError(f"{path} is not a backfill status file: {problem}")
    running = FileLock(runtime_path(UNIFIED_LOCK_FILE, settings)).is_held()
    threshold = settings.BACKFILL_COMPLETENESS_THRESHOLD
    with database(settings) as engine:
        db_rows, completeness = _db_rows(engine, status, threshold)
    state = str(status.get("state"))
    code, verdict = _verdict(state, running, completeness, threshold)
    db_table = tabulate(
        [(r["exchange"], f"{r['complete_contracts']}/{r['contracts']}", r["stored"],
          r["expected"], r["known_missing"], _fmt_pct(r["completeness"])) for r in db_rows],
        headers=("exchange", "contracts >= threshold", "stored", "expected", "known missing",
                 "completeness"),
        tablefmt="simple",
    )
    text = "\n".join([
        f"backfill status ({path}): state {state}, window {status.get('window_start')} .. "
        f"{status.get('window_end')}, updated {status.get('updated_at')}",
        status_table(status), "", "in the database now:", db_table, "",
        f"overall completeness {completeness:.2f}% (threshold {threshold:.2f}%): {verdict}",
    ])
    data = {"state": state, "running": running, "stale": state == "running" and not running,
            "verdict": verdict, "exit_code": code, "threshold": threshold,
            "completeness": round(completeness, 3), "status": status, "database": db_rows}
    return StatusReport(code, text, data)

