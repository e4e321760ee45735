"""Cleanup of funding history: invalid, future and expired rows, then the space they took.

One classifying scan counts the rows per reason, one DELETE removes them (each row counted once,
the first reason wins), and the records of settlements missing at the exchange older than the
window go with them. The plausibility bound and the retention come from the settings passed in.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, TextClause, bindparam, func, select, text
from tabulate import tabulate

from config.settings import Settings, get_settings
from lib.integrity.sql import TABLE, Dialect, dialect_of
from lib.storage.admin import database_size, human_bytes
from lib.storage.engine import translated_errors
from lib.storage.schema import UTCDateTime, funding_missing_at_exchange
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)

REASONS: dict[str, str] = {
    "invalid_rate": "null or non-finite rate",
    "out_of_bounds": "|rate| above MAX_ABS_FUNDING_RATE",
    "future": "funding time in the future",
    "expired": "older than the retention window",
}


@dataclass
class CleanupReport:
    """What `cleanup_history` found (rows per reason) and did."""

    days: int
    dry_run: bool
    found: dict[str, int] = field(default_factory=dict)
    deleted: int = 0
    # records of settlements missing at the exchange, older than the window: they describe
    # history that is no longer kept
    expired_missing: int = 0
    size_before: int = 0
    size_after: int = 0

    exit_code = 0  # a cleanup that ran has done its job, whatever it found

    @property
    def invalid(self) -> int:
        return sum(self.found.values())

    def format(self) -> str:
        """The summary table the script prints."""
        rows = [(label.replace("the retention window", f"{self.days} days"), self.found.get(key, 0))
                for key, label in REASONS.items()]
        rows.append(("total invalid", self.invalid))
        rows.append(("deleted", self.deleted))
        rows.append((f"missing-at-exchange records older than {self.days} days "
                     + ("(would delete)" if self.dry_run else "(deleted)"), self.expired_missing))
        head = "cleanup of funding_rates_historical"
        if self.dry_run:
            head += " (dry run: nothing deleted)"
        sizes = tabulate(
            [("database size", human_bytes(self.size_before), human_bytes(self.size_after))],
            headers=["", "before", "after"],
        )
        return f"{head}\n{tabulate(rows, headers=['reason', 'rows'])}\n\n{sizes}"


def _classify_sql(d: Dialect) -> str:
    return (
        f"CASE WHEN {d.non_finite} THEN 'invalid_rate' "
        "WHEN abs(funding_rate) > :bound THEN 'out_of_bounds' "
        f"WHEN {d.future} THEN 'future' "
        "WHEN funding_time < :cutoff THEN 'expired' END"
    )


def _cleanup_params(days: int, bound: float, now: datetime) -> dict[str, object]:
    return {"bound": bound, "now": now, "cutoff": now - timedelta(days=days)}


def _bind(sql: str) -> TextClause:
    return text(sql).bindparams(
        bindparam("now", type_=UTCDateTime), bindparam("cutoff", type_=UTCDateTime)
    )


def count_invalid(conn: Connection, days: int, bound: float,
                  now: datetime | None = None) -> dict[str, int]:
    """Rows per reason they would be deleted for (each row counted once, first reason wins);
    `bound` is the largest plausible |rate| per interval."""
    d = dialect_of(conn)
    sql = (
        f"SELECT reason, count(*) FROM (SELECT {_classify_sql(d)} AS reason FROM {TABLE}) s "
        "WHERE reason IS NOT NULL GROUP BY reason"
    )
    result = conn.execute(_bind(sql), _cleanup_params(days, bound, now or utcnow()))
    found = {key: 0 for key in REASONS}
    found.update({str(reason): int(n) for reason, n in result})
    return found


def delete_invalid(conn: Connection, days: int, bound: float,
                   now: datetime | None = None) -> int:
    """Delete every row `count_invalid` counts; return rows deleted."""
    d = dialect_of(conn)
    sql = f"DELETE FROM {TABLE} WHERE ({_classify_sql(d)}) IS NOT NULL"
    result = conn.execute(_bind(sql), _cleanup_params(days, bound, now or utcnow()))
    return int(result.rowcount or 0)


def expire_missing_records(conn: Connection, cutoff: datetime, dry_run: bool = False) -> int:
    """Delete (or with `dry_run` count) missing-at-exchange records older than `cutoff`."""
    table = funding_missing_at_exchange
    old = table.c.funding_time < cutoff
    if dry_run:
        return int(conn.execute(select(func.count()).select_from(table).where(old)).scalar_one())
    return int(conn.execute(table.delete().where(old)).rowcount or 0)


def reclaim_space(engine: Engine) -> None:
    """Give deleted rows' space back: SQLite VACUUM + ANALYZE; PostgreSQL VACUUM ANALYZE.

    Both must run outside a transaction. PostgreSQL's plain VACUUM makes the space reusable
    (and returns trailing pages) without the exclusive lock VACUUM FULL would take.
    """
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"VACUUM ANALYZE {TABLE}, {funding_missing_at_exchange.name}")
        else:
            conn.exec_driver_sql("VACUUM")
            conn.exec_driver_sql("ANALYZE")
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def cleanup_history(engine: Engine, days: int | None = None, dry_run: bool = False,
                    now: datetime | None = None,
                    settings: Settings | None = None) -> CleanupReport:
    """Delete invalid, future and expired history rows, then reclaim the space.

    `days` defaults to the settings' HISTORICAL_DAYS; the bound is their MAX_ABS_FUNDING_RATE.
    """
    settings = settings or get_settings()
    report = CleanupReport(days=days or settings.HISTORICAL_DAYS, dry_run=dry_run)
    bound = settings.MAX_ABS_FUNDING_RATE
    now = now or utcnow()
    with translated_errors(engine):
        with engine.begin() as conn:
            report.size_before = database_size(conn)
            report.found = count_invalid(conn, report.days, bound, now)
            if not dry_run and report.invalid:
                report.deleted = delete_invalid(conn, report.days, bound, now)
            report.expired_missing = expire_missing_records(conn, now - timedelta(days=report.days),
                                                            dry_run)
        if not dry_run and (report.deleted or report.expired_missing):
            reclaim_space(engine)
        with engine.connect() as conn:
            report.size_after = database_size(conn)
    logger.info("cleanup: found %s, deleted %d rows (dry run: %s)",
                report.found, report.deleted, dry_run)
    return report
