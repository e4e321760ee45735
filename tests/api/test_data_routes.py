"""Data routes over a database filled from the simulator, on both engines: units, filters,
sorting, paging, the grid, one contract with its history and gaps, assets, exchanges, summary
and extremes; and the error envelope for what is not there."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
from api_helpers import Filled
from fastapi.testclient import TestClient
from sqlalchemy import delete, func, select

from config.settings import SUPPORTED_EXCHANGES
from lib.storage.engine import database, insert_ignore
from lib.storage.schema import exchange_data, funding_rates_historical, funding_statistics
from lib.timeutils import from_iso

RATE_ITEM_FIELDS = {
    "exchange", "symbol", "canonical_symbol", "base", "quote", "settle", "funding_rate",
    "funding_interval_hours", "rate_1h", "rate_8h", "rate_1d", "rate_7d", "apr",
    "next_funding_time", "mark_price", "index_price", "open_interest_usd", "volume_24h_usd",
    "predicted_rate", "updated_at", "age_seconds", "stale", "z_score", "percentile", "mean_30d",
    "std_30d"}


def all_rates(client: TestClient, query: str = "") -> list[dict[str, Any]]:
    body = client.get(f"/api/funding-rates?limit=1000{query}").json()
    assert body["meta"]["total"] == len(body["data"])
    return body["data"]


def clear(client: TestClient) -> None:
    assert client.post("/api/cache/clear").status_code == 200


def test_funding_rates_in_comparable_units(client: TestClient, filled: Filled) -> None:
    items = all_rates(client)
    with database(filled.settings, migrate=False) as engine, engine.connect() as conn:
        stored = conn.execute(select(func.count()).select_from(exchange_data)).scalar_one()
    assert len(items) == stored == sum(
        len(filled.sim.universe.contracts(ex)) for ex in SUPPORTED_EXCHANGES)
    for item in items:
        assert set(item) >= RATE_ITEM_FIELDS
        truth = filled.sim.universe.contract(item["exchange"], item["symbol"])
        interval = truth.interval_hours
        assert item["funding_interval_hours"] == interval
        rate = item["funding_rate"]
        assert item["rate_8h"] == pytest.approx(rate * 8 / interval)
        assert item["rate_1h"] == pytest.approx(rate / interval)
        assert item["rate_1d"] == pytest.approx(rate * 24 / interval)
        assert item["rate_7d"] == pytest.approx(rate * 168 / interval)
        assert item["apr"] == pytest.approx(rate * 8760 / interval)
        assert item["stale"] is False and item["age_seconds"] >= 0
        assert item["updated_at"].endswith("+00:00")
        assert item["canonical_symbol"].startswith(f"{item['base']}/")
    assert any(i["z_score"] is not None and i["mean_30d"] is not None for i in items)
    assert {i["funding_interval_hours"] for i in items} >= {1.0, 8.0}


def test_funding_rate_filters(client: TestClient) -> None:
    items = all_rates(client)
    okx = all_rates(client, "&exchange=okx,BYBIT")
    assert okx and {i["exchange"] for i in okx} == {"okx", "bybit"}
    assert len(okx) == sum(1 for i in items if i["exchange"] in ("okx", "bybit"))
    btc = all_rates(client, "&base=btc,eth")
    assert {i["base"] for i in btc} == {"BTC", "ETH"}
    usdc = all_rates(client, "&quote=usdc")
    assert usdc and all(i["quote"] == "USDC" for i in usdc)
    assert len(usdc) == sum(1 for i in items if i["quote"] == "USDC")
    window = all_rates(client, "&min_apr=0&max_apr=0.2")
    assert window and all(0 <= i["apr"] <= 0.2 for i in window)
    assert len(window) == sum(1 for i in items if 0 <= i["apr"] <= 0.2)
    hourly = all_rates(client, "&interval=1")
    assert hourly and all(i["funding_interval_hours"] == 1 for i in hourly)
    both = all_rates(client, "&interval=1,4")
    assert len(both) == sum(1 for i in items if i["funding_interval_hours"] in (1, 4))


def test_stale_snapshots_are_left_out_unless_asked(client: TestClient, filled: Filled) -> None:
    items = all_rates(client)
    victim = items[0]
    e = exchange_data.c
    with database(filled.settings, migrate=False) as engine:
        with engine.begin() as conn:
            old = conn.execute(select(e.updated_at).where(
                e.exchange == victim["exchange"], e.symbol == victim["symbol"])).scalar_one()
            conn.execute(exchange_data.update().where(
                e.exchange == victim["exchange"], e.symbol == victim["symbol"]).values(
                    updated_at=old.replace(year=old.year - 1)))
        try:
            clear(client)
            fresh = all_rates(client)
            assert len(fresh) == len(items) - 1
            assert (victim["exchange"], victim["symbol"]) not in {
                (i["exchange"], i["symbol"]) for i in fresh}
            with_stale = all_rates(client, "&include_stale=true")
            stale = [i for i in with_stale if i["stale"]]
            assert [(i["exchange"], i["symbol"]) for i in stale] == [
                (victim["exchange"], victim["symbol"])]
            assert stale[0]["age_seconds"] > 300 * 86400
        finally:
            with engine.begin() as conn:
                conn.execute(exchange_data.update().where(
                    e.exchange == victim["exchange"], e.symbol == victim["symbol"]).values(
                        updated_at=old))
            clear(client)


def test_sorting_and_paging(client: TestClient) -> None:
    items = all_rates(client)
    body = client.get("/api/funding-rates?limit=1000").json()
    assert body["meta"]["sort"] == "-apr"
    aprs = [i["apr"] for i in body["data"]]
    assert aprs == sorted(aprs, reverse=True)
    up = client.get("/api/funding-rates?limit=1000&sort=symbol").json()
    assert [i["symbol"] for i in up["data"]] == sorted(i["symbol"] for i in items)
    down = client.get("/api/funding-rates?limit=1000&sort=-rate_8h").json()["data"]
    assert [i["rate_8h"] for i in down] == sorted((i["rate_8h"] for i in items), reverse=True)
    pages = []
    for offset in range(0, len(items), 7):
        page = client.get(f"/api/funding-rates?sort=-apr&limit=7&offset={offset}").json()
        assert page["meta"] == {"total": len(items), "limit": 7, "offset": offset,
                                "sort": "-apr"}
        pages.extend((i["exchange"], i["symbol"]) for i in page["data"])
    assert pages == [(i["exchange"], i["symbol"]) for i in body["data"]]
    beyond = client.get(f"/api/funding-rates?offset={len(items) + 5}").json()
    assert beyond["data"] == [] and beyond["meta"]["total"] == len(items)


@pytest.mark.parametrize(("query", "names"), [
    ("sort=bogus", "sort"), ("sort=-", "sort"), ("limit=0", "limit"), ("limit=1001", "limit"),
    ("offset=-1", "offset"), ("min_apr=nan", "min_apr"), ("max_apr=abc", "max_apr"),
    ("exchange=nowhere", "exchange"), ("interval=0", "interval"), ("interval=x", "interval"),
    ("include_stale=maybe", "include_stale"),
])
def test_bad_parameters_are_422_in_the_envelope(client: TestClient, query: str,
                                                names: str) -> None:
    response = client.get(f"/api/funding-rates?{query}")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_parameter"
    assert error["message"].startswith(f"{names}:")
    assert error["details"][0]["loc"][-1] == names


@pytest.mark.parametrize("view", ["apr", "1h", "8h", "1d", "7d"])
def test_grid_views(client: TestClient, view: str) -> None:
    field = {"apr": "apr", "1h": "rate_1h", "8h": "rate_8h", "1d": "rate_1d", "7d": "rate_7d"}
    by_key = {(i["exchange"], i["symbol"]): i for i in all_rates(client)}
    data = client.get(f"/api/funding-rates/grid?view={view}").json()["data"]
    assert data["view"] == view
    assert data["exchanges"] == sorted(SUPPORTED_EXCHANGES)
    bases = [row["base"] for row in data["rows"]]
    assert bases == sorted(bases) and len(bases) == len({i["base"] for i in by_key.values()})
    cells = 0
    for row in data["rows"]:
        for exchange, cell in row["cells"].items():
            item = by_key[(exchange, cell["symbol"])]
            assert item["base"] == row["base"]
            assert cell["value"] == pytest.approx(item[field[view]])
            assert cell["interval_hours"] == item["funding_interval_hours"]
            assert cell["stale"] is False
            cells += 1
    assert cells == len({(i["base"], i["exchange"]) for i in by_key.values()})


def test_grid_unknown_view_is_422(client: TestClient) -> None:
    response = client.get("/api/funding-rates/grid?view=2h")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_parameter"


def test_contract_details(client: TestClient) -> None:
    item = next(i for i in all_rates(client) if i["z_score"] is not None)
    data = client.get(f"/api/contracts/{item['exchange']}/{item['symbol']}").json()["data"]
    assert data["current"] == {**item, "age_seconds": data["current"]["age_seconds"]}
    assert data["listing"]["base"] == item["base"]
    assert set(data["statistics"]) == {"7d", "30d"}
    assert data["statistics"]["30d"]["zscore"] == pytest.approx(item["z_score"])
    assert data["history"]["settlements"] > 0


def test_contract_not_found(client: TestClient) -> None:
    missing = client.get("/api/contracts/okx/NOPE-USDT-SWAP")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "contract_not_found"
    unknown = client.get("/api/contracts/nowhere/BTCUSDT/history")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "unknown_exchange"


def test_contract_history_completeness_and_a_gap(client: TestClient, filled: Filled) -> None:
    item = next(i for i in all_rates(client, "&interval=8"))
    path = f"/api/contracts/{item['exchange']}/{item['symbol']}/history?days=2"
    whole = client.get(path).json()["data"]
    settled = whole["settlements"]
    assert settled and whole["completeness"]["missing"] == 0
    assert whole["completeness"]["percent"] == 100.0 and whole["completeness"]["gaps"] == []
    assert whole["completeness"]["stored"] == len(settled)
    times = [s["funding_time"] for s in settled]
    assert times == sorted(times)
    for s in settled:
        assert s["rate_8h"] == pytest.approx(s["funding_rate"])  # an 8 h contract
    hole = settled[len(settled) // 2]
    f = funding_rates_historical.c
    with database(filled.settings, migrate=False) as engine:
        with engine.begin() as conn:
            row = conn.execute(select(funding_rates_historical).where(
                f.exchange == item["exchange"], f.symbol == item["symbol"],
                f.funding_time == from_iso(hole["funding_time"]))).one()._asdict()
            conn.execute(delete(funding_rates_historical).where(
                f.exchange == item["exchange"], f.symbol == item["symbol"],
                f.funding_time == row["funding_time"]))
        try:
            clear(client)
            gap = client.get(path).json()["data"]
            assert len(gap["settlements"]) == len(settled) - 1
            assert gap["completeness"]["missing"] == 1
            assert gap["completeness"]["gaps"] == [
                {"from": row["funding_time"].isoformat(), "to": row["funding_time"].isoformat(),
                 "settlements": 1}]
            assert gap["completeness"]["percent"] < 100.0
        finally:
            with engine.begin() as conn:
                insert_ignore(conn, funding_rates_historical, [row])
            clear(client)


def test_assets(client: TestClient) -> None:
    items = all_rates(client)
    body = client.get("/api/assets?limit=1000").json()
    assert body["meta"]["sort"] == "base"
    assets = {a["base"]: a for a in body["data"]}
    assert set(assets) == {i["base"] for i in items}
    btc = [i for i in items if i["base"] == "BTC"]
    assert assets["BTC"]["contracts"] == len(btc)
    assert assets["BTC"]["exchanges"] == sorted({i["exchange"] for i in btc})
    assert assets["BTC"]["max_apr"] == pytest.approx(max(i["apr"] for i in btc))
    multi = client.get("/api/assets?limit=1000&min_exchanges=2&sort=-apr_range").json()["data"]
    assert multi and all(a["exchange_count"] >= 2 for a in multi)
    ranges = [a["apr_range"] for a in multi]
    assert ranges == sorted(ranges, reverse=True)


def test_exchanges(client: TestClient, filled: Filled) -> None:
    rows = client.get("/api/exchanges").json()["data"]
    assert [r["exchange"] for r in rows] == sorted(SUPPORTED_EXCHANGES)
    for row in rows:
        listed = len(filled.sim.universe.contracts(row["exchange"]))
        assert row["contracts_listed"] == row["snapshots"] == row["fresh"] == listed
        assert row["last_cycle"]["success"] is True
        assert row["last_cycle"]["record_count"] == listed
        assert 0 < row["taker_fee"] < 0.01


def test_summary(client: TestClient, filled: Filled) -> None:
    items = all_rates(client)
    data = client.get("/api/statistics/summary").json()["data"]
    assert data["snapshots"] == data["fresh"] == len(items)
    assert data["apr"]["max"]["apr"] == pytest.approx(max(i["apr"] for i in items))
    assert data["assets"] == len({i["base"] for i in items})
    with database(filled.settings, migrate=False) as engine, engine.connect() as conn:
        settled = conn.execute(select(func.count()).select_from(
            funding_rates_historical)).scalar_one()
        hot = conn.execute(select(func.count()).where(
            funding_statistics.c.window_days == 30,
            func.abs(funding_statistics.c.zscore) > 2)).scalar_one()
    assert data["history"]["settlements"] == settled
    assert data["statistics"]["abs_z_above_2"] == hot
    assert data["arbitrage_pairs"] > 0


def test_extremes(client: TestClient) -> None:
    body = client.get("/api/statistics/extremes?min_abs_z=1.5&limit=1000").json()
    rows = body["data"]
    assert rows and all(r["abs_z"] >= 1.5 for r in rows)
    assert [r["abs_z"] for r in rows] == sorted((r["abs_z"] for r in rows), reverse=True)
    assert body["meta"]["min_abs_z"] == 1.5
    weekly = client.get("/api/statistics/extremes?min_abs_z=0&window=7&limit=1000").json()
    assert Counter(r["window_days"] for r in weekly["data"]) == {7: len(weekly["data"])}
    items = {(i["exchange"], i["symbol"]): i for i in all_rates(client)}
    for r in rows:
        assert r["zscore"] == pytest.approx(items[(r["exchange"], r["symbol"])]["z_score"])
    assert client.get("/api/statistics/extremes?window=5").status_code == 422
