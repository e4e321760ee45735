"""start.py with its API child: the API answers with the data the collector stores, and
`POST /api/shutdown` stops the whole system (the API included) through shutdown_dashboard.py."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
from system_helpers import (
    identities,
    running_children,
    start_system,
    stop_leftovers,
    system_env,
    wait_for,
)

from config.settings import SUPPORTED_EXCHANGES

SERVICES = {"simulator", "collector", "spreads", "zscores", "api"}


def get_json(url: str) -> Any:
    """The JSON of a 200 answer, or None (not listening yet, or another status)."""
    try:
        reply = httpx.get(url, timeout=10)
    except httpx.HTTPError:
        return None
    return reply.json() if reply.status_code == 200 else None


def test_api_answers_with_data_and_shuts_the_system_down(tmp_path: Path) -> None:
    env = system_env(tmp_path)
    system = start_system(tmp_path, env, "--simulate", "--no-backfill",
                          "--simulator-contracts", "40")
    base = f"http://127.0.0.1:{env['API_PORT']}"
    try:
        state = wait_for("every child running", lambda: running_children(system, SERVICES),
                         system=system)
        assert state["api_url"] == base
        rates = wait_for("funding rates from the API",
                         lambda: (body := get_json(f"{base}/api/funding-rates?limit=500"))
                         and body["data"] and body, system=system)
        assert rates["meta"]["total"] == len(rates["data"]) > 0
        assert {r["exchange"] for r in rates["data"]} <= set(SUPPORTED_EXCHANGES)
        assert all(isinstance(r["apr"], float) for r in rates["data"]), rates["data"][0]
        health = httpx.get(f"{base}/api/health", timeout=30)
        assert health.status_code in (200, 503) and "database" in health.json()["data"]

        reply = httpx.post(f"{base}/api/shutdown", timeout=30)
        assert reply.status_code == 202, reply.text
        data = reply.json()["data"]
        assert data["stopping"] is True
        assert data["running"][0] == f"start.py (pid {system.proc.pid})"
        assert f"api (pid {state['children']['api']['pid']})" in data["running"]
        assert system.proc.wait(timeout=180) == 0
        wait_for("no process left", lambda: not any(i.alive() for i in identities(state)))
        report = wait_for("the shutdown report",
                          lambda: (log := Path(data["log"])).exists()
                          and "removed " in log.read_text() and log.read_text())
        assert re.search(rf"^api \(pid {state['children']['api']['pid']}\): stopped by "
                         r"start\.py \((exit code 0|ended by SIGTERM)\)$", report, re.M), report
    finally:
        stop_leftovers(system)
