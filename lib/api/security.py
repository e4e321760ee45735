"""Who may change state through the API.

Reading is open (GET never changes anything). A mutating route (POST: clear the cache, start or
stop a backfill, shut the system down) needs `Authorization: Bearer <API_TOKEN>` when the
setting is set, compared in constant time; without a token it is accepted only from a loopback
client, and the server then listens on loopback only (`lib.api.binding`), so no other machine
reaches a route that needs no token. Cross-origin requests get no CORS headers: a page from
another site cannot read the answers, and a form it posts carries no bearer token.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from config.settings import Settings
from lib.api.binding import is_loopback
from lib.api.errors import ApiError


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def require_control(request: Request) -> None:
    """Dependency of every mutating route (see the module docstring)."""
    settings: Settings = request.app.state.settings
    if settings.API_TOKEN:
        given = _bearer(request)
        if given is None or not hmac.compare_digest(given.encode(), settings.API_TOKEN.encode()):
            raise ApiError(401, "unauthorized",
                           "this action needs the header Authorization: Bearer <API_TOKEN>",
                           headers={"WWW-Authenticate": "Bearer"})
        return
    client = request.client.host if request.client else None
    if not is_loopback(client):
        raise ApiError(403, "forbidden",
                       f"actions are accepted from this machine only (client {client}); set "
                       "API_TOKEN to allow them from elsewhere with a bearer token")
