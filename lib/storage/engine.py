"""Database access: one engine factory for SQLite and PostgreSQL, error translation, bulk writes.

`with database(settings) as engine:` is the one way to open a database (schema created or
upgraded) and dispose of its engine; `with translated_errors(engine):` turns any database error
inside the block into one `DatabaseError` line.

SQLite runs in WAL mode with a busy timeout so the collectors, scripts and the API can share one
file; the aggregates PostgreSQL has and SQLite lacks (`stddev_samp`, `percentile_cont`) are
registered there by `lib.storage.sqlfunctions`, so analytics SQL is the same on both engines.
PostgreSQL bulk inserts go through COPY into a temporary table, then one INSERT ... ON CONFLICT,
which is the fast path there; SQLite uses executemany inside one transaction.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from itertools import islice
from operator import itemgetter
from pathlib import Path
from typing import Any

import psycopg2.errors
from sqlalchemy import Connection, Engine, Table, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url

from config.redact import redact_text
from config.settings import Settings, get_settings
from lib.errors import DatabaseError
from lib.storage.migrations import ensure_schema
from lib.storage.schema import UTCDateTime
from lib.storage.sqlfunctions import register_sqlite_functions

logger = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 30_000
BATCH_ROWS = 20_000
# page cache per connection (allocated as used): the history indexes of a 30-day, 2,300-contract
# load outgrow the 2 MiB default, and every insert then reads index pages back from the OS
# (1.6 M rows here: 85k rows/s with the default, 133-143k with 32 MiB)
SQLITE_CACHE_KIB = 32_768
# PostgreSQL connection options (a key given in DATABASE_URL's query string wins). A server that
# stops answering turns into an error instead of a call that waits forever: a connect gives up
# after 5 s, a dead peer is found by keepalives on an idle connection (10 s + 3 x 5 s) and by
# the TCP user timeout while a request is unacknowledged (30 s), and the server cancels any
# statement after 5 min (a lock wait, a runaway query; our longest, bulk cleanup, takes seconds).
# Stopping on a signal does not wait for these: lib.runtime.stopping ends a blocked process.
PG_CONNECT_ARGS: dict[str, Any] = {
    "connect_timeout": 5,
    "application_name": "funding-arb",
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,  # ms
    "options": "-c statement_timeout=300000",  # ms
}

Row = Mapping[str, Any]


def _on_sqlite_connect(dbapi_conn: sqlite3.Connection, _record: object) -> None:
    register_sqlite_functions(dbapi_conn)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
    mode = cur.execute("PRAGMA journal_mode = WAL").fetchone()
    if mode and str(mode[0]).lower() != "wal":
        logger.warning("SQLite could not switch to WAL mode (got %s)", mode[0])
    cur.execute("PRAGMA synchronous = NORMAL")
    cur.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
    cur.close()


def describe_url(url: str) -> str:
    """The URL as it may appear in messages: no password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"SQLite file {parsed.database}"
    return f"PostgreSQL at {parsed.host or 'localhost'}:{parsed.port or 5432}/{parsed.database}"


def translate_error(error: Exception, url: str | URL) -> DatabaseError:
    """One line that says what is wrong with the database, never a traceback."""
    url = url.render_as_string(hide_password=False) if isinstance(url, URL) else url
    where = describe_url(url)
    message = str(getattr(error, "orig", None) or error).strip().splitlines()
    first = message[0] if message else type(error).__name__
    lowered = " ".join(message).lower()
    if "password authentication failed" in lowered or "no password supplied" in lowered:
        user = make_url(url).username or "?"
        return DatabaseError(f"{where}: authentication failed for user {user!r}")
    if "role" in lowered and "does not exist" in lowered:
        user = make_url(url).username or "?"
        return DatabaseError(f"{where}: role {user!r} does not exist")
    if "does not exist" in lowered and "database" in lowered:
        return DatabaseError(f"{where}: database does not exist")
    if "timeout expired" in lowered or "timed out" in lowered:
        return DatabaseError(f"cannot connect to {where}: timed out (is the host reachable?)")
    if "connection refused" in lowered or "could not connect" in lowered or "timeout" in lowered:
        return DatabaseError(f"cannot connect to {where}: connection refused (is it running?)")
    if "file is not a database" in lowered or "malformed" in lowered:
        return DatabaseError(f"{where} is corrupt or not a SQLite database ({first})")
    if "readonly" in lowered or "read-only" in lowered:
        return DatabaseError(f"{where} is read-only: cannot write to it")
    if "unable to open database file" in lowered:
        return DatabaseError(f"{where} cannot be opened (check the directory and permissions)")
    return DatabaseError(f"{where}: {redact_text(first)}")


