"""SQL the two engines spell differently, written once as SQLAlchemy constructs.

Analytics queries use these instead of raw dialect SQL, so one query runs on both engines:

- `epoch_hour(ts)`: whole hours since 1970-01-01 UTC of a stored UTC time (an integer, for
  hour arithmetic and joins on the hour grid);
- `percentile(x, fraction)`: the continuous percentile aggregate (PostgreSQL's
  `percentile_cont ... WITHIN GROUP`; on SQLite an aggregate registered by
  `register_sqlite_functions`, interpolating the same way). Works with `.filter(...)`;
- `stddev_samp(x)` as plain SQL: built into PostgreSQL, registered on SQLite;
- `dialect_insert(conn, table)`: the INSERT with `on_conflict_do_nothing/do_update` for the
  connection's engine (both spell ON CONFLICT the same way);
- `tune_for_bulk(conn)`: session settings for one large set-based statement;
- `refresh_planner_statistics(conn, table)`: planner statistics SQLite does not keep itself.
"""

from __future__ import annotations

import math
import sqlite3
from typing import Any

from sqlalchemy import Connection, Float, Integer, Table
from sqlalchemy.dialects import postgresql as pg_dialect
from sqlalchemy.dialects import sqlite as sqlite_dialect
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.functions import FunctionElement


class epoch_hour(FunctionElement[int]):  # lower case: they read as SQL functions
    """Hours since the epoch (floor) of a UTC time column or bound time."""

    type = Integer()
    inherit_cache = True


class percentile(FunctionElement[float]):
    """Continuous percentile (linear interpolation between closest ranks) of `expr`."""

    type = Float()
    inherit_cache = True

    def __init__(self, expr: ColumnElement[Any], fraction: float) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"percentile fraction {fraction} is not within 0..1")
        self.fraction = float(fraction)
        super().__init__(expr)


def dialect_insert(conn: Connection, table: Table) -> Any:
    """An INSERT for `table` that knows ON CONFLICT on the connection's engine."""
    if conn.dialect.name == "postgresql":
        return pg_dialect.insert(table)
    return sqlite_dialect.insert(table)


def _arg(element: FunctionElement[Any], compiler: SQLCompiler, **kw: Any) -> str:
    return str(compiler.process(element.clauses, **kw))


@compiles(epoch_hour, "sqlite")
def _epoch_hour_sqlite(element: epoch_hour, compiler: SQLCompiler, **kw: Any) -> str:
    return f"(CAST(strftime('%s', {_arg(element, compiler, **kw)}) AS INTEGER) / 3600)"


@compiles(epoch_hour, "postgresql")
def _epoch_hour_pg(element: epoch_hour, compiler: SQLCompiler, **kw: Any) -> str:
    # date_part is double precision; extract() is numeric since PostgreSQL 14, 5x slower here
    return f"CAST(floor(date_part('epoch', {_arg(element, compiler, **kw)}) / 3600) AS INTEGER)"


@compiles(percentile, "sqlite")
def _percentile_sqlite(element: percentile, compiler: SQLCompiler, **kw: Any) -> str:
    fixed = _fixed_name(element.fraction)
    if fixed:
        return f"{fixed}({_arg(element, compiler, **kw)})"
    return f"percentile_cont({_arg(element, compiler, **kw)}, {element.fraction!r})"


@compiles(percentile, "postgresql")
def _percentile_pg(element: percentile, compiler: SQLCompiler, **kw: Any) -> str:
    expr = _arg(element, compiler, **kw)
    return f"percentile_cont({element.fraction!r}) WITHIN GROUP (ORDER BY {expr})"


def _percentile_of(values: list[float], fraction: float) -> float | None:
    """PostgreSQL's percentile_cont: position fraction x (n - 1), linear between neighbours."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    values.sort()
    position = fraction * (len(values) - 1)
    low = math.floor(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


class _PercentileCont:
    """SQLite aggregate `percentile_cont(x, fraction)` for any fraction."""

    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value: float | None, fraction: float) -> None:
        if value is not None:
            self.values.append(value)
            self.fraction = fraction

    def finalize(self) -> float | None:
        return _percentile_of(self.values, self.fraction)


def _fixed_percentile(fraction: float) -> type:
    """A one-argument percentile aggregate whose step is list.append itself: no Python frame
    per row, which is most of the cost of a Python aggregate over millions of rows."""

    class _Fixed(list):
        step = list.append

        def finalize(self) -> float | None:
            return _percentile_of(self, fraction)

    return _Fixed


# Fractions with their own fast aggregate on SQLite, named percentile_cont_<hundredths>.
FIXED_FRACTIONS: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


def _fixed_name(fraction: float) -> str | None:
    return f"percentile_cont_{round(fraction * 100)}" if fraction in FIXED_FRACTIONS else None


class _StddevSamp(list):
    """SQLite aggregate `stddev_samp(x)`, as PostgreSQL's: two passes over the values in
    finalize (exact to the last bits), list.append as the per-row step."""

    step = list.append

    def finalize(self) -> float | None:
        values = [v for v in self if v is not None]
        n = len(values)
        if n < 2:
            return None
        mean = math.fsum(values) / n
        return math.sqrt(math.fsum([(v - mean) * (v - mean) for v in values]) / (n - 1))


def tune_for_bulk(conn: Connection) -> None:
    """For the rest of the transaction: room to sort a month of history in memory and no JIT
    compilation on PostgreSQL (a bulk INSERT ... SELECT pays it without gaining); SQLite
    needs nothing."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        conn.exec_driver_sql("SET LOCAL jit = off")


def refresh_planner_statistics(conn: Connection, table: str) -> None:
    """Give SQLite's planner current row counts for `table` (ANALYZE when it has none, or its
    size has changed twofold since). Without them it plans a month-long range as if it were a
    small one: 3x slower aggregates over the history. PostgreSQL's autovacuum keeps its own."""
    if conn.dialect.name != "sqlite":
        return
    rows = int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())
    known = None
    if conn.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'").first() is not None:
        stat = conn.exec_driver_sql(
            "SELECT stat FROM sqlite_stat1 WHERE tbl = ? LIMIT 1", (table,)).scalar()
        known = int(str(stat).split()[0]) if stat else None
    if known is None or not known / 2 <= rows <= known * 2:
        conn.exec_driver_sql(f"ANALYZE {table}")


def register_sqlite_functions(dbapi_conn: sqlite3.Connection) -> None:
    """Give a new SQLite connection the aggregates PostgreSQL has built in."""
    dbapi_conn.create_aggregate("stddev_samp", 1, _StddevSamp)  # type: ignore[arg-type]
    dbapi_conn.create_aggregate("percentile_cont", 2, _PercentileCont)  # type: ignore[arg-type]
    for fraction in FIXED_FRACTIONS:
        name = _fixed_name(fraction)
        dbapi_conn.create_aggregate(name, 1, _fixed_percentile(fraction))  # type: ignore[arg-type]
