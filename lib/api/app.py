"""`create_app(settings)`: the FastAPI app, its shared state, routes and the web dashboard.

State on `app.state`: `settings`, `engine` (opened lazily: the API starts, and answers
/api/health with 503, while the database is down), `cache` and `metrics`, and `started` (for
uptime). Routes that read the database are plain `def` functions, which FastAPI runs in its
threadpool, so a slow query never blocks the event loop. The web dashboard's static files are
served at `/` when their folder exists; API routes come first, so they always win.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from config.settings import PROJECT_ROOT, Settings
from lib.api.cache import KeyLocks, MemoryCache, RedisCache, make_cache
from lib.api.errors import install_error_handlers
from lib.api.hits import CachedAnswers
from lib.api.metrics import ApiMetrics, LatencyMiddleware
from lib.api.routes import arbitrage, backfill, data, health, system
from lib.api.state import DatabaseHandle

logger = logging.getLogger(__name__)

STATIC_DIR = PROJECT_ROOT / "lib" / "dashboards" / "web" / "static"
DESCRIPTION = """Funding rates, spreads and opportunities across perpetual-futures exchanges.

Units: rates are decimal fractions (0.0001 = 0.01 %); rate_8h = rate x 8 / interval;
APR = rate x 8760 / interval, simple (not compounded), as a fraction (0.1 = 10 %).
Lists answer `{"data": [...], "meta": {"total", "limit", "offset", "sort"}}`, single objects
`{"data": {...}}`, errors `{"error": {"code", "message", "details"}}`. POST routes need
`Authorization: Bearer <API_TOKEN>` when API_TOKEN is set, else a loopback client.
"""


def create_app(settings: Settings, static_dir: Path | None = STATIC_DIR,
               cache_prefix: str | None = None) -> FastAPI:
    """The API for `settings`; `static_dir` (None: none) is served at `/` when it exists;
    `cache_prefix` names this app's keys in Redis (default: one prefix per database, so that
    workers of one deployment share answers and two deployments never do)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.database.dispose()
        cache = app.state.cache
        if isinstance(cache, RedisCache):
            cache.close()

    app = FastAPI(title="funding-arb API", version="1", description=DESCRIPTION,
                  lifespan=lifespan)
    if settings.REDIS_URL and cache_prefix is None:  # one database's answers, not another's
        from lib.storage.engine import database_fingerprint

        cache_prefix = f"funding-arb:api:{database_fingerprint(settings.database_url)}:"
    cache: MemoryCache | RedisCache = make_cache(settings.REDIS_URL, settings.API_CACHE_TTL,
                                                 cache_prefix)
    app.state.settings = settings
    app.state.database = DatabaseHandle(settings.database_url)
    app.state.cache = cache
    app.state.computing = KeyLocks()
    app.state.started = time.time()
    app.state.metrics = ApiMetrics(settings, lambda: app.state.cache)
    install_error_handlers(app)
    for module in (health, data, arbitrage, backfill, system):
        app.include_router(module.router)
    if static_dir is not None and static_dir.is_dir():
        app.mount("/", StaticFiles(directory=static_dir, html=True), name="web")
    app.add_middleware(CachedAnswers)
    app.add_middleware(LatencyMiddleware, metrics=app.state.metrics)  # outermost: times all
    logger.info("API ready: database %s, cache %s (ttl %gs)", settings.shown("DATABASE_URL")
                or "default SQLite file", cache.backend, settings.API_CACHE_TTL)
    return app