def is_busy(error: BaseException) -> bool:
    """True for SQLite's "database is locked": another process's write got in first (in WAL
    mode a transaction that read before that write cannot write itself, busy timeout or not).
    The same work succeeds when run again; loops skip the pass rather than end."""
    orig = getattr(error, "orig", None) or error
    return isinstance(orig, sqlite3.OperationalError) and "database is locked" in str(orig)


def _prepare_sqlite_path(url: str) -> None:
    path = make_url(url).database
    if not path or path == ":memory:":
        return
    directory = Path(path).expanduser().resolve().parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise DatabaseError(
            f"SQLite file {path}: cannot create directory {directory}: {e.strerror}"
        ) from e


def normalise_url(url: str) -> str:
    """Pin PostgreSQL URLs to psycopg2 (SQLAlchemy 2.1 would pick psycopg 3 for plain URLs)."""
    parsed = make_url(url)
    if parsed.drivername in {"postgresql", "postgres"}:
        parsed = parsed.set(drivername="postgresql+psycopg2")
    return parsed.render_as_string(hide_password=False)


def database_fingerprint(url: str | URL) -> str:
    """A short hash naming the database behind `url`, however the URL is spelt.

    What names a database: the engine, and a SQLite file's absolute path or a PostgreSQL
    server's host, port and database name. Driver, user, password and options do not (the same
    database reached as another user or with other timeouts is still that database). Status
    files record it so that a report is never checked against a database it does not describe.
    """
    parsed = make_url(url) if isinstance(url, str) else url
    backend = parsed.get_backend_name()
    name = parsed.database or ""
    if backend == "sqlite":
        where = name if name in ("", ":memory:") else str(Path(name).expanduser().resolve())
    else:
        where = f"{(parsed.host or 'localhost').lower()}:{parsed.port or 5432}/{name}"
    return hashlib.sha256(f"{backend}://{where}".encode()).hexdigest()[:16]


def create_db_engine(url: str) -> Engine:
    """A configured engine for `url`; does not connect yet."""
    url = normalise_url(url)
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        _prepare_sqlite_path(url)
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000})
        event.listen(engine, "connect", _on_sqlite_connect)
        return engine
    if backend == "postgresql":
        given = make_url(url).query
        return create_engine(
            url,
            pool_pre_ping=True,
            connect_args={k: v for k, v in PG_CONNECT_ARGS.items() if k not in given},
        )
    raise DatabaseError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")


@contextmanager
def translated_errors(where: Engine | str) -> Iterator[None]:
    """Database errors raised inside the block leave it as one `DatabaseError` line (`from` the
    original); `where` (an engine or a URL) names the database in the message."""
    try:
        yield
    except (sa_exc.SQLAlchemyError, sqlite3.Error) as e:
        raise translate_error(e, where.url if isinstance(where, Engine) else where) from e


