"""SIGTERM/SIGINT stop the collector and the backfill within 5 s, whatever they are waiting on.

Real processes against real servers: PostgreSQL behind a proxy that turns into a black hole
(packets dropped: no refusal, no reply), the simulator answering 429 with a Retry-After of a
minute, a --once drain waiting for a settlement the exchange is missing, and a --wait for a
held lock. Each test first waits for evidence that the process is blocked where it should be,
then measures from the signal to the exit.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url
from tcp_blackhole import TcpProxy

from lib.errors import TemporaryExchangeError
from lib.exchanges.http import ExchangeHttp, RateLimit
from lib.runtime.files import METRICS_FILE, read_json
from lib.runtime.locks import FileLock
from lib.runtime.stopping import GRACE_SECONDS, STOP
from lib.simulator import SimulatorConfig, SimulatorServer, running_simulator
from lib.simulator.universe import Universe
from lib.storage.engine import create_db_engine, normalise_url
from lib.storage.schema import exchange_data
from lib.storage.schema import funding_rates_historical as frh

ROOT = Path(__file__).resolve().parents[2]
LIMIT_S = 5.0  # the requirement: signal to exit
CONTRACTS = 120
COLLECT = ["scripts/collect_funding_rates.py"]
CONTINUOUS = [*COLLECT, "--continuous", "--interval", "1", "--exchanges", "binance"]
BACKFILL = ["scripts/unified_historical_backfill.py", "--days", "4", "--exchanges", "binance"]
# A venue paged contract by contract (Binance walks a 4-day window across contracts in one or
# two requests): a run long enough to be caught in the middle of its writes.
PER_CONTRACT_BACKFILL = [*BACKFILL[:-1], "bybit"]
FORCED = "the work in progress did not finish within"

T = TypeVar("T")


# -- fixtures and helpers --------------------------------------------------------------------

@pytest.fixture(scope="module")
def sim_server() -> Iterator[SimulatorServer]:
    with running_simulator(SimulatorConfig(seed=42, total_contracts=CONTRACTS)) as server:
        yield server


@pytest.fixture
def sim(sim_server: SimulatorServer) -> Iterator[SimulatorServer]:
    sim_server.set_faults(None)
    sim_server.reset_rate_limits()
    sim_server.reset_counts()
    yield sim_server
    sim_server.set_faults(None)
    sim_server.reset_rate_limits()


def _missing_latest_settlement(seed: int) -> tuple[SimulatorConfig, str]:
    """A simulator whose clock starts just after a Binance settlement the exchange is missing:
    a collector's catch-up then waits for it (no later settlement can show it missing)."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    probe = Universe(seed, CONTRACTS, now=base)
    for c in probe.contracts("binance"):
        for t in probe.missing_settlements("binance", c.symbol, base - timedelta(days=20),
                                           base - timedelta(days=2)):
            now = t + timedelta(minutes=2)
            universe = Universe(seed, CONTRACTS, now=now)
            there = universe.find("binance", c.symbol)
            if (there is not None and there.status == "trading"
                    and there.listed_at < t - timedelta(days=2)
                    and t in universe.missing_settlements("binance", c.symbol, t, t)):
                return SimulatorConfig(seed=seed, total_contracts=CONTRACTS, now=now), c.symbol
    raise AssertionError("no Binance contract with a missing settlement in this universe")


@pytest.fixture(scope="module")
def missing_sim() -> Iterator[SimulatorServer]:
    config, _symbol = _missing_latest_settlement(42)
    with running_simulator(config) as server:
        yield server


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    upstream = make_url(os.environ.get("TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1"))
    with TcpProxy((upstream.host or "127.0.0.1", upstream.port or 5432)) as p:
        yield p


def _via(proxy: TcpProxy, url: str) -> str:
    return make_url(url).set(host="127.0.0.1", port=proxy.port).render_as_string(
        hide_password=False)


