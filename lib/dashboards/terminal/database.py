"""The database and top-opportunities panels' data, read through one long-lived engine.

The engine is opened once and kept (a refresh every 5 s must not reconnect every time), never
with schema changes: a SQLite file that does not exist is reported, not created, and an empty
database says which job creates its schema. A failed read disposes of the engine, so the next
refresh reconnects (the database may come back).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, select

from lib.analytics.ranking import rank_opportunities
from lib.dashboards.terminal.views import (
    DatabaseView,
    OpportunitiesView,
    OpportunityRow,
    TableCount,
)
from lib.errors import FundingError
from lib.storage.admin import TIME_COLUMNS, checked_version, database_size, sqlite_path
from lib.storage.engine import create_db_engine, describe_url, translated_errors
from lib.storage.schema import (
    contracts,
    exchange_data,
    funding_rates_historical,
    funding_statistics,
)

logger = logging.getLogger(__name__)

# the tables the panel counts, and what it calls them
SHOWN_TABLES = ((contracts, "contracts"), (exchange_data, "snapshots"),
                (funding_rates_historical, "history"), (funding_statistics, "z-scores"))
TOP_ROWS = 8
HOLD_DAYS = 7
# The ranking reads every snapshot (0.3 s for 2,300 contracts): it is computed again when the
# collector has written new snapshots, and at least this often (legs go stale with time).
RANK_AT_LEAST_EVERY_S = 60.0


def _hours(value: float) -> str:
    return f"{value:g}h"


def _file_size(path: Path) -> int:
    """A SQLite file with its WAL and shared memory: what it takes on disk."""
    names = (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))
    return sum(p.stat().st_size for p in names if p.exists())


def count_tables(conn: Connection) -> list[TableCount]:
    """Rows and newest time of each shown table that exists."""
    present = set(inspect(conn).get_table_names())
    counts = []
    for table, label in SHOWN_TABLES:
        if table.name not in present:
            continue
        column = table.c[TIME_COLUMNS[table.name]]
        rows, newest = conn.execute(select(func.count(), func.max(column))
                                    .select_from(table)).one()
        counts.append(TableCount(label, int(rows), newest))
    return counts


def opportunities_view(conn: Connection, limit: int = TOP_ROWS) -> OpportunitiesView:
    """The best `limit` current pairs by APR net of fees (lib.analytics.ranking)."""
    ranking = rank_opportunities(conn, hold_days=HOLD_DAYS, limit=limit)
    rows = [
        OpportunityRow(
            base=r.opportunity.base, short=r.opportunity.short.exchange,
            long=r.opportunity.long.exchange,
            intervals=f"{_hours(r.opportunity.short.interval_hours)}/"
                      f"{_hours(r.opportunity.long.interval_hours)}",
            gross_apr=r.opportunity.spread_apr, net_apr=r.net_apr,
        )
        for r in ranking.rows
    ]
    return OpportunitiesView(rows, ranking.candidates, ranking.scan.stale_legs, HOLD_DAYS)


class DatabaseReader:
    """Reads both panels from the settings' database; thread-safe (one refresh at a time)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.described = describe_url(url)
        self._engine: Engine | None = None
        self._lock = threading.Lock()
        self._ranked: tuple[object, float, OpportunitiesView] | None = None  # key, when, view

    def _connect(self) -> Engine:
        if self._engine is None:
            path = sqlite_path(self.url)
            if path is not None and not path.is_file():
                raise FundingError(f"{self.described} does not exist yet (start.py or a "
                                   "collector creates it)")
            self._engine = create_db_engine(self.url)
        return self._engine

    def read(self) -> tuple[DatabaseView, OpportunitiesView]:
        """Both panels' views; a failure is each panel's error line, never raised."""
        with self._lock:
            try:
                engine = self._connect()
                with translated_errors(engine), engine.connect() as conn:
                    version = checked_version(conn, self.url)
                    tables = count_tables(conn)
                    path = sqlite_path(self.url)
                    size = _file_size(path) if path else database_size(conn)
                    database = DatabaseView(self.described, version, size, tables)
                    top = self._top(conn, engine, database.table("snapshots"))
            except FundingError as e:
                self.close()
                failed = str(e)
                return (DatabaseView(self.described, error=failed),
                        OpportunitiesView(error="no database: " + failed))
            return database, top

    def _top(self, conn: Connection, engine: Engine,
             snapshots: TableCount | None) -> OpportunitiesView:
        """The ranking, again only when the snapshots changed or it is getting old."""
        key = (snapshots.rows, snapshots.newest) if snapshots else None
        now = time.monotonic()
        if self._ranked is not None:
            old_key, when, view = self._ranked
            if old_key == key and now - when < RANK_AT_LEAST_EVERY_S:
                return view
        try:
            with translated_errors(engine):
                view = opportunities_view(conn)
        except FundingError as e:
            view = OpportunitiesView(error=str(e))
        self._ranked = (key, now, view)
        return view

    def close(self) -> None:
        self._ranked = None
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
