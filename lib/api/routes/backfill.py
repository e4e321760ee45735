"""Backfill routes: the status of the history backfill (and its legacy path).

The answer is `check_backfill_status.py`'s, as data: the status file's progress per exchange,
whether a run holds the lock (and who), and what the database holds now against the
completeness threshold. No status file yet is a 404 with code `no_backfill_status`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from config.settings import Settings
from lib.api.errors import ERROR_RESPONSES, ApiError
from lib.api.listing import cached_json
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
