"""The schema-changing and space-reclaiming work behind `database_tools.py init | optimize`.

`init_schema` creates or upgrades the schema (idempotent: a current schema is left alone);
start.py runs it before starting anything. `optimize` rebuilds and re-analyses a database that
already has the schema: VACUUM and ANALYZE on both engines, then `PRAGMA optimize` on SQLite and
REINDEX of the project's tables on PostgreSQL, and reports the size before and after.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import Connection, inspect

from lib.storage.admin import (
    checked_version,
    connect_existing,
    human_bytes,
    sqlite_path,
    total_size,
)
from lib.storage.engine import database, describe_url, translated_errors
from lib.storage.migrations import ensure_schema, read_version
from lib.storage.schema import metadata

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InitResult:
    """What `init_schema` found (`before`: None for no schema) and left (`after`)."""

    database: str
    before: int | None
    after: int

    def format(self) -> str:
        if self.before is None:
            return f"{self.database}: created the schema (version {self.after})"
        if self.before != self.after:
            return (f"{self.database}: upgraded the schema from version {self.before} to "
                    f"{self.after}")
        return f"{self.database}: schema version {self.after} is current, nothing to do"


def init_schema(url: str) -> InitResult:
    """Create the schema, or upgrade an older one in place; a current one is left as it is.

    A SQLite file (and its folder) is created when missing; a PostgreSQL database must exist.
    A schema newer than this code is refused (SchemaError), unchanged.
    """
    with database(url=url, migrate=False) as engine, translated_errors(url):
        with engine.connect() as conn:
            before = read_version(conn)
        after = ensure_schema(engine)
    result = InitResult(describe_url(url), before, after)
    logger.info(result.format())
    return result


@dataclass(frozen=True)
class OptimizeResult:
    """What `optimize` ran and the database's size on disk before and after it."""

    database: str
    steps: tuple[str, ...]
    size_before: int
    size_after: int

    def format(self) -> str:
        return (f"{self.database}: ran {', '.join(self.steps)}; size before "
                f"{human_bytes(self.size_before)}, after {human_bytes(self.size_after)}")


def _sqlite_optimize(conn: Connection) -> tuple[str, ...]:
    conn.exec_driver_sql("VACUUM")
    conn.exec_driver_sql("ANALYZE")
    conn.exec_driver_sql("PRAGMA optimize")
    # a VACUUM in WAL mode leaves the rebuilt pages in the WAL: fold it back into the file
    conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return ("VACUUM", "ANALYZE", "PRAGMA optimize")


def _postgres_optimize(conn: Connection) -> tuple[str, ...]:
    present = set(inspect(conn).get_table_names())
    tables = [t.name for t in metadata.sorted_tables if t.name in present]
    conn.exec_driver_sql("VACUUM")
    conn.exec_driver_sql("ANALYZE")
    for name in tables:  # the project's own tables: REINDEX DATABASE needs the owner
        conn.exec_driver_sql(f'REINDEX TABLE "{name}"')
    return ("VACUUM", "ANALYZE", f"REINDEX ({len(tables)} tables)")


def optimize(url: str) -> OptimizeResult:
    """VACUUM, ANALYZE and PRAGMA optimize (SQLite) or REINDEX (PostgreSQL), with sizes.

    Needs the schema (SchemaError naming `init` otherwise). VACUUM rewrites the whole database
    and waits for writers; run it when the collectors are quiet (see the README's schedule).
    """
    with connect_existing(url) as conn:
        checked_version(conn, url)
        before = total_size(conn, url)
        conn.commit()  # VACUUM cannot run inside a transaction
        auto = conn.execution_options(isolation_level="AUTOCOMMIT")
        steps = (_sqlite_optimize(auto) if sqlite_path(url) is not None
                 else _postgres_optimize(auto))
        after = total_size(conn, url)
    result = OptimizeResult(describe_url(url), steps, before, after)
    logger.info(result.format())
    return result
