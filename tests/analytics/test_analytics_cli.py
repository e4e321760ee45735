"""The analytics scripts run as a user runs them, on both engines: output, exit codes, messages."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from analytics_helpers import ROOT, add_contracts, contract, run_script, settle, snapshot
from sqlalchemy import Engine, func, select

from lib.storage.schema import arbitrage_leg_hours, funding_statistics
from lib.timeutils import floor_to_interval, utcnow

H = timedelta(hours=1)


def _seed(engine: Engine) -> None:
    """BTC on binance (8 h) and hyperliquid (1 h), two days back so that any default window
    holds all of it: 16 hours of both legs, 32 leg hours; fresh current rates."""
    base = floor_to_interval(utcnow(), 8) - 48 * H
    add_contracts(engine, [contract("binance", "BTCUSDT", "BTC", 8),
                           contract("hyperliquid", "BTC", "BTC", 1)])
    settle(engine, "binance", "BTCUSDT", 8, [(base + 8 * H, 0.0008), (base + 16 * H, -0.0004)])
    settle(engine, "hyperliquid", "BTC", 1, [(base + k * H, 0.0001) for k in range(1, 17)])
    now = utcnow()
    snapshot(engine, "binance", "BTCUSDT", 0.0004, 8, now, mark_price=60_000.0,
             open_interest=10.0, open_interest_unit="base")
    snapshot(engine, "hyperliquid", "BTC", 0.00001, 1, now, mark_price=60_000.0,
             open_interest=20.0, open_interest_unit="base")


def _count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def _line(done: subprocess.CompletedProcess[str]) -> str:
    """stdout's one line, with the seconds (which vary) cut off."""
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1, done.stdout
    return lines[0].rsplit(", ", 1)[0]


def test_backfill_builds_then_adds_nothing_then_force_rebuilds(
        engine: Engine, cli_env: dict[str, str]) -> None:
    _seed(engine)
    first = run_script("backfill_arbitrage_spreads_v2.py", cli_env)
    assert _line(first) == "pairs 1 (1 new), rows written 32, statistics updated 2"
    assert first.stdout.rstrip().endswith(" seconds")
    again = run_script("backfill_arbitrage_spreads_v2.py", cli_env, "--days", "30")
    assert _line(again) == "pairs 1 (0 new), rows written 0, statistics updated 2"
    forced = run_script("backfill_arbitrage_spreads_v2.py", cli_env, "--force")
    assert _line(forced) == "pairs 1 (0 new), rows written 32 (32 replaced), statistics updated 2"
    assert _count(engine, arbitrage_leg_hours) == 32
    assert (Path(cli_env["LOG_DIR"]) / "spread_backfill.log").exists()


def test_zscores_and_spread_collector_once(engine: Engine, cli_env: dict[str, str]) -> None:
    _seed(engine)
    z = run_script("calculate_zscores.py", cli_env, "--once")
    assert _line(z) == "contracts 2, statistics updated 4"
    assert _count(engine, funding_statistics) == 4
    spreads = run_script("collect_spread_history.py", cli_env, "--once")
    assert _line(spreads) == "pairs 1 (1 new), rows written 32, statistics updated 2"
    assert (Path(cli_env["LOG_DIR"]) / "zscore_calculator.log").exists()
    assert (Path(cli_env["LOG_DIR"]) / "spread_collector.log").exists()


