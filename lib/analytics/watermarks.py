"""Where each analytics job got to, so the next run starts there (`analytics_watermarks`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from lib.storage.schema import analytics_watermarks
from lib.storage.sqlfunctions import dialect_insert
from lib.timeutils import utcnow


def read_watermark(conn: Connection, job: str) -> datetime | None:
    """The job's watermark; None before its first complete run."""
    table = analytics_watermarks
    value = conn.execute(select(table.c.watermark).where(table.c.job == job)).scalar()
    return value if isinstance(value, datetime) else None


def write_watermark(conn: Connection, job: str, watermark: datetime) -> None:
    """Record the job's watermark (in the caller's transaction, with the work it covers)."""
    stmt = dialect_insert(conn, analytics_watermarks).values(
        job=job, watermark=watermark, updated_at=utcnow())
    conn.execute(stmt.on_conflict_do_update(
        index_elements=["job"],
        set_={"watermark": stmt.excluded.watermark, "updated_at": stmt.excluded.updated_at},
    ))
