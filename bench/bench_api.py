"""API benchmark: throughput and latency at 50 concurrent loopback clients (printed, not a test).

The default simulator universe (seed 42, 2,300 contracts: listing, current snapshot, 7 days of
settled history, the spread series, its statistics and the z-scores) is written to a SQLite
file (or PostgreSQL with --engine). The API is served by uvicorn in a child process, one worker,
as `python -m lib.api` serves it, with one extra route that returns a constant (`/bench/constant`)
as the baseline of the same app in the same run. A load process then keeps 50 keep-alive
connections busy against each route in turn (a minimal HTTP/1.1 client on asyncio: a heavier
client would measure itself) and reports requests/s, p50 and p99. Targets, cache warm:
/api/funding-rates and /api/arbitrage/opportunities at >= half the constant route's
throughput, p99 < 50 ms. Also the cold (cache cleared) time of each route, one request at a
time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from itertools import islice
from pathlib import Path
from typing import Any

from bench_backfill import database  # the same throwaway databases

from config.settings import load_settings
from lib.analytics.series import build_series
from lib.analytics.spread_stats import update_spread_statistics
from lib.analytics.zscores import calculate_zscores
from lib.simulator.universe import Universe
from lib.storage.engine import insert_ignore, open_database, upsert
from lib.storage.schema import contracts, exchange_data, funding_rates_historical
from lib.timeutils import to_ms, utcnow

CONTRACTS = 2300
DAYS = 7
CLIENTS = 50
SECONDS = 5.0
WARMUP = 1.0
ROUTES = {
    "constant (baseline)": "/bench/constant",
    "funding-rates": "/api/funding-rates",
    "arbitrage/opportunities": "/api/arbitrage/opportunities",
}


def fill(url: str) -> int:
    """The universe's contracts, snapshots at now and 7 days of history; then the analytics."""
    now = utcnow()
    u = Universe(seed=42, total_contracts=CONTRACTS, now=now)
    start, now_ms = now - timedelta(days=DAYS), to_ms(now)
    listed, snaps, history = [], [], []
    for ex in u.exchanges:
        for c in u.contracts(ex):
            interval = float(c.interval_hours)
            canonical = f"{c.asset}/{c.quote}:{c.settle}"
            listed.append({
                "exchange": ex, "symbol": c.symbol, "canonical_symbol": canonical,
                "base": c.asset, "quote": c.quote, "settle": c.settle,
                "multiplier": float(c.multiplier), "funding_interval_hours": interval,
                "listed_at": c.listed_at, "status": "trading", "first_seen": now,
                "last_seen": now, "ccxt_symbol": f"{c.base}/{c.quote}:{c.settle}",
                "contract_size": c.contract_size})
            s = u.snapshot(c, now_ms)
            snaps.append({
                "exchange": ex, "symbol": c.symbol, "funding_rate": s.rate,
                "funding_interval_hours": interval, "next_funding_time": s.next_funding_time,
                "mark_price": s.mark_price, "index_price": s.index_price,
                "open_interest": s.open_interest, "volume_24h": s.volume_24h,
                "open_interest_unit": "base", "volume_unit": "base", "updated_at": now,
                "base": c.asset, "canonical_symbol": canonical})
            history.extend({"exchange": ex, "symbol": c.symbol, "funding_time": t,
                            "funding_rate": r, "funding_interval_hours": interval,
                            "collected_at": now, "source": "backfill"}
                           for t, r in u.settlements(ex, c.symbol, start, now))
    engine = open_database(url)
    try:
        with engine.begin() as conn:
            insert_ignore(conn, contracts, listed)
            upsert(conn, exchange_data, snaps)
        rows: Iterator[dict[str, Any]] = iter(history)
        while chunk := list(islice(rows, 100_000)):
            with engine.begin() as conn:
                insert_ignore(conn, funding_rates_historical, chunk)
        build_series(engine, DAYS, now=now)
        with engine.begin() as conn:
            update_spread_statistics(conn, now)
        calculate_zscores(engine, now=now)
    finally:
        engine.dispose()
    return len(listed)


