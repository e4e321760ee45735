"""The one schema, as SQLAlchemy Core tables, shared by SQLite and PostgreSQL.

Times are stored as UTC (`UTCDateTime`): PostgreSQL `timestamptz`; SQLite ISO text, which its
date functions read. Rates are per-interval decimal fractions with their interval alongside.
Every unique key starts with the natural key, which keeps the SQL valid on distributed
PostgreSQL (Citus) where unique keys must contain the distribution column; the one exception is
the integer ids of the analytics legs and pairs, which keep the kept-forever spread series small
(see `arbitrage_legs`). Views are declared in `VIEWS` and created by lib.storage.migrations.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    REAL,
    Column,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    Select,
    String,
    Table,
    UniqueConstraint,
    and_,
    cast,
    select,
    text,
)
from sqlalchemy.types import DateTime, TypeDecorator

SCHEMA_VERSION = 4

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
    # added in version 4: the unified symbol as ccxt writes it ("1000PEPE/USDT:USDT": names one
    # contract, multiplier kept) and the size of one contract in the venue's base unit (OKX
    # ctVal, Gate quanto_multiplier, KuCoin multiplier), which open interest in contracts needs
    Column("ccxt_symbol", String(96)),
    Column("contract_size", Float),
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
    # added in version 4: the exchange's predicted next rate and its rate cap and floor (per
    # interval, where it publishes them), and the unit of open_interest and volume_24h as the
    # venue gives them ("contracts", "base" or "quote"), converted to USD in one place
    # (lib.analytics.units)
    Column("predicted_rate", Float),
    Column("rate_cap", Float),
    Column("rate_floor", Float),
    Column("open_interest_unit", String(16)),
    Column("volume_unit", String(16)),
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

# The spread series, designed for its retention (kept indefinitely; a year of the default
# simulator universe must fit in 2 GB on PostgreSQL). A row per pair and hour cannot: PostgreSQL
# spends 28 bytes of tuple header and line pointer and ~28 of key index on each, ~76 bytes a row,
# 2.5 GB a year for 3,763 pairs. So the hourly rate in force is stored once per contract (leg),
# and a pair's spread is a join of its two legs: storage grows with contracts, not with the
# square of the venues listing an asset, and a pair that appears later has its history at once.
# `arbitrage_spreads` is the view that makes the join (see `arbitrage_spreads_select`).
#
# Legs and pairs carry the schema's only surrogate keys: the series repeats the leg once an hour
# for years, where (exchange, symbol) would double each row. On distributed PostgreSQL, legs and
# pairs are reference tables and arbitrage_leg_hours is distributed by leg_id. Added in v4.
arbitrage_legs = Table(
    "arbitrage_legs",
    metadata,
    Column("leg_id", Integer, primary_key=True, autoincrement=True),
    Column("exchange", String(32), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("base", String(48), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("exchange", "symbol"),
)

# Every contract-level pair of different venues listing the same base asset; leg a is the one
# first by (exchange, symbol), so that a pair has one identity.
arbitrage_pairs = Table(
    "arbitrage_pairs",
    metadata,
    Column("pair_id", Integer, primary_key=True, autoincrement=True),
    Column("leg_a", Integer, nullable=False),
    Column("leg_b", Integer, nullable=False),
    Column("base", String(48), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("leg_a", "leg_b"),
)

# One row per leg and hour: rate_8h of the settled rate in force during the hour starting at ts
# (a settlement at T with interval I covers the I hours before T). 16 bytes of data: with the
# tuple header, line pointer and key index about 76 bytes a row on PostgreSQL. REAL (4 bytes)
# keeps 7 significant digits, more than the 6-8 decimals venues print a rate with. The key
# starts with the leg: a pair's two legs are read as two ranges, on any window, and the
# distribution column leads.
arbitrage_leg_hours = Table(
    "arbitrage_leg_hours",
    metadata,
    Column("ts", UTCDateTime, nullable=False),
    Column("leg_id", Integer, nullable=False),
    Column("rate_8h", REAL, nullable=False),
    UniqueConstraint("leg_id", "ts"),
)


def arbitrage_spreads_select() -> Select[Any]:
    """The body of the `arbitrage_spreads` view: each pair's hourly spread, rate_8h(a) -
    rate_8h(b) (negative when leg b pays more), and as simple APR (x 1095)."""
    a, b = arbitrage_leg_hours.alias("a"), arbitrage_leg_hours.alias("b")
    la, lb = arbitrage_legs.alias("la"), arbitrage_legs.alias("lb")
    p = arbitrage_pairs
    rate_a, rate_b = cast(a.c.rate_8h, Float), cast(b.c.rate_8h, Float)
    return (
        select(
            a.c.ts, p.c.pair_id, p.c.base,
            la.c.exchange.label("exchange_a"), la.c.symbol.label("symbol_a"),
            lb.c.exchange.label("exchange_b"), lb.c.symbol.label("symbol_b"),
            rate_a.label("rate_8h_a"), rate_b.label("rate_8h_b"),
            (rate_a - rate_b).label("spread_8h"),
            ((rate_a - rate_b) * 1095).label("spread_apr"),
        )
        .select_from(p)
        .join(la, la.c.leg_id == p.c.leg_a)
        .join(lb, lb.c.leg_id == p.c.leg_b)
        .join(a, a.c.leg_id == p.c.leg_a)
        .join(b, and_(b.c.leg_id == p.c.leg_b, b.c.ts == a.c.ts))
    )


# The views, created after the tables (lib.storage.migrations); they hold no rows of their own.
VIEWS: dict[str, Callable[[], Select[Any]]] = {"arbitrage_spreads": arbitrage_spreads_select}

# Statistics of each pair's series over a window (7 or 30 days), in the series' orientation
# (a - b): the reader flips them for the leg it would short. Added in version 4.
arbitrage_spread_statistics = Table(
    "arbitrage_spread_statistics",
    metadata,
    Column("pair_id", Integer, nullable=False),
    Column("window_days", Integer, nullable=False),
    Column("n", Integer, nullable=False),  # hours in the window with both legs settled
    Column("mean_8h", Float),
    Column("std_8h", Float),
    Column("median_8h", Float),
    Column("p95_8h", Float),
    Column("min_8h", Float),
    Column("max_8h", Float),
    Column("last_8h", Float),  # the newest settled hour
    Column("last_ts", UTCDateTime),
    Column("share_positive", Float),  # share of hours with a paying more than b
    Column("share_negative", Float),
    Column("carry", Float),  # accumulated: sum over hours of spread_8h / 8, per unit notional
    Column("current_8h", Float),  # from both legs' current rates, when both are fresh
    Column("zscore", Float),  # (current_8h - mean_8h) / std_8h
    Column("calculated_at", UTCDateTime, nullable=False),
    UniqueConstraint("pair_id", "window_days"),
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
    # added in version 4
    Column("expected_n", Integer),  # settlements the schedule had in the window
    Column("completeness", Float),  # n / expected_n, at most 1
    Column("confidence", String(16)),  # by n: none, low, medium, high, very high
    Column("min_8h", Float),
    Column("max_8h", Float),
    Column("median_8h", Float),
    Column("current_8h", Float),  # the running interval's rate (the exchange's current)
    Column("predicted_8h", Float),  # the exchange's predicted next rate, where it gives one
    Column("mean_apr", Float),  # the same figures as simple APR (rate_8h x 1095)
    Column("std_apr", Float),
    Column("min_apr", Float),
    Column("max_apr", Float),
    Column("median_apr", Float),
    Column("latest_apr", Float),
    Column("current_apr", Float),
    Column("predicted_apr", Float),
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

# Where each analytics job got to: the incremental spread build reads settlements collected
# since its watermark. Added in version 4.
analytics_watermarks = Table(
    "analytics_watermarks",
    metadata,
    Column("job", String(32), nullable=False),
    Column("watermark", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    UniqueConstraint("job"),
)

DATA_TABLES: tuple[Table, ...] = (
    contracts,
    exchange_data,
    funding_rates_historical,
    funding_statistics,
    funding_missing_at_exchange,
    arbitrage_legs,
    arbitrage_pairs,
    arbitrage_leg_hours,
    arbitrage_spread_statistics,
    analytics_watermarks,
)

# Tables each version added, for building older databases in tests (see lib.storage.migrations).
ADDED_TABLES: dict[int, tuple[str, ...]] = {
    2: ("contracts",),
    3: ("funding_missing_at_exchange",),
    4: (
        "arbitrage_legs", "arbitrage_pairs", "arbitrage_leg_hours", "arbitrage_spread_statistics",
        "analytics_watermarks",
    ),
}


def legacy_arbitrage_spreads(meta: MetaData) -> Table:
    """`arbitrage_spreads` as versions 1-3 defined it: the pair's names on every row."""
    return Table(
        "arbitrage_spreads",
        meta,
        Column("ts", UTCDateTime, nullable=False),
        Column("base", String(48), nullable=False),
        Column("exchange_a", String(32), nullable=False),
        Column("symbol_a", String(64), nullable=False),
        Column("exchange_b", String(32), nullable=False),
        Column("symbol_b", String(64), nullable=False),
        Column("rate_8h_a", Float, nullable=False),
        Column("rate_8h_b", Float, nullable=False),
        Column("short_exchange", String(32), nullable=False),
        Column("spread_8h", Float, nullable=False),
        Column("spread_apr", Float, nullable=False),
        UniqueConstraint("base", "exchange_a", "symbol_a", "exchange_b", "symbol_b", "ts"),
        Index(None, "ts"),
    )


# Tables a version replaced, with their earlier definition (see lib.storage.migrations, which
# renames the old table, converts its rows into the new tables and drops it).
REPLACED_TABLES: dict[int, dict[str, Callable[[MetaData], Table]]] = {
    4: {"arbitrage_spreads": legacy_arbitrage_spreads},
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
    4: {
        "contracts": ("ccxt_symbol", "contract_size"),
        "exchange_data": (
            "predicted_rate", "rate_cap", "rate_floor", "open_interest_unit", "volume_unit",
        ),
        "funding_statistics": (
            "expected_n", "completeness", "confidence", "min_8h", "max_8h", "median_8h",
            "current_8h", "predicted_8h", "mean_apr", "std_apr", "min_apr", "max_apr",
            "median_apr", "latest_apr", "current_apr", "predicted_apr",
        ),
    },
}
