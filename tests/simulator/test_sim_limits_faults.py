"""Rate limits (429 + Retry-After, Binance 418 ban), faults on/off, determinism, CLI."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from lib.simulator import FaultConfig, SimulatorConfig, SimulatorServer, running_simulator

REPO = Path(__file__).resolve().parents[2]


def _hit(session: requests.Session, method: str, url: str, body: Any) -> requests.Response:
    if method == "POST":
        return session.post(url, json=body, timeout=10)
    return session.get(url, timeout=10)


# (exchange, method, path, body, requests allowed in one window)
LIMITS = [
    ("aster", "GET", "/aster/fapi/v3/ticker/24hr", None, 60),  # weight 40 of 2400
    ("backpack", "GET", "/backpack/api/v1/markPrices?symbol=BTC_USDC_PERP", None, 2000),
    ("binance", "GET", "/binance/fapi/v1/ticker/24hr", None, 60),  # weight 40 of 2400
    ("bybit", "GET", "/bybit/v5/market/time", None, 600),
    ("okx", "GET", "/okx/api/v5/public/funding-rate?instId=BTC-USDT-SWAP", None, 10),
    ("bitget", "GET", "/bitget/api/v2/public/time", None, 20),
    ("gate", "GET", "/gate/api/v4/futures/usdt/funding_rate?contract=BTC_USDT&limit=1",
     None, 200),
    ("kucoin", "GET", "/kucoin/api/v1/contract/funding-rates?symbol=XBTUSDTM&from=0&to=1",
     None, 400),  # weight 5 of 2000
    ("hyperliquid", "POST", "/hyperliquid/info", {"type": "meta"}, 60),  # weight 20 of 1200
    ("dydx", "GET", "/dydx/v4/perpetualMarkets?limit=1", None, 100),
    ("mexc", "GET", "/mexc/api/v1/contract/ping", None, 20),  # 20 per 2 s per endpoint
    ("mexc", "GET", "/mexc/api/v1/contract/detail?symbol=BTC_USDT", None, 12),  # a minute
    ("deribit", "GET", "/deribit/api/v2/public/get_time", None, 100),  # 100 per 5 s
    ("deribit", "GET", "/deribit/api/v2/public/get_instruments?currency=BTC", None, 11),
    # none published: the conservative budgets the adapters keep to
    ("hibachi", "GET", "/hibachi/exchange/utc-timestamp", None, 240),
    ("drift", "GET", "/drift/market/BTC-PERP/fundingRates?limit=1", None, 120),
    ("lighter", "GET", "/lighter/api/v1/funding-rates", None, 60),  # 60 a minute, standard
    ("pacifica", "GET", "/pacifica/api/v1/funding_rate/history?symbol=BTC&limit=1", None,
     13),  # 9 credits of 125
]


@pytest.mark.parametrize(("exchange", "method", "path", "body", "allowed"), LIMITS,
                         ids=[x[0] for x in LIMITS])
def test_rate_limit_gives_429_with_retry_after(
    clean_sim: SimulatorServer, exchange: str, method: str, path: str, body: Any, allowed: int
) -> None:
    session = requests.Session()
    url = clean_sim.url + path
    statuses = []
    for _ in range(allowed + 1):
        statuses.append(_hit(session, method, url, body).status_code)
        if statuses[-1] == 429:
            break
    assert statuses.count(200) >= allowed - 1  # a window may roll over mid-test
    resp = _hit(session, method, url, body)
    if statuses[-1] != 429:  # the window rolled over once; one more burst must be refused
        for _ in range(allowed + 1):
            resp = _hit(session, method, url, body)
            if resp.status_code in (418, 429):
                break
    if resp.status_code not in (418, 429):
        # on a busy machine a burst can straddle every window it meets (OKX's is 2 s): hold the
        # windows these requests were counted in full for one window, as another client would
        assert clean_sim.saturate_rate_limits(exchange)
        resp = _hit(session, method, url, body)
    assert resp.status_code in (418, 429)
    assert int(resp.headers["Retry-After"]) >= 1
    if exchange == "binance":
        # kept sending after a 429 → banned. The 429 above may have come at a window's very
        # end, its back-off already over; a window held full makes the sequence certain.
        clean_sim.reset_rate_limits()
        assert _hit(session, method, url, body).status_code == 200
        clean_sim.saturate_rate_limits("binance")
        assert _hit(session, method, url, body).status_code == 429
        banned = _hit(session, method, url, body)
        assert banned.status_code == 418 and banned.json()["code"] == -1003
        assert int(banned.headers["Retry-After"]) >= 1


def test_saturated_window_refuses_until_it_ends(clean_sim: SimulatorServer) -> None:
    """The test control that stands in for "another client just used the window up"."""
    session = requests.Session()
    url = clean_sim.url + "/bybit/v5/market/tickers?category=linear"
    assert clean_sim.saturate_rate_limits("bybit") == []  # nothing counted yet
    assert _hit(session, "GET", url, None).status_code == 200
    assert clean_sim.saturate_rate_limits("bybit") == ["bybit:ip"]
    refused = _hit(session, "GET", url, None)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    okx = clean_sim.url + "/okx/api/v5/public/funding-rate?instId=ANY"
    assert _hit(session, "GET", okx, None).status_code == 200  # other venues are untouched
    clean_sim.reset_rate_limits()
    assert _hit(session, "GET", url, None).status_code == 200


def test_binance_weight_header_counts(clean_sim: SimulatorServer) -> None:
    session = requests.Session()
    url = clean_sim.url + "/binance/fapi/v1/premiumIndex?symbol=BTCUSDT"
    used = [int(session.get(url, timeout=10).headers["X-MBX-USED-WEIGHT-1M"]) for _ in range(3)]
    assert used[1] == used[0] + 1 and used[2] == used[1] + 1


@pytest.fixture(scope="module")
def small_sim() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=3, total_contracts=200)) as server:
        yield server


def test_faults_switch_on_and_off(small_sim: SimulatorServer) -> None:
    url = small_sim.url + "/binance/fapi/v1/fundingRate?symbol=BTCUSDT&limit=5"
    assert len(requests.get(url, timeout=5).json()) == 5
    small_sim.set_faults("error_rate=1")
    assert {requests.get(url, timeout=5).status_code for _ in range(6)} <= {500, 502, 503}
    small_sim.set_faults({"malformed_rate": 1.0})
    for _ in range(3):
        resp = requests.get(url, timeout=5)
        assert resp.status_code == 200
        with pytest.raises(ValueError):
            resp.json()
    small_sim.set_faults(FaultConfig(empty_rate=1.0))
    assert requests.get(url, timeout=5).json() == []
    okx = small_sim.url + "/okx/api/v5/public/funding-rate?instId=ANY"
    assert requests.get(okx, timeout=5).json()["data"] == []
    dydx = small_sim.url + "/dydx/v4/perpetualMarkets"
    assert requests.get(dydx, timeout=5).json() == {"markets": {}}
    bybit = small_sim.url + "/bybit/v5/market/tickers?category=linear"
    assert requests.get(bybit, timeout=5).json()["result"]["list"] == []
    small_sim.set_faults("latency=200ms")
    start = time.monotonic()
    assert len(requests.get(url, timeout=5).json()) == 5
    assert time.monotonic() - start >= 0.2
    small_sim.set_faults(None)
    assert len(requests.get(url, timeout=5).json()) == 5


def test_timeout_fault_and_clean_shutdown() -> None:
    config = SimulatorConfig(seed=3, total_contracts=100, faults="timeout_rate=1")
    with running_simulator(config) as server:
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.get(server.url + "/dydx/v4/perpetualMarkets", timeout=0.5)
        start = time.monotonic()
    assert time.monotonic() - start < 3  # held connections do not block shutdown


def test_fault_spec_parsing() -> None:
    cfg = FaultConfig.parse("latency=200ms,error_rate=0.05,malformed_rate=0.01,"
                            "timeout_rate=0.01,empty_rate=0.01")
    assert (cfg.latency_ms, cfg.error_rate, cfg.timeout_rate) == (200.0, 0.05, 0.01)
    with pytest.raises(ValueError, match="unknown fault"):
        FaultConfig.parse("bogus=1")


def test_same_seed_same_data_other_seed_differs() -> None:
    now = datetime(2026, 1, 10, 12, 30, tzinfo=UTC)
    paths = ["/bybit/v5/market/funding/history?category=linear&symbol=ETHUSDT",
             "/okx/api/v5/public/instruments?instType=SWAP",
             "/gate/api/v4/futures/usdt/funding_rate?contract=SOL_USDT&limit=1000"]

    def fetch(seed: int) -> list[Any]:
        cfg = SimulatorConfig(seed=seed, total_contracts=300, now=now)
        with running_simulator(cfg) as server:
            out = [requests.get(server.url + p, timeout=10).json() for p in paths]
        out[0].pop("time")
        return out

    first = fetch(11)
    assert first == fetch(11)
    assert first != fetch(12)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_starts_logs_url_and_stops_on_sigterm() -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "lib.simulator", "--port", str(port), "--seed", "5",
         "--contracts", "150", "--time-scale", "10"],
        cwd=REPO, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert f"http://127.0.0.1:{port}" in line
        resp = requests.get(f"http://127.0.0.1:{port}/dydx/v4/perpetualMarkets", timeout=5)
        assert resp.status_code == 200
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