def test_top_opportunities_table_and_json(engine: Engine, cli_env: dict[str, str]) -> None:
    _seed(engine)
    assert run_script("backfill_arbitrage_spreads_v2.py", cli_env).returncode == 0
    table = run_script("top_opportunities.py", cli_env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["pair", "short", "long", "intervals", "gross", "APR", "net",
                                "APR", "persistence", "spread", "z", "carry", "7d", "carry",
                                "30d"]
    row = lines[2]
    # binance 0.0004/8h against hyperliquid 0.00008/8h: 0.00032 x 1095 = 35.0 % gross;
    # fees 2 x (0.05 % + 0.045 %) over 7 days: 0.0019 x 365 / 7 = 9.9 %, so 25.1 % net
    assert row.split()[:9] == ["BTC", "USDT|USDC", "binance", "BTCUSDT", "hyperliquid", "BTC",
                               "8h/1h", "35.0%", "25.1%"]
    assert "incomplete (" in row  # two days of history: 7 and 30 days are not complete
    assert lines[-1].startswith("1 of 1 pairs shown; 2 current legs, 0 stale legs left out")

    data = json.loads(run_script("top_opportunities.py", cli_env, "--json",
                                 "--hold-days", "30").stdout)
    (only,) = data["opportunities"]
    assert (only["short"]["exchange"], only["long"]["exchange"]) == ("binance", "hyperliquid")
    assert only["gross_apr"] == pytest.approx(0.00032 * 1095)
    assert only["net_apr"] == pytest.approx(0.00032 * 1095 - 0.0019 * 365 / 30)
    assert only["short"]["open_interest_usd"] == pytest.approx(600_000)
    assert only["history_hours"] == 16
    assert only["realized_carry"]["7"]["complete"] is False
    assert only["realized_carry"]["7"]["net"] is None

    none = run_script("top_opportunities.py", cli_env, "--min-apr", "30")
    assert none.returncode == 0 and none.stdout.splitlines()[-1].startswith("0 of 0 pairs")
    rich = run_script("top_opportunities.py", cli_env, "--min-oi", "1000000", "--json")
    assert json.loads(rich.stdout)["opportunities"] == []


@pytest.mark.parametrize(("script", "args", "message"), [
    ("backfill_arbitrage_spreads_v2.py", (),
     "no settled funding rates stored yet: run unified_historical_backfill.py --days 30 "
     "--parallel first"),
    ("collect_spread_history.py", ("--once",),
     "no settled funding rates stored yet: run unified_historical_backfill.py --days 30 "
     "--parallel first"),
    ("calculate_zscores.py", ("--once",),
     "no settled funding rates stored yet: run unified_historical_backfill.py --days 30 "
     "--parallel first"),
    ("top_opportunities.py", (),
     "no current funding rates stored yet: run collect_funding_rates.py --once (or start.py) "
     "first"),
])
def test_an_empty_database_gets_one_clear_line(cli_env: dict[str, str], script: str,
                                               args: tuple[str, ...], message: str) -> None:
    done = run_script(script, cli_env, *args)
    assert done.returncode == 2
    assert done.stderr == f"{script}: error: {message}\n"
    assert done.stdout == ""


@pytest.mark.parametrize(("script", "args", "message"), [
    ("backfill_arbitrage_spreads_v2.py", ("--days", "x"),
     "argument --days: 'x' must be a whole number from 1 to 3650 days"),
    ("backfill_arbitrage_spreads_v2.py", ("--days", "0"),
     "argument --days: '0' must be a whole number from 1 to 3650 days"),
    ("collect_spread_history.py", (), "one of the arguments --once --continuous is required"),
    ("collect_spread_history.py", ("--continuous", "--interval", "0"),
     "argument --interval: '0' must be a number above 0 up to 86400 seconds"),
    ("calculate_zscores.py", ("--once", "--continuous"),
     "argument --continuous: not allowed with argument --once"),
    ("top_opportunities.py", ("--exchanges", "ftx"),
     "argument --exchanges: 'ftx' names unknown exchange(s) ftx; supported: "),
    ("top_opportunities.py", ("--limit", "0"),
     "argument --limit: '0' must be a whole number from 1 to 100000 rows"),
    ("top_opportunities.py", ("--min-apr", "nan"),
     "argument --min-apr: 'nan' must be a number from -1000000 to 1000000 percent"),
    ("top_opportunities.py", ("--hold-days", "1.5"),
     "argument --hold-days: '1.5' must be a whole number from 1 to 3650 days"),
])
def test_bad_flags_get_one_clear_line(sqlite_url: str, cli_env: dict[str, str], script: str,
                                      args: tuple[str, ...], message: str) -> None:
    done = run_script(script, {**cli_env, "DATABASE_URL": sqlite_url}, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(f"{script}: error: {message}")
    assert done.stderr.endswith(f" (see {script} --help)\n") and done.stderr.count("\n") == 1
    assert done.stdout == ""


def test_spread_collector_runs_until_sigterm(engine: Engine, cli_env: dict[str, str]) -> None:
    _seed(engine)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "collect_spread_history.py"), "--continuous",
         "--interval", "1"], cwd=ROOT, env=cli_env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while _count(engine, arbitrage_leg_hours) < 32:  # the first cycle's write
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no spreads built in 120 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    log = (Path(cli_env["LOG_DIR"]) / "spread_collector.log").read_text()
    assert "spreads: 32 rows" in log
