"""Data-integrity repairs of funding history: invalid-row cleanup and duplicate removal.

Both run as a few set-based statements (one classifying scan, one DELETE, one UPDATE) on SQLite
and PostgreSQL alike, so 1.6 M rows take seconds, not a Python loop per row. The dialect
differences (how NaN/inf are stored, time arithmetic, physical row ids) live in `_Dialect`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Index,
    MetaData,
    String,
    Table,
    bindparam,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy import exc as sa_exc
from tabulate import tabulate

from config.settings import get_settings
from lib.storage.engine import translate_error
from lib.storage.schema import UTCDateTime, funding_missing_at_exchange
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)

TABLE = "funding_rates_historical"
KEY_COLUMNS = ("exchange", "symbol", "funding_time")
# The name the schema's naming convention gives the key, reused when we restore it.
UNIQUE_NAME = "uq_funding_rates_historical_exchange_symbol_funding_time"
DEFAULT_INTERVAL_HOURS = 8  # grace for rows that do not record their interval

REASONS: dict[str, str] = {
    "invalid_rate": "null or non-finite rate",
    "out_of_bounds": "|rate| above MAX_ABS_FUNDING_RATE",
    "future": "funding time in the future",
    "expired": "older than the retention window",
}


@dataclass(frozen=True)
class _Dialect:
    """The few SQL fragments that differ between SQLite and PostgreSQL."""

    name: str
    row_id: str  # physical row order: SQLite rowid, PostgreSQL ctid
    non_finite: str
    future: str
    hour_key: str  # the settlement hour as a number: cheap to group by
    settlement: str  # funding_time rounded to the nearest hour, like timeutils.normalise_settlement
    off_hour: str  # cheap test: funding_time is not exactly on the hour (or oddly formatted)

    # Canonical symbol case: exchanges' native symbols are upper case, except Hyperliquid's
    # lower-case "k" that marks a x1000 contract (kPEPE). A leading lower-case k on Hyperliquid
    # is kept and the rest upper-cased; everything else is upper-cased. ("KPEPE" stays as it is:
    # upper-case K is an ordinary first letter there, as in KAS.)
    canonical_symbol: str = (
        "CASE WHEN exchange = 'hyperliquid' AND substr(symbol, 1, 1) = 'k' "
        "THEN 'k' || upper(substr(symbol, 2)) ELSE upper(symbol) END"
    )


_SQLITE_HOUR = (
    "((CAST(round((julianday(funding_time) - 2440587.5) * 86400000.0) AS INTEGER) + 1800000) "
    "/ 3600000)"
)
_PG_HOUR = "floor((round(extract(epoch from funding_time) * 1000) + 1800000) / 3600000)"

_SQLITE = _Dialect(
    name="sqlite",
    row_id="rowid",
    # SQLite stores NaN as NULL; +-inf are larger than any finite double
    non_finite="funding_rate IS NULL OR abs(funding_rate) > 1.7976931348623157e308",
    future=(
        "julianday(funding_time) > julianday(:now) "
        f"+ coalesce(funding_interval_hours, {DEFAULT_INTERVAL_HOURS}) / 24.0"
    ),
    # integer epoch ms, half-hour up, back to SQLAlchemy's SQLite storage format
    hour_key=_SQLITE_HOUR,
    settlement=f"strftime('%Y-%m-%d %H:%M:%S', {_SQLITE_HOUR} * 3600, 'unixepoch') || '.000000'",
    off_hour="substr(funding_time, 15) <> '00:00.000000'",
)

_POSTGRESQL = _Dialect(
    name="postgresql",
    row_id="ctid",
    non_finite=(
        "funding_rate IS NULL OR funding_rate IN "
        "('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)"
    ),
    future=(
        "funding_time > CAST(:now AS timestamptz) "
        f"+ coalesce(funding_interval_hours, {DEFAULT_INTERVAL_HOURS}) * interval '1 hour'"
    ),
    hour_key=_PG_HOUR,
    settlement=f"to_timestamp({_PG_HOUR} * 3600)",
    off_hour="date_trunc('hour', funding_time) <> funding_time",
)


def _dialect(conn: Connection) -> _Dialect:
    return _POSTGRESQL if conn.dialect.name == "postgresql" else _SQLITE


def human_bytes(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def database_size(conn: Connection) -> int:
    """Bytes the database occupies (SQLite: pages in use by the file; PostgreSQL: the DB)."""
    if conn.dialect.name == "postgresql":
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
                   or 0)
    pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
    page_size = conn.exec_driver_sql("PRAGMA page_size").scalar() or 0
    return int(pages) * int(page_size)


# -- cleanup -----------------------------------------------------------------------------------


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


def _classify_sql(d: _Dialect) -> str:
    return (
        f"CASE WHEN {d.non_finite} THEN 'invalid_rate' "
        "WHEN abs(funding_rate) > :bound THEN 'out_of_bounds' "
        f"WHEN {d.future} THEN 'future' "
        "WHEN funding_time < :cutoff THEN 'expired' END"
    )


def _cleanup_params(days: int, now: datetime) -> dict[str, object]:
    return {
        "bound": get_settings().MAX_ABS_FUNDING_RATE,
        "now": now,
        "cutoff": now - timedelta(days=days),
    }


def _bind(sql: str) -> object:
    return text(sql).bindparams(
        bindparam("now", type_=UTCDateTime), bindparam("cutoff", type_=UTCDateTime)
    )


def count_invalid(conn: Connection, days: int, now: datetime | None = None) -> dict[str, int]:
    """Rows per reason they would be deleted for (each row counted once, first reason wins)."""
    d = _dialect(conn)
    sql = (
        f"SELECT reason, count(*) FROM (SELECT {_classify_sql(d)} AS reason FROM {TABLE}) s "
        "WHERE reason IS NOT NULL GROUP BY reason"
    )
    result = conn.execute(_bind(sql), _cleanup_params(days, now or utcnow()))  # type: ignore[call-overload]
    found = {key: 0 for key in REASONS}
    found.update({str(reason): int(n) for reason, n in result})
    return found


def delete_invalid(conn: Connection, days: int, now: datetime | None = None) -> int:
    """Delete every row `count_invalid` counts; return rows deleted."""
    d = _dialect(conn)
    sql = f"DELETE FROM {TABLE} WHERE ({_classify_sql(d)}) IS NOT NULL"
    result = conn.execute(_bind(sql), _cleanup_params(days, now or utcnow()))  # type: ignore[call-overload]
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
                    now: datetime | None = None) -> CleanupReport:
    """Delete invalid, future and expired history rows, then reclaim the space."""
    report = CleanupReport(days=days or get_settings().HISTORICAL_DAYS, dry_run=dry_run)
    now = now or utcnow()
    try:
        with engine.begin() as conn:
            report.size_before = database_size(conn)
            report.found = count_invalid(conn, report.days, now)
            if not dry_run and report.invalid:
                report.deleted = delete_invalid(conn, report.days, now)
            report.expired_missing = expire_missing_records(conn, now - timedelta(days=report.days),
                                                            dry_run)
        if not dry_run and (report.deleted or report.expired_missing):
            reclaim_space(engine)
        with engine.connect() as conn:
            report.size_after = database_size(conn)
    except sa_exc.SQLAlchemyError as e:
        raise translate_error(e, engine.url.render_as_string(hide_password=False)) from e
    logger.info("cleanup: found %s, deleted %d rows (dry run: %s)",
                report.found, report.deleted, dry_run)
    return report


# -- duplicates --------------------------------------------------------------------------------


@dataclass
class DedupeReport:
    """Duplicate sets per exchange and what `fix_duplicates` did about them."""

    dry_run: bool
    per_exchange: dict[str, dict[str, int]] = field(default_factory=dict)
    rewritten: int = 0
    removed: int = 0
    key_was_missing: bool = False
    key_restored: bool = False
    key_form: str = ""

    def total(self, column: str) -> int:
        return sum(row[column] for row in self.per_exchange.values())

    def format(self) -> str:
        """The summary table the script prints."""
        columns = ("sets", "duplicates", "pairs", "rewrite")
        rows = [[exchange, *(stats[c] for c in columns)]
                for exchange, stats in sorted(self.per_exchange.items())]
        rows.append(["total", *(self.total(c) for c in columns)])
        head = "duplicates in funding_rates_historical"
        if self.dry_run:
            head += " (dry run: nothing changed)"
        table = tabulate(rows, headers=[
            "exchange", "duplicate sets", "rows to remove", "exchange-symbol pairs",
            "rows to normalise",
        ])
        if not self.key_was_missing:
            key = "unique key (exchange, symbol, funding_time): present"
        elif self.key_restored:
            key = ("unique key (exchange, symbol, funding_time): was missing, restored as "
                   + self.key_form)
        else:
            key = "unique key (exchange, symbol, funding_time): missing (would be restored)"
        done = f"rows removed: {self.removed}, rows normalised: {self.rewritten}"
        return f"{head}\n{table}\n\n{done}\n{key}"


PLAN = "dedupe_plan"


def _ranked(d: _Dialect) -> str:
    """Rows numbered within their normalised key: 1 = the one to keep (latest collected)."""
    key = f"exchange, {d.canonical_symbol}, {d.hour_key}"
    return (
        f"SELECT {d.row_id} AS rid, exchange, {d.canonical_symbol} AS nsym, "
        f"CASE WHEN symbol <> {d.canonical_symbol} OR {d.off_hour} THEN 1 ELSE 0 END AS needs, "
        f"ROW_NUMBER() OVER (PARTITION BY {key} "
        f"ORDER BY collected_at DESC NULLS LAST, {d.row_id} DESC) AS rn, "
        f"count(*) OVER (PARTITION BY {key}) AS n "
        f"FROM {TABLE}"
    )


def build_plan(conn: Connection) -> None:
    """One window pass into a temp table: every row that must go or be rewritten."""
    d = _dialect(conn)
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {PLAN}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {PLAN} AS SELECT * FROM ({_ranked(d)}) r WHERE n > 1 OR needs = 1"
    )


def duplicate_stats(conn: Connection) -> dict[str, dict[str, int]]:
    """Per exchange: duplicate sets, rows to remove, exchange-symbol pairs, rows to normalise."""
    sql = (
        "SELECT exchange, "
        "sum(CASE WHEN n > 1 AND rn = 1 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN rn > 1 THEN 1 ELSE 0 END), "
        "count(DISTINCT CASE WHEN n > 1 THEN nsym END), "
        "sum(CASE WHEN rn = 1 AND needs = 1 THEN 1 ELSE 0 END) "
        f"FROM {PLAN} GROUP BY exchange"
    )
    stats = {}
    for exchange, sets, dups, pairs, rewrite in conn.exec_driver_sql(sql):
        stats[str(exchange)] = {"sets": int(sets), "duplicates": int(dups),
                                "pairs": int(pairs), "rewrite": int(rewrite)}
    return stats


def has_unique_key(conn: Connection) -> bool:
    """True if a unique constraint or unique index covers exactly the history key columns."""
    insp = inspect(conn)
    key = set(KEY_COLUMNS)
    if any(set(uc["column_names"]) == key for uc in insp.get_unique_constraints(TABLE)):
        return True
    return any(ix["unique"] and set(ix["column_names"]) == key
               for ix in insp.get_indexes(TABLE))


def restore_unique_key(conn: Connection) -> str:
    """Add the key back; return the form used.

    PostgreSQL gets the named UNIQUE constraint the schema declares. SQLite cannot add a
    constraint to an existing table, so it gets a UNIQUE INDEX of the same name on the same
    columns, which enforces the same thing and serves ON CONFLICT (exchange, symbol,
    funding_time) just the same.
    """
    cols = ", ".join(KEY_COLUMNS)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ALTER TABLE {TABLE} ADD CONSTRAINT {UNIQUE_NAME} UNIQUE ({cols})")
        return f"UNIQUE constraint {UNIQUE_NAME}"
    conn.exec_driver_sql(f"CREATE UNIQUE INDEX {UNIQUE_NAME} ON {TABLE} ({cols})")
    return f"UNIQUE INDEX {UNIQUE_NAME}"


def _lock_for_writing(conn: Connection) -> None:
    """Keep writers out until commit, so no new duplicate slips in before the key is back."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def remove_duplicates(conn: Connection) -> tuple[int, int]:
    """Apply the plan: delete all but the kept row of each set, normalise the kept rows;
    return (removed, rewritten)."""
    d = _dialect(conn)
    removed = conn.exec_driver_sql(
        f"DELETE FROM {TABLE} WHERE {d.row_id} IN (SELECT rid FROM {PLAN} WHERE rn > 1)"
    ).rowcount
    # Only kept rows are left, one per normalised key, so the rewrite cannot collide; the
    # delete moved no surviving row, so their physical ids still hold.
    rewritten = conn.exec_driver_sql(
        f"UPDATE {TABLE} SET symbol = {d.canonical_symbol}, funding_time = {d.settlement} "
        f"WHERE {d.row_id} IN (SELECT rid FROM {PLAN} WHERE rn = 1 AND needs = 1)"
    ).rowcount
    return int(removed or 0), int(rewritten or 0)


