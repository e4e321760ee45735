"""Loading recorded replies for every venue's parse tests, and checks on what they parse to.

Two sources: real replies in ../shared/exchange-responses/<id>/ (ccxt's recordings, with the
values ccxt parsed from them, and real captures from other projects, `real-*.json`), and our
own simulator recordings in recordings/<id>/ (with the simulator's ground truth), written by
record_replies.py.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from lib.models import Contract, FundingEvent
from lib.timeutils import from_ms, normalise_settlement


def _shared_responses() -> Path:
    """The recorded exchange replies in shared/, which sits beside the repository (CI lays a
    copy there); SHARED_DIR overrides. The parse tests need them: a missing folder fails."""
    if os.environ.get("SHARED_DIR"):
        return Path(os.environ["SHARED_DIR"]) / "exchange-responses"
    beside_repo = Path(__file__).resolve().parents[3] / "shared" / "exchange-responses"
    return beside_repo if beside_repo.exists() else Path("/work/shared/exchange-responses")


SHARED = _shared_responses()
RECORDINGS = Path(__file__).resolve().parent / "recordings"


def shared_files(folder: str) -> list[str]:
    """The names of every recorded real reply for an exchange (its ccxt id as the folder):
    each venue's tests check this list, so a file that appears is replayed or fails a test."""
    return [path.stem for path in sorted((SHARED / folder).glob("*.json"))]


def real_reply(folder: str, name: str) -> Any:
    """The body of a real capture `<folder>/<name>.json` (its `source.how` says how it was
    recorded and what, if anything, was cut)."""
    return json.loads((SHARED / folder / f"{name}.json").read_text())["response"]


def ccxt_entries(ccxt_id: str, method: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = json.loads((SHARED / ccxt_id / f"{method}.json").read_text())[
        "entries"
    ]
    return entries


def recording(exchange: str, name: str) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((RECORDINGS / exchange / f"{name}.json").read_text())
    return record


def check_contracts(contracts: list[Contract], record: dict[str, Any]) -> None:
    """Our contracts equal the simulator's trading perpetuals in the recording, field by field."""
    truth = [
        t for t in record["expected"]["contracts"]
        if t["status"] == "trading" and t["kind"] == "perpetual"
    ]
    order = {c.symbol: i for i, c in enumerate(contracts)}
    truth.sort(key=lambda t: order.get(t["symbol"], -1))
    assert [c.symbol for c in contracts] == [t["symbol"] for t in truth]
    for c, t in zip(contracts, truth, strict=True):
        assert (c.base, c.multiplier, c.funding_interval_hours) == (
            t["asset"], t["multiplier"], t["interval_hours"]
        ), c.symbol
        assert c.canonical_symbol == f"{c.base}/{c.quote}:{c.settle}"


def check_history(
    events: list[FundingEvent], record: dict[str, Any]
) -> list[tuple[datetime, float]]:
    """Parsed events, normalised and cut to the recorded range, equal the ground truth."""
    start, end = from_ms(record["expected"]["start_ms"]), from_ms(record["expected"]["end_ms"])
    got = sorted(
        (normalise_settlement(e.funding_time), e.funding_rate)
        for e in events
        if start <= normalise_settlement(e.funding_time) <= end
    )
    want = [(from_ms(t), r) for t, r in record["expected"]["settlements"]]
    assert len(got) == len(want) > 0
    for (gt, gr), (wt, wr) in zip(got, want, strict=True):
        assert gt == wt
        assert abs(gr - wr) < 1e-12, (gt, gr, wr)
    return got


def mutated(payload: Any, path: list[Any], change: Callable[[Any, Any], None]) -> Any:
    """A deep copy of `payload` with `change(container, key)` applied at `path`."""
    copy = json.loads(json.dumps(payload))
    node = copy
    for key in path[:-1]:
        node = node[key]
    change(node, path[-1])
    return copy


def drop(container: Any, key: Any) -> None:
    del container[key]


def set_to(value: Any) -> Callable[[Any, Any], None]:
    def change(container: Any, key: Any) -> None:
        container[key] = value

    return change
