"""One refresh: every panel's data, gathered on a worker thread (never the UI's).

Each source is read on its own and fails on its own (its panel shows the error line), so a
corrupt status file or a database that is down leaves the other panels live.
"""

from __future__ import annotations

import logging

from config.settings import Settings
from lib.dashboards.terminal.api import ApiClient
from lib.dashboards.terminal.backfill import read_backfill
from lib.dashboards.terminal.collection import read_collection
from lib.dashboards.terminal.database import DatabaseReader
from lib.dashboards.terminal.services import probe_api, read_start, services_view
from lib.dashboards.terminal.views import Snapshot
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)


class Gatherer:
    """Keeps the database engine and the API session between refreshes."""

    def __init__(self, settings: Settings, api: ApiClient | None = None) -> None:
        self.settings = settings
        self.api = api or ApiClient(settings)
        self.reader = DatabaseReader(settings.database_url)

    def gather(self) -> Snapshot:
        now = utcnow()
        collection = read_collection(self.settings, now)
        backfill = read_backfill(self.settings)
        database, top = self.reader.read()
        start = read_start(self.settings, now)
        api = probe_api(self.api)
        services = services_view(start, api, self.api.base_url, collection, database,
                                 backfill)
        return Snapshot(now, services, collection, database, backfill, top)

    def close(self) -> None:
        self.reader.close()
        self.api.close()
