"""What the keys do: through the API when it answers, else locally where that is possible.

    B  start a backfill   POST /api/backfill/start {days, exchanges}; API down: not possible
    X  stop the backfill  POST /api/backfill/stop; API down: SIGTERM to the pid that holds
                          .unified_backfill.lock (the backfill stops between contracts)
    C  clear the cache    POST /api/cache/clear; the cache is the API's: needs the API
    S  shut down          POST /api/shutdown; API down: not possible

Every action returns one `ActionResult` line for a notification; none raises, so a key never
takes the dashboard down.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
from dataclasses import dataclass

from config.settings import Settings
from lib.dashboards.terminal.api import ApiClient, ApiReply, ApiUnavailable
from lib.errors import FundingError
from lib.runtime.files import UNIFIED_LOCK_FILE, runtime_path
from lib.runtime.locks import FileLock

logger = logging.getLogger(__name__)

HELP = """[b]Keys[/b]
  [b]B[/b]  start a backfill of HISTORICAL_DAYS days, every exchange (asks first)
      API: POST /api/backfill/start.  API down: not possible (says so).
  [b]X[/b]  stop the running backfill
      API: POST /api/backfill/stop.  API down: SIGTERM to the pid holding
      .unified_backfill.lock; it stops between contracts (a re-run resumes).
  [b]C[/b]  clear the API's cache: POST /api/cache/clear (needs the API).
  [b]S[/b]  shut the whole system down (asks first)
      API: POST /api/shutdown.  API down: not possible (says so).
  [b]H[/b]  this help    [b]Q[/b]  quit (the system keeps running)

[b]Without the API[/b] every panel still works: they read the database,
.collection_metrics.json, .unified_backfill.status and the lock files.
Refreshes every 5 s. Collection status: OK; SLOW (over half the time
allowed per exchange); TIMEOUT; ERROR (with the reason).
APR is simple (not compounded); net APR is after taker fees over 7 days."""


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    via: str  # "API", "local" or "none"


def _api_answer(reply: ApiReply, done: str, what: str) -> ActionResult:
    if reply.ok:
        return ActionResult(True, done, "API")
    if reply.status == 409:
        return ActionResult(False, f"{what}: {reply.message}", "API")
    return ActionResult(False, f"{what} failed: {reply.message} (HTTP {reply.status})", "API")


class Actions:
    """The dashboard's keys, each one call; safe to run on a worker thread."""

    def __init__(self, settings: Settings, api: ApiClient) -> None:
        self.settings = settings
        self.api = api

    def start_backfill(self) -> ActionResult:
        days = self.settings.HISTORICAL_DAYS
        body = {"days": days, "exchanges": list(self.settings.EXCHANGES)}
        try:
            reply = self.api.post("/api/backfill/start", body)
        except ApiUnavailable as e:
            return ActionResult(False, f"cannot start a backfill: {e}", "none")
        return _api_answer(reply, f"backfill of {days} days started (via the API)",
                           "cannot start a backfill")

    def stop_backfill(self) -> ActionResult:
        try:
            reply = self.api.post("/api/backfill/stop")
        except ApiUnavailable:
            return self._stop_backfill_locally()
        return _api_answer(reply, "backfill asked to stop (via the API)",
                           "cannot stop the backfill")

    def _stop_backfill_locally(self) -> ActionResult:
        """SIGTERM to the lock's holder: the backfill's own graceful stop."""
        try:
            lock = FileLock(runtime_path(UNIFIED_LOCK_FILE, self.settings))
            if not lock.is_held():
                return ActionResult(False, "no backfill is running", "local")
            holder = lock.holder()
        except FundingError as e:
            return ActionResult(False, f"cannot stop the backfill: {e}", "local")
        if holder is None or holder.host != socket.gethostname():
            where = f"on host {holder.host}" if holder else "unnamed in its lock file"
            return ActionResult(False, f"cannot stop the backfill: its process is {where}",
                                "local")
        try:
            os.kill(holder.pid, signal.SIGTERM)
        except OSError as e:
            return ActionResult(False, f"cannot stop the backfill (pid {holder.pid}): "
                                       f"{e.strerror}", "local")
        return ActionResult(True, f"backfill (pid {holder.pid}) asked to stop (API down: "
                                  "signalled directly)", "local")

    def clear_cache(self) -> ActionResult:
        try:
            reply = self.api.post("/api/cache/clear")
        except ApiUnavailable as e:
            return ActionResult(False, f"cannot clear the cache: {e} (the cache is the API's)",
                                "none")
        return _api_answer(reply, "API cache cleared", "cannot clear the cache")

    def shutdown(self) -> ActionResult:
        try:
            reply = self.api.post("/api/shutdown")
        except ApiUnavailable as e:
            return ActionResult(False, f"cannot shut the system down: {e}", "none")
        return _api_answer(reply, "system shutting down (via the API)",
                           "cannot shut the system down")