def serve(port: int) -> None:
    """The child: the app as python -m lib.api serves it, plus the constant route."""
    import uvicorn

    from lib.api.app import create_app

    app = create_app(load_settings(), static_dir=None)

    @app.get("/bench/constant")
    async def constant() -> dict[str, Any]:
        return {"data": {"constant": True}}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _request(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                   raw: bytes) -> int:
    writer.write(raw)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line[:15].lower() == b"content-length:":
            length = int(line[15:])
    await reader.readexactly(length)
    return status


async def _client(port: int, raw: bytes, until: float, warm_until: float,
                  latencies: list[float], errors: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (now := time.perf_counter()) < until:
            status = await _request(reader, writer, raw)
            done = time.perf_counter()
            if now >= warm_until:
                latencies.append(done - now)
                if status != 200:
                    errors.append(status)
    finally:
        writer.close()


async def load(port: int, path: str, clients: int, seconds: float) -> dict[str, float]:
    """`clients` keep-alive connections sending GET `path` back to back for `seconds`."""
    raw = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode()
    latencies: list[float] = []
    errors: list[int] = []
    start = time.perf_counter()
    warm_until = start + WARMUP
    until = warm_until + seconds
    await asyncio.gather(*(_client(port, raw, until, warm_until, latencies, errors)
                           for _ in range(clients)))
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000, "n": len(latencies),
            "errors": len(errors)}


def cold_ms(port: int, path: str, rounds: int = 5) -> float:
    """Median time of one request right after the cache is cleared."""
    import httpx

    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as c:
        for _ in range(rounds):
            assert c.post("/api/cache/clear").status_code == 200
            t0 = time.perf_counter()
            assert c.get(path).status_code == 200
            times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the API did not come up in 120 s")


def report(label: str, figure: str, target: str = "") -> None:
    print(f"{label:<44} {figure:>34}   {target}", flush=True)


def bench(url: str, workdir: Path, engine: str) -> None:
    t0 = time.perf_counter()
    n = fill(url)
    print(f"{engine}: {n:,} contracts, {DAYS} days of history, analytics built "
          f"({time.perf_counter() - t0:.0f} s)", flush=True)
    port = free_port()
    env = {**os.environ, "DATABASE_URL": url, "RUNTIME_DIR": str(workdir / "run"),
           "LOG_DIR": str(workdir / "logs"), "API_CACHE_TTL": "3600", "REDIS_URL": ""}
    proc = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env,
                            cwd=Path(__file__).resolve().parents[1])
    try:
        wait_up(port, proc)
        for name, path in ROUTES.items():
            if path.startswith("/api/"):
                report(f"{name}: cold (cache cleared), one at a time",
                       f"{cold_ms(port, path):.0f} ms (median of 5)")
        results = {}
        for name, path in ROUTES.items():
            asyncio.run(load(port, path, CLIENTS, 1.0))  # warm the cache and connections
            results[name] = r = asyncio.run(load(port, path, CLIENTS, SECONDS))
            ratio = r["rps"] / results["constant (baseline)"]["rps"]
            target = "" if path == "/bench/constant" else (
                f"target >= 0.5x ({ratio:.2f}x), p99 < 50 ms")
            report(f"{name}: {CLIENTS} clients, cache warm",
                   f"{r['rps']:,.0f} req/s p50 {r['p50']:.1f} p99 {r['p99']:.1f} ms", target)
            if r["errors"]:
                report("  non-200 answers", f"{r['errors']:.0f} of {r['n']:.0f}")
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--engine", default="sqlite", choices=("sqlite", "postgresql"))
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory() as tmp, database(args.engine, Path(tmp)) as url:
        bench(url, Path(tmp), args.engine)


if __name__ == "__main__":
    main()
