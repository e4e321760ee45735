"""Where the API may listen: loopback, or anywhere once API_TOKEN is set.

Kept free of FastAPI so that `python -m lib.api` refuses a bad address before importing the
web stack (one line, at once).
"""

from __future__ import annotations

import ipaddress

from config.settings import Settings
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
    """ConfigurationError (one line) for a non-loopback API_HOST without API_TOKEN: the routes
    that need no token without one must not be reachable from other machines."""
    if not is_loopback(settings.API_HOST) and not settings.API_TOKEN:
        raise ConfigurationError(
            f"setting API_HOST={settings.API_HOST!r} is not a loopback address: set API_TOKEN "
            "so that other machines cannot change state through the API, or use 127.0.0.1")
