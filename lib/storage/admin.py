"""The work behind `database_tools.py`: status, health check, clear and CSV export.

Every function here is read-only towards the schema: it opens the database with
`migrate=False`, so pointing it at an empty, old or foreign database reports it as such rather
than creating or upgrading anything (that is the jobs' job, through `database()`). Also the
database's size and how sizes are written for people (`database_size`, `human_bytes`).
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, Table, func, inspect, select, text
from sqlalchemy.engine import make_url

from lib.errors import DatabaseError, SchemaError
from lib.storage.engine import database, describe_url, normalise_url, translated_errors
from lib.storage.migrations import read_version
from lib.storage.schema import (
    DATA_TABLES,
    SCHEMA_VERSION,
    VIEWS,
    exchange_data,
    funding_rates_historical,
)
from lib.storage.schema import metadata as schema_metadata

logger = logging.getLogger(__name__)

# The file name `database_tools.py export` writes by default and the collector exports to.
CSV_FILENAME = "unified_exchange_data.csv"

# The column that says how old each table's rows are.
TIME_COLUMNS: dict[str, str] = {
    "contracts": "last_seen",
    "exchange_data": "updated_at",
    "funding_rates_historical": "funding_time",
    "funding_statistics": "calculated_at",
    "funding_missing_at_exchange": "funding_time",
    "arbitrage_legs": "created_at",
    "arbitrage_pairs": "created_at",
    "arbitrage_leg_hours": "ts",
    "arbitrage_spread_statistics": "calculated_at",
    "analytics_watermarks": "updated_at",
}


@dataclass(frozen=True)
class TableStatus:
    """One table's row count, size on disk and time range."""

    name: str
    rows: int
    size_bytes: int
    oldest: datetime | None
    newest: datetime | None


@dataclass(frozen=True)
class DatabaseStatus:
    """What `database_tools.py status` shows."""

    database: str  # described, never with a password
    schema_version: int
    tables: list[TableStatus]
    history_by_exchange: dict[str, int]
    total_bytes: int

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (times as ISO 8601 strings)."""
        return {
            "database": self.database,
            "schema_version": self.schema_version,
            "total_bytes": self.total_bytes,
            "tables": [
                {
                    "name": t.name,
                    "rows": t.rows,
                    "size_bytes": t.size_bytes,
                    "oldest": t.oldest.isoformat() if t.oldest else None,
                    "newest": t.newest.isoformat() if t.newest else None,
                }
                for t in self.tables
            ],
            "history_by_exchange": self.history_by_exchange,
        }


@dataclass
class CheckReport:
    """The result of `check_database`: healthy when `problems` is empty."""

    database: str
    schema_version: int | None = None
    tables: int = 0
    unique_constraints: int = 0
    indexes: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: what was verified, or everything that is wrong."""
        if self.problems:
            return f"{self.database}: " + "; ".join(self.problems)
        return (
            f"{self.database}: healthy (schema version {self.schema_version}, "
            f"{self.tables} tables, {self.unique_constraints} unique constraints, "
            f"{self.indexes} indexes)"
        )


def sqlite_path(url: str) -> Path | None:
    """The file behind a SQLite URL; None for PostgreSQL or an in-memory database."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database).expanduser()


def _require_sqlite_file(path: Path) -> None:
    """Refuse a SQLite file that is not there, so that read-only tools never create one."""
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise DatabaseError(f"SQLite file {path}: {parent} is not a directory")
    if not path.parent.is_dir():
        raise DatabaseError(f"SQLite file {path}: directory {path.parent} does not exist")
    if not path.is_file():
        raise DatabaseError(f"SQLite file {path} does not exist")


@contextmanager
def existing_database(url: str) -> Iterator[Engine]:
    """The engine of an existing database: translated errors, no schema changes, disposed."""
    path = sqlite_path(url)
    if path is not None:
        _require_sqlite_file(path)
    with database(url=url, migrate=False) as engine, translated_errors(url):
        yield engine


@contextmanager
def connect_existing(url: str) -> Iterator[Connection]:
    """A connection to an existing database, translated errors, no schema changes."""
    with existing_database(url) as engine, engine.connect() as conn:
        yield conn


def checked_version(conn: Connection, url: str) -> int:
    """The schema version, or SchemaError for an empty or too-new database (read-only tools
    refuse those instead of creating or guessing at a schema)."""
    version = read_version(conn)
    if version is None:
        raise SchemaError(f"{describe_url(url)} is empty: no schema yet (create it with "
                          "database_tools.py init)")
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"{describe_url(url)}: schema version {version} is newer than this code supports "
            f"({SCHEMA_VERSION}); upgrade the project"
        )
    return version


def _table_sizes(conn: Connection) -> dict[str, int]:
    """Bytes on disk per table, its indexes included."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(text(
            "SELECT c.relname, pg_total_relation_size(c.oid) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')"
        ))
        return {str(name): int(size) for name, size in rows}
    rows = conn.execute(text(
        "SELECT COALESCE(m.tbl_name, d.name), SUM(d.pgsize) FROM dbstat d "
        "LEFT JOIN sqlite_master m ON m.name = d.name GROUP BY 1"
    ))
    return {str(name): int(size) for name, size in rows}


