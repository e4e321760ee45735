"""Backfill status over the filled database on both engines: what check_backfill_status.py
says, as data, at both paths; the lock holder while a history job runs."""

from __future__ import annotations

import os

from api_helpers import Filled
from fastapi.testclient import TestClient

from lib.history.report import check_status
from lib.runtime.locks import history_lock


def test_status_is_the_check_and_the_legacy_path_agrees(client: TestClient,
                                                        filled: Filled) -> None:
    response = client.get("/api/backfill/status")
    assert response.status_code == 200
    data = response.json()["data"]
    report = check_status(filled.settings)
    assert data["state"] == "completed" and data["running"] is False
    assert data["completeness"] == report.data["completeness"] == 100.0
    assert data["exit_code"] == report.code == 0
    assert data["verdict"].startswith("complete")
    assert set(data["status"]["exchanges"]) == set(filled.settings.EXCHANGES)
    assert [r["exchange"] for r in data["database"]] == list(data["status"]["exchanges"])
    assert data["locks"]["unified"]["held"] is False
    legacy = client.get("/api/backfill-status").json()["data"]
    assert {k: v for k, v in legacy.items() if k != "locks"} == {
        k: v for k, v in data.items() if k != "locks"}


def test_status_names_the_running_job(client: TestClient, filled: Filled) -> None:
    with history_lock("repair", "fill_recent_gaps.py --hours 6", settings=filled.settings):
        data = client.get("/api/backfill/status").json()["data"]
    repair = data["locks"]["repair"]
    assert repair["held"] is True
    assert repair["holder"]["pid"] == os.getpid()
    assert repair["holder"]["command"] == "fill_recent_gaps.py --hours 6"
    assert data["locks"]["unified"]["held"] is False
    client.app.state.cache.clear()  # type: ignore[attr-defined]
    after = client.get("/api/backfill/status").json()["data"]
    assert after["locks"]["repair"]["held"] is False
