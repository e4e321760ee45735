"""Running start.py as a user would, in a temporary directory, and waiting on its state.

Everything waits on a state (the state file, the database, a process gone) with a generous
deadline: the machine running the suite may be heavily loaded. Every test that starts start.py
stops whatever it left running through `stop_system`, the same path as shutdown_dashboard.py.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from config.settings import Settings, load_settings
from lib.system.processes import ProcessIdentity, terminate
from lib.system.shutdown import stop_system

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 120.0
T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def system_env(tmp_path: Path, db_url: str | None = None, **extra: str) -> dict[str, str]:
    """start.py's environment: this test's database and folders, small back-offs."""
    env = {k: v for k, v in os.environ.items()
           if not k.endswith("_BASE_URL") and not k.startswith("SUPERVISOR_")}
    env.update(
        DATABASE_URL=db_url or f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
        RUNTIME_DIR=str(tmp_path / "run"),
        LOG_DIR=str(tmp_path / "logs"),
        DATA_DIR=str(tmp_path / "data"),
        SIMULATOR_URL="",
        HISTORICAL_DAYS="1",
        COLLECTION_INTERVAL="5",
        HTTP_READ_TIMEOUT="5",
        HTTP_CONNECT_TIMEOUT="2",
        HTTP_MAX_RETRIES="1",
        API_PORT=str(free_port()),
        SUPERVISOR_BACKOFF_INITIAL="0.2",
        SUPERVISOR_BACKOFF_MAX="1",
        SUPERVISOR_STOP_TIMEOUT="30",
    )
    env.update(extra)
    return env


def settings_of(env: dict[str, str]) -> Settings:
    """The settings the subprocesses read from `env` (no .env file)."""
    return load_settings(environ=env, env_file=Path("/nonexistent/.env"))


@dataclass
class System:
    """A start.py started by a test: its process, environment and files."""

    proc: subprocess.Popen[bytes]
    env: dict[str, str]
    out: Path
    err: Path
    seen: list[ProcessIdentity] = field(default_factory=list)  # every child pid ever read

    @property
    def runtime(self) -> Path:
        return Path(self.env["RUNTIME_DIR"])

    @property
    def logs(self) -> Path:
        return Path(self.env["LOG_DIR"])

    def state(self) -> dict[str, Any] | None:
        try:
            data = json.loads((self.runtime / ".start_state.json").read_text())
        except FileNotFoundError:
            return None
        assert isinstance(data, dict)
        self.seen.extend(i for i in identities(data) if i not in self.seen)
        return data

    def listed_child(self, name: str) -> dict[str, Any] | None:
        """The child's record, or None while the state file does not list it yet (start.py
        writes the file before it has added every child)."""
        record = ((self.state() or {}).get("children") or {}).get(name)
        return record if isinstance(record, dict) else None

    def child(self, name: str) -> dict[str, Any]:
        state = self.state()
        assert state is not None
        record = state["children"][name]
        assert isinstance(record, dict)
        return record

    def stderr(self) -> str:
        return self.err.read_text()


def start_system(tmp_path: Path, env: dict[str, str], *flags: str, tag: str = "start",
                 ) -> System:
    """Start `python start.py FLAGS` with its output in files (never a pipe nobody reads)."""
    out, err = tmp_path / f"{tag}.out", tmp_path / f"{tag}.err"
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        # its own process group, as in a terminal: a Ctrl+C there reaches the whole group
        proc = subprocess.Popen([sys.executable, "start.py", *flags], cwd=ROOT, env=env,
                                stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr,
                                process_group=0)
    return System(proc, env, out, err)


def wait_for(what: str, check: Callable[[], T | None], deadline: float = DEADLINE,
             system: System | None = None) -> T:
    """Poll `check` until it returns something truthy; fail naming `what` after `deadline`."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        if system is not None and system.proc.poll() is not None:
            raise AssertionError(f"start.py ended ({system.proc.returncode}) while waiting for "
                                 f"{what}: {system.stderr()}")
        if time.monotonic() > end:
            detail = json.dumps(system.state(), indent=1) if system else ""
            raise AssertionError(f"timed out after {deadline:g} s waiting for {what}\n{detail}")
        time.sleep(0.2)


def running_children(system: System, names: set[str]) -> dict[str, Any] | None:
    """The state when it is "running" with every child in `names` running, else None."""
    state = system.state()
    if not state or state.get("state") != "running":
        return None
    children = state["children"]
    if all(children.get(n, {}).get("state") == "running" for n in names):
        return state
    return None


def identities(state: dict[str, Any]) -> list[ProcessIdentity]:
    """start.py and every child pid the state records."""
    found = [ProcessIdentity.from_record(state)]
    found += [ProcessIdentity.from_record(c) for c in state["children"].values()]
    return [i for i in found if i is not None]


def stop_leftovers(system: System) -> None:
    """After a test: stop whatever it left running, through the state file."""
    try:
        stop_system(settings_of(system.env), timeout=10)
    finally:
        if system.proc.poll() is None:
            system.proc.kill()
        system.proc.wait(timeout=60)
        for identity in system.seen:
            terminate(identity, 5)


# runs argv, passes on its first line after its pid, then how it ended
_PARENT = ("import subprocess, sys; "
           "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, text=True); "
           "line = p.stdout.readline(); print(p.pid, flush=True); print(line, end='', flush=True); "
           "print(p.wait(), flush=True)")


@dataclass
class Grandchild:
    """A process started by a parent of its own, not by the test.

    `terminate` (and so `stop_backfill`) reaps a process it stopped when it is its caller's
    child, and Popen then reports 0 for it; the parent here reports how it really ended."""

    parent: subprocess.Popen[str]
    pid: int
    first_line: str

    @classmethod
    def start(cls, argv: list[str], env: dict[str, str] | None = None) -> Grandchild:
        """Start `argv` and wait for its first line of output."""
        parent = subprocess.Popen([sys.executable, "-c", _PARENT, *argv], env=env,
                                  stdout=subprocess.PIPE, text=True)
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        return cls(parent, pid, parent.stdout.readline())

    def exit_status(self) -> int:
        """How it ended, as Popen.returncode says it (-N: killed by signal N)."""
        assert self.parent.stdout is not None
        return int(self.parent.stdout.readline())

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        self.parent.kill()
        self.parent.wait()