def fix_duplicates(engine: Engine, dry_run: bool = False) -> DedupeReport:
    """Find and (unless dry_run) remove duplicate settlements and restore the unique key."""
    report = DedupeReport(dry_run=dry_run)
    try:
        with engine.connect() as conn:
            if not dry_run:
                _lock_for_writing(conn)
            report.key_was_missing = not has_unique_key(conn)
            build_plan(conn)
            report.per_exchange = duplicate_stats(conn)
            if not dry_run:
                report.removed, report.rewritten = remove_duplicates(conn)
                if report.key_was_missing:
                    report.key_form = restore_unique_key(conn)
                    report.key_restored = True
            conn.exec_driver_sql(f"DROP TABLE {PLAN}")
            if dry_run:
                conn.rollback()
            else:
                conn.commit()
    except sa_exc.SQLAlchemyError as e:
        raise translate_error(e, engine.url.render_as_string(hide_password=False)) from e
    logger.info("dedupe: %s sets, removed %d rows, normalised %d (dry run: %s)",
                report.total("sets"), report.removed, report.rewritten, dry_run)
    return report


def loose_history_table(metadata: MetaData) -> Table:
    """funding_rates_historical as imports and old versions have it: no unique key and a
    nullable rate. For tests and benchmarks that need the defects this module repairs."""
    return Table(
        TABLE,
        metadata,
        Column("exchange", String(32), nullable=False),
        Column("symbol", String(64), nullable=False),
        Column("funding_time", UTCDateTime, nullable=False),
        Column("funding_rate", Float),
        Column("mark_price", Float),
        Column("funding_interval_hours", Float),
        Column("collected_at", UTCDateTime),
        Column("source", String(16), nullable=False, server_default=text("'unknown'")),
        Index("ix_funding_rates_historical_funding_time", "funding_time"),
    )

