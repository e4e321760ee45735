"""Every bad input to every entry point gives one line on stderr and exit 2 (75: lock held).

The cases are data, one per line, in `bad_inputs.txt` beside this file (its header says how to
read a line). Each runs as a user runs it: `python scripts/x.py ...` from the repo root (or from a
copy of the repo holding a `.env`, for the `.env` cases), against a seeded SQLite file of its
own or the seeded PostgreSQL database. The cases run a few at a time in threads: each is a
subprocess that mostly waits for Python to start.
"""

from __future__ import annotations

import codecs
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, inspect, select, text
from sqlalchemy.engine import make_url

from config.settings import SUPPORTED_EXCHANGES, Settings
from lib.runtime.files import REPAIR_LOCK_FILE, UNIFIED_LOCK_FILE
from lib.runtime.locks import FileLock
from lib.storage import schema
from lib.storage.engine import normalise_url, open_database

ROOT = Path(__file__).resolve().parents[2]
TABLE = Path(__file__).with_name("bad_inputs.txt")
SECRET = "S3cretPw"
WORKERS = 4
CASE_TIMEOUT = 60.0
LOCKS = {"unified": UNIFIED_LOCK_FILE, "repair": REPAIR_LOCK_FILE}
TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Case:
    """One line of the table."""

    line: int
    tool: str
    args: str
    setup: str
    code: int
    names: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.tool} {self.args} [{self.setup}]"


def load_cases(path: Path = TABLE) -> list[Case]:
    """The table's cases; a malformed line fails loudly with its number."""
    cases = []
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        cols = [c.strip() for c in raw.split("|")]
        if len(cols) != 5 or not cols[3].isdigit() or not cols[4]:
            raise ValueError(f"{path.name} line {number}: need 5 columns: {raw!r}")
        cases.append(Case(number, cols[0], cols[1], cols[2], int(cols[3]), cols[4]))
    return cases


CASES = load_cases()


def entry_points() -> list[str]:
    """Every entry point a user runs: the scripts and the top-level tools."""
    names = {p.stem for p in (ROOT / "scripts").glob("*.py")}
    names |= {p.stem for p in ROOT.glob("*.py") if p.name != "setup.py"}
    return sorted(names)


def script_path(root: Path, tool: str) -> Path:
    for candidate in (root / "scripts" / f"{tool}.py", root / f"{tool}.py"):
        if candidate.exists():
            return candidate
    raise ValueError(f"no entry point {tool!r}")


# -- databases ------------------------------------------------------------------------------


def seed(url: str) -> None:
    """The current schema and a few rows in the data tables."""
    engine = open_database(url)
    hist = [{"exchange": "binance", "symbol": "BTCUSDT",
             "funding_time": T0 + timedelta(hours=8 * i), "funding_rate": 0.0001 * i,
             "funding_interval_hours": 8.0, "mark_price": 100.0, "collected_at": T0,
             "source": "backfill"} for i in range(5)]
    snap = {"exchange": "binance", "symbol": "BTCUSDT", "funding_rate": 0.0001,
            "next_funding_time": T0, "mark_price": 100.0, "updated_at": T0}
    contract = {"exchange": "binance", "symbol": "BTCUSDT", "canonical_symbol": "BTC/USDT:USDT",
                "base": "BTC", "quote": "USDT", "settle": "USDT", "multiplier": 1.0,
                "funding_interval_hours": 8.0, "first_seen": T0, "last_seen": T0}
    try:
        with engine.begin() as conn:
            conn.execute(schema.funding_rates_historical.insert(), hist)
            conn.execute(schema.exchange_data.insert(), [snap])
            conn.execute(schema.contracts.insert(), [contract])
    finally:
        engine.dispose()


def snapshot(url: str) -> dict[str, object]:
    """Tables, their row counts and the schema version: what no bad input may change."""
    engine = create_engine(normalise_url(url))
    try:
        with engine.connect() as conn:
            tables = sorted(inspect(conn).get_table_names())
            counts = {t: conn.execute(select(func.count()).select_from(text(f'"{t}"')))
                      .scalar_one() for t in tables}
            version = conn.execute(text("SELECT max(version) FROM schema_version")).scalar()
    finally:
        engine.dispose()
    return {"tables": tables, "counts": counts, "version": version}


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, object]]:
    """A seeded SQLite file that every case gets a copy of, and its snapshot."""
    path = tmp_path_factory.mktemp("template") / "funding.db"
    url = f"sqlite:///{path}"
    seed(url)
    return path, snapshot(url)


