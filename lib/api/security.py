"""Who may change state through the API, and where the server may listen.

Reading is open (GET never changes anything). A mutating route (POST: clear the cache, start or
stop a backfill, shut the system down) needs `Authorization: Bearer <API_TOKEN>` when the
setting is set, compared in constant time; without a token it is accepted only from a loopback
client, and then the server itself only listens on loopback (`check_bind`), so no other machine
can reach a route that needs no token. Cross-origin requests get no CORS headers: a page from
another site cannot read the answers, and a form it posts carries no bearer token.
"""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import Request

from config.settings import Settings
from lib.api.errors import ApiError
from lib.errors import ConfigurationError


def is_loopback(host: str | None) -> bool:
    """True for 127.0.0.0/8, ::1 (IPv4-mapped too) and the name localhost."""
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return address.is_loopback


def check_bind(settings: Settings) -> None:
    """ConfigurationError (one line) for a non-loopback API_HOST without API_TOKEN."""
    if not is_loopback(settings.API_HOST) and not settings.API_TOKEN:
        raise ConfigurationError(
            f"setting API_HOST={settings.API_HOST!r} is not a loopback address: set API_TOKEN "
            "so that other machines cannot change state through the API, or use 127.0.0.1")


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
