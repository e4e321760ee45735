"""The spread jobs: a rebuild of the series and its statistics, and the collector that keeps
them current (`scripts/backfill_arbitrage_spreads_v2.py`, `scripts/collect_spread_history.py`).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, exists, select

from lib.analytics.inputs import require_history
from lib.analytics.loop import repeat
from lib.analytics.series import SeriesBuild, build_series
from lib.analytics.spread_stats import update_spread_statistics
from lib.errors import NoDataError
from lib.storage.schema import arbitrage_spread_statistics
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpreadRun:
    """One build of the series and, when it changed, of the statistics."""

    build: SeriesBuild
    statistics_updated: int
    seconds: float

    def format(self, force: bool = False) -> str:
        """The one line the scripts print."""
        b = self.build
        replaced = f" ({b.rows_deleted} replaced)" if force else ""
        return (f"pairs {b.pairs.pairs} ({b.pairs.pairs_added} new), rows written "
                f"{b.rows_written}{replaced}, statistics updated {self.statistics_updated}, "
                f"{self.seconds:.1f} seconds")


def run_spreads(engine: Engine, days: int = 30, force: bool = False,
                now: datetime | None = None, refresh_statistics: bool = False) -> SpreadRun:
    """Build the series (incrementally unless `force`), then the statistics if anything changed
    (or `refresh_statistics`, or none are stored yet)."""
    started = time.perf_counter()
    with engine.connect() as conn:
        require_history(conn)
    build = build_series(engine, days, force, now)
    changed = build.rows_written or build.rows_deleted or build.pairs.pairs_added \
        or build.pairs.pairs_removed
    updated = 0
    with engine.begin() as conn:
        missing = not conn.execute(
            select(exists().select_from(arbitrage_spread_statistics))).scalar()
        if changed or refresh_statistics or missing:
            updated = update_spread_statistics(conn, now or utcnow())
    return SpreadRun(build, updated, time.perf_counter() - started)


class SpreadCollector:
    """Keeps the series and statistics current: `run_spreads` every interval."""

    def __init__(self, engine: Engine, days: int = 30) -> None:
        self.engine = engine
        self.days = days

    def cycle(self) -> SpreadRun | None:
        """One build; an empty database is waited out (the backfill may still be running)."""
        try:
            result = run_spreads(self.engine, self.days)
        except NoDataError as e:
            logger.warning("spreads: nothing to build yet: %s", e)
            return None
        logger.info("spreads: %d rows, %d statistics in %.2fs", result.build.rows_written,
                    result.statistics_updated, result.seconds)
        return result

    def run(self, interval: float, stop: threading.Event, cycles: int | None = None) -> int:
        """Run cycles until `stop` is set (or `cycles` ran); return how many ran."""
        return repeat(self.cycle, interval, stop, cycles)
