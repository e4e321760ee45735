"""Health: is the database there and current, is each exchange fresh; the cache; /metrics.

`GET /api/health` answers 200 while the database answers with the schema this code expects
(status "ok", or "degraded" when an exchange is stale or failed its last cycle), and 503 when
it does not (status "unavailable"): a load balancer or `start.py` can act on the code alone.
Freshness per exchange is the age of its newest snapshot in `exchange_data`, beside the result
of its part of the last collection cycle from `.collection_metrics.json`.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import Connection, func, select

from config.settings import Settings
from lib.analytics.current import DEFAULT_MAX_AGE
from lib.api.errors import CONTROL_RESPONSES, ERROR_RESPONSES
from lib.api.listing import iso, json_bytes_response, to_json
from lib.api.metrics import CONTENT_TYPE
from lib.api.security import require_control
from lib.api.state import engine_of
from lib.errors import FundingError
from lib.runtime.files import METRICS_FILE, StatusFileError, read_json
from lib.storage.schema import (
    SCHEMA_VERSION,
    analytics_watermarks,
    arbitrage_spread_statistics,
    exchange_data,
    funding_statistics,
)
from lib.timeutils import utcnow

router = APIRouter(tags=["health"], responses=ERROR_RESPONSES)


def collection_metrics(settings: Settings) -> tuple[dict[str, Any] | None, str | None]:
    """The last cycle's metrics file, or None with the reason it cannot be read."""
    try:
        doc = read_json(settings.RUNTIME_DIR / METRICS_FILE)
    except StatusFileError as e:
        return None, str(e)
    if doc is None:
        return None, "no collection cycle has run yet (.collection_metrics.json is missing)"
    return doc, None


def _last_cycle(doc: dict[str, Any] | None, exchange: str) -> dict[str, Any] | None:
    entries = doc.get("exchanges") if doc else None
    entry = entries.get(exchange) if isinstance(entries, dict) else None
    if not isinstance(entry, dict):
        return None
    return {"at": doc.get("batch_timestamp") if doc else None, "success": entry.get("success"),
            "error": entry.get("error"), "duration_ms": entry.get("duration_ms"),
            "record_count": entry.get("record_count")}


def _newest(conn: Connection) -> dict[str, tuple[datetime, int]]:
    e = exchange_data.c
    rows = conn.execute(select(e.exchange, func.max(e.updated_at), func.count())
                        .group_by(e.exchange))
    return {ex: (newest, int(n)) for ex, newest, n in rows}


def _database(request: Request) -> tuple[dict[str, Any], dict[str, tuple[datetime, int]]]:
    from lib.storage.engine import describe_url, translate_error
    from lib.storage.migrations import read_version

    settings: Settings = request.app.state.settings
    info: dict[str, Any] = {"ok": False, "database": describe_url(settings.database_url),
                            "schema_version": None, "expected_schema_version": SCHEMA_VERSION,
                            "error": None}
    try:
        with engine_of(request).connect() as conn:
            version = read_version(conn)
            info["schema_version"] = version
            if version != SCHEMA_VERSION:
                info["error"] = ("no schema yet: start.py or any collector creates it"
                                 if version is None else
                                 f"schema version {version}, this code expects {SCHEMA_VERSION}: "
                                 "start.py or database_tools.py init upgrades it")
                return info, {}
            newest = _newest(conn)
    except FundingError as e:
        info["error"] = str(e)
        return info, {}
    except Exception as e:  # any driver error means "database unavailable"
        info["error"] = str(translate_error(e, settings.database_url))
        return info, {}
    info["ok"] = True
    return info, newest


@router.get("/api/health", summary="Database, schema version and per-exchange freshness "
            "(200 ok or degraded, 503 unavailable)")
def get_health(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    now = utcnow()
    database, newest = _database(request)
    doc, metrics_problem = collection_metrics(settings)
    exchanges = {}
    degraded = []
    for ex in settings.EXCHANGES:
        stamp, count = newest.get(ex, (None, 0))
        age = (now - stamp).total_seconds() if stamp else None
        fresh = age is not None and age <= DEFAULT_MAX_AGE.total_seconds()
        last = _last_cycle(doc, ex)
        if not fresh or (last is not None and not last["success"]):
            degraded.append(ex)
        exchanges[ex] = {"newest_snapshot": iso(stamp), "age_seconds": age, "fresh": fresh,
                         "snapshots": count, "last_cycle": last}
    status = "unavailable" if not database["ok"] else ("degraded" if degraded else "ok")
    body = {"data": {
        "status": status, "checked_at": now.isoformat(), "database": database,
        "max_age_seconds": DEFAULT_MAX_AGE.total_seconds(), "exchanges": exchanges,
        "degraded_exchanges": degraded, "collection_metrics_problem": metrics_problem,
        "uptime_seconds": round(time.time() - request.app.state.started, 3),
    }}
    return json_bytes_response(to_json(body), 200 if database["ok"] else 503)


def _job_runs(conn: Connection) -> dict[str, Any]:
    s, sp, w = funding_statistics.c, arbitrage_spread_statistics.c, analytics_watermarks.c
    z_at, z_rows = conn.execute(select(func.max(s.calculated_at), func.count())).one()
    sp_at, sp_rows = conn.execute(select(func.max(sp.calculated_at), func.count())).one()
    marks = {job: at for job, at in conn.execute(select(w.job, w.watermark))}
    return {
        "zscores": {"last_run": iso(z_at), "statistics_rows": int(z_rows)},
        "spreads": {"last_series_build": iso(marks.get("spreads")),
                    "last_statistics_run": iso(sp_at), "statistics_rows": int(sp_rows)},
    }


@router.get("/api/health/performance",
            summary="Last collection cycle per exchange, z-score and spread job runs, uptime")
def get_performance(request: Request) -> Response:
    settings: Settings = request.app.state.settings
    doc, problem = collection_metrics(settings)
    with engine_of(request).connect() as conn:
        jobs = _job_runs(conn)
    cycle = None
    if doc is not None:
        cycle = {k: doc.get(k) for k in ("batch_id", "batch_timestamp", "duration_ms",
                                         "total_records", "exchanges_ok", "exchanges_failed")}
        cycle["exchanges"] = doc.get("exchanges")
    body = {"data": {"collection": cycle, "collection_metrics_problem": problem, **jobs,
                     "uptime_seconds": round(time.time() - request.app.state.started, 3),
                     "cache": request.app.state.cache.stats().as_dict()}}
    return json_bytes_response(to_json(body))


@router.get("/api/health/cache", summary="Cache backend, TTL, hits, misses, entries")
def get_cache(request: Request) -> dict[str, Any]:
    return {"data": request.app.state.cache.stats().as_dict()}


@router.post("/api/cache/clear", summary="Empty the API cache (needs control rights)",
             dependencies=[Depends(require_control)], responses=CONTROL_RESPONSES)
def clear_cache(request: Request) -> dict[str, Any]:
    cache = request.app.state.cache
    removed = cache.clear()
    stats = cache.stats()
    if not stats.available:
        return {"data": {"cleared": 0, "message": "the cache is not available; nothing to clear",
                         "cache": stats.as_dict()}}
    return {"data": {"cleared": removed, "cache": stats.as_dict()}}


@router.get("/metrics", summary="Prometheus metrics (text format)")
def get_metrics(request: Request) -> Response:
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE)

