"""Backup and restore of the project database, with each engine's own tool.

SQLite: the online backup API (`sqlite3.Connection.backup`), which copies a consistent snapshot
while collectors keep writing. PostgreSQL: `pg_dump --format=custom` and `pg_restore`, found on
PATH (their absence is one clear error, not a traceback). A restore never overwrites stored rows
unless asked to (`force`).
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from config.redact import redact_text
from lib.errors import ConfigurationError, DatabaseError
from lib.storage.admin import count_data_rows, sqlite_path
from lib.storage.engine import describe_url, normalise_url

logger = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"


def _libpq_url(url: str) -> tuple[str, str | None]:
    """The URL as libpq tools take it (no driver suffix, no password) and the password apart:
    it goes to the tool through PGPASSWORD, never on a command line that `ps` shows."""
    parsed = make_url(normalise_url(url))
    bare = URL.create("postgresql", parsed.username, None, parsed.host, parsed.port,
                      parsed.database, parsed.query)
    return bare.render_as_string(hide_password=False), parsed.password


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConfigurationError(
            f"{name} not found on PATH: install the PostgreSQL client tools "
            "(e.g. apt install postgresql-client) matching the server version"
        )
    return path


def _run_tool(args: list[str], what: str, password: str | None) -> None:
    """Run a PostgreSQL client tool; its first error line becomes a DatabaseError."""
    env = dict(os.environ, PGCONNECT_TIMEOUT="5")
    if password is not None:
        env["PGPASSWORD"] = password
    done = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.splitlines() if ln.strip()]
        first = redact_text(lines[0]) if lines else f"exit {done.returncode}"
        raise DatabaseError(f"{what} failed: {first}")


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another through the online backup API."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst)
        finally:
            dst.close()
    except sqlite3.Error as e:
        raise DatabaseError(f"SQLite copy {source} -> {target} failed: {e}") from e
    finally:
        src.close()


def backup_database(url: str, target: Path | str) -> int:
    """Write a backup of the database at `url` to `target`; return its size in bytes."""
    target = Path(target)
    if not target.parent.is_dir():
        raise ConfigurationError(f"cannot write {target}: directory {target.parent} does not exist")
    count_data_rows(url)  # reachable and readable, with a clear error otherwise
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        path = sqlite_path(url)
        if path is not None:
            _sqlite_copy(path, tmp)
        else:
            dbname, password = _libpq_url(url)
            _run_tool([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(tmp),
                       "--dbname", dbname], "pg_dump", password)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    size = target.stat().st_size
    logger.info("backed up %s to %s (%d bytes)", describe_url(url), target, size)
    return size


def _check_backup_file(source: Path, sqlite: bool) -> None:
    if not source.is_file():
        raise ConfigurationError(f"backup file {source} does not exist")
    with source.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    expected, kind = (SQLITE_MAGIC, "SQLite") if sqlite else (PG_DUMP_MAGIC, "pg_dump custom")
    if not head.startswith(expected):
        raise ConfigurationError(f"{source} is not a {kind} backup file")


def restore_database(url: str, source: Path | str, *, force: bool = False) -> int:
    """Replace the database at `url` with the backup `source`; return data rows now stored.

    Refuses when the database holds data rows, unless `force`.
    """
    source = Path(source)
    path = sqlite_path(url)
    _check_backup_file(source, sqlite=path is not None)
    if path is None or path.exists():
        stored = count_data_rows(url)
        if stored and not force:
            raise ConfigurationError(
                f"{describe_url(url)} holds {stored} data rows: refusing to overwrite it "
                "(use --force)"
            )
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        _sqlite_copy(source, path)
    else:
        dbname, password = _libpq_url(url)
        _run_tool([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner",
                   "--single-transaction", "--exit-on-error", "--dbname", dbname,
                   str(source)], "pg_restore", password)
    restored = count_data_rows(url)
    logger.info("restored %s from %s (%d data rows)", describe_url(url), source, restored)
    return restored
