"""Health, performance, /metrics and the envelope for what is not there: over the filled
database on both engines, over an empty one and over none at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from api_helpers import Filled, api_settings, make_client
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families
from running_system import keep_fresh

from config.settings import SUPPORTED_EXCHANGES
from lib.api.app import create_app
from lib.runtime.files import METRICS_FILE, read_json
from lib.storage.engine import database
from lib.storage.schema import SCHEMA_VERSION


def test_health_reports_database_schema_and_each_exchange(client: TestClient,
                                                          filled: Filled) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["status"] == "ok" and data["degraded_exchanges"] == []
    assert data["database"]["ok"] is True
    assert data["database"]["schema_version"] == SCHEMA_VERSION
    metrics = read_json(filled.settings.RUNTIME_DIR / METRICS_FILE)
    assert metrics is not None
    assert set(data["exchanges"]) == set(SUPPORTED_EXCHANGES)
    for ex, entry in data["exchanges"].items():
        assert entry["fresh"] is True and 0 <= entry["age_seconds"] < 120
        assert entry["last_cycle"]["success"] is True
        assert entry["last_cycle"]["record_count"] == metrics["exchanges"][ex]["record_count"]
        assert entry["snapshots"] == entry["last_cycle"]["record_count"]


def observed(c: TestClient) -> tuple[float, float]:
    families = {f.name: f for f in text_string_to_metric_families(c.get("/metrics").text)}
    return (families["funding_collection_cycles_observed"].samples[0].value,
            families["funding_collection_exchange_failures_observed"].samples[0].value)


def test_health_degraded_when_an_exchange_failed(filled: Filled, tmp_path: Path) -> None:
    keep_fresh(filled.settings)
    settings = api_settings(filled.url, tmp_path)
    with make_client(create_app(settings, static_dir=None)) as c:
        missing = c.get("/api/health").json()["data"]
        assert missing["status"] == "ok"
        assert "no collection cycle" in missing["collection_metrics_problem"]
        doc = {"batch_id": "x", "batch_timestamp": "2026-01-01T00:00:00+00:00",
               "exchanges_failed": 1,
               "exchanges": {ex: {"success": ex != "okx", "error": "okx: timed out"
                                  if ex == "okx" else None, "duration_ms": 5,
                                  "record_count": 1} for ex in SUPPORTED_EXCHANGES}}
        settings.RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
        (settings.RUNTIME_DIR / METRICS_FILE).write_text(json.dumps(doc))
        response = c.get("/api/health")
        assert response.status_code == 200
        data = response.json()["data"]
        assert data["status"] == "degraded" and data["degraded_exchanges"] == ["okx"]
        assert data["exchanges"]["okx"]["last_cycle"]["error"] == "okx: timed out"
        assert observed(c) == (1, 1)
        assert observed(c) == (1, 1)  # the same cycle, scraped again
        (settings.RUNTIME_DIR / METRICS_FILE).write_text(json.dumps({**doc, "batch_id": "y"}))
        assert observed(c) == (2, 2)
        (settings.RUNTIME_DIR / METRICS_FILE).write_text("{truncated")
        broken = c.get("/api/health").json()["data"]
        assert "not valid JSON" in broken["collection_metrics_problem"]


def test_performance(client: TestClient) -> None:
    data = client.get("/api/health/performance").json()["data"]
    assert set(data["collection"]["exchanges"]) == set(SUPPORTED_EXCHANGES)
    assert data["collection"]["exchanges_failed"] == 0
    assert data["zscores"]["last_run"] and data["zscores"]["statistics_rows"] > 0
    assert data["spreads"]["last_series_build"] and data["spreads"]["statistics_rows"] > 0
    assert data["uptime_seconds"] >= 0 and data["cache"]["backend"] == "memory"


def test_metrics_parse(client: TestClient, filled: Filled) -> None:
    for _ in range(2):
        assert client.get("/api/funding-rates?limit=1").status_code == 200
    text = client.get("/metrics")
    assert text.headers["content-type"].startswith("text/plain")
    families = {f.name: f for f in text_string_to_metric_families(text.text)}
    records = {s.labels["exchange"]: s.value
               for s in families["funding_collection_last_cycle_records"].samples}
    doc = read_json(filled.settings.RUNTIME_DIR / METRICS_FILE)
    assert doc is not None
    assert records == {ex: m["record_count"] for ex, m in doc["exchanges"].items()}
    assert all(s.value == 1 for s in families["funding_collection_last_cycle_success"].samples)
    assert families["funding_collection_last_cycle_errors"].samples[0].value == 0
    assert families["funding_collection_cycles_observed"].samples[0].value == 1
    hits = families["funding_api_cache_hits"].samples
    assert next(s.value for s in hits if s.name.endswith("_total")) >= 1
    latency = families["funding_api_request_duration_seconds"].samples
    counted = [s for s in latency if s.name.endswith("_count")
               and s.labels["route"] == "/api/funding-rates" and s.labels["status"] == "200"]
    assert counted and counted[0].value >= 2


@pytest.fixture
def empty_client(db_url: str, tmp_path: Path) -> TestClient:
    """An app over a database with the schema and no rows."""
    with database(url=db_url):
        pass
    return make_client(create_app(api_settings(db_url, tmp_path), static_dir=None))


EMPTY = [
    ("/api/funding-rates", "no_data"), ("/api/funding-rates/grid", "no_data"),
    ("/api/assets", "no_data"), ("/api/exchanges", "no_data"),
    ("/api/statistics/summary", "no_data"), ("/api/arbitrage/opportunities", "no_data"),
    ("/api/statistics/extremes", "no_statistics"), ("/api/backfill/status", "no_backfill_status"),
    ("/api/backfill-status", "no_backfill_status"),
    ("/api/contracts/okx/BTC-USDT-SWAP", "contract_not_found"),
    ("/api/contracts/okx/BTC-USDT-SWAP/history", "contract_not_found"),
    ("/api/arbitrage/pairs/okx/BTC-USDT-SWAP/bybit/BTCUSDT", "pair_not_found"),
]


def test_an_empty_database_answers_with_the_envelope(empty_client: TestClient) -> None:
    for path, code in EMPTY:
        response = empty_client.get(path)
        assert response.status_code == 404, path
        error = response.json()["error"]
        assert error["code"] == code and error["message"], path
    health = empty_client.get("/api/health")
    assert health.status_code == 200
    assert health.json()["data"]["status"] == "degraded"


def test_no_database_is_503(tmp_path: Path) -> None:
    closed = "postgresql://postgres@127.0.0.1:1/nothing"
    for url in (closed, f"sqlite:///{tmp_path / 'empty.db'}"):
        with make_client(create_app(api_settings(url, tmp_path), static_dir=None)) as c:
            health = c.get("/api/health")
            assert health.status_code == 503
            data = health.json()["data"]
            assert data["status"] == "unavailable" and data["database"]["ok"] is False
            assert data["database"]["error"]
            rates = c.get("/api/funding-rates")
            assert rates.status_code == 503
            assert rates.json()["error"]["code"] == "database_unavailable"
    assert "127.0.0.1:1" in data["database"]["error"] or "no schema" in data["database"]["error"]


def test_unknown_paths_and_methods_use_the_envelope(client: TestClient) -> None:
    missing = client.get("/api/nothing/here")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.post("/api/health")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    assert client.delete("/api/funding-rates").status_code == 405


def test_static_dashboard_is_served_beside_the_api(filled: Filled, tmp_path: Path) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "index.html").write_text("<!doctype html><title>funding</title>")
    settings = api_settings(filled.url, tmp_path)
    with make_client(create_app(settings, static_dir=static)) as c:
        page = c.get("/")
        assert page.status_code == 200 and "<title>funding</title>" in page.text
        assert c.get("/api/settings").json()["data"]["API_CACHE_TTL"] == 10.0
        missing = c.get("/api/nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
        assert "access-control-allow-origin" not in c.get(
            "/api/settings", headers={"Origin": "http://evil.example"}).headers
