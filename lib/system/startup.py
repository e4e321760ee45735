"""What start.py checks before it runs anything, and whether history needs a backfill.

The database must be reachable, and its schema is created or upgraded here, once, before any
child opens it (children would otherwise race to upgrade it). Stored history is measured
against each contract's settlement schedule over the last HISTORICAL_DAYS days, from the
database alone (`lib.history.completeness`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Engine

from config.settings import Settings
from lib.history.completeness import database_completeness, overall_completeness
from lib.storage.engine import database
from lib.storage.maintenance import init_schema
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)


def prepare_database(settings: Settings) -> str:
    """Connect, create or upgrade the schema; one line saying what was found and done.

    A database that cannot be reached or is newer than this code raises `DatabaseError` /
    `SchemaError` (one line), and nothing is started.
    """
    return init_schema(settings.database_url).format()


@dataclass(frozen=True)
class HistoryCheck:
    """Stored history against the threshold: `below` means a backfill should run."""

    completeness: float
    threshold: float
    contracts: int

    @property
    def below(self) -> bool:
        return self.contracts == 0 or self.completeness < self.threshold

    def describe(self) -> str:
        if self.contracts == 0:
            return "no contracts stored yet"
        return (f"stored history {self.completeness:.2f}% complete over {self.contracts} "
                f"contracts (threshold {self.threshold:.2f}%)")


def history_check(settings: Settings, exchanges: Sequence[str] | None = None,
                  engine: Engine | None = None) -> HistoryCheck:
    """Completeness of the last HISTORICAL_DAYS days of settled funding in the database."""
    names = list(exchanges or settings.EXCHANGES)
    end = utcnow()
    start = end - timedelta(days=settings.HISTORICAL_DAYS)
    if engine is None:
        with database(settings) as own:
            totals = database_completeness(own, names, start, end)
    else:
        totals = database_completeness(engine, names, start, end)
    contracts = sum(t.contracts for t in totals.values())
    return HistoryCheck(overall_completeness(totals.values()),
                        settings.BACKFILL_COMPLETENESS_THRESHOLD, contracts)
