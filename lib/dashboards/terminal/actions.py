"""What the keys do: through the API when it answers, else locally through `lib.system`.

    B  start a backfill   POST /api/backfill/start {days, exchanges}; API down:
                          lib.system.start_backfill (a detached scripts/unified_historical_
                          backfill.py --days HISTORICAL_DAYS --parallel)
    X  stop the backfill  POST /api/backfill/stop; API down: lib.system.stop_backfill (SIGTERM
                          to the history job holding the lock, SIGKILL after a timeout)
    C  clear the cache    POST /api/cache/clear; the cache is the API's: needs the API
    S  shut down          POST /api/shutdown; API down: lib.system.stop_system (start.py and
                          every child, through start.py's state file)

Every action returns one `ActionResult` line for a notification; none raises, so a key never
takes the dashboard down.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from config.settings import Settings
from lib.dashboards.terminal.api import ApiClient, ApiReply, ApiUnavailable
from lib.errors import FundingError
from lib.system.backfill import start_backfill, stop_backfill
from lib.system.shutdown import stop_system

logger = logging.getLogger(__name__)

HELP = """[b]Keys[/b]  (each goes through the API; where it is down, B, X and S act directly)
  [b]B[/b]  start a backfill of HISTORICAL_DAYS days, every exchange (asks first)
      API: POST /api/backfill/start.  Down: starts the backfill script itself.
  [b]X[/b]  stop the running backfill (it stops between contracts; a re-run resumes)
      API: POST /api/backfill/stop.  Down: SIGTERM to the history job's pid.
  [b]C[/b]  clear the API's cache: POST /api/cache/clear (needs the API).
  [b]S[/b]  shut the whole system down: start.py and its children (asks first)
      API: POST /api/shutdown.  Down: stops them through start.py's state file.
  [b]H[/b]  this help    [b]Q[/b]  quit the dashboard (the system keeps running)

[b]Without the API[/b] every panel still works: they read the database,
.collection_metrics.json, .unified_backfill.status, start.py's state file and
the lock files. Refreshes every 5 s. Collection status: OK; SLOW (over half
the time allowed per exchange); TIMEOUT; ERROR (with the reason).
APR is simple (not compounded); net APR is after taker fees over 7 days."""


@dataclass(frozen=True)
class ActionResult:
    ok: bool
    message: str
    via: str  # "API", "local" or "none"


def _api_answer(reply: ApiReply, done: str, what: str, did: str | None = None) -> ActionResult:
    """The API's answer in one line: its own message when it gives one. `did` names the
    answer's flag that says whether anything was done (a stop with nothing running is a 200
    that did nothing)."""
    if reply.ok:
        said = reply.data.get("message")
        ok = reply.data.get(did, True) is not False if did else True
        return ActionResult(ok, f"{said} (via the API)" if isinstance(said, str) else done,
                            "API")
    if reply.status == 409:
        return ActionResult(False, f"{what}: {reply.message}", "API")
    return ActionResult(False, f"{what}: {reply.message} (HTTP {reply.status})", "API")


class Actions:
    """The dashboard's keys, each one call; safe to run on a worker thread."""

    def __init__(self, settings: Settings, api: ApiClient) -> None:
        self.settings = settings
        self.api = api

    def start_backfill(self) -> ActionResult:
        days = self.settings.HISTORICAL_DAYS
        exchanges = list(self.settings.EXCHANGES)
        try:
            reply = self.api.post("/api/backfill/start", {"days": days, "exchanges": exchanges})
        except ApiUnavailable:
            try:
                # the child gets the EXCHANGES setting from its environment: no --exchanges
                started = start_backfill(self.settings, days)
            except FundingError as e:  # another history job holds the lock, ...
                return ActionResult(False, str(e), "local")
            return ActionResult(True, f"{started.message} (API down: started directly)",
                                "local")
        return _api_answer(reply, f"backfill of {days} days started (via the API)",
                           "cannot start a backfill")

    def stop_backfill(self) -> ActionResult:
        try:
            reply = self.api.post("/api/backfill/stop")
        except ApiUnavailable:
            try:
                stopped = stop_backfill(self.settings)
            except FundingError as e:
                return ActionResult(False, f"cannot stop the backfill: {e}", "local")
            suffix = " (API down: stopped directly)" if stopped.stopped else ""
            return ActionResult(stopped.stopped, stopped.message + suffix, "local")
        return _api_answer(reply, "backfill asked to stop (via the API)",
                           "cannot stop the backfill", did="stopped")

    def clear_cache(self) -> ActionResult:
        try:
            reply = self.api.post("/api/cache/clear")
        except ApiUnavailable as e:
            return ActionResult(False, f"cannot clear the cache: {e} (the cache is the API's)",
                                "none")
        cleared = reply.data.get("cleared")
        done = "API cache cleared" + (f" ({cleared} entries)" if isinstance(cleared, int) else "")
        return _api_answer(reply, done, "cannot clear the cache")

    def shutdown(self) -> ActionResult:
        try:
            reply = self.api.post("/api/shutdown")
        except ApiUnavailable:
            try:
                report = stop_system(self.settings)
            except FundingError as e:
                return ActionResult(False, f"cannot shut the system down: {e}", "local")
            if report.nothing_running:
                return ActionResult(False, "nothing to shut down: start.py is not running",
                                    "local")
            return ActionResult(True, "system shut down (API down: stopped directly): "
                                + "; ".join(report.stopped), "local")
        return _api_answer(reply, "system shutting down (via the API)",
                           "cannot shut the system down", did="stopping")
