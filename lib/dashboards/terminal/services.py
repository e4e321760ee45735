"""The services panel's data: what runs, from what the system leaves behind.

start.py and its children come from its state file (`lib.system.read_state`), believed only
while start.py's single-instance lock is held (a state file outlives a killed start.py). The
collector's row adds the age of its last cycle (from the metrics file), the API's the answer of
its health route, the backfill's the history lock; the database's is the last read. So the
panel says something true with any part of the system down, the API included.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime
from typing import Any

from config.settings import Settings
from lib.dashboards.terminal.api import ApiClient, ApiUnavailable
from lib.dashboards.terminal.views import (
    BackfillView,
    CollectionView,
    DatabaseView,
    ServiceRow,
    ServicesView,
)
from lib.runtime.files import StatusFileError
from lib.system.children import API, BACKFILL, COLLECTOR
from lib.system.state import read_state, start_lock
from lib.timeutils import from_iso

logger = logging.getLogger(__name__)

OK_CHILD_STATES = ("running", "skipped", "stopped")


def _ago(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s ago"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


def _since(value: object, now: datetime) -> str:
    try:
        started = from_iso(str(value))
    except ValueError:
        return "?"
    return _ago((now - started).total_seconds()).removesuffix(" ago")


def collector_row(view: CollectionView) -> ServiceRow:
    """What the metrics file says: 'fresh' (a cycle within two intervals), or 'stale'."""
    if view.age_s is None:
        return ServiceRow("collector", "no cycle yet", ok=False)
    if view.stale:
        return ServiceRow("collector", "stale", f"last cycle {_ago(view.age_s)}", ok=False)
    return ServiceRow("collector", "fresh", f"last cycle {_ago(view.age_s)}")


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
    """GET /api/health: 'up' with the API's own verdict (ok, degraded, unavailable: the
    database) on any JSON answer, 'error' on another answer, 'down' on none."""
    try:
        reply = client.health()
    except ApiUnavailable:
        return ServiceRow("API", "down", client.base_url, ok=False)
    data = reply.body.get("data") if isinstance(reply.body, dict) else None
    status = data.get("status") if isinstance(data, dict) else None
    if status:
        return ServiceRow("API", "up", str(status), ok=status == "ok")
    if reply.ok:
        return ServiceRow("API", "up", client.base_url)
    return ServiceRow("API", "error", f"{client.base_url}: {reply.message}", ok=False)


def child_row(name: str, child: dict[str, Any]) -> ServiceRow:
    """One of start.py's children: state, pid, restarts, last exit code, message."""
    state = str(child.get("state") or "?")
    parts = []
    if child.get("pid") and state == "running":
        parts.append(f"pid {child['pid']}")
    if child.get("restarts"):
        parts.append(f"{child['restarts']} restarts")
    if child.get("last_exit_code") is not None:
        parts.append(f"exit {child['last_exit_code']}")
    if child.get("message"):
        parts.append(str(child["message"]))
    ok = state in OK_CHILD_STATES or (state == "exited" and child.get("last_exit_code") == 0)
    return ServiceRow(name, state, ", ".join(parts), ok=ok)


def start_rows(state: dict[str, Any] | None, alive: bool, now: datetime) -> list[ServiceRow]:
    """start.py's row and, while it runs, one per child."""
    if not alive:
        detail = "no state file" if state is None else f"last ran until {state.get('updated_at')}"
        return [ServiceRow("start.py", "not running", detail, ok=False)]
    if state is None:
        return [ServiceRow("start.py", "starting", "no state file yet")]
    top = ServiceRow("start.py", str(state.get("state") or "?"),
                     f"pid {state.get('pid')}, up {_since(state.get('started_at'), now)}"
                     + (", simulated" if state.get("simulate") else ""),
                     ok=state.get("state") == "running")
    children = state.get("children")
    if not isinstance(children, dict):
        children = {}
    return [top, *(child_row(str(n), c) for n, c in children.items() if isinstance(c, dict))]


def read_start(settings: Settings, now: datetime) -> list[ServiceRow]:
    try:
        alive = start_lock(settings).is_held()
        state = read_state(settings)
    except StatusFileError as e:
        return [ServiceRow("start.py", "unknown", str(e), ok=False)]
    return start_rows(state, alive, now)


def _merge(row: ServiceRow, extra: ServiceRow) -> ServiceRow:
    """A child's row with what its own source says (its last cycle, its health)."""
    details = [row.detail, *(d for d in extra.detail.split(", ") if d not in row.detail)]
    detail = ", ".join(d for d in details if d)
    state = extra.state if row.state == "running" and not extra.ok else row.state
    return replace(row, state=state, detail=detail, ok=row.ok and extra.ok)


def services_view(start: list[ServiceRow], api: ServiceRow, api_url: str,
                  collection: CollectionView, database: DatabaseView,
                  backfill: BackfillView) -> ServicesView:
    """start.py's row, the database's, then start.py's children with the collector's, API's
    and backfill's own sources merged into the children of those names (or added where
    start.py has none)."""
    own = {COLLECTOR: collector_row(collection), API: api, BACKFILL: backfill_row(backfill)}
    rows = [start[0], database_row(database)]
    for row in start[1:]:
        extra = own.pop(row.name, None)
        rows.append(_merge(row, extra) if extra is not None else row)
    order = [COLLECTOR, BACKFILL]
    rows += [own[name] for name in order if name in own]
    if API in own:
        rows.append(own[API])
    return ServicesView(rows=rows, api_up=api.state == "up", api_url=api_url)
