"""The API cache on both backends: in process and in the real Redis on 127.0.0.1:6379 (keys
under a prefix of this test's own), shared by two apps as by two workers; and a Redis that goes
away (a server of this test's own, stopped) or was never there: no cache, never a 500."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import redis
from api_helpers import api_settings, make_client
from fastapi.testclient import TestClient

from lib.api.app import create_app
from lib.api.cache import KeyLocks, MemoryCache
from lib.storage.engine import database, upsert
from lib.storage.schema import exchange_data
from lib.timeutils import utcnow

SHARED_REDIS = "redis://127.0.0.1:6379/0"
DEADLINE = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def set_rate(url: str, rate: float) -> None:
    row = {"exchange": "okx", "symbol": "BTC-USDT-SWAP", "funding_rate": rate,
           "funding_interval_hours": 8.0, "updated_at": utcnow(), "base": "BTC",
           "canonical_symbol": "BTC/USDT:USDT"}
    with database(url=url) as engine, engine.begin() as conn:
        upsert(conn, exchange_data, [row])


def rate_of(client: TestClient) -> float:
    response = client.get("/api/funding-rates")
    assert response.status_code == 200, response.text
    return float(response.json()["data"][0]["funding_rate"])


def cache_stats(client: TestClient) -> dict:
    return client.get("/api/health/cache").json()["data"]


@pytest.fixture
def url(tmp_path: Path) -> str:
    """A SQLite database with one fresh snapshot (the cache does not depend on the engine)."""
    url = f"sqlite:///{tmp_path / 'cache.db'}"
    set_rate(url, 0.0001)
    return url


def test_memory_cache_ttl_counts_and_bounds() -> None:
    now = [100.0]
    cache = MemoryCache(ttl=10, max_entries=20, clock=lambda: now[0])
    assert cache.get("a") is None
    cache.set("a", b"1")
    assert cache.get("a") == b"1"
    now[0] += 10.0
    assert cache.get("a") is None
    stats = cache.stats()
    assert (stats.hits, stats.misses, stats.entries) == (1, 2, 0)
    for i in range(25):
        cache.set(str(i), b"x")
    entries = cache.stats().entries
    assert entries is not None and 0 < entries <= 20
    assert cache.get("24") == b"x"  # the newest stays
    assert cache.clear() == entries and cache.stats().entries == 0
    off = MemoryCache(ttl=0)
    off.set("a", b"1")
    assert off.get("a") is None


def test_memory_backend_serves_hits_until_cleared_or_expired(url: str, tmp_path: Path) -> None:
    with make_client(create_app(api_settings(url, tmp_path), static_dir=None)) as c:
        assert rate_of(c) == 0.0001
        set_rate(url, 0.0002)
        assert rate_of(c) == 0.0001  # from the cache
        stats = cache_stats(c)
        assert (stats["backend"], stats["hits"], stats["misses"]) == ("memory", 1, 1)
        cleared = c.post("/api/cache/clear").json()["data"]
        assert cleared["cleared"] >= 1 and cleared["cache"]["entries"] == 0
        assert rate_of(c) == 0.0002
    short = api_settings(url, tmp_path, API_CACHE_TTL="0.2")
    with make_client(create_app(short, static_dir=None)) as c:
        assert rate_of(c) == 0.0002
        set_rate(url, 0.0003)
        wait_for(lambda: rate_of(c) == 0.0003, "the entry to expire")


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"test-api-{uuid.uuid4().hex[:10]}:"
    yield name
    client = redis.Redis.from_url(SHARED_REDIS)
    keys = list(client.scan_iter(match=name + "*"))
    if keys:
        client.delete(*keys)
    client.close()


def test_redis_backend_is_shared_by_workers(url: str, tmp_path: Path, prefix: str) -> None:
    settings = api_settings(url, tmp_path, REDIS_URL=SHARED_REDIS)
    direct = redis.Redis.from_url(SHARED_REDIS)
    try:
        with make_client(create_app(settings, static_dir=None, cache_prefix=prefix)) as one, \
                make_client(create_app(settings, static_dir=None, cache_prefix=prefix)) as two:
            assert rate_of(one) == 0.0001
            keys = list(direct.scan_iter(match=prefix + "*"))
            assert len(keys) == 1 and b"/api/funding-rates" in keys[0]
            assert 0 < direct.pttl(keys[0]) <= 10_000
            set_rate(url, 0.0002)
            assert rate_of(two) == 0.0001  # the other worker computed it
            stats = cache_stats(two)
            assert (stats["backend"], stats["hits"], stats["misses"]) == ("redis", 1, 0)
            assert stats["available"] is True and stats["entries"] == 1
            assert one.post("/api/cache/clear").json()["data"]["cleared"] == 1
            assert list(direct.scan_iter(match=prefix + "*")) == []
            assert rate_of(two) == 0.0002
    finally:
        direct.close()


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[tuple[int, Callable[[], None], Callable[[], None]]]:
    """A redis-server of this test's own on a free port, with stop() and start()."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    procs: list[subprocess.Popen[bytes]] = []

    def start() -> None:
        procs.append(subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(tmp_path)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        client = redis.Redis(port=port, socket_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, "redis-server to answer")
        client.close()

    def stop() -> None:
        proc = procs[-1]
        proc.terminate()
        proc.wait(timeout=DEADLINE)

    start()
    try:
        yield port, stop, start
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=DEADLINE)