def _env(tmp_path: Path, db_url: str, sim_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=db_url, RUNTIME_DIR=str(tmp_path / "run"),
               LOG_DIR=str(tmp_path / "logs"), DATA_DIR=str(tmp_path / "data"),
               SIMULATOR_URL=sim_url, HTTP_READ_TIMEOUT="2", HTTP_CONNECT_TIMEOUT="2")
    return env


class Run:
    """A script running as a user runs it; its output goes to files (a pipe nobody reads
    could fill and block it)."""

    def __init__(self, args: list[str], env: dict[str, str], tmp_path: Path, tag: str) -> None:
        self.args = args
        self.out_path = tmp_path / f"{tag}.out"
        self.err_path = tmp_path / f"{tag}.err"
        with self.out_path.open("w") as out, self.err_path.open("w") as err:
            self.proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env,
                                         stdout=out, stderr=err, text=True)

    @property
    def stdout(self) -> str:
        return self.out_path.read_text()

    @property
    def stderr(self) -> str:
        return self.err_path.read_text()

    def alive(self) -> None:
        assert self.proc.poll() is None, f"exited {self.proc.returncode}: {self.stderr}"

    def stop(self, sig: signal.Signals, what: str) -> float:
        """Send `sig`; assert the process ended within the limit; the seconds it took."""
        self.alive()
        started = time.monotonic()
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=3 * LIMIT_S)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{what}: still running {3 * LIMIT_S:g} s after {sig.name}: "
                                 f"{self.stderr}") from None
        elapsed = time.monotonic() - started
        print(f"{what}: {sig.name} to exit {elapsed:.2f} s")
        assert elapsed < LIMIT_S, f"{what}: {elapsed:.2f} s"
        return elapsed

    def __enter__(self) -> Run:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)


def _wait_for(what: str, probe: Callable[[], T | None], timeout: float = 60,
              run: Run | None = None) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        if run is not None:
            run.alive()
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def _metrics(env: dict[str, str]) -> dict[str, Any] | None:
    return read_json(Path(env["RUNTIME_DIR"]) / METRICS_FILE)


def _binance_ok(env: dict[str, str]) -> dict[str, Any] | None:
    doc = _metrics(env)
    return doc if doc and doc["exchanges"]["binance"]["success"] else None


def _backfill_done(env: dict[str, str], done: int) -> bool:
    status = read_json(Path(env["RUNTIME_DIR"]) / ".unified_backfill.status")
    return bool(status and status["overall"].get("contracts_done", 0) >= done)


def _count(url: str, table: Any) -> int:
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(table)).scalar_one())
    finally:
        engine.dispose()


def _assert_forced(run: Run, sig: signal.Signals, prog: str) -> None:
    """Ended by the stop watcher: exit 128 + signal, its one line last, no traceback."""
    assert run.proc.returncode == 128 + sig, run.stderr
    lines = run.stderr.strip().splitlines()
    assert "Traceback" not in run.stderr
    assert lines[-1] == (
        f"{prog}: stopped by {sig.name}: {FORCED} {GRACE_SECONDS:g} s (a database or exchange "
        "call not answering); exiting without it (an unfinished write is rolled back, the next "
        "run continues)"
    )
    assert sum(FORCED in line for line in lines) == 1


def _assert_orderly(run: Run) -> None:
    """Stopped by its own waits ending, not by the watcher."""
    assert run.proc.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and FORCED not in run.stderr


