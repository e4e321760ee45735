"""Schema versions and in-place upgrades.

A new database gets the current schema at once; an older one is upgraded step by step on first
use, inside one transaction, without touching its rows. A database newer than this code is
refused rather than guessed at. Each version's additions are declared as data in
`lib.storage.schema.ADDED_COLUMNS`; new tables and indexes are found by comparing with `metadata`.
A table a version replaced (`REPLACED_TABLES`) is renamed aside, its rows converted into the
new tables, and dropped; views (`VIEWS`) are recreated after every change.
This is small enough that a migration framework (Alembic) would add more than it saves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    Table,
    UniqueConstraint,
    func,
    inspect,
    select,
    union,
)

from lib.errors import SchemaError
from lib.storage.schema import (
    ADDED_COLUMNS,
    ADDED_TABLES,
    REPLACED_TABLES,
    SCHEMA_VERSION,
    VIEWS,
    arbitrage_leg_hours,
    arbitrage_legs,
    arbitrage_pairs,
    metadata,
    schema_version,
)
from lib.storage.sqlfunctions import dialect_insert

logger = logging.getLogger(__name__)

# Tables that version 1 had; the others arrived later.
V1_TABLES = ("exchange_data", "funding_rates_historical", "arbitrage_spreads", "funding_statistics")


def _columns_added_after(version: int) -> dict[str, set[str]]:
    added: dict[str, set[str]] = {}
    for v, tables in ADDED_COLUMNS.items():
        if v > version:
            for table, cols in tables.items():
                added.setdefault(table, set()).update(cols)
    return added


def version_metadata(version: int) -> MetaData:
    """The tables as schema `version` had them (used to upgrade and to build old test DBs)."""
    if version == SCHEMA_VERSION:
        return metadata
    if not 1 <= version < SCHEMA_VERSION:
        raise ValueError(f"no definition of schema version {version}")
    old = MetaData(naming_convention=metadata.naming_convention)
    schema_version.to_metadata(old)
    later_tables = {t for v, names in ADDED_TABLES.items() if v > version for t in names}
    dropped = _columns_added_after(version)
    for table in metadata.sorted_tables:
        if table.name in later_tables or table.name == schema_version.name:
            continue
        gone = dropped.get(table.name, set())
        if not gone:
            table.to_metadata(old)
            continue
        cols = [c._copy() for c in table.columns if c.name not in gone]
        kept = [
            UniqueConstraint(*(c.name for c in uc.columns), name=uc.name)
            for uc in list(table.constraints)
            if isinstance(uc, UniqueConstraint) and not {c.name for c in uc.columns} & gone
        ]
        Table(table.name, old, *cols, *kept)
    for v, replaced in REPLACED_TABLES.items():
        if v > version:
            for make_legacy in replaced.values():
                make_legacy(old)
    return old


def _create_views(conn: Connection) -> None:
    """(Re)create every view from its current definition."""
    for name, body in VIEWS.items():
        sql = body().compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        conn.exec_driver_sql(f"DROP VIEW IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE VIEW {name} AS {sql}")


def _convert_v3_spreads(conn: Connection, legacy: Table) -> None:
    """Version 1-3 spread rows (names on every row) into legs, pairs and leg hours."""
    now = datetime.now(UTC)
    old = legacy.c
    sides = [(old.exchange_a, old.symbol_a, old.rate_8h_a),
             (old.exchange_b, old.symbol_b, old.rate_8h_b)]
    legs = union(*(select(ex, sym, func.min(old.base)).group_by(ex, sym) for ex, sym, _ in sides))
    for ex, sym, base in conn.execute(legs).all():
        conn.execute(dialect_insert(conn, arbitrage_legs).values(
            exchange=ex, symbol=sym, base=base, created_at=now).on_conflict_do_nothing())
    ids = {(r.exchange, r.symbol): r.leg_id for r in conn.execute(select(arbitrage_legs))}
    pairs = select(old.exchange_a, old.symbol_a, old.exchange_b, old.symbol_b, old.base).distinct()
    for ex_a, sym_a, ex_b, sym_b, base in conn.execute(pairs).all():
        first, second = sorted([(ex_a, sym_a), (ex_b, sym_b)])
        conn.execute(dialect_insert(conn, arbitrage_pairs).values(
            leg_a=ids[first], leg_b=ids[second], base=base, created_at=now
        ).on_conflict_do_nothing())
    leg = arbitrage_legs
    for ex, sym, rate in sides:
        rows = (select(old.ts, leg.c.leg_id, rate).select_from(legacy)
                .join(leg, (leg.c.exchange == ex) & (leg.c.symbol == sym)))
        conn.execute(dialect_insert(conn, arbitrage_leg_hours).from_select(
            ["ts", "leg_id", "rate_8h"], rows).on_conflict_do_nothing())


# How each replaced table's rows reach the tables that replaced it.
_CONVERSIONS: dict[int, dict[str, Callable[[Connection, Table], None]]] = {
    4: {"arbitrage_spreads": _convert_v3_spreads},
}


@contextmanager
def _schema_lock(conn: Connection) -> Iterator[None]:
    """Serialise schema changes between processes starting at the same time."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(724201001)")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    yield


