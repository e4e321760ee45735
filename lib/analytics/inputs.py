"""What analytics needs stored before it can run, and the one line that says what to run first."""

from __future__ import annotations

from sqlalchemy import Connection, exists, select

from lib.errors import NoDataError
from lib.storage.schema import contracts, exchange_data, funding_rates_historical


def require_history(conn: Connection) -> None:
    """NoDataError unless settled rates and the contract listing are stored."""
    if not conn.execute(select(exists().select_from(funding_rates_historical))).scalar():
        raise NoDataError("no settled funding rates stored yet: run "
                          "unified_historical_backfill.py --days 30 --parallel first")
    if not conn.execute(select(exists().select_from(contracts))).scalar():
        raise NoDataError("no contracts listed yet: run collect_funding_rates.py --once first")


def require_snapshots(conn: Connection) -> None:
    """NoDataError unless the collector has stored current rates."""
    if not conn.execute(select(exists().select_from(exchange_data))).scalar():
        raise NoDataError("no current funding rates stored yet: run "
                          "collect_funding_rates.py --once (or start.py) first")
