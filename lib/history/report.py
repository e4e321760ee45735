"""What `check_backfill_status.py` and the backfill print: progress, records, completeness.

The status file says what the last run did; the database says what is stored now; the lock
says whether a run is alive. A status still 'running' whose lock nobody holds is stale (the
run was killed): the next run continues it. A check believes the status file only for the
database it names, measures the window only as far back as HISTORICAL_DAYS keeps rows, counts no
contracts as incomplete (0 of 0 is not 100 %), and never creates a database or schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from tabulate import tabulate

from config.settings import Settings, get_settings
from lib.history.completeness import database_completeness, overall_completeness
from lib.history.status import read_status, require_database
from lib.runtime.files import BACKFILL_STATUS_FILE, UNIFIED_LOCK_FILE, runtime_path
from lib.runtime.locks import FileLock
from lib.storage.admin import checked_version, existing_database
from lib.timeutils import from_iso, utcnow

EXIT_COMPLETE, EXIT_RUNNING, EXIT_INCOMPLETE, EXIT_NO_STATUS = 0, 1, 2, 3

_COLUMNS = ("exchange", "state", "progress", "contracts", "records", "requests (min)", "stored",
            "known missing", "completeness", "errors")


def _fmt_pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}%"


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def _requests(entry: dict[str, Any]) -> str:
    """Requests made and, in brackets, the fewest the venue's API allowed for the plan."""
    return f"{entry.get('requests', 0)} ({entry.get('requests_min', 0)})"


def status_table(status: dict[str, Any]) -> str:
    """The status file's per exchange progress as a table, with an overall row."""
    rows = []
    for ex, e in status.get("exchanges", {}).items():
        rows.append((
            ex, e.get("state"), _fmt_pct(e.get("percent_complete")),
            f"{e.get('contracts_done', 0)}/{e.get('contracts_total', 0)}", e.get("records", 0),
            _requests(e), e.get("settlements_stored", 0), e.get("known_missing", 0),
            _fmt_pct(e.get("completeness")), e.get("errors", 0),
        ))
    o = status.get("overall", {})
    rows.append((
        "overall", status.get("state"), _fmt_pct(o.get("percent_complete")),
        f"{o.get('contracts_done', 0)}/{o.get('contracts_total', 0)}", o.get("records", 0),
        _requests(o), o.get("settlements_stored", 0), o.get("known_missing", 0),
        _fmt_pct(o.get("completeness")), o.get("errors", 0),
    ))
    return tabulate(rows, headers=_COLUMNS, tablefmt="simple")


@dataclass
class StatusReport:
    """The answer of check_backfill_status: an exit code, a text and the same as data."""

    code: int
    text: str
    data: dict[str, Any]


def _verdict(state: str, running: bool, completeness: float, threshold: float,
             problem: str | None) -> tuple[int, str]:
    if running:
        return EXIT_RUNNING, "a backfill is running"
    if state == "running":
        return EXIT_INCOMPLETE, ("stale status: the backfill that wrote it is gone "
                                 "(killed?); run the backfill again to finish it")
    if problem:
        return EXIT_INCOMPLETE, f"incomplete: {problem}"
    if state == "completed" and completeness >= threshold:
        return EXIT_COMPLETE, f"complete: {completeness:.2f}% >= {threshold:.2f}%"
    if state == "completed":
        return EXIT_INCOMPLETE, f"incomplete: {completeness:.2f}% < {threshold:.2f}%"
    return EXIT_INCOMPLETE, f"backfill {state}: {completeness:.2f}% complete"


def checked_window(status: dict[str, Any], settings: Settings,
                   now: datetime | None = None) -> tuple[datetime, datetime]:
    """The status's window, less what the HISTORICAL_DAYS retention has let go (the daily
    cleanup deletes it): completeness is of what the database is meant to keep."""
    kept_from = (now or utcnow()) - timedelta(days=settings.HISTORICAL_DAYS)
    return max(from_iso(status["window_start"]), kept_from), from_iso(status["window_end"])