def read_version(conn: Connection) -> int | None:
    """The stored schema version; None for an empty database."""
    tables = set(inspect(conn).get_table_names())
    if "schema_version" not in tables:
        if tables & set(V1_TABLES):
            raise SchemaError(
                "database has funding tables but no schema_version table: not made by this project"
            )
        return None
    value = conn.execute(select(schema_version.c.version).order_by(
        schema_version.c.version.desc()).limit(1)).scalar()
    return int(value) if value is not None else None


def _set_aside(conn: Connection, version: int, existing: set[str]) -> dict[str, Table]:
    """Rename the tables `version` replaces out of the way; their legacy definitions."""
    legacy: dict[str, Table] = {}
    for name, make_legacy in REPLACED_TABLES.get(version, {}).items():
        if name in existing:
            aside = f"{name}_v{version - 1}"
            conn.exec_driver_sql(f"ALTER TABLE {name} RENAME TO {aside}")
            legacy[name] = make_legacy(MetaData()).to_metadata(MetaData(), name=aside)
    return legacy


def _add_columns(conn: Connection, version: int, existing: set[str]) -> None:
    for table_name, cols in ADDED_COLUMNS.get(version, {}).items():
        if table_name not in existing:
            continue
        present = {c["name"] for c in inspect(conn).get_columns(table_name)}
        for col_name in cols:
            if col_name in present:
                continue
            column = metadata.tables[table_name].c[col_name]
            ddl = f"ALTER TABLE {table_name} ADD COLUMN {col_name} "
            ddl += column.type.compile(dialect=conn.dialect)
            if column.server_default is not None:
                ddl += f" DEFAULT {column.server_default.arg.text}"  # type: ignore[attr-defined]
            if not column.nullable:
                ddl += " NOT NULL"
            conn.exec_driver_sql(ddl)


def _upgrade_step(conn: Connection, version: int) -> None:
    """Bring a database at `version - 1` to `version` in place."""
    existing_tables = set(inspect(conn).get_table_names())
    legacy = _set_aside(conn, version, existing_tables)
    _add_columns(conn, version, existing_tables)
    metadata.create_all(conn, checkfirst=True)
    for table in metadata.sorted_tables:
        names = {ix["name"] for ix in inspect(conn).get_indexes(table.name)}
        for index in list(table.indexes):
            if index.name not in names:
                index.create(conn)
    for name, table in legacy.items():
        logger.info("converting the rows of %s to its version %d form", name, version)
        _CONVERSIONS[version][name](conn, table)
        conn.exec_driver_sql(f"DROP TABLE {table.name}")


def ensure_schema(engine: Engine) -> int:
    """Create or upgrade the schema; return the version now in force."""
    with engine.connect() as conn, _schema_lock(conn):
        version = read_version(conn)
        if version is not None and version > SCHEMA_VERSION:
            raise SchemaError(
                f"database schema version {version} is newer than this code supports "
                f"({SCHEMA_VERSION}); upgrade the project before using this database"
            )
        if version == SCHEMA_VERSION:
            conn.rollback()
            return version
        if version is None:
            metadata.create_all(conn)
        else:
            for step in range(version + 1, SCHEMA_VERSION + 1):
                logger.info("upgrading database schema from version %d to %d", step - 1, step)
                _upgrade_step(conn, step)
        _create_views(conn)
        conn.execute(
            schema_version.insert().values(version=SCHEMA_VERSION, applied_at=datetime.now(UTC))
        )
        conn.commit()
    return SCHEMA_VERSION


def create_version(engine: Engine, version: int) -> None:
    """Create an empty database at an older schema version (tests of the upgrade path)."""
    with engine.begin() as conn:
        version_metadata(version).create_all(conn)
        if version == SCHEMA_VERSION:
            _create_views(conn)
        conn.execute(schema_version.insert().values(version=version, applied_at=datetime.now(UTC)))