@pytest.fixture(scope="module")
def pg_seeded() -> Iterator[tuple[str, dict[str, object]]]:
    """A seeded PostgreSQL database shared by the PostgreSQL cases (none may change it)."""
    name = f"test_badinput_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalise_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)
    try:
        seed(url)
        yield url, snapshot(url)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="module")
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: connections to it are refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


# -- running one case ---------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    problems: list[str] = field(default_factory=list)


class Runner:
    """Sets up, runs and checks one case at a time (thread-safe: all state is per case)."""

    def __init__(self, base: Path, template: Path, pg_url: str, closed: int) -> None:
        self.base = base
        self.template = template
        self.pg_url = pg_url
        self.pg_pw = make_url(pg_url).set(password=SECRET).render_as_string(hide_password=False)
        self.closed = closed

    def fill(self, value: str, tmp: Path) -> str:
        for key, repl in (("{tmp}", str(tmp)), ("{closed}", str(self.closed)),
                          ("{pgpw}", self.pg_pw), ("{pg}", self.pg_url),
                          ("{pgport}", str(make_url(self.pg_url).port or 5432))):
            value = value.replace(key, repl)
        return value

    def base_env(self, tmp: Path) -> dict[str, str]:
        """The user's environment without any project setting, then the case's defaults."""
        settings = {f.name for f in Settings.__dataclass_fields__.values()}
        env = {k: v for k, v in os.environ.items()
               if k not in settings and not k.endswith("_BASE_URL") and k != "PYTHONPATH"}
        env.update(DATABASE_URL=f"sqlite:///{tmp / 'db' / 'funding.db'}",
                   RUNTIME_DIR=str(tmp / "run"), LOG_DIR=str(tmp / "logs"),
                   DATA_DIR=str(tmp / "data"), SIMULATOR_URL="", HTTP_MAX_RETRIES="0",
                   HTTP_CONNECT_TIMEOUT="2", HTTP_READ_TIMEOUT="2")
        env.update({f"{ex.upper()}_BASE_URL": f"http://127.0.0.1:{self.closed}"
                    for ex in SUPPORTED_EXCHANGES})
        return env

    def prepare(self, case: Case, tmp: Path, stack: ExitStack) -> tuple[Path, dict[str, str]]:
        """Apply the setup column; returns the repo root to run from and the environment."""
        (tmp / "db").mkdir(parents=True)
        shutil.copy(self.template, tmp / "db" / "funding.db")
        root, env = ROOT, self.base_env(tmp)
        for token in shlex.split(self.fill(case.setup, tmp)):
            if token.startswith("@file:"):
                rel, _, content = token[len("@file:"):].partition("=")
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(unescape(content))
            elif token.startswith("@dir:"):
                (tmp / token[len("@dir:"):]).mkdir(parents=True, exist_ok=True)
            elif token.startswith("@dotenv="):
                root = copy_repo(tmp / "repo")
                (root / ".env").write_bytes(unescape(token[len("@dotenv="):]))
                env["PYTHONPATH"] = str(root)
            elif token.startswith("@lock:"):
                lock = FileLock(Path(env["RUNTIME_DIR"]) / LOCKS[token[len("@lock:"):]],
                                command="test_bad_inputs holder")
                lock.acquire()
                stack.callback(lock.release)
            elif token.startswith("!"):
                env.pop(token[1:], None)
            elif "=" in token:
                key, _, value = token.partition("=")
                env[key] = value
            else:
                raise ValueError(f"{case}: unknown setup token {token!r}")
        return root, env

    def run(self, case: Case) -> Outcome:
        tmp = self.base / f"line{case.line}"
        start = time.monotonic()
        with ExitStack() as stack:
            root, env = self.prepare(case, tmp, stack)
            argv = [sys.executable, str(script_path(root, case.tool).relative_to(root)),
                    *(self.fill(a, tmp) for a in shlex.split(case.args))]
            try:
                done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True,
                                      errors="replace", timeout=CASE_TIMEOUT,
                                      stdin=subprocess.DEVNULL, check=False)
            except subprocess.TimeoutExpired as e:
                return Outcome(case, None, str(e.stdout or ""), str(e.stderr or ""),
                               time.monotonic() - start, [f"still running after {CASE_TIMEOUT}s"])
        outcome = Outcome(case, done.returncode, done.stdout, done.stderr,
                          time.monotonic() - start)
        outcome.problems = self.check(outcome, tmp)
        return outcome

    def check(self, outcome: Outcome, tmp: Path) -> list[str]:
        case, problems = outcome.case, []
        lines = [line for line in outcome.stderr.splitlines() if line.strip()]
        prog = case.tool + ".py"
        if outcome.code != case.code:
            problems.append(f"exit {outcome.code}, expected {case.code}")
        if len(lines) != 1 or len(outcome.stderr.splitlines()) != 1:
            problems.append(f"{len(outcome.stderr.splitlines())} stderr lines, expected 1")
        elif not lines[0].startswith(prog):
            problems.append(f"stderr line does not start with {prog!r}")
        expected = self.fill(case.names, tmp)
        if expected not in outcome.stderr:
            problems.append(f"stderr does not name {expected!r}")
        if "Traceback" in outcome.stderr + outcome.stdout:
            problems.append("traceback")
        if SECRET in outcome.stderr + outcome.stdout or secret_in_files(tmp):
            problems.append(f"the password {SECRET} is shown")
        return problems


