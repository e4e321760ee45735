"""The API's answer cache: in process by default, Redis when REDIS_URL is set.

Answers are cached as the JSON bytes sent, keyed by path and query, for API_CACHE_TTL seconds:
the collector refreshes every 30 s, so a dashboard polling every few seconds reads the database
once per TTL instead of once per poll. Redis lets several API workers share one cache. A Redis
that stops answering degrades the cache to none (every request computes its answer): logged
once when it goes and once when it comes back, never a 500, and not asked again for
`REDIS_RETRY_SECONDS` so that each request does not wait on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import redis

from config.redact import redact_url

logger = logging.getLogger(__name__)

REDIS_TIMEOUT_SECONDS = 0.5
REDIS_RETRY_SECONDS = 5.0
MAX_ENTRIES = 10_000  # in process: an answer per distinct query; beyond this the oldest go


@dataclass
class CacheStats:
    backend: str  # "memory", "redis" or "none"
    ttl_seconds: float
    hits: int
    misses: int
    entries: int | None
    available: bool
    errors: int = 0
    detail: str | None = None

    def as_dict(self) -> dict[str, Any]:
        total = self.hits + self.misses
        return {"backend": self.backend, "ttl_seconds": self.ttl_seconds, "hits": self.hits,
                "misses": self.misses, "hit_ratio": self.hits / total if total else None,
                "entries": self.entries, "available": self.available, "errors": self.errors,
                "detail": self.detail}


class Cache(Protocol):
    """What the routes use."""

    backend: str
    ttl: float

    def get(self, key: str, count: bool = True) -> bytes | None: ...

    def set(self, key: str, value: bytes) -> None: ...

    def clear(self) -> int: ...

    def stats(self) -> CacheStats: ...


class _Counts:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def count(self, hit: bool) -> None:
        with self._lock:
            if hit:
                self.hits += 1
            else:
                self.misses += 1


class MemoryCache:
    """A TTL cache in this process, safe across the threadpool's threads."""

    backend = "memory"

    def __init__(self, ttl: float, max_entries: int = MAX_ENTRIES,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._data: dict[str, tuple[float, bytes]] = {}
        self._counts = _Counts()

    def get(self, key: str, count: bool = True) -> bytes | None:
        """The entry, or None; counted as a hit or a miss unless `count` is False."""
        now = self._clock()
        with self._lock:
            found = self._data.get(key)
            if found is not None and found[0] <= now:
                del self._data[key]
                found = None
        if count:
            self._counts.count(found is not None)
        return None if found is None else found[1]

    def set(self, key: str, value: bytes) -> None:
        if self.ttl <= 0:
            return
        now = self._clock()
        with self._lock:
            if len(self._data) >= self.max_entries:
                expired = [k for k, (until, _) in self._data.items() if until <= now]
                for k in expired or list(self._data)[: self.max_entries // 10]:
                    del self._data[k]
            self._data[key] = (now + self.ttl, value)

    def clear(self) -> int:
        with self._lock:
            removed = len(self._data)
            self._data.clear()
        return removed

    def stats(self) -> CacheStats:
        with self._lock:
            entries = len(self._data)
        return CacheStats(self.backend, self.ttl, self._counts.hits, self._counts.misses,
                          entries, True)


class RedisCache:
    """The same cache in Redis, under `prefix`; a dead Redis is no cache, never an error."""

    backend = "redis"

    def __init__(self, url: str, ttl: float, prefix: str = "funding-arb:api:",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.prefix = prefix
        self.url = redact_url(url)
        self._clock = clock
        self._client = redis.Redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS, health_check_interval=30)
        self._counts = _Counts()
        self._lock = threading.Lock()
        self._down_until = 0.0
        self._down = False
        self._errors = 0
        self._last_error: str | None = None

    # -- degrading ---------------------------------------------------------------------------

    def _usable(self) -> bool:
        return not self._down or self._clock() >= self._down_until

    def _failed(self, e: Exception) -> None:
        with self._lock:
            self._errors += 1
            self._last_error = str(e) or type(e).__name__
            self._down_until = self._clock() + REDIS_RETRY_SECONDS
            if not self._down:
                self._down = True
                logger.warning("API cache: Redis at %s does not answer (%s): serving without a "
                               "cache, retrying every %.0f s", self.url, self._last_error,
                               REDIS_RETRY_SECONDS)

    def _worked(self) -> None:
        if self._down:
            with self._lock:
                if self._down:
                    self._down = False
                    logger.warning("API cache: Redis at %s answers again", self.url)

    def _call(self, action: Callable[[], Any]) -> tuple[bool, Any]:
        if not self._usable():
            return False, None
        try:
            result = action()
        except (redis.RedisError, OSError) as e:
            self._failed(e)
            return False, None
        self._worked()
        return True, result

    # -- the cache ---------------------------------------------------------------------------

    def get(self, key: str, count: bool = True) -> bytes | None:
        ok, value = self._call(lambda: self._client.get(self.prefix + key))
        found = value if ok and isinstance(value, bytes) else None
        if count:
            self._counts.count(found is not None)
        return found

    def set(self, key: str, value: bytes) -> None:
        if self.ttl <= 0:
            return
        millis = max(1, round(self.ttl * 1000))
        self._call(lambda: self._client.set(self.prefix + key, value, px=millis))

    def _keys(self) -> list[bytes]:
        return list(self._client.scan_iter(match=self.prefix + "*", count=500))

    def clear(self) -> int:
        def delete_all() -> int:
            keys = self._keys()
            return int(self._client.delete(*keys)) if keys else 0

        ok, removed = self._call(delete_all)
        return int(removed) if ok else 0

    def stats(self) -> CacheStats:
        ok, keys = self._call(self._keys)
        return CacheStats(self.backend, self.ttl, self._counts.hits, self._counts.misses,
                          len(keys) if ok else None, ok, self._errors,
                          None if ok else f"Redis at {self.url} does not answer: "
                                          f"{self._last_error}")

    def close(self) -> None:
        self._client.close()


class KeyLocks:
    """One lock per key being computed: when an entry expires under load, one request computes
    the answer and the others wait for it, instead of every one of them asking the database
    the same question at once."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}

    @contextmanager
    def hold(self, key: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            try:
                yield
            finally:
                with self._guard:
                    if self._locks.get(key) is lock:
                        del self._locks[key]

    def __len__(self) -> int:
        return len(self._locks)


def make_cache(redis_url: str, ttl: float, prefix: str | None = None) -> MemoryCache | RedisCache:
    """The cache the settings ask for."""
    if redis_url:
        return RedisCache(redis_url, ttl, prefix) if prefix else RedisCache(redis_url, ttl)
    return MemoryCache(ttl)
