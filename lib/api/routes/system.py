"""System routes: the settings in force, read-only with secrets masked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from config.redact import redact_text
from config.settings import SECRET_SETTINGS, Settings
from lib.api.errors import ERROR_RESPONSES

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
