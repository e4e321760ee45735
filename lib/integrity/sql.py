"""The SQL both integrity repairs share: the history table's names and the dialect fragments.

Repairs run as a few set-based statements on SQLite and PostgreSQL alike; the few fragments that
differ between the two (how NaN/inf are stored, time arithmetic, physical row ids, rounding a
time to its settlement hour) live in `Dialect`, picked by `dialect_of(conn)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection

TABLE = "funding_rates_historical"
KEY_COLUMNS = ("exchange", "symbol", "funding_time")
# The name the schema's naming convention gives the key, reused when we restore it.
UNIQUE_NAME = "uq_funding_rates_historical_exchange_symbol_funding_time"
DEFAULT_INTERVAL_HOURS = 8  # grace for rows that do not record their interval


@dataclass(frozen=True)
class Dialect:
    """The few SQL fragments that differ between SQLite and PostgreSQL."""

    name: str
    row_id: str  # physical row order: SQLite rowid, PostgreSQL ctid
    non_finite: str
    future: str
    hour_key: str  # the settlement hour as a number: cheap to group by
    settlement: str  # funding_time rounded to the nearest hour, like timeutils.normalise_settlement
    off_hour: str  # cheap test: funding_time is not exactly on the hour (or oddly formatted)


_SQLITE_HOUR = (
    "((CAST(round((julianday(funding_time) - 2440587.5) * 86400000.0) AS INTEGER) + 1800000) "
    "/ 3600000)"
)
_PG_HOUR = "floor((round(extract(epoch from funding_time) * 1000) + 1800000) / 3600000)"

_SQLITE = Dialect(
    name="sqlite",
    row_id="rowid",
    # SQLite stores NaN as NULL; +-inf are larger than any finite double
    non_finite="funding_rate IS NULL OR abs(funding_rate) > 1.7976931348623157e308",
    future=(
        "julianday(funding_time) > julianday(:now) "
        f"+ coalesce(funding_interval_hours, {DEFAULT_INTERVAL_HOURS}) / 24.0"
    ),
    # integer epoch ms, half-hour up, back to SQLAlchemy's SQLite storage format
    hour_key=_SQLITE_HOUR,
    settlement=f"strftime('%Y-%m-%d %H:%M:%S', {_SQLITE_HOUR} * 3600, 'unixepoch') || '.000000'",
    off_hour="substr(funding_time, 15) <> '00:00.000000'",
)

_POSTGRESQL = Dialect(
    name="postgresql",
    row_id="ctid",
    non_finite=(
        "funding_rate IS NULL OR funding_rate IN "
        "('NaN'::float8, 'Infinity'::float8, '-Infinity'::float8)"
    ),
    future=(
        "funding_time > CAST(:now AS timestamptz) "
        f"+ coalesce(funding_interval_hours, {DEFAULT_INTERVAL_HOURS}) * interval '1 hour'"
    ),
    hour_key=_PG_HOUR,
    settlement=f"to_timestamp({_PG_HOUR} * 3600)",
    off_hour="date_trunc('hour', funding_time) <> funding_time",
)


def dialect_of(conn: Connection) -> Dialect:
    """The fragments for the connection's engine."""
    return _POSTGRESQL if conn.dialect.name == "postgresql" else _SQLITE
