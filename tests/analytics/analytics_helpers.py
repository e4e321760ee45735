"""Seeding helpers for the analytics tests: contracts, settled rates and snapshots, written
through the project's own write paths into a real database."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, text

from lib.storage.engine import insert_ignore, upsert
from lib.storage.schema import contracts, exchange_data, funding_rates_historical

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 3, 1, tzinfo=UTC)  # a multiple of 8 h since the epoch
H = timedelta(hours=1)
PAST = T0 - timedelta(days=2)  # a collected_at older than any build in these tests

QUOTES = {"binance": ("USDT", "USDT"), "bybit": ("USDT", "USDT"), "okx": ("USDT", "USDT"),
          "hyperliquid": ("USDC", "USDC"), "dydx": ("USDC", "USDC"), "gate": ("USDT", "USDT"),
          "bitget": ("USDT", "USDT"), "kucoin": ("USDT", "USDT")}


def contract(exchange: str, symbol: str, base: str, interval: float, *, multiplier: float = 1.0,
             contract_size: float | None = None, listed_at: datetime | None = None,
             ) -> dict[str, Any]:
    quote, settle = QUOTES[exchange]
    prefix = {1.0: "", 1000.0: "k" if exchange == "hyperliquid" else "1000"}[multiplier]
    return {
        "exchange": exchange, "symbol": symbol, "canonical_symbol": f"{base}/{quote}:{settle}",
        "ccxt_symbol": f"{prefix}{base}/{quote}:{settle}", "base": base, "quote": quote,
        "settle": settle, "multiplier": multiplier, "contract_size": contract_size,
        "funding_interval_hours": interval, "listed_at": listed_at, "status": "trading",
        "first_seen": PAST, "last_seen": PAST,
    }


def add_contracts(engine: Engine, rows: Iterable[dict[str, Any]]) -> None:
    with engine.begin() as conn:
        insert_ignore(conn, contracts, list(rows))


def settle(engine: Engine, exchange: str, symbol: str, interval: float,
           rates: Sequence[tuple[datetime, float]], collected_at: datetime = PAST) -> None:
    """Store settled rates (funding_time, rate) of one contract."""
    rows = [{"exchange": exchange, "symbol": symbol, "funding_time": t, "funding_rate": r,
             "funding_interval_hours": interval, "collected_at": collected_at,
             "source": "backfill"} for t, r in rates]
    with engine.begin() as conn:
        insert_ignore(conn, funding_rates_historical, rows)


def snapshot(engine: Engine, exchange: str, symbol: str, rate: float, interval: float,
             updated_at: datetime, **extra: Any) -> None:
    """Store (or replace) the current funding of one contract."""
    row = {"exchange": exchange, "symbol": symbol, "funding_rate": rate,
           "funding_interval_hours": interval, "updated_at": updated_at,
           "next_funding_time": None, "mark_price": None, "open_interest": None,
           "volume_24h": None, "open_interest_unit": None, "volume_unit": None,
           "predicted_rate": None}
    row.update(extra)
    with engine.begin() as conn:
        upsert(conn, exchange_data, [row])


def spreads(engine: Engine) -> list[tuple[datetime, str, str, str, str, float]]:
    """The arbitrage_spreads view: (ts, exchange_a, symbol_a, exchange_b, symbol_b, spread)."""
    with engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT ts, exchange_a, symbol_a, exchange_b, symbol_b, spread_8h "
            "FROM arbitrage_spreads ORDER BY exchange_a, symbol_a, exchange_b, symbol_b, ts"))
        out = []
        for ts, *names, spread in rows:
            if isinstance(ts, str):  # raw SQL on SQLite returns the stored text
                ts = datetime.fromisoformat(ts).replace(tzinfo=UTC)
            out.append((ts.astimezone(UTC), *names, spread))
        return out


def rows_of(engine: Engine, table: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(select(table)))


def run_script(name: str, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run one of the project's scripts as a user would."""
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300,
                          check=False)


def cli_environment(base: dict[str, str]) -> dict[str, str]:
    return {**base, "PYTHONUNBUFFERED": "1", "PATH": os.environ.get("PATH", "")}
