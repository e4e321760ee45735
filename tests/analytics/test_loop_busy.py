"""The analytics loop skips a pass SQLite refuses as busy (a real WAL write conflict) and runs
the next; any other database error still ends it."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from lib.analytics.loop import repeat
from lib.storage.engine import create_db_engine


def test_a_busy_pass_is_skipped_and_the_next_runs(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (n INTEGER)"))
    other = create_db_engine(f"sqlite:///{tmp_path / 'busy.db'}")
    passes: list[str] = []

    def job() -> None:
        with engine.connect() as conn:
            conn.execute(text("BEGIN"))
            conn.execute(text("SELECT count(*) FROM t")).scalar()  # this pass's snapshot
            if not passes:  # another process writes after it: the snapshot is stale
                with other.begin() as writer:
                    writer.execute(text("INSERT INTO t VALUES (1)"))
            passes.append("tried")
            conn.execute(text("INSERT INTO t VALUES (2)"))
            conn.commit()
        passes.append("stored")

    with caplog.at_level(logging.WARNING, logger="lib.analytics.loop"):
        assert repeat(job, 0.01, threading.Event(), cycles=2) == 2
    assert passes == ["tried", "tried", "stored"]
    assert "database busy (another process wrote first): pass skipped" in caplog.text
    with engine.connect() as conn:
        assert conn.execute(text("SELECT n FROM t ORDER BY n")).scalars().all() == [1, 2]
    engine.dispose()
    other.dispose()


def test_other_database_errors_end_the_loop(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite:///{tmp_path / 'x.db'}")

    def job() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT * FROM no_such_table"))

    with pytest.raises(OperationalError, match="no such table"):
        repeat(job, 0.01, threading.Event(), cycles=3)
    engine.dispose()
