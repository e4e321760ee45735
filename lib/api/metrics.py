"""`GET /metrics`: Prometheus text for the API and the collector, via prometheus_client.

One registry per app (tests build several apps in one process). Request latencies are timed by
a plain ASGI middleware, labelled by the route's template (`/api/contracts/{exchange}/{symbol}`,
not every symbol) so the label set stays small. The collector's figures (the last cycle per
exchange: records, duration, success, error) are read from `.collection_metrics.json` at
scrape time, and the cache's hit and miss counts from the cache, so nothing is double-counted.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from config.settings import Settings
from lib.api.cache import Cache
from lib.api.hits import HIT_ROUTE
from lib.runtime.files import METRICS_FILE, StatusFileError, read_json
from lib.timeutils import from_iso

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class CollectionCollector(Collector):
    """The last collection cycle, from the metrics file the collector rewrites each cycle."""

    def __init__(self, settings: Settings) -> None:
        self.path = settings.RUNTIME_DIR / METRICS_FILE
        self._lock = threading.Lock()
        self._last_batch: object = None
        self._cycles = 0
        self._failures = 0

    def _observe(self, doc: dict[str, Any]) -> tuple[int, int]:
        """Count a cycle (and its failed exchanges) the first time its batch is seen."""
        with self._lock:
            batch = doc.get("batch_id")
            if batch is not None and batch != self._last_batch:
                self._last_batch = batch
                self._cycles += 1
                self._failures += int(doc.get("exchanges_failed") or 0)
            return self._cycles, self._failures

    def collect(self) -> Iterator[Metric]:
        try:
            doc = read_json(self.path)
        except StatusFileError:
            doc = None
        readable = GaugeMetricFamily("funding_collection_metrics_readable",
                                     "1 when .collection_metrics.json exists and parses")
        readable.add_metric([], 1.0 if isinstance(doc, dict) else 0.0)
        yield readable
        if not isinstance(doc, dict) or not isinstance(doc.get("exchanges"), dict):
            return
        stamp = GaugeMetricFamily("funding_collection_last_cycle_timestamp_seconds",
                                  "When the last collection cycle ran (Unix time)")
        try:
            stamp.add_metric([], from_iso(str(doc.get("batch_timestamp"))).timestamp())
            yield stamp
        except ValueError:
            pass
        families: dict[str, GaugeMetricFamily | CounterMetricFamily] = {
            "records": GaugeMetricFamily("funding_collection_last_cycle_records",
                                         "Contracts collected in the last cycle",
                                         labels=["exchange"]),
            "duration": GaugeMetricFamily("funding_collection_last_cycle_duration_seconds",
                                          "Duration of the exchange's part of the last cycle",
                                          labels=["exchange"]),
            "success": GaugeMetricFamily("funding_collection_last_cycle_success",
                                         "1 when the exchange's part of the last cycle succeeded",
                                         labels=["exchange"]),
            "settled": CounterMetricFamily("funding_collection_settlements_stored",
                                           "Settled rates stored by the live collector",
                                           labels=["exchange"]),
        }
        for exchange, m in sorted(doc["exchanges"].items()):
            if not isinstance(m, dict):
                continue
            families["records"].add_metric([exchange], float(m.get("record_count") or 0))
            families["duration"].add_metric([exchange], float(m.get("duration_ms") or 0) / 1000)
            families["success"].add_metric([exchange], 1.0 if m.get("success") else 0.0)
            families["settled"].add_metric([exchange], float(m.get("settlements_stored") or 0))
        errors = GaugeMetricFamily("funding_collection_last_cycle_errors",
                                   "Exchanges that failed in the last cycle")
        errors.add_metric([], float(doc.get("exchanges_failed") or 0))
        cycles, failures = self._observe(doc)
        seen = CounterMetricFamily("funding_collection_cycles_observed",
                                   "Collection cycles this API process has seen (one per new "
                                   "batch in the metrics file at scrape time)")
        seen.add_metric([], float(cycles))
        failed = CounterMetricFamily("funding_collection_exchange_failures_observed",
                                     "Failed exchanges over the cycles this API process has seen")
        failed.add_metric([], float(failures))
        yield from families.values()
        yield from (errors, seen, failed)


class CacheCollector(Collector):
    """Hit and miss counts of the API cache."""

    def __init__(self, cache: Callable[[], Cache]) -> None:
        self.cache = cache

    def collect(self) -> Iterator[Metric]:
        stats = self.cache().stats()
        hits = CounterMetricFamily("funding_api_cache_hits", "API answers served from the cache",
                                   labels=["backend"])
        hits.add_metric([stats.backend], float(stats.hits))
        misses = CounterMetricFamily("funding_api_cache_misses",
                                     "API answers computed (not in the cache)", labels=["backend"])
        misses.add_metric([stats.backend], float(stats.misses))
        up = GaugeMetricFamily("funding_api_cache_available", "1 when the cache answers",
                               labels=["backend"])
        up.add_metric([stats.backend], 1.0 if stats.available else 0.0)
        yield from (hits, misses, up)


class ApiMetrics:
    """The app's registry and its request-latency histogram."""

    def __init__(self, settings: Settings, cache: Callable[[], Cache]) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram("funding_api_request_duration_seconds",
                                 "API request latency by route", ["method", "route", "status"],
                                 registry=self.registry, buckets=LATENCY_BUCKETS)
        self.registry.register(CollectionCollector(settings))
        self.registry.register(CacheCollector(cache))

    def render(self) -> bytes:
        return generate_latest(self.registry)


class LatencyMiddleware:
    """Times every HTTP request into `ApiMetrics.latency` (pure ASGI: no extra task a request)."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or scope.get(HIT_ROUTE) or "unmatched"
            self.metrics.latency.labels(scope.get("method", ""), template,
                                        str(status[0])).observe(time.perf_counter() - started)
