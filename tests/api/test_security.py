"""Who may change state: a bearer token when API_TOKEN is set, else loopback clients only; no
GET changes state; secrets never shown; a non-loopback bind without a token is refused. Run
in-process (TestClient with a chosen client address) and as a real uvicorn on 127.0.0.1."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from api_helpers import api_settings, make_client
from fastapi.routing import APIRoute

from config.settings import load_settings
from lib.api.app import create_app
from lib.api.binding import is_loopback
from lib.api.routes import arbitrage, backfill, data, health, system
from lib.api.security import require_control
from lib.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "s3cret-token-0123456789abcdef"
DEADLINE = 60.0


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'api.db'}"


@pytest.mark.parametrize(("host", "allowed"), [
    (("127.0.0.1", 5000), True), (("127.9.9.9", 5000), True), (("::1", 5000), True),
    (("192.0.2.10", 5000), False), (("10.0.0.1", 5000), False), (("testclient", 5000), False),
])
def test_without_a_token_only_loopback_may_act(url: str, tmp_path: Path,
                                               host: tuple[str, int], allowed: bool) -> None:
    app = create_app(api_settings(url, tmp_path), static_dir=None)
    with make_client(app, client=host) as c:
        response = c.post("/api/cache/clear")
        assert response.status_code == (200 if allowed else 403)
        if not allowed:
            error = response.json()["error"]
            assert error["code"] == "forbidden" and host[0] in error["message"]
        assert c.get("/api/health/cache").status_code == 200  # reading is open


def test_with_a_token_every_client_needs_it(url: str, tmp_path: Path) -> None:
    app = create_app(api_settings(url, tmp_path, API_TOKEN=TOKEN), static_dir=None)
    for host in (("127.0.0.1", 5000), ("192.0.2.10", 5000)):
        with make_client(app, client=host) as c:
            for headers in ({}, {"Authorization": "Bearer wrong-token-0123456789"},
                            {"Authorization": f"Basic {TOKEN}"},
                            {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": "Bearer"}):
                response = c.post("/api/cache/clear", headers=headers)
                assert response.status_code == 401, headers
                assert response.headers["www-authenticate"] == "Bearer"
                assert response.json()["error"]["code"] == "unauthorized"
                assert TOKEN not in response.text
            good = c.post("/api/cache/clear", headers={"Authorization": f"Bearer {TOKEN}"})
            assert good.status_code == 200


def test_no_get_changes_state(url: str, tmp_path: Path) -> None:
    app = create_app(api_settings(url, tmp_path), static_dir=None)
    routes = [r for module in (arbitrage, backfill, data, health, system)
              for r in module.router.routes if isinstance(r, APIRoute)]
    guarded = {r.path: r.methods for r in routes
               if any(d.dependency is require_control for d in r.dependencies)}
    assert "/api/cache/clear" in guarded
    assert all(methods == {"POST"} for methods in guarded.values())
    for route in routes:
        if route.path not in guarded:
            assert route.methods <= {"GET", "HEAD"}, route.path
    assert set(app.openapi()["paths"]) == {r.path for r in routes}
    with make_client(app) as c:
        assert c.get("/api/cache/clear").status_code == 405


def test_settings_are_read_only_and_secrets_masked(tmp_path: Path) -> None:
    url = "postgresql://postgres:dbpass@127.0.0.1:1/funding"
    settings = api_settings(url, tmp_path, API_TOKEN=TOKEN,
                            REDIS_URL="redis://:redispass@127.0.0.1:6379/0",
                            SIMULATOR_URL="http://user:simpass@127.0.0.1:8900")
    with make_client(create_app(settings, static_dir=None)) as c:
        response = c.get("/api/settings")
        data = response.json()["data"]
        assert data["API_TOKEN"] == "***" and "API_TOKEN" in data["secrets"]
        assert data["REDIS_URL"] == "redis://:***@127.0.0.1:6379/0"
        assert data["DATABASE_URL"] == "postgresql://postgres:***@127.0.0.1:1/funding"
        for secret in (TOKEN, "redispass", "simpass", "dbpass"):
            assert secret not in response.text
        assert c.post("/api/settings").status_code == 405
        assert c.put("/api/settings").status_code == 405
    assert not any(s in repr(settings) for s in (TOKEN, "redispass", "dbpass"))


@pytest.mark.parametrize(("key", "value", "words"), [
    ("API_TOKEN", "short", "at least 16 characters"),
    ("API_TOKEN", "has a space in it somewhere", "no spaces"),
    ("API_CACHE_TTL", "-1", "0 to 3600"), ("API_CACHE_TTL", "nan", "0 to 3600"),
    ("REDIS_URL", "http://127.0.0.1:6379", "redis or rediss"),
])
def test_api_settings_are_validated(key: str, value: str, words: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as error:
        load_settings(environ={key: value}, env_file=tmp_path / "none")
    assert words in str(error.value)
    if key == "API_TOKEN":
        assert value not in str(error.value)


def test_loopback_names() -> None:
    assert all(is_loopback(h) for h in ("127.0.0.1", "::1", "localhost", "::ffff:127.0.0.1"))
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.2", "", None, "host"))


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("API_", "REDIS_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'api.db'}", RUNTIME_DIR=str(tmp_path / "run"),
               LOG_DIR=str(tmp_path / "logs"), DATA_DIR=str(tmp_path / "data"), **extra)
    return env


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_non_loopback_bind_without_a_token_is_refused(tmp_path: Path, host: str) -> None:
    done = subprocess.run([sys.executable, "-m", "lib.api"], cwd=ROOT, capture_output=True,
                          text=True, timeout=DEADLINE, env=_env(tmp_path, API_HOST=host),
                          check=False)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        f"python -m lib.api: error: setting API_HOST={host!r} is not a loopback address: set "
        "API_TOKEN so that other machines cannot change state through the API, or use "
        "127.0.0.1"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp_path: Path, **extra: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "lib.api"], cwd=ROOT, text=True,
                            env=_env(tmp_path, API_HOST="127.0.0.1", API_PORT=str(port), **extra),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + DEADLINE
    while True:
        assert proc.poll() is None, proc.communicate()
        try:
            httpx.get(f"{base}/api/health/cache", timeout=5)
            return proc, base
        except httpx.TransportError:
            assert time.monotonic() < deadline, "the API did not come up"
            time.sleep(0.1)


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=DEADLINE)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_real_server_on_loopback(tmp_path: Path) -> None:
    proc, base = _serve(tmp_path)
    try:
        assert httpx.post(f"{base}/api/cache/clear", timeout=10).status_code == 200
        health = httpx.get(f"{base}/api/health", timeout=30)
        assert health.status_code == 503  # no schema yet: the API creates none
        assert health.json()["data"]["database"]["schema_version"] is None
        assert httpx.get(f"{base}/docs", timeout=10).status_code == 200
        assert "/api/funding-rates" in httpx.get(f"{base}/openapi.json", timeout=10).text
    finally:
        assert _stop(proc) == 0


def test_real_server_with_a_token(tmp_path: Path) -> None:
    proc, base = _serve(tmp_path, API_TOKEN=TOKEN)
    try:
        assert httpx.post(f"{base}/api/cache/clear", timeout=10).status_code == 401
        ok = httpx.post(f"{base}/api/cache/clear", timeout=10,
                        headers={"Authorization": f"Bearer {TOKEN}"})
        assert ok.status_code == 200
    finally:
        assert _stop(proc) == 0
