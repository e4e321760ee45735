"""The current (running interval) rates in `exchange_data`, and when one is too old to use.

The collector refreshes every row every COLLECTION_INTERVAL (30 s); a row older than
`DEFAULT_MAX_AGE` means its exchange has failed a few cycles in a row, and a spread or z-score
against it would mix times. Such legs are left out (and counted) rather than shown stale.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case

from lib.analytics.units import rate_8h_sql

# Until config/settings.py has a key for it (e.g. ANALYTICS_MAX_AGE_S): four missed cycles.
DEFAULT_MAX_AGE = timedelta(seconds=120)


def fresh_since(now: datetime, max_age: timedelta | None) -> datetime:
    """The oldest `updated_at` still fresh at `now`."""
    return now - (DEFAULT_MAX_AGE if max_age is None else max_age)


def fresh_rate_8h(row: Any, column: str, since: datetime) -> Any:
    """SQL: rate_8h of `row.<column>` (a per-interval rate of exchange_data) if the row was
    updated at or after `since`, else NULL."""
    value = rate_8h_sql(row.c[column], row.c.funding_interval_hours)
    return case((row.c.updated_at >= since, value), else_=None)