def test_redis_going_away_degrades_to_no_cache(url: str, tmp_path: Path, own_redis: tuple,
                                              caplog: pytest.LogCaptureFixture) -> None:
    port, stop, start = own_redis
    settings = api_settings(url, tmp_path, REDIS_URL=f"redis://127.0.0.1:{port}/0")
    caplog.set_level(logging.WARNING, logger="lib.api.cache")
    with make_client(create_app(settings, static_dir=None)) as c:
        assert rate_of(c) == 0.0001
        assert rate_of(c) == 0.0001 and cache_stats(c)["hits"] == 1
        stop()
        set_rate(url, 0.0002)
        for _ in range(5):
            assert rate_of(c) == 0.0002  # computed: no cache, no error
        stats = cache_stats(c)
        assert stats["available"] is False and "does not answer" in stats["detail"]
        assert c.post("/api/cache/clear").status_code == 200
        gone = [r for r in caplog.records if "does not answer" in r.getMessage()]
        assert len(gone) == 1
        start()
        wait_for(lambda: cache_stats(c)["available"], "the cache to come back")
        assert any("answers again" in r.getMessage() for r in caplog.records)
        set_rate(url, 0.0003)
        assert rate_of(c) == 0.0003
        assert rate_of(c) == 0.0003 and cache_stats(c)["entries"] == 1


def test_redis_never_there(url: str, tmp_path: Path) -> None:
    settings = api_settings(url, tmp_path, REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    with make_client(create_app(settings, static_dir=None)) as c:
        assert rate_of(c) == 0.0001
        set_rate(url, 0.0002)
        assert rate_of(c) == 0.0002
        assert cache_stats(c)["available"] is False
        body = c.post("/api/cache/clear").json()["data"]
        assert body["cleared"] == 0 and "not available" in body["message"]
        assert c.get("/metrics").status_code == 200



def test_concurrent_misses_compute_once_per_key() -> None:
    cache, locks = MemoryCache(ttl=60), KeyLocks()
    computed: list[str] = []

    def answer(key: str) -> bytes:
        with locks.hold(key):
            entry = cache.get(key)
            if entry is None:
                computed.append(key)
                entry = key.encode()
                cache.set(key, entry)
            return entry

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(answer, ["a"] * 16 + ["b"] * 16))
    assert results == [b"a"] * 16 + [b"b"] * 16
    assert sorted(computed) == ["a", "b"] and len(locks) == 0

    both = threading.Barrier(2, timeout=DEADLINE)  # two keys are computed at the same time

    def meet(key: str) -> None:
        with locks.hold(key):
            both.wait()

    with ThreadPoolExecutor(max_workers=2) as pool:
        list(pool.map(meet, ["x", "y"]))
    assert len(locks) == 0
