"""Web dashboard benchmark in headless Chromium (Debian's /usr/bin/chromium), printed.

The default simulator universe (seed 42, 2,300 contracts) is written into a throwaway SQLite
database through the project's write path, as a collector would leave it: every contract and
its current snapshot, plus 30 days of settled history of the hourly contracts of one venue.
Then `python -m lib.api` serves it and, in a fresh browser context each time (no HTTP cache):

- time from navigation to the overview grid drawn (the first screenful of rows painted; the
  rest follow in chunks, one frame each, and the time until all are in is shown below it),
  with the API's cache emptied first (cold) and then kept (warm); target < 1.5 s;
- the bytes transferred for that page (bodies and headers of every request);
- time to the contract page with 30 days of hourly history drawn; target < 1 s.

Each figure is the median of RUNS page loads. The marks are the page's own
(`performance.mark("drawn:<page>")`, a frame after its first data is on screen).
"""

from __future__ import annotations

import gzip
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser, Page, sync_playwright

from lib.simulator.universe import Universe
from lib.storage.engine import insert_ignore, open_database, upsert
from lib.storage.schema import contracts, exchange_data, funding_rates_historical
from lib.timeutils import to_ms, utcnow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
RUNS = 5
DAYS = 30
HISTORY_VENUE = "hyperliquid"  # every contract settles hourly there


def load_universe(url: str) -> tuple[str, str, int]:
    """Write the default universe's contracts and snapshots, and 30 days of history of the
    hourly venue's contracts; returns one such contract and its settlement count."""
    now = utcnow()
    u = Universe(seed=42, total_contracts=2300, now=now)
    engine = open_database(url)
    rows, snaps, history = [], [], []
    for ex in u.exchanges:
        for c in u.contracts(ex):
            canonical = f"{c.asset}/{c.quote}:{c.settle}"
            rows.append({
                "exchange": ex, "symbol": c.symbol, "canonical_symbol": canonical,
                "ccxt_symbol": canonical, "base": c.asset, "quote": c.quote, "settle": c.settle,
                "multiplier": float(c.multiplier), "contract_size": c.contract_size,
                "funding_interval_hours": float(c.interval_hours), "listed_at": c.listed_at,
                "status": "trading", "first_seen": now, "last_seen": now})
            s = u.snapshot(c, to_ms(now))
            snaps.append({
                "exchange": ex, "symbol": c.symbol, "funding_rate": s.rate,
                "funding_interval_hours": float(c.interval_hours),
                "next_funding_time": s.next_funding_time, "mark_price": s.mark_price,
                "index_price": s.index_price, "open_interest": s.open_interest,
                "volume_24h": s.volume_24h, "open_interest_unit": "base",
                "volume_unit": "base", "updated_at": now, "base": c.asset,
                "canonical_symbol": canonical})
            if ex == HISTORY_VENUE:
                history.extend({
                    "exchange": ex, "symbol": c.symbol, "funding_time": t, "funding_rate": r,
                    "funding_interval_hours": float(c.interval_hours), "collected_at": now,
                    "source": "backfill"} for t, r in u.settlements(
                        ex, c.symbol, now - timedelta(days=DAYS), now))
    with engine.begin() as conn:
        insert_ignore(conn, contracts, rows)
        upsert(conn, exchange_data, snaps)
        insert_ignore(conn, funding_rates_historical, history)
    engine.dispose()
    counts: dict[str, int] = {}
    for h in history:
        counts[h["symbol"]] = counts.get(h["symbol"], 0) + 1
    symbol = max(counts, key=lambda s: counts[s])
    return HISTORY_VENUE, symbol, counts[symbol]