def database_size(conn: Connection) -> int:
    """Bytes the database occupies (SQLite: pages in use by the file; PostgreSQL: the DB)."""
    if conn.dialect.name == "postgresql":
        return int(conn.exec_driver_sql("SELECT pg_database_size(current_database())").scalar()
                   or 0)
    pages = conn.exec_driver_sql("PRAGMA page_count").scalar() or 0
    page_size = conn.exec_driver_sql("PRAGMA page_size").scalar() or 0
    return int(pages) * int(page_size)


def total_size(conn: Connection, url: str) -> int:
    """Bytes on disk: PostgreSQL's database size; a SQLite file with its WAL and shared memory."""
    if conn.dialect.name == "postgresql":
        return database_size(conn)
    path = sqlite_path(url)
    if path is None:
        return 0
    files = [path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")]
    return sum(f.stat().st_size for f in files if f.exists())


def _table_status(conn: Connection, table: Table, sizes: dict[str, int]) -> TableStatus:
    column = table.c[TIME_COLUMNS[table.name]]
    rows, oldest, newest = conn.execute(
        select(func.count(), func.min(column), func.max(column)).select_from(table)
    ).one()
    return TableStatus(table.name, int(rows), sizes.get(table.name, 0), oldest, newest)


def database_status(url: str) -> DatabaseStatus:
    """Rows, size and time range per table, history rows per exchange, total size."""
    path = sqlite_path(url)
    if path is not None and path.parent.is_dir() and not path.exists():
        raise SchemaError(f"SQLite file {path} does not exist: no schema yet (create it with "
                          "database_tools.py init)")
    with connect_existing(url) as conn:
        version = checked_version(conn, url)
        present = set(inspect(conn).get_table_names())
        sizes = _table_sizes(conn)
        tables = [_table_status(conn, t, sizes) for t in DATA_TABLES if t.name in present]
        hist = funding_rates_historical
        by_exchange = {
            str(exchange): int(n)
            for exchange, n in conn.execute(
                select(hist.c.exchange, func.count()).group_by(hist.c.exchange)
                .order_by(hist.c.exchange)
            )
        }
        total = total_size(conn, url)
    return DatabaseStatus(describe_url(url), version, tables, by_exchange, total)


def _unique_sets(inspector: object, table: str) -> set[frozenset[str]]:
    """Column sets that are unique in the stored table, by constraint or unique index."""
    found = {
        frozenset(uc["column_names"])
        for uc in inspector.get_unique_constraints(table)  # type: ignore[attr-defined]
    }
    found |= {
        frozenset(c for c in ix["column_names"] if c)
        for ix in inspector.get_indexes(table)  # type: ignore[attr-defined]
        if ix.get("unique")
    }
    return found


def _check_table(inspector: object, table: Table, report: CheckReport) -> None:
    """Compare one stored table with its definition by column sets, not names."""
    stored_cols = {c["name"] for c in inspector.get_columns(table.name)}  # type: ignore[attr-defined]
    missing_cols = [c.name for c in table.columns if c.name not in stored_cols]
    if missing_cols:
        report.problems.append(f"table {table.name} lacks column(s) {', '.join(missing_cols)}")
    uniques = _unique_sets(inspector, table.name)
    for uc in table.constraints:
        if uc.__class__.__name__ != "UniqueConstraint":
            continue
        cols = [c.name for c in uc.columns]  # type: ignore[attr-defined]
        report.unique_constraints += 1
        if frozenset(cols) not in uniques:
            report.problems.append(
                f"unique constraint {uc.name} on {table.name}({', '.join(cols)}) is missing"
            )
    stored_ix = {
        frozenset(c for c in ix["column_names"] if c)
        for ix in inspector.get_indexes(table.name)  # type: ignore[attr-defined]
    }
    for index in table.indexes:
        cols = [c.name for c in index.columns]
        report.indexes += 1
        if frozenset(cols) not in stored_ix:
            report.problems.append(
                f"index {index.name} on {table.name}({', '.join(cols)}) is missing"
            )


def check_database(url: str) -> CheckReport:
    """Verify version, tables, unique constraints and indexes; never creates or migrates."""
    report = CheckReport(describe_url(url))
    with connect_existing(url) as conn:
        version = read_version(conn)
        report.schema_version = version
        if version is None:
            report.problems.append("empty database: no schema_version table (no schema yet)")
            return report
        if version > SCHEMA_VERSION:
            report.problems.append(
                f"schema version {version} is newer than this code supports ({SCHEMA_VERSION})"
            )
            return report
        if version < SCHEMA_VERSION:
            report.problems.append(
                f"schema version {version} is older than this code ({SCHEMA_VERSION}); "
                "it is upgraded in place on next use by a collector"
            )
        inspector = inspect(conn)
        present = set(inspector.get_table_names())
        for table in schema_metadata.sorted_tables:
            if table.name not in present:
                report.problems.append(f"table {table.name} is missing")
                continue
            report.tables += 1
            _check_table(inspector, table, report)
        views = set(inspector.get_view_names())
        report.problems.extend(f"view {v} is missing" for v in VIEWS if v not in views)
    return report


def database_name(url: str) -> str:
    """The name a user types to confirm a destructive command: DB name or file name."""
    path = sqlite_path(url)
    if path is not None:
        return path.name
    return str(make_url(normalise_url(url)).database or "")


def count_data_rows(url: str) -> int:
    """Rows in all data tables (0 for an empty database)."""
    with connect_existing(url) as conn:
        present = set(inspect(conn).get_table_names())
        return sum(
            int(conn.execute(select(func.count()).select_from(t)).scalar_one())
            for t in DATA_TABLES
            if t.name in present
        )


def clear_data(url: str, *, vacuum: bool = False) -> dict[str, int]:
    """Delete every data row, keeping the schema and schema_version; rows removed per table.

    One transaction: either every table is emptied or none is. `vacuum` gives the space back
    to the file system afterwards (slower; the default `--quick` skips it).
    """
    removed: dict[str, int] = {}
    with connect_existing(url) as conn:
        checked_version(conn, url)
        present = set(inspect(conn).get_table_names())
        conn.commit()  # end the read transaction: the delete is its own
        with conn.begin():
            for table in reversed(DATA_TABLES):
                if table.name in present:
                    removed[table.name] = int(conn.execute(table.delete()).rowcount or 0)
        if vacuum:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM")
    logger.info("cleared %s: %s", describe_url(url), removed)
    return removed


def _csv_value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    return "" if value is None else value


def export_exchange_data_csv(engine: Engine, path: Path | str) -> int:
    """Write `exchange_data` as CSV with a header row, atomically; return data rows written.

    Written to a temp file in the same directory and moved into place with `os.replace`, so a
    reader (a spreadsheet, the collector's next cycle) never sees half a file.
    """
    target = Path(path)
    columns = [c.name for c in exchange_data.columns]
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    count = 0
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(columns)
            with engine.connect() as conn:
                result = conn.execution_options(yield_per=5_000).execute(
                    select(exchange_data).order_by(exchange_data.c.exchange,
                                                   exchange_data.c.symbol)
                )
                for row in result:
                    writer.writerow([_csv_value(v) for v in row])
                    count += 1
        os.replace(tmp_name, target)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return count


def export_csv(url: str, path: Path | str) -> int:
    """`export` for a URL: checks the database first, then `export_exchange_data_csv`."""
    target = Path(path)
    if not target.parent.is_dir():
        raise DatabaseError(f"cannot write {target}: directory {target.parent} does not exist")
    with existing_database(url) as engine:
        with engine.connect() as conn:
            checked_version(conn, url)
        try:
            return export_exchange_data_csv(engine, target)
        except OSError as e:
            raise DatabaseError(f"cannot write {target}: {e.strerror}") from e


def human_bytes(size: int) -> str:
    """A size for people: "512 B", "1.5 KB", "20.0 MB", "1.2 GB" (units of 1024)."""
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def format_status(status: DatabaseStatus) -> str:
    """The status as text tables for a terminal."""
    from tabulate import tabulate

    def when(t: datetime | None) -> str:
        return t.strftime("%Y-%m-%d %H:%M:%S") if t else "-"

    tables = tabulate(
        [[t.name, t.rows, human_bytes(t.size_bytes), when(t.oldest), when(t.newest)]
         for t in status.tables],
        headers=["table", "rows", "size", "oldest (UTC)", "newest (UTC)"],
        intfmt=",",
    )
    lines = [f"{status.database} (schema version {status.schema_version}, "
             f"total size {human_bytes(status.total_bytes)})", "", tables, ""]
    if status.history_by_exchange:
        lines.append(tabulate(sorted(status.history_by_exchange.items()),
                              headers=["exchange", "history rows"], intfmt=","))
    else:
        lines.append("no funding history stored yet")
    return "\n".join(lines)
