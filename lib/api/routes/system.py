"""System routes: shut the whole system down; the settings in force, read-only, secrets masked.

`POST /api/shutdown` takes the same path as `shutdown_dashboard.py`: it starts that script
detached (`lib.system.shutdown.request_shutdown`) and answers at once, 202 with what it is
stopping, since the API is itself one of the children start.py stops; 200 "nothing running"
when start.py's state file names no live process.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from config.redact import redact_text
from config.settings import SECRET_SETTINGS, Settings
from lib.api.errors import CONTROL_RESPONSES, ERROR_RESPONSES
from lib.api.listing import json_bytes_response, to_json
from lib.api.security import require_control

router = APIRouter(tags=["system"], responses=ERROR_RESPONSES)


def _plain(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def settings_view(settings: Settings) -> dict[str, Any]:
    """Every setting as shown to people: secrets only as set or not, URLs without passwords."""
    return {f.name: _plain(settings.shown(f.name)) for f in fields(settings)} | {
        "secrets": sorted(SECRET_SETTINGS)}


@router.get("/api/settings", summary="The settings in force (read-only; secrets masked)")
def get_settings_route(request: Request) -> dict[str, Any]:
    return {"data": settings_view(request.app.state.settings)}


@router.post("/api/shutdown", dependencies=[Depends(require_control)],
             responses={**CONTROL_RESPONSES, 202: {"description": "Stopping: what and how"}},
             summary="Stop start.py and every child through its state file, as "
                     "shutdown_dashboard.py does (202 stopping, 200 nothing running)")
def shutdown(request: Request) -> Response:
    from lib.system.shutdown import SHUTDOWN_OUTPUT_LOG, request_shutdown

    settings: Settings = request.app.state.settings
    requested = request_shutdown(settings)
    body = {"data": {"stopping": requested.pid is not None, "pid": requested.pid,
                     "running": requested.running, "message": requested.message,
                     "log": str(settings.LOG_DIR / SHUTDOWN_OUTPUT_LOG)
                     if requested.pid is not None else None}}
    return json_bytes_response(to_json(body), 202 if requested.pid is not None else 200)