def restamp(url: str) -> None:
    """Snapshots collected now (they turn stale after 120 s; the bench can outlast that)."""
    engine = open_database(url)
    with engine.begin() as conn:
        conn.execute(exchange_data.update().values(updated_at=utcnow()))
    engine.dispose()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def api(url: str, workdir: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=url, RUNTIME_DIR=str(workdir / "run"), LOG_DIR=str(workdir / "logs"),
               DATA_DIR=str(workdir / "data"), API_HOST="127.0.0.1", API_PORT=str(port),
               REDIS_URL="", API_TOKEN="", SIMULATOR_URL="")
    with (workdir / "api.out").open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "lib.api"], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"the API did not start: {(workdir / 'api.out').read_text()}")
            try:
                httpx.get(f"{base}/api/health", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def drawn_ms(page: Page, name: str) -> float:
    """Milliseconds from navigation start to the page's drawn mark."""
    page.wait_for_function(f"performance.getEntriesByName('drawn:{name}').length > 0",
                           timeout=120_000)
    return float(page.evaluate(f"performance.getEntriesByName('drawn:{name}')[0].startTime"))


def load(browser: Browser, url: str, name: str) -> tuple[float, int, int, dict[str, Any]]:
    """One page load in a fresh context: (ms to drawn, bytes transferred, requests, facts);
    facts["complete_ms"]: to the last grid row in (the overview)."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    done: list[Any] = []
    page.on("requestfinished", lambda request: done.append(request))
    page.goto(url)
    ms = drawn_ms(page, name)
    complete = None
    if name == "overview":
        page.wait_for_function("performance.getEntriesByName('complete:overview').length > 0",
                               timeout=120_000)
        complete = page.evaluate(
            "performance.getEntriesByName('complete:overview')[0].startTime")
    facts = page.evaluate("""() => ({
        rows: document.querySelectorAll('#grid tbody tr[data-base]').length,
        cells: document.querySelectorAll('#grid td.cell').length,
        points: Number(document.querySelector('#chart')?.dataset.points || 0)})""")
    facts["complete_ms"] = complete
    page.wait_for_load_state("networkidle")
    total = 0
    for request in done:
        sizes = request.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    context.close()
    return ms, total, len(done), facts


def report(label: str, figure: str, target: str = "") -> None:
    print(f"{label:<60} {figure:>10}   {target}", flush=True)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        workdir = Path(tmp)
        db = f"sqlite:///{workdir / 'bench.db'}"
        exchange, symbol, _ = load_universe(db)
        with api(db, workdir) as base, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            overview = f"{base}/#/overview"
            for label, clear in (("cold", True), ("warm", False)):
                times, full, sizes = [], [], []
                facts: dict[str, Any] = {}
                for _ in range(RUNS):
                    restamp(db)
                    if clear:
                        httpx.post(f"{base}/api/cache/clear", timeout=30)
                    ms, size, n, facts = load(browser, overview, "overview")
                    times.append(ms)
                    full.append(facts["complete_ms"])
                    sizes.append(size)
                report(f"overview grid drawn (first screen), API cache {label}",
                       f"{statistics.median(times) / 1000:.2f} s", "target < 1.5 s")
                report(f"  all {facts['rows']} assets, {facts['cells']} cells in",
                       f"{statistics.median(full) / 1000:.2f} s")
                report(f"  bytes transferred ({n} requests)",
                       f"{statistics.median(sizes) / 1024:.0f} KiB")
            grid = httpx.get(f"{base}/api/funding-rates/grid", params={"view": "apr"},
                             timeout=60).content
            report("  of which the grid's JSON (the API sends it uncompressed)",
                   f"{len(grid) / 1024:.0f} KiB")
            report("  the grid's JSON gzip-compressed (not done by the API)",
                   f"{len(gzip.compress(grid)) / 1024:.0f} KiB")
            times = []
            contract = f"{base}/#/contract/{exchange}/{symbol}?days={DAYS}"
            for _ in range(RUNS):
                httpx.post(f"{base}/api/cache/clear", timeout=30)
                ms, size, n, facts = load(browser, contract, "contract")
                times.append(ms)
            report(f"contract page drawn, {DAYS} d hourly ({facts['points']} points)",
                   f"{statistics.median(times) / 1000:.2f} s", "target < 1 s")
            report(f"  bytes transferred ({n} requests)", f"{size / 1024:.0f} KiB")
            browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
