"""Cache hits answered before routing: the warm path of every cached route.

A cached answer needs none of the routing, parameter validation and threadpool hop a route
costs (the routes that read the database are plain `def`, run in FastAPI's threadpool), so
`CachedAnswers`, a plain ASGI middleware, looks up every GET of a cached route's path and sends
a hit itself. Only answers a route computed successfully for the very same path and query are
in the cache, so a hit was validated when it was stored. A miss goes on to the route, marked so
that it is not looked up (or counted) twice. The in-process cache is read on the event loop (a
dict lookup); Redis in a worker thread.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

import anyio.to_thread
from starlette.types import ASGIApp, Receive, Scope, Send

# Paths of the routes that cache their answers (lib.api.listing.cached_json).
CACHED_PREFIXES = ("/api/funding-rates", "/api/contracts/", "/api/assets", "/api/exchanges",
                   "/api/statistics/", "/api/arbitrage/", "/api/backfill")
LOOKED_UP = "funding_arb.cache_looked_up"  # scope key: this request's miss is counted
HIT_ROUTE = "funding_arb.cached_route"  # scope key: the route template a hit stands for


def cache_key(path: str, query_string: bytes) -> str:
    """Path and query with the parameters in a fixed order: one entry per distinct question."""
    query = sorted(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    return path + "?" + "&".join(f"{k}={v}" for k, v in query)


def pack(route: str, body: bytes) -> bytes:
    """A cache entry: the route's template, a newline, the JSON body."""
    return route.encode() + b"\n" + body


def unpack(entry: bytes) -> tuple[str, bytes]:
    route, _, body = entry.partition(b"\n")
    return route.decode(), body


class CachedAnswers:
    """Answer GETs of cached routes from the app's cache (see the module docstring)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] != "GET"
                or not scope["path"].startswith(CACHED_PREFIXES)):
            await self.app(scope, receive, send)
            return
        cache = scope["app"].state.cache
        key = cache_key(scope["path"], scope["query_string"])
        if cache.backend == "memory":
            entry = cache.get(key)
        else:
            entry = await anyio.to_thread.run_sync(cache.get, key)
        if entry is None:
            scope[LOOKED_UP] = True
            await self.app(scope, receive, send)
            return
        route, body = unpack(entry)
        scope[HIT_ROUTE] = route
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
