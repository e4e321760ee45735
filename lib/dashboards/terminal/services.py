"""The services panel's data: what runs, from what the system leaves behind.

start.py's children come from its state file (`lib.system.read_state`) when start.py has
written one; the collector's state from the age of its last cycle, the backfill's from its lock,
the database's from the last read and the API's from its health route. So the panel says
something true with any part of the system down, including the API.
"""

from __future__ import annotations

import logging

from config.settings import Settings
from lib.dashboards.terminal.api import ApiClient, ApiUnavailable
from lib.dashboards.terminal.views import (
    BackfillView,
    CollectionView,
    DatabaseView,
    ServiceRow,
    ServicesView,
)

logger = logging.getLogger(__name__)


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def collector_row(view: CollectionView) -> ServiceRow:
    if view.age_s is None:
        return ServiceRow("collector", "no cycle yet", ok=False)
    if view.stale:
        return ServiceRow("collector", "stale", f"last cycle {_ago(view.age_s)}", ok=False)
    return ServiceRow("collector", "running", f"last cycle {_ago(view.age_s)}")


def backfill_row(view: BackfillView) -> ServiceRow:
    if view.error:
        return ServiceRow("backfill", "unknown", view.error, ok=False)
    if view.running:
        return ServiceRow("backfill", "running", view.holder or "")
    return ServiceRow("backfill", "idle", f"last: {view.state}" if view.state else "")


def database_row(view: DatabaseView) -> ServiceRow:
    if view.error:
        return ServiceRow("database", "error", view.error, ok=False)
    return ServiceRow("database", "ok", f"{view.database}, schema v{view.schema_version}")


def probe_api(client: ApiClient) -> ServiceRow:
    """GET /api/health: 'up' on a 2xx, 'error' on any other answer, 'down' on none."""
    try:
        reply = client.health()
    except ApiUnavailable:
        return ServiceRow("API", "down", client.base_url, ok=False)
    if reply.ok:
        status = reply.body.get("status") if isinstance(reply.body, dict) else None
        return ServiceRow("API", "up", f"{client.base_url} {status or ''}".rstrip())
    return ServiceRow("API", "error", f"{client.base_url}: {reply.message}", ok=False)


def system_rows(settings: Settings) -> list[ServiceRow]:
    """start.py and its children, from start.py's state file; none while it has written none."""
    return []


def services_view(system: list[ServiceRow], api: ServiceRow, api_url: str,
                  collection: CollectionView, database: DatabaseView,
                  backfill: BackfillView) -> ServicesView:
    rows = [*system, collector_row(collection), backfill_row(backfill), database_row(database),
            api]
    return ServicesView(rows=rows, api_up=api.state == "up", api_url=api_url)