def unescape(content: str) -> bytes:
    """Table text with Python escapes (\\xff, \\n) as the bytes they stand for."""
    return codecs.escape_decode(content.encode("utf-8"))[0]  # type: ignore[attr-defined]


def copy_repo(target: Path) -> Path:
    """The project's code (not its data, venv or tests) under `target`, compiled files kept."""
    ignore = shutil.ignore_patterns(".venv", ".git", "tests", "bench", "data", "logs", ".env",
                                    "*.egg-info", ".*_cache")
    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)
    return target


def secret_in_files(tmp: Path) -> bool:
    """True if any log or runtime file the case left holds the password."""
    for path in tmp.rglob("*"):
        if path.is_file() and "repo" not in path.relative_to(tmp).parts[:1] \
                and path.parent.name != "db" and SECRET.encode() in path.read_bytes():
            return True
    return False


# -- the tests ------------------------------------------------------------------------------


def test_table_covers_every_entry_point() -> None:
    assert len(CASES) >= 250
    tools = {c.tool for c in CASES}
    assert tools <= set(entry_points()), tools - set(entry_points())
    assert set(entry_points()) <= tools, f"entry points with no case: {set(entry_points()) - tools}"
    assert len({(c.tool, c.args, c.setup) for c in CASES}) == len(CASES), "duplicate cases"


def test_every_bad_input_is_one_line(
    tmp_path: Path, template_db: tuple[Path, dict[str, object]],
    pg_seeded: tuple[str, dict[str, object]], closed_port: int,
) -> None:
    template, before = template_db
    pg_url, pg_before = pg_seeded
    runner = Runner(tmp_path, template, pg_url, closed_port)
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        outcomes = list(pool.map(runner.run, CASES))
    wall = time.monotonic() - started
    for outcome in outcomes:
        db = tmp_path / f"line{outcome.case.line}" / "db" / "funding.db"
        if snapshot(f"sqlite:///{db}") != before:
            outcome.problems.append("the SQLite database changed")
    pg_after = snapshot(pg_url)
    failed = [o for o in outcomes if o.problems]
    report = "\n".join(
        f"{o.case}: {'; '.join(o.problems)}\n    stderr: {o.stderr.strip()[:400]!r}"
        for o in failed)
    slowest = max(outcomes, key=lambda o: o.seconds)
    print(f"{len(CASES)} cases in {wall:.1f}s, {len(failed)} failed; slowest "
          f"{slowest.seconds:.1f}s: {slowest.case}")
    assert pg_after == pg_before, "the PostgreSQL database changed"
    assert not failed, f"{len(failed)} of {len(CASES)} bad inputs misbehave:\n{report}"