def open_database(url: str | None = None, *, migrate: bool = True) -> Engine:
    """Engine for `url` (default: the DATABASE_URL setting), schema created or upgraded.

    The caller owns the engine and disposes of it; `database()` does both for a block.
    """
    url = url or get_settings().database_url
    engine = create_db_engine(url)
    try:
        with translated_errors(url):
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            if migrate:
                ensure_schema(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def database(settings: Settings | None = None, *, url: str | None = None,
             migrate: bool = True) -> Iterator[Engine]:
    """The engine of `url` (default: the settings' database), disposed when the block ends.

    With `migrate` the schema is created or upgraded first; without it nothing is changed.
    """
    engine = open_database(url or (settings or get_settings()).database_url, migrate=migrate)
    try:
        yield engine
    finally:
        engine.dispose()


_write_turns: weakref.WeakKeyDictionary[Engine, threading.Lock] = weakref.WeakKeyDictionary()
_write_turns_guard = threading.Lock()


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """`engine.begin()` for a short write that many threads of one process make at once.

    On SQLite the threads take turns on a lock first. SQLite lets one writer in at a time and
    puts the others to sleep in its busy handler, in steps of 1, 2, 5 ... 100 ms: sixteen
    exchanges storing their snapshots together waited up to 240 ms for writes of a few ms
    each, while a lock hands the turn on at once. Other processes still meet the busy timeout.
    PostgreSQL writes rows concurrently: no turn is taken there.
    """
    if engine.dialect.name != "sqlite":
        with engine.begin() as conn:
            yield conn
        return
    with _write_turns_guard:
        turn = _write_turns.setdefault(engine, threading.Lock())
    with turn, engine.begin() as conn:
        yield conn


def _batches(rows: Iterable[Row], size: int) -> Iterator[list[Row]]:
    iterator = iter(rows)
    while batch := list(islice(iterator, size)):
        yield batch


def _conflict_key(table: Table) -> list[str]:
    """The natural key of a table: its first unique constraint."""
    for constraint in table.constraints:
        if constraint.__class__.__name__ == "UniqueConstraint":
            return [c.name for c in constraint.columns]  # type: ignore[attr-defined]
    raise DatabaseError(f"table {table.name} has no unique key to upsert on")


def _pg_time(value: datetime) -> str:
    return value.isoformat()


def _copy_from(conn: Connection, target: str, columns: Sequence[str], buffer: io.StringIO) -> None:
    raw = conn.connection.dbapi_connection
    assert raw is not None
    buffer.seek(0)
    cursor: Any = raw.cursor()
    statement = (f"COPY {target} ({', '.join(columns)}) FROM STDIN WITH (FORMAT csv, "
                 "DELIMITER E'\\t', NULL '\\N')")
    try:
        cursor.copy_expert(statement, buffer)
    except psycopg2.Error as e:  # raw DB-API call: wrap it like SQLAlchemy's own errors
        raise sa_exc.DBAPIError.instance(statement, None, e, psycopg2.Error) from e
    finally:
        cursor.close()


def _copy_buffer(table: Table, rows: Sequence[Row],
                 columns: Sequence[str] | None = None) -> io.StringIO:
    """The rows as COPY text (tab-separated CSV, NULL as \\N), columns in the first row's order
    unless given."""
    columns = list(rows[0].keys()) if columns is None else columns
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t", quotechar='"', lineterminator="\n")
    writer.writerows(zip(*_columns(table, rows, columns, _pg_time, r"\N"), strict=True))
    return buffer


def _pg_copy_insert(conn: Connection, table: Table, rows: Sequence[Row], on_conflict: str,
                    buffer: io.StringIO | None = None) -> int:
    """COPY rows into a temp table, then one INSERT ... SELECT ... ON CONFLICT."""
    columns = list(rows[0].keys())
    if buffer is None:
        buffer = _copy_buffer(table, rows, columns)
    col_list = ", ".join(columns)
    temp = f"tmp_{table.name}"
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE IF NOT EXISTS {temp} (LIKE {table.name} INCLUDING DEFAULTS) "
        "ON COMMIT DELETE ROWS"
    )
    conn.exec_driver_sql(f"TRUNCATE {temp}")
    _copy_from(conn, temp, columns, buffer)
    result = conn.exec_driver_sql(
        f"INSERT INTO {table.name} ({col_list}) SELECT {col_list} FROM {temp} {on_conflict}"
    )
    return int(result.rowcount or 0)


def _pg_insert_ignore_all(conn: Connection, table: Table, rows: Iterable[Row]) -> int:
    """Insert-or-ignore batch by batch, building the next batch's COPY text on a worker thread
    while the server ingests the current one (psycopg2 releases the GIL while it waits): the
    client's CSV work and the server's COPY overlap instead of taking turns."""
    inserted = 0
    try_direct = True  # after one batch with stored keys (a re-run), expect more of them
    batches = _batches(rows, BATCH_ROWS)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy-buffer") as pool:
        batch = next(batches, None)
        ahead = pool.submit(_copy_buffer, table, batch) if batch else None
        while batch is not None and ahead is not None:
            buffer = ahead.result()
            following = next(batches, None)
            ahead = pool.submit(_copy_buffer, table, following) if following else None
            count, try_direct = _pg_insert_ignore(conn, table, batch, try_direct, buffer)
            inserted += count
            batch = following
    return inserted


def _pg_insert_ignore(conn: Connection, table: Table, rows: Sequence[Row],
                      try_direct: bool, buffer: io.StringIO) -> tuple[int, bool]:
    """Insert-or-ignore one batch; (rows inserted, whether the direct COPY worked).

    A batch of new rows (the common backfill case) is copied straight into the table inside a
    savepoint, which skips the temp table and is about twice as fast on the server. If any key
    is already stored the savepoint is rolled back and the batch takes the temp-table path.
    """
    columns = list(rows[0].keys())
    if try_direct:
        savepoint = conn.begin_nested()
        try:
            _copy_from(conn, table.name, columns, buffer)
        except sa_exc.IntegrityError as e:
            if not isinstance(e.orig, psycopg2.errors.UniqueViolation):
                raise
            savepoint.rollback()
        else:
            savepoint.commit()
            return len(rows), True
    return _pg_copy_insert(conn, table, rows, "ON CONFLICT DO NOTHING", buffer), False


