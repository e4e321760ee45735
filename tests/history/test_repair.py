"""fill_recent_gaps.py and retry_incomplete_contracts.py against the simulator, both engines."""

from __future__ import annotations

from datetime import timedelta

from history_truth import ground_truth, stored
from script_runs import run_cli
from sqlalchemy import Engine, and_, delete, select

from config.settings import Settings
from lib.history.backfill import run_backfill
from lib.simulator import SimulatorServer
from lib.storage.schema import funding_rates_historical as frh
from lib.timeutils import utcnow

EXCHANGES = ["bybit", "hyperliquid"]


def _delete_recent(engine: Engine, exchange: str, hours: float, limit: int) -> int:
    since = utcnow() - timedelta(hours=hours)
    with engine.begin() as conn:
        keys = conn.execute(
            select(frh.c.symbol, frh.c.funding_time)
            .where(and_(frh.c.exchange == exchange, frh.c.funding_time >= since))
            .order_by(frh.c.symbol, frh.c.funding_time).limit(limit)
        ).all()
        for symbol, when in keys:
            conn.execute(delete(frh).where(and_(
                frh.c.exchange == exchange, frh.c.symbol == symbol, frh.c.funding_time == when)))
    return len(keys)


def test_fill_recent_gaps_dry_run_then_fill(
    engine: Engine, sim: SimulatorServer, live_settings: Settings, sim_env: dict[str, str]
) -> None:
    result = run_backfill(engine, 3, EXCHANGES, settings=live_settings)
    assert result.state == "completed"
    before = stored(engine)
    removed = _delete_recent(engine, "hyperliquid", 40, 7) + _delete_recent(engine, "bybit", 40, 5)
    assert removed == 12

    sim.reset_counts()
    dry = run_cli(["scripts/fill_recent_gaps.py", "--hours", "48", "--dry-run", "--exchanges",
                   ",".join(EXCHANGES)], sim_env)
    assert dry.returncode == 0, dry.stderr
    assert "dry run: 12 gaps found, 12 still missing" in dry.stdout
    assert sum(sim.request_counts().values()) == 0
    assert len(stored(engine)) == len(before) - 12

    fill = run_cli(["scripts/fill_recent_gaps.py", "--hours", "48", "--exchanges",
                    ",".join(EXCHANGES)], sim_env)
    assert fill.returncode == 0, fill.stderr
    assert "12 gaps found, 0 still missing" in fill.stdout
    assert "gaps found" in fill.stdout.splitlines()[0]  # the summary table's header
    assert stored(engine) == before
    # a handful of contracts had gaps: one request each, not one per contract of the exchange
    assert sum(sim.request_counts().values()) <= 12


def test_retry_incomplete_contracts(
    engine: Engine, sim: SimulatorServer, live_settings: Settings, sim_env: dict[str, str]
) -> None:
    run_backfill(engine, 3, ["okx"], settings=live_settings)
    symbol = sim.universe.contracts("okx")[0].symbol
    with engine.begin() as conn:
        conn.execute(delete(frh).where(and_(frh.c.exchange == "okx", frh.c.symbol == symbol)))
    args = ["scripts/retry_incomplete_contracts.py", "--days", "3", "--exchanges", "okx"]

    dry = run_cli([*args, "--dry-run"], sim_env)
    assert dry.returncode == 0, dry.stderr
    assert symbol in dry.stdout and "1 contracts below 95%" in dry.stdout

    fixed = run_cli(args, sim_env)
    assert fixed.returncode == 0, fixed.stderr
    line = next(x for x in fixed.stdout.splitlines() if symbol in x)
    assert line.split()[-3:] == ["ok", "0.00%", "100.00%"]
    assert "1 contracts below 95%, 1 fixed, 0 not" in fixed.stdout
    end = utcnow()
    truth = ground_truth(sim, ["okx"], end - timedelta(days=3) + timedelta(minutes=5), end)
    got = stored(engine)
    assert all(got.get(k) == v for k, v in truth.items() if k[1] == symbol)

    again = run_cli(args, sim_env)
    assert "0 contracts below 95%" in again.stdout
