"""The one schema, as SQLAlchemy Core tables, shared by SQLite and PostgreSQL.

Times are stored as UTC (`UTCDateTime`): PostgreSQL `timestamptz`; SQLite ISO text, which its
date functions read. Rates are per-interval decimal fractions with their interval alongside.
No table has a surrogate key: every unique key starts with the natural key, which keeps the
SQL valid on distributed PostgreSQL (Citus) where unique keys must contain the distribution
column.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    text,
)
from sqlalchemy.types import DateTime, TypeDecorator

SCHEMA_VERSION = 3

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on both engines (SQLite would otherwise return naive ones)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the project stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # raw SQL results on SQLite
            value = datetime.fromisoformat(value)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


metadata = MetaData(naming_convention=NAMING)

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, nullable=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

contracts = Table(
    "contracts",
    metadata,
    Column("exchange", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("canonical_symbol", String(96), nullable=False),
    Column("base", String(48), nullable=False),
    Column("quote", String(16), nullable=False),
    Column("settle", String(16), nullable=False),
    Column("multiplier", Float, nullable=False, server_default=text("1")),
    Column("funding_interval_hours", Float, nullable=False),
    Column("listed_at", UTCDateTime),
    Column("status", String(16), nullable=False, server_default=text("'trading'")),
    Column("first_seen", UTCDateTime, nullable=False),
    Column("last_seen", UTCDateTime, nullable=False),
    UniqueConstraint("exchange", "symbol"),
    Index(None, "base"),
)

exchange_data = Table(
    "exchange_data",
    metadata,
    Column("exchange", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("funding_rate", Float, nullable=False),
    Column("next_funding_time", UTCDateTime),
    Column("mark_price", Float),
    Column("updated_at", UTCDateTime, nullable=False),
    # added in version 2
    Column("canonical_symbol", String(96)),
    Column("base", String(48)),
    Column("funding_interval_hours", Float),
    Column("index_price", Float),
    Column("open_interest", Float),
    Column("volume_24h", Float),
    UniqueConstraint("exchange", "symbol"),
    Index(None, "base"),
)

funding_rates_historical = Table(
    "funding_rates_historical",
    metadata,
    Column("exchange", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("funding_time", UTCDateTime, nullable=False),
    Column("funding_rate", Float, nullable=False),
    Column("mark_price", Float),
    # added in version 2
    Column("funding_interval_hours", Float),
    Column("collected_at", UTCDateTime),
    Column("source", String(16), nullable=False, server_default=text("'unknown'")),
    UniqueConstraint("exchange", "symbol", "funding_time"),
    Index(None, "funding_time"),
)

arbitrage_spreads = Table(
    "arbitrage_spreads",
    metadata,
    Column("ts", UTCDateTime, nullable=False),
    Column("base", String(48), nullable=False),
    # the pair, legs ordered by exchange name so that a pair has one identity
    Column("exchange_a", String(32), nullable=False),
    Column("symbol_a", String(64), nullable=False),
    Column("exchange_b", String(32), nullable=False),
    Column("symbol_b", String(64), nullable=False),
    Column("rate_8h_a", Float, nullable=False),
    Column("rate_8h_b", Float, nullable=False),
    Column("short_exchange", String(32), nullable=False),  # the leg paying more
    Column("spread_8h", Float, nullable=False),  # rate_8h(short) - rate_8h(long) >= 0
    Column("spread_apr", Float, nullable=False),  # simple, not compounded
    UniqueConstraint("base", "exchange_a", "symbol_a", "exchange_b", "symbol_b", "ts"),
    Index(None, "ts"),
)

funding_statistics = Table(
    "funding_statistics",
    metadata,
    Column("exchange", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("window_days", Integer, nullable=False),
    Column("n", Integer, nullable=False),
    Column("mean_8h", Float),  # statistics of rate_8h, comparable across venues
    Column("std_8h", Float),
    Column("latest_8h", Float),
    Column("zscore", Float),
    Column("percentile", Float),
    Column("calculated_at", UTCDateTime, nullable=False),
    UniqueConstraint("exchange", "symbol", "window_days"),
)

# Settlements an exchange's own history lacks (it returned settlements around the slot, or two
# replies agreed nothing came before or after it): reported as the exchange's gap, not ours, and
# not asked for again. Added in version 3; before that it was created on first use outside the
# versioned schema, which is why its unique constraint keeps that short name.
funding_missing_at_exchange = Table(
    "funding_missing_at_exchange",
    metadata,
    Column("exchange", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("funding_time", UTCDateTime, nullable=False),
    Column("checked_at", UTCDateTime, nullable=False),
    UniqueConstraint("exchange", "symbol", "funding_time", name="uq_missing_at_exchange"),
    Index(None, "funding_time"),
)

DATA_TABLES: tuple[Table, ...] = (
    contracts,
    exchange_data,
    funding_rates_historical,
    arbitrage_spreads,
    funding_statistics,
    funding_missing_at_exchange,
)

# Tables each version added, for building older databases in tests (see lib.storage.migrations).
ADDED_TABLES: dict[int, tuple[str, ...]] = {
    2: ("contracts",),
    3: ("funding_missing_at_exchange",),
}

# Columns each version added to existing tables, for in-place upgrades (see lib.storage.migrations).
ADDED_COLUMNS: dict[int, dict[str, tuple[str, ...]]] = {
    2: {
        "exchange_data": (
            "canonical_symbol",
            "base",
            "funding_interval_hours",
            "index_price",
            "open_interest",
            "volume_24h",
        ),
        "funding_rates_historical": ("funding_interval_hours", "collected_at", "source"),
    },
}