def _sqlite_utc(value: datetime | None) -> str | None:
    """A UTC-aware datetime in the exact text form SQLAlchemy's SQLite DateTime stores."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r}: the project stores UTC-aware times only")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _columns(
    table: Table, rows: Sequence[Row], columns: Sequence[str],
    time_text: Callable[[datetime], str | None], null: str | None,
) -> list[list[Any]]:
    """The batch column by column, converted for the driver with C-speed loops.

    Times become text through a lookup of the batch's distinct values (a batch repeats the
    same few timestamps thousands of times); None becomes `null`; other values pass as they
    are. Per-value Python calls were most of the cost of a 1.6 M-row load.
    """
    unknown = [c for c in columns if c not in table.c]
    if unknown:
        raise ValueError(f"table {table.name} has no column(s) {', '.join(unknown)}")
    result = []
    for c in columns:
        values = list(map(itemgetter(c), rows))
        if isinstance(table.c[c].type, UTCDateTime):
            text_of = {v: null if v is None else time_text(v) for v in set(values)}
            values = list(map(text_of.__getitem__, values))
        elif null is not None and None in values:
            values = [null if v is None else v for v in values]
        result.append(values)
    return result


def _sqlite_insert_ignore(conn: Connection, table: Table, batch: Sequence[Row]) -> int:
    """INSERT ... ON CONFLICT DO NOTHING through the driver's executemany.

    Skips SQLAlchemy's per-value bind processing (3x the cost of the insert itself at 1.6 M
    rows); the only conversion our column types need on SQLite is UTC datetimes to text.
    """
    columns = list(batch[0].keys())
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT DO NOTHING"
    )
    params = list(zip(*_columns(table, batch, columns, _sqlite_utc, None), strict=True))
    return int(conn.exec_driver_sql(sql, params).rowcount or 0)


def insert_ignore(conn: Connection, table: Table, rows: Iterable[Row]) -> int:
    """Insert rows, skipping those whose natural key is already stored; return rows inserted."""
    if conn.dialect.name == "postgresql":
        return _pg_insert_ignore_all(conn, table, rows)
    return sum(_sqlite_insert_ignore(conn, table, batch) for batch in _batches(rows, BATCH_ROWS))


def upsert(conn: Connection, table: Table, rows: Iterable[Row], key: Sequence[str] = ()) -> int:
    """Insert rows or update the stored row with the same key; return rows written."""
    key_cols = list(key) or _conflict_key(table)
    written = 0
    for batch in _batches(rows, BATCH_ROWS):
        # one row per key (the last wins): PostgreSQL refuses to update a row twice in one INSERT
        batch = list({tuple(r[c] for c in key_cols): r for r in batch}.values())
        update_cols = [c for c in batch[0] if c not in key_cols]
        if conn.dialect.name == "postgresql":
            sets = ", ".join(f"{c} = EXCLUDED.{c}" for c in update_cols)
            action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
            written += _pg_copy_insert(
                conn, table, batch, f"ON CONFLICT ({', '.join(key_cols)}) {action}"
            )
            continue
        written += _sqlite_upsert(conn, table, batch, key_cols, update_cols)
    return written


def _sqlite_upsert(conn: Connection, table: Table, batch: Sequence[Row],
                   key_cols: Sequence[str], update_cols: Sequence[str]) -> int:
    """INSERT ... ON CONFLICT DO UPDATE through the driver's executemany, converted as in
    `_sqlite_insert_ignore`: SQLAlchemy's per-value bind processing was two thirds of the
    CPU a collection cycle spends writing its 3,000 snapshots."""
    columns = list(batch[0].keys())
    sets = ", ".join(f"{c} = excluded.{c}" for c in update_cols)
    action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
    sql = (
        f"INSERT INTO {table.name} ({', '.join(columns)}) "
        f"VALUES ({', '.join('?' * len(columns))}) ON CONFLICT ({', '.join(key_cols)}) {action}"
    )
    params = list(zip(*_columns(table, batch, columns, _sqlite_utc, None), strict=True))
    return int(conn.exec_driver_sql(sql, params).rowcount or 0)
