"""Backfill routes: the status of the history backfill (and its legacy path); start and stop.

The status is `check_backfill_status.py`'s answer, as data: the status file's progress per
exchange, whether a run holds the lock (and who), and what the database holds now against the
completeness threshold. No status file yet is a 404 with code `no_backfill_status`. Start and
stop are `lib.system.backfill` (the terminal dashboard's B and X): the backfill runs as its own
process, never inside the server; a start while a history job holds a lock is a 409 naming it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from config.settings import Settings, parse_exchange_names
from lib.api.errors import CONTROL_RESPONSES, ERROR_RESPONSES, ApiError, ErrorBody
from lib.api.listing import cached_json
from lib.api.security import require_control
from lib.errors import ConfigurationError, LockHeldError
from lib.runtime.files import REPAIR_LOCK_FILE, UNIFIED_LOCK_FILE
from lib.runtime.locks import FileLock

router = APIRouter(tags=["backfill"], responses=ERROR_RESPONSES)


def lock_state(settings: Settings) -> dict[str, Any]:
    """Both history locks: held or not, and the holder their files name."""
    out = {}
    for kind, name in (("unified", UNIFIED_LOCK_FILE), ("repair", REPAIR_LOCK_FILE)):
        lock = FileLock(settings.RUNTIME_DIR / name)
        held = lock.is_held()
        holder = lock.holder() if held else None
        out[kind] = {"held": held, "file": name,
                     "holder": None if holder is None else {
                         "pid": holder.pid, "host": holder.host, "command": holder.command,
                         "started_at": holder.started_at, "description": holder.describe()}}
    return out


def backfill_status(settings: Settings) -> dict[str, Any]:
    from lib.history.report import EXIT_NO_STATUS, check_status

    locks = lock_state(settings)
    report = check_status(settings)
    if report.code == EXIT_NO_STATUS:
        running = [k for k, v in locks.items() if v["held"]]
        raise ApiError(404, "no_backfill_status", "no backfill has run yet for this database "
                       f"(no {report.data['path']})" + (
                           f"; a {running[0]} history job is running now" if running else ""),
                       {"locks": locks})
    return {"data": {**report.data, "summary": report.text.splitlines()[-1],
                     "locks": locks}}


@router.get("/api/backfill/status", summary="History backfill: progress per exchange, lock "
            "holder, completeness of the stored history against the threshold")
def get_backfill_status(request: Request) -> Response:
    return cached_json(request, lambda: backfill_status(request.app.state.settings))


@router.get("/api/backfill-status", summary="Legacy path of GET /api/backfill/status")
def get_backfill_status_legacy(request: Request) -> Response:
    return cached_json(request, lambda: backfill_status(request.app.state.settings))


class BackfillRequest(BaseModel):
    """What to backfill; both optional (the settings' HISTORICAL_DAYS and EXCHANGES)."""

    model_config = ConfigDict(extra="forbid")

    days: float | None = Field(default=None, gt=0, le=3650, allow_inf_nan=False,
                               description="days of history (default HISTORICAL_DAYS)")
    exchanges: list[str] | None = Field(default=None, min_length=1, max_length=64,
                                        description="exchange ids (default all configured)")


@router.post("/api/backfill/start", status_code=202, dependencies=[Depends(require_control)],
             responses={**CONTROL_RESPONSES, 409: {
                 "model": ErrorBody, "description": "A history job holds the lock: it is named"}},
             summary="Start the history backfill (unified_historical_backfill.py --days N "
                     "--parallel) as its own process; 409 naming the holder when a history job "
                     "runs")
def start_backfill_route(request: Request, body: BackfillRequest | None = None,
                         ) -> dict[str, Any]:
    from lib.system.backfill import start_backfill

    settings: Settings = request.app.state.settings
    body = body or BackfillRequest()
    try:
        exchanges = (parse_exchange_names(",".join(body.exchanges), "exchanges")
                     if body.exchanges else None)
    except ConfigurationError as e:
        message = str(e).removeprefix("setting ")
        raise ApiError(422, "invalid_parameter", message,
                       [{"loc": ["body", "exchanges"], "msg": message}]) from None
    try:
        started = start_backfill(settings, body.days, exchanges)
    except LockHeldError as e:
        raise ApiError(409, "lock_held", str(e), {"locks": lock_state(settings)}) from e
    finally:
        request.app.state.cache.clear()
    return {"data": {"pid": started.pid, "command": started.command, "log": str(started.log),
                     "message": started.message}}


@router.post("/api/backfill/stop", dependencies=[Depends(require_control)],
             responses=CONTROL_RESPONSES,
             summary="Stop the running history job through the pid its lock file names "
                     "(SIGTERM, SIGKILL after SUPERVISOR_STOP_TIMEOUT); says what it did")
def stop_backfill_route(request: Request) -> dict[str, Any]:
    from lib.system.backfill import stop_backfill

    stopped = stop_backfill(request.app.state.settings)
    request.app.state.cache.clear()
    return {"data": {"stopped": stopped.stopped, "pid": stopped.pid,
                     "message": stopped.message}}
