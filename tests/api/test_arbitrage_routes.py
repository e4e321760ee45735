"""Arbitrage routes over a database filled from the simulator, on both engines: every current
pair oriented short minus long, net of fees, filters, sorting and paging; one pair in depth."""

from __future__ import annotations

from typing import Any

import pytest
from api_helpers import Filled
from fastapi.testclient import TestClient
from sqlalchemy import select

from lib.analytics.fees import DEFAULT_TAKER_FEES
from lib.analytics.opportunities import current_opportunities
from lib.storage.engine import database
from lib.storage.schema import arbitrage_pairs


def opportunities(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    body = client.get(f"/api/arbitrage/opportunities?limit=1000{query}").json()
    assert body["meta"]["total"] == len(body["data"]), body
    return body["data"]


def key(item: dict[str, Any]) -> tuple[str, str, str, str]:
    return (item["short"]["exchange"], item["short"]["symbol"], item["long"]["exchange"],
            item["long"]["symbol"])


def test_every_current_pair_faces_the_short_leg(client: TestClient, filled: Filled) -> None:
    items = opportunities(client)
    with database(filled.settings, migrate=False) as engine, engine.connect() as conn:
        scan = current_opportunities(conn)
        stored_pairs = len(conn.execute(select(arbitrage_pairs.c.pair_id)).all())
    assert len(items) == len(scan.opportunities) == stored_pairs
    for item in items:
        short, long = item["short"], item["long"]
        assert short["exchange"] != long["exchange"] and short["base"] == long["base"]
        assert short["rate_8h"] >= long["rate_8h"]
        assert item["spread_8h"] == pytest.approx(short["rate_8h"] - long["rate_8h"])
        assert item["gross_apr"] == pytest.approx(item["spread_8h"] * 1095)
        fees = 2 * (DEFAULT_TAKER_FEES[short["exchange"]] + DEFAULT_TAKER_FEES[long["exchange"]])
        assert item["fees"] == pytest.approx(fees)
        assert item["net_apr"] == pytest.approx(item["gross_apr"] - fees * 365 / 7)
        assert item["path"] == "/api/arbitrage/pairs/{}/{}/{}/{}".format(*key(item))
    assert any(i["history_hours"] > 0 and i["persistence"] is not None for i in items)
    nets = [i["net_apr"] for i in items]
    assert nets == sorted(nets, reverse=True)


def test_opportunity_filters(client: TestClient) -> None:
    items = opportunities(client)
    btc = opportunities(client, "&assets=btc")
    assert btc and {i["base"] for i in btc} == {"BTC"}
    two = opportunities(client, "&exchanges=okx,bybit")
    assert two and all({i["short_exchange"], i["long_exchange"]} == {"okx", "bybit"}
                       for i in two)
    eight = opportunities(client, "&intervals=8")
    assert eight and all(i["short"]["funding_interval_hours"] == 8 ==
                         i["long"]["funding_interval_hours"] for i in eight)
    assert len(eight) == sum(1 for i in items if {i["short"]["funding_interval_hours"],
                                                  i["long"]["funding_interval_hours"]} == {8})
    rich = opportunities(client, "&min_apr=0.1&max_apr=0.5")
    assert rich and all(0.1 <= i["net_apr"] <= 0.5 for i in rich)
    gross = opportunities(client, "&min_apr=0.1&net_of_fees=false")
    assert all(i["gross_apr"] >= 0.1 for i in gross) and len(gross) >= len(
        opportunities(client, "&min_apr=0.1"))
    wide = opportunities(client, "&min_spread=0.0003")
    assert wide and all(i["spread_8h"] >= 0.0003 for i in wide)
    oi = sorted(i["min_oi_usd"] for i in items if i["min_oi_usd"])
    floor = oi[len(oi) // 2]
    deep = opportunities(client, f"&min_oi={floor}")
    assert deep and all(i["short"]["open_interest_usd"] >= floor and
                        i["long"]["open_interest_usd"] >= floor for i in deep)
    combined = opportunities(client, f"&min_oi_combined={2 * floor}")
    assert all(i["combined_oi_usd"] >= 2 * floor for i in combined)
    assert len(combined) >= len(deep)
    held = opportunities(client, "&hold_days=30")
    for i in held:
        assert i["hold_days"] == 30
        assert i["net_apr"] == pytest.approx(i["gross_apr"] - i["fees"] * 365 / 30)


def test_opportunity_sorting_paging_and_errors(client: TestClient) -> None:
    items = opportunities(client, "&sort=spread_8h")
    spreads = [i["spread_8h"] for i in items]
    assert spreads == sorted(spreads)
    first = client.get("/api/arbitrage/opportunities?limit=3&offset=3&sort=spread_8h").json()
    assert [key(i) for i in first["data"]] == [key(i) for i in items[3:6]]
    assert first["meta"]["total"] == len(items) and first["meta"]["sort"] == "spread_8h"
    for query in ("sort=nope", "hold_days=0", "min_oi=-1", "exchanges=mars", "limit=5000",
                  "intervals=0", "assets=,"):
        response = client.get(f"/api/arbitrage/opportunities?{query}")
        assert response.status_code == 422, query
        error = response.json()["error"]
        assert error["code"] == "invalid_parameter"
        assert error["message"].startswith(query.split("=")[0] + ":"), error


def test_one_pair_in_depth(client: TestClient) -> None:
    # a pair of 8 h legs whose last day is complete (the simulator leaves out some settlements)
    candidates = [i for i in opportunities(client, "&intervals=8") if i["history_hours"] > 0]
    found = [(i, d) for i in candidates
             for d in [client.get(i["path"]).json()["data"]]
             if d["realized_carry"]["1"]["complete"]]
    assert found, "no 8 h pair with a complete last day"
    item, data = found[0]
    se, ss, le, ls = key(item)
    reverse = client.get(f"/api/arbitrage/pairs/{le}/{ls}/{se}/{ss}").json()["data"]
    assert key(reverse) == key(data) == key(item)
    assert data["spread_8h"] == pytest.approx(item["spread_8h"])
    history = data["spread_history"]
    assert history and data["spread_history_days"] == 7
    for hour in history:
        assert hour["spread_8h"] == pytest.approx(hour["short_rate_8h"] - hour["long_rate_8h"])
        assert hour["spread_apr"] == pytest.approx(hour["spread_8h"] * 1095)
    stats = data["statistics"]
    assert set(stats) == {"7d", "30d"}
    assert stats["30d"]["n"] == len(history) == item["history_hours"]
    assert stats["30d"]["mean_8h"] == pytest.approx(
        sum(h["spread_8h"] for h in history) / len(history), rel=1e-4, abs=1e-9)
    assert stats["30d"]["persistence"] == pytest.approx(item["persistence"])
    carry = data["realized_carry"]
    assert set(carry) == {"1", "7", "30"}
    day = carry["1"]
    assert day["complete"] is True and day["net"] is not None
    assert day["fees"] == pytest.approx(item["fees"])
    assert day["short_settlements"] == day["long_settlements"] == 3  # 8 h legs, one day
    month = carry["30"]  # three days of history: never shown as if whole
    assert month["complete"] is False and month["net"] is None
    assert 0 < month["completeness"] < 0.2 and month["partial_net"] is not None


def test_pair_errors(client: TestClient) -> None:
    item = opportunities(client)[0]
    se, ss, le, ls = key(item)
    missing = client.get(f"/api/arbitrage/pairs/{se}/{ss}/{le}/NOPE")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "pair_not_found"
    same = client.get(f"/api/arbitrage/pairs/{se}/{ss}/{se}/{ss}")
    assert same.status_code == 422 and same.json()["error"]["code"] == "invalid_parameter"
    unknown = client.get(f"/api/arbitrage/pairs/mars/{ss}/{le}/{ls}")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_exchange"
    assert client.get(f"{item['path']}?days=0").status_code == 422
