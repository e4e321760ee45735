"""A database filled the way a running system fills it, for the API and web dashboard tests."""

from __future__ import annotations

from config.settings import SUPPORTED_EXCHANGES, Settings
from lib.analytics.series import build_series
from lib.analytics.spread_stats import update_spread_statistics
from lib.analytics.zscores import calculate_zscores
from lib.collection.collector import Collector
from lib.history.backfill import run_backfill
from lib.storage.engine import database
from lib.storage.schema import exchange_data
from lib.timeutils import utcnow

BACKFILL_DAYS = 3


def fill_like_a_running_system(settings: Settings, days: int = BACKFILL_DAYS) -> None:
    """Backfill, one live cycle, spread series and statistics, z-scores."""
    with database(settings) as engine:
        result = run_backfill(engine, days, list(SUPPORTED_EXCHANGES), parallel=True,
                              settings=settings)
        assert result.state == "completed"
        collector = Collector(engine, SUPPORTED_EXCHANGES, settings)
        try:
            collector.run_cycle()
        finally:
            collector.close()
        now = utcnow()
        build_series(engine, days, now=now)
        with engine.begin() as conn:
            update_spread_statistics(conn, now)
        calculate_zscores(engine, now=now)


def keep_fresh(settings: Settings) -> None:
    """Stamp every snapshot as collected now: on a loaded machine a module's tests can outlast
    the freshness limit (120 s) of the snapshots the fill collected."""
    with database(settings, migrate=False) as engine, engine.begin() as conn:
        conn.execute(exchange_data.update().values(updated_at=utcnow()))
