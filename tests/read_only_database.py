"""A database made read-only for the length of a block, on either engine.

Needs root for SQLite (its directory is bind-mounted read-only; the test is skipped otherwise);
PostgreSQL's is `default_transaction_read_only` on the database.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from lib.storage.engine import normalise_url


def mount(*args: str) -> None:
    """`mount args...`, or skip the test where this user cannot mount."""
    done = subprocess.run(["mount", *args], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount here (needs root): {done.stderr.strip()}")


def _set_read_only(db_url: str, on: bool) -> None:
    url = make_url(db_url)
    admin = create_engine(normalise_url(db_url), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not on:  # this session itself starts read-only while the setting is on
                conn.execute(text("SET default_transaction_read_only = off"))
            conn.execute(text(f'ALTER DATABASE "{url.database}" SET '
                              f'default_transaction_read_only = {"on" if on else "off"}'))
    finally:
        admin.dispose()


@contextmanager
def read_only(db_url: str) -> Iterator[None]:
    """`db_url`'s database refuses every write inside the block."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        directory = str(Path(str(url.database)).parent)
        mount("--bind", directory, directory)
        try:
            mount("-o", "remount,ro,bind", directory)
            yield
        finally:
            subprocess.run(["umount", directory], check=True)
        return
    _set_read_only(db_url, True)
    try:
        yield
    finally:
        _set_read_only(db_url, False)