def _draining_once(env: dict[str, str], tmp_path: Path) -> Run:
    """`--once` waiting in its drain for a settlement the exchange is missing (up to 60 s): a
    first run stores the snapshots that the second one's catch-up starts from."""
    once = [*COLLECT, "--once", "--exchanges", "binance"]
    first = subprocess.run([sys.executable, *once], cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    (Path(env["RUNTIME_DIR"]) / METRICS_FILE).unlink()
    run = Run(once, env, tmp_path, "once")
    try:
        doc = _wait_for("the cycle's metrics", lambda: _metrics(env), run=run)
        assert doc["exchanges"]["binance"]["settlements_pending"] >= 1
    except BaseException:
        run.__exit__()
        raise
    return run


# -- the database drops packets ---------------------------------------------------------------

def _stop_while_database_drops_packets(proxy: TcpProxy, run: Run, sig: signal.Signals,
                                       what: str) -> None:
    """Turn the proxy into a black hole, wait until a database call meets it, signal; then
    the process must have been ended by the stop watcher; the proxy forwards again."""
    proxy.blackhole()
    assert proxy.stalled.wait(30), f"{what}: no database call met the black hole"
    run.stop(sig, f"{what}, database dropping packets")
    _assert_forced(run, sig, run.args[0].split("/")[-1])
    proxy.forward()


def test_collector_stops_within_5s_while_database_drops_packets(
    pg_url: str, proxy: TcpProxy, sim: SimulatorServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, _via(proxy, pg_url), sim.url)
    with Run(CONTINUOUS, env, tmp_path, "collector") as run:
        _wait_for("a successful cycle", lambda: _binance_ok(env), run=run)
        before = _count(pg_url, exchange_data)
        assert before == len(sim.universe.contracts("binance"))
        _stop_while_database_drops_packets(proxy, run, signal.SIGTERM, "collector --continuous")
    assert _count(_via(proxy, pg_url), exchange_data) == before


def test_once_stops_within_5s_while_database_drops_packets(
    pg_url: str, proxy: TcpProxy, missing_sim: SimulatorServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, _via(proxy, pg_url), missing_sim.url)
    with _draining_once(env, tmp_path) as run:
        stored = _count(pg_url, frh)
        _stop_while_database_drops_packets(proxy, run, signal.SIGINT, "collector --once draining")
    assert _count(_via(proxy, pg_url), frh) >= stored


def test_backfill_stops_within_5s_while_database_drops_packets(
    pg_url: str, proxy: TcpProxy, sim: SimulatorServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, _via(proxy, pg_url), sim.url)
    sim.set_faults("latency=300ms")  # a run long enough to be caught in the middle
    with Run(PER_CONTRACT_BACKFILL, env, tmp_path, "backfill") as run:
        _wait_for("backfill progress", lambda: _backfill_done(env, 3), run=run)
        stored = _count(pg_url, frh)
        assert stored > 0
        _stop_while_database_drops_packets(proxy, run, signal.SIGTERM, "backfill")
    assert _count(_via(proxy, pg_url), frh) >= stored


def test_postgres_connections_time_out_and_keep_alive(pg_url: str) -> None:
    """A silent server becomes an error: connect timeout, keepalives, TCP user timeout, and a
    statement timeout on the server; a key in DATABASE_URL's query string wins."""
    for url, timeout in ((pg_url, "5min"), (f"{pg_url}?options=-c%20statement_timeout%3D1500",
                                           "1500ms")):
        engine = create_db_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.execute(text("SHOW statement_timeout")).scalar_one() == timeout
                raw = conn.connection.dbapi_connection
                assert raw is not None
                dsn = raw.get_dsn_parameters()  # type: ignore[attr-defined]
        finally:
            engine.dispose()
        assert {k: dsn.get(k) for k in ("connect_timeout", "keepalives", "keepalives_idle",
                                        "keepalives_interval", "keepalives_count",
                                        "tcp_user_timeout")} == {
            "connect_timeout": "5", "keepalives": "1", "keepalives_idle": "10",
            "keepalives_interval": "5", "keepalives_count": "3", "tcp_user_timeout": "30000"}


# -- the exchange says: retry after a minute ---------------------------------------------------

@contextmanager
def _answers_429(sim: SimulatorServer) -> Iterator[threading.Event]:
    """An event set when the simulator answers Binance with 429 (noted for the whole run: a
    request already on its way when the window is saturated meets it too)."""
    answered = threading.Event()
    dispatch = sim.app.dispatch

    def noting(req: Any) -> Any:
        resp = dispatch(req)
        if req.exchange == "binance" and resp is not None and resp.status == 429:
            answered.set()
        return resp

    sim.app.dispatch = noting  # type: ignore[method-assign]
    try:
        yield answered
    finally:
        del sim.app.dispatch  # back to the class's own


def _stop_during_retry_after(sim: SimulatorServer, run: Run, answered: threading.Event,
                             what: str) -> None:
    """Make the next Binance request certain to get 429 + a minute's Retry-After, wait until
    the simulator has answered one (the process is then waiting it out), and stop it."""
    assert not answered.is_set()
    assert sim.saturate_rate_limits("binance")
    _wait_for("a 429 from the simulator", answered.is_set, run=run)
    run.stop(signal.SIGTERM, what)
    _assert_orderly(run)


def test_collector_stops_within_5s_during_a_long_retry_after(
    sim: SimulatorServer, sqlite_url: str, tmp_path: Path
) -> None:
    env = _env(tmp_path, sqlite_url, sim.url)
    with _answers_429(sim) as answered, Run(CONTINUOUS, env, tmp_path, "collector") as run:
        _wait_for("a successful cycle", lambda: _binance_ok(env), run=run)
        _stop_during_retry_after(sim, run, answered, "collector --continuous, 60 s Retry-After")


def test_backfill_stops_within_5s_during_a_long_retry_after(
    sim: SimulatorServer, sqlite_url: str, tmp_path: Path
) -> None:
    """Binance's funding budget (history and fundingInfo: 500 per 5 minutes) is spent before
    the run starts, so its first fundingInfo meets a 429 with minutes of Retry-After."""
    env = _env(tmp_path, sqlite_url, sim.url)
    requests.get(f"{sim.url}/binance/fapi/v1/fundingInfo", timeout=10).raise_for_status()
    with _answers_429(sim) as answered:
        assert sim.saturate_rate_limits("binance")
        with Run(BACKFILL, env, tmp_path, "backfill") as run:
            _wait_for("a 429 from the simulator", answered.is_set, run=run)
            run.stop(signal.SIGTERM, "backfill, minutes of Retry-After")
            _assert_orderly(run)
    assert run.stdout.strip().endswith("backfill stopped")
    status = read_json(Path(env["RUNTIME_DIR"]) / ".unified_backfill.status")
    assert status is not None and status["state"] == "stopped"
    assert status["exchanges"]["binance"]["errors"] == 0  # a stop is not a failed contract


def test_http_wait_for_retry_after_ends_when_stop_is_set() -> None:
    seen = threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.set()
            self.send_response(429)
            self.send_header("Retry-After", "60")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    stop = threading.Event()
    client = ExchangeHttp("testex", f"http://127.0.0.1:{httpd.server_address[1]}",
                          RateLimit(100, 1.0), stop=stop)
    assert ExchangeHttp("testex", "http://127.0.0.1:1", RateLimit(1, 1.0)).stop is STOP
    errors: list[Exception] = []

    def call() -> None:
        try:
            client.get_json("/x")
        except TemporaryExchangeError as e:
            errors.append(e)

    worker = threading.Thread(target=call)
    worker.start()
    try:
        assert seen.wait(10)
        started = time.monotonic()
        stop.set()
        worker.join(LIMIT_S)
        assert not worker.is_alive()
        assert time.monotonic() - started < 1.0
        assert len(errors) == 1 and "stopping: a 60s wait before a request was cut short" in str(
            errors[0])
        with pytest.raises(TemporaryExchangeError, match="testex: /y: not sent: stopping"):
            client.get_json("/y")
    finally:
        stop.set()
        httpd.shutdown()
        httpd.server_close()
        client.close()


# -- --once drain and --wait -------------------------------------------------------------------

def test_once_drain_for_a_missing_settlement_ends_on_sigint(
    missing_sim: SimulatorServer, sqlite_url: str, tmp_path: Path
) -> None:
    env = _env(tmp_path, sqlite_url, missing_sim.url)
    with _draining_once(env, tmp_path) as run:
        run.stop(signal.SIGINT, "collector --once, draining for a missing settlement")
    _assert_orderly(run)


def test_backfill_waiting_for_a_lock_stops_with_one_line(
    sqlite_url: str, sim: SimulatorServer, tmp_path: Path
) -> None:
    env = _env(tmp_path, sqlite_url, sim.url)
    lock_path = Path(env["RUNTIME_DIR"]) / ".unified_backfill.lock"
    log = Path(env["LOG_DIR"]) / "unified_backfill.log"
    with FileLock(lock_path, command="fill_recent_gaps.py"), \
            Run([*BACKFILL, "--wait"], env, tmp_path, "waiting") as run:
        _wait_for("the wait to be logged",
                  lambda: log.exists() and "waiting for lock" in log.read_text(), run=run)
        run.stop(signal.SIGTERM, "backfill --wait for a held lock")
    assert run.proc.returncode == 75, run.stderr
    line = run.stderr.strip()
    assert "\n" not in line
    assert line.startswith(
        "unified_historical_backfill.py: error: cannot start the unified history job: stopped "
        f"by SIGTERM while waiting for lock {lock_path} held by pid {os.getpid()} on host ")
    assert line.endswith(": fill_recent_gaps.py")


# -- the stop watcher itself -------------------------------------------------------------------

WATCHED = """
import logging, sys, time
from lib.runtime.stopping import stop_on_signals
logging.basicConfig(level=logging.INFO, filename=sys.argv[2], format="%(message)s")
with stop_on_signals() as stop:
    print("ready", flush=True)
    if sys.argv[1] == "orderly":
        stop.wait(60)
    else:
        time.sleep(60)  # stands for a call that does not return to Python code
print("left the block", flush=True)
"""


def _watched(mode: str, log: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", WATCHED, mode, str(log)], cwd=ROOT,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
    return proc


def _ended(proc: subprocess.Popen[str], started: float) -> tuple[float, str, str]:
    out, err = proc.communicate(timeout=3 * LIMIT_S)
    return time.monotonic() - started, out, err


def test_an_orderly_stop_leaves_the_block_and_exits_normally(tmp_path: Path) -> None:
    log = tmp_path / "log"
    proc = _watched("orderly", log)
    started = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    elapsed, out, err = _ended(proc, started)
    assert proc.returncode == 0 and out == "left the block\n" and err == ""
    assert elapsed < 1.0 + GRACE_SECONDS / 2
    assert log.read_text() == "received SIGTERM: stopping after the write in progress\n"


def test_a_blocked_process_is_ended_after_the_grace_and_a_second_signal_at_once(
    tmp_path: Path,
) -> None:
    log = tmp_path / "log"
    proc = _watched("blocked", log)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    elapsed, out, err = _ended(proc, started)
    assert proc.returncode == 128 + signal.SIGINT and out == ""
    assert GRACE_SECONDS <= elapsed < LIMIT_S
    line = (f"-c: stopped by SIGINT: {FORCED} {GRACE_SECONDS:g} s (a database or exchange call "
            "not answering); exiting without it (an unfinished write is rolled back, the next "
            "run continues)")
    assert err == line + "\n"
    assert log.read_text().splitlines() == [
        "received SIGINT: stopping after the write in progress", line]

    again = tmp_path / "again"
    proc = _watched("blocked", again)
    proc.send_signal(signal.SIGTERM)
    _wait_for("the first signal noted", lambda: again.exists() and again.read_text(), 10)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    elapsed, out, err = _ended(proc, started)
    assert proc.returncode == 128 + signal.SIGINT
    assert elapsed < GRACE_SECONDS / 2
    assert err.startswith("-c: stopped by SIGINT: a second signal; exiting without it")
