"""Shared checks of the simulator venue tests: requests to the simulator and the recorded real
replies in ../shared/exchange-responses that its shapes are compared with."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from lib.simulator import SimulatorServer

RECORDED = Path(__file__).resolve().parents[3] / "shared" / "exchange-responses"
DAY_MS = 86_400_000


def get(sim: SimulatorServer, path: str, **params: Any) -> requests.Response:
    return requests.get(f"{sim.url}{path}", params=params, timeout=10)


def recorded(name: str) -> Any:
    path = RECORDED / name
    if not path.exists():  # the shared folder sits next to the repo; skip gracefully if not
        return None
    return json.loads(path.read_text())["entries"][0]["httpResponse"]


def same_types(
    ours: dict[str, Any], theirs: dict[str, Any], ignore: frozenset[str] = frozenset()
) -> None:
    """Every field of the real response exists in ours with the same JSON type."""
    for key, value in theirs.items():
        if key in ignore:
            continue
        assert key in ours, key
        if value is not None and ours[key] is not None:
            assert type(ours[key]) is type(value), (key, ours[key], value)


def btc_history_span(rows: list[int]) -> None:
    assert rows == sorted(rows, reverse=True)


def floor_to_hour(value: datetime) -> datetime:
    return value.replace(minute=0, second=0, microsecond=0)


def dt_from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def missing_count(sim: SimulatorServer, exchange: str, symbol: str) -> int:
    u = sim.universe
    return len(u.missing_settlements(exchange, symbol, u.now() - timedelta(days=91), u.now()))


def real_capture(name: str) -> Any:
    """The body of a real capture (`real-*.json`, {source, request, response}), or None."""
    path = RECORDED / name
    return json.loads(path.read_text())["response"] if path.exists() else None