def _db_rows(engine: Engine, exchanges: list[str], start: datetime, end: datetime,
             threshold: float) -> tuple[list[dict[str, Any]], float]:
    totals = database_completeness(engine, exchanges, start, end, threshold)
    rows = [
        {"exchange": ex, "contracts": t.contracts, "complete_contracts": t.complete_contracts,
         "expected": t.expected, "stored": t.stored, "known_missing": t.known_missing,
         "completeness": round(t.completeness, 3)}
        for ex, t in totals.items()
    ]
    known = any(t.contracts for t in totals.values())  # 0 of 0 contracts is not 100 %
    return rows, overall_completeness(totals.values()) if known else 0.0


def _problem(rows: list[dict[str, Any]], start: datetime, end: datetime,
             settings: Settings) -> str | None:
    """What makes a database not complete whatever its percentage says (0 of 0 is not 100 %)."""
    if start >= end:
        return (f"the backfilled window ended more than HISTORICAL_DAYS={settings.HISTORICAL_DAYS}"
                " days ago (its rows are past retention); run the backfill again")
    unknown = [r["exchange"] for r in rows if not r["contracts"]]
    if unknown:
        return (f"no contracts known in this database for {', '.join(unknown)}; run the "
                "backfill for this database")
    return None


def check_status(settings: Settings | None = None) -> StatusReport:
    """Read the status file, the lock and the database; decide the exit code.

    The status must describe the settings' database (else StatusFileError, one line). The
    database is opened read-only towards the schema, and only when there is a status to check
    against it: a missing database or schema is one line (DatabaseError), never created.
    """
    settings = settings or get_settings()
    path = runtime_path(BACKFILL_STATUS_FILE, settings)
    status = read_status(path)
    if status is None:
        return StatusReport(EXIT_NO_STATUS, f"no backfill status yet ({path})",
                            {"state": None, "path": str(path)})
    url = settings.database_url
    require_database(status, path, url)
    running = FileLock(runtime_path(UNIFIED_LOCK_FILE, settings)).is_held()
    threshold = settings.BACKFILL_COMPLETENESS_THRESHOLD
    start, end = checked_window(status, settings)
    with existing_database(url) as engine:
        with engine.connect() as conn:
            checked_version(conn, url)
        db_rows, completeness = _db_rows(engine, list(status["exchanges"]), start, end,
                                         threshold)
    state = status["state"]
    code, verdict = _verdict(state, running, completeness, threshold,
                             _problem(db_rows, start, end, settings))
    db_table = tabulate(
        [(r["exchange"], f"{r['complete_contracts']}/{r['contracts']}", r["stored"],
          r["expected"], r["known_missing"], _fmt_pct(r["completeness"])) for r in db_rows],
        headers=("exchange", "contracts >= threshold", "stored", "expected", "known missing",
                 "completeness"),
        tablefmt="simple",
    )
    clipped = "" if start == from_iso(status["window_start"]) else (
        f" (from {_iso(start)}: HISTORICAL_DAYS={settings.HISTORICAL_DAYS} keeps no older rows)")
    text = "\n".join([
        f"backfill status ({path}): state {state}, window {status['window_start']} .. "
        f"{status['window_end']}, updated {status.get('updated_at')}",
        status_table(status), "", f"in the database now ({status['database']['url']}){clipped}:",
        db_table, "",
        f"overall completeness {completeness:.2f}% (threshold {threshold:.2f}%): {verdict}",
    ])
    data = {"state": state, "running": running, "stale": state == "running" and not running,
            "verdict": verdict, "exit_code": code, "threshold": threshold,
            "completeness": round(completeness, 3), "checked_from": _iso(start),
            "checked_to": _iso(end), "status": status, "database": db_rows}
    return StatusReport(code, text, data)
