"""start.py's supervisor: runs the children, restarts them with back-off, stops them all.

A child that exits is restarted after a back-off that starts at SUPERVISOR_BACKOFF_INITIAL and
doubles up to SUPERVISOR_BACKOFF_MAX (it starts over once a child has run that long). A child
that exits SUPERVISOR_CRASH_LIMIT times within SUPERVISOR_CRASH_WINDOW seconds is left stopped
("failed"), with one error line in the log and its state in the state file. A one-shot child
(the backfill) is restarted the same way only when it fails (an exit code other than 0 and 75:
it resumes where it stopped); completed, stopped by a signal or refused by the history lock, it
is done. Each child runs in its own session (a Ctrl+C in the terminal
reaches start.py only, which then stops the children in order) with its stdout and stderr read
by a thread into LOG_DIR/<child>.output.log, rotated like every log: nothing is left in a pipe
nobody reads. SIGINT or SIGTERM stops every child (SIGTERM, then SIGKILL after
SUPERVISOR_STOP_TIMEOUT), the simulator last, and `run` returns 0.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from logging.handlers import RotatingFileHandler
from typing import IO, Any

from config.settings import PROJECT_ROOT, Settings
from lib.errors import LockHeldError
from lib.runtime.locks import FileLock
from lib.runtime.stopping import stop_on_signals
from lib.system.backfill import history_lock_holder
from lib.system.children import (
    API,
    BACKFILL,
    SIMULATOR,
    ChildSpec,
    Options,
    backfill_child,
    free_port,
    service_children,
    simulator_child,
)
from lib.system.environment import child_environment, simulator_environment
from lib.system.processes import ProcessIdentity
from lib.system.startup import HistoryCheck, history_check, prepare_database
from lib.system.state import read_state, start_lock, state_path, write_state
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.2
SIMULATOR_READY_TIMEOUT = 180.0  # building the 2,300-contract universe takes a few seconds
EXIT_LOCK_HELD = LockHeldError.exit_code
PUMP_DRAIN_SECONDS = 5.0  # a grandchild may keep a pipe open: do not wait for it longer


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="seconds") if value else None


def describe_exit(code: int | None) -> str:
    """A return code for people: "exit code 2", "killed by SIGKILL"."""
    if code is None:
        return "could not be started"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _pump(stream: IO[bytes], handler: logging.Handler) -> None:
    """Copy a child's output, line by line, into its rotating log until the pipe closes."""
    with stream:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            handler.handle(logging.makeLogRecord({"msg": line, "levelno": logging.INFO}))


@dataclass
class Child:
    """One supervised program and what has happened to it."""

    spec: ChildSpec
    backoff: float
    state: str = "waiting"
    proc: subprocess.Popen[bytes] | None = None
    identity: ProcessIdentity | None = None
    restarts: int = 0
    starts: int = 0
    last_exit_code: int | None = None
    last_exit_at: datetime | None = None
    started_at: datetime | None = None
    started_mono: float = 0.0
    next_start: float | None = 0.0  # monotonic; None: not to be started again
    exits: deque[float] = field(default_factory=deque)
    message: str = ""

    def record(self, log: str) -> dict[str, Any]:
        """Its entry in the state file."""
        running = self.state == "running" and self.identity is not None
        wait = (max(self.next_start - time.monotonic(), 0.0)
                if self.state == "waiting" and self.next_start is not None else None)
        return {
            "state": self.state,
            "pid": self.identity.pid if self.identity else None,
            "pid_started": self.identity.started if self.identity else None,
            "running": running,
            "command": self.spec.command,
            "restart": self.spec.restart,
            "log": log,
            "restarts": self.restarts,
            "last_exit_code": self.last_exit_code,
            "last_exit_at": _iso(self.last_exit_at),
            "started_at": _iso(self.started_at),
            "next_start_in_s": round(wait, 1) if wait is not None else None,
            "message": self.message,
        }


class Supervisor:
    """Runs `Options`' children until `stop` is set; the state file says what runs."""

    def __init__(self, settings: Settings, options: Options, command: str) -> None:
        self.settings = settings
        self.options = options
        self.command = command
        self.children: dict[str, Child] = {}
        self.handlers: dict[str, logging.Handler] = {}
        self.pumps: list[threading.Thread] = []  # copying children's output into their logs
        self.state = "starting"
        self.started_at = utcnow()
        self.identity = ProcessIdentity.of(os.getpid())
        self.simulator_url: str | None = None
        self.env_extra: dict[str, str] = {}
        if options.exchanges:
            self.env_extra["EXCHANGES"] = ",".join(options.exchanges)
        self._history: HistoryCheck | Exception | None = None
        self._history_thread: threading.Thread | None = None
        self._stopping = False

    # -- the state file ----------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """What the state file holds (see lib.system.state)."""
        return {
            "pid": os.getpid(),
            "pid_started": self.identity.started if self.identity else None,
            "host": socket.gethostname(),
            "command": self.command,
            "started_at": _iso(self.started_at),
            "updated_at": utcnow().isoformat(timespec="milliseconds"),
            "state": self.state,
            "simulate": self.options.simulate,
            "simulator_url": self.simulator_url,
            "api_url": (f"http://{self.settings.API_HOST}:{self.settings.API_PORT}"
                        if self.options.api else None),
            "log_dir": str(self.settings.LOG_DIR),
            "children": {name: child.record(str(self._log_path(child.spec)))
                         for name, child in self.children.items()},
        }

    def write(self) -> None:
        write_state(self.settings, self.snapshot())

    def _log_path(self, spec: ChildSpec) -> Any:
        return self.settings.LOG_DIR / spec.output_log

    # -- starting ----------------------------------------------------------------------------

    def add(self, spec: ChildSpec) -> Child:
        child = Child(spec, backoff=self.settings.SUPERVISOR_BACKOFF_INITIAL)
        self.children[spec.name] = child
        return child

    def _handler(self, spec: ChildSpec) -> logging.Handler:
        if spec.name not in self.handlers:
            self.settings.LOG_DIR.mkdir(parents=True, exist_ok=True)
            handler = RotatingFileHandler(self._log_path(spec),
                                          maxBytes=self.settings.LOG_MAX_BYTES,
                                          backupCount=self.settings.LOG_BACKUP_COUNT)
            handler.setFormatter(logging.Formatter("%(message)s"))
            self.handlers[spec.name] = handler
        return self.handlers[spec.name]

    def launch(self, child: Child) -> None:
        """Start the child's program now."""
        spec = child.spec
        env = child_environment(self.settings, {**self.env_extra, **spec.env})
        handler = self._handler(spec)
        try:
            proc = subprocess.Popen(spec.command, stdin=subprocess.DEVNULL,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                                    cwd=PROJECT_ROOT, start_new_session=True)
        except OSError as e:
            logger.error("%s: cannot start %s: %s", spec.name, spec.command[0], e)
            child.message = f"cannot start: {e}"
            self._exited(child, None)
            return
        assert proc.stdout is not None
        pump = threading.Thread(target=_pump, args=(proc.stdout, handler), daemon=True,
                                name=f"output-{spec.name}")
        pump.start()
        self.pumps.append(pump)
        if child.starts:
            child.restarts += 1
        child.starts += 1
        child.proc = proc
        child.identity = ProcessIdentity.of(proc.pid) or ProcessIdentity(proc.pid, 0.0)
        child.state, child.next_start, child.message = "running", None, ""
        child.started_at, child.started_mono = utcnow(), time.monotonic()
        logger.info("%s: started (pid %d): %s", spec.name, proc.pid, " ".join(spec.command))

    def _start_due(self) -> bool:
        """Start every child whose back-off has passed; True when one was started."""
        now = time.monotonic()
        due = [c for c in self.children.values()
               if c.state == "waiting" and c.next_start is not None and c.next_start <= now]
        for child in due:
            self.launch(child)
        return bool(due)

    # -- exits -------------------------------------------------------------------------------

    def _poll(self) -> bool:
        """Handle every child that has exited; True when one had."""
        changed = False
        for child in self.children.values():
            if child.proc is not None and child.proc.poll() is not None:
                code = child.proc.returncode
                child.proc = None
                self._exited(child, code)
                changed = True
        return changed

    def _exited(self, child: Child, code: int | None) -> None:
        name, log = child.spec.name, self._log_path(child.spec)
        child.last_exit_code, child.last_exit_at = code, utcnow()
        how = describe_exit(code)
        if self._stopping:
            child.state = "stopped"
            return
        failed = code is not None and code > 0 and code != EXIT_LOCK_HELD
        if not child.spec.restart and not failed:
            # a one-shot child that completed, was stopped (SIGTERM exits 0; SIGKILL) or found
            # another history job running is done; one that failed is retried below
            child.state, child.next_start = "exited", None
            if code == EXIT_LOCK_HELD:
                child.message = "not run: another history job holds the history lock"
            else:
                child.message = "finished" if code == 0 else f"ended: {how}; see {log}"
            logger.info("%s: %s", name, child.message)
            return
        now = time.monotonic()
        limit = self.settings.SUPERVISOR_CRASH_LIMIT
        window = self.settings.SUPERVISOR_CRASH_WINDOW
        child.exits.append(now)
        while child.exits and child.exits[0] < now - window:
            child.exits.popleft()
        if child.started_mono and now - child.started_mono >= self.settings.SUPERVISOR_BACKOFF_MAX:
            child.backoff = self.settings.SUPERVISOR_BACKOFF_INITIAL  # it had run steadily
        if len(child.exits) >= limit:
            child.state, child.next_start = "failed", None
            child.message = (f"exited {len(child.exits)} times within {window:g} s (last: "
                             f"{how}): left stopped; see {log}")
            logger.error("%s: %s", name, child.message)
            return
        delay = child.backoff
        child.backoff = min(child.backoff * 2, self.settings.SUPERVISOR_BACKOFF_MAX)
        child.state, child.next_start = "waiting", now + delay
        child.message = f"exited ({how}); restarting in {delay:g} s"
        logger.warning("%s: %s", name, child.message)

    # -- the backfill ------------------------------------------------------------------------

    def _check_history(self) -> None:
        try:
            self._history = history_check(self.settings, self.options.exchanges)
        except Exception as e:  # reported as the backfill child's state, never fatal
            logger.warning("cannot measure stored history: %s", e, exc_info=True)
            self._history = e

    def _consider_backfill(self) -> bool:
        """Once the history check is done: start the backfill when history is below the
        threshold and no history job runs, else record why not. True when it acted."""
        result = self._history
        if result is None or BACKFILL in self.children:
            return False
        spec = backfill_child(self.settings.HISTORICAL_DAYS, self.options.exchanges)
        child = self.add(spec)
        held = history_lock_holder(self.settings) if not isinstance(result, Exception) else None
        if isinstance(result, Exception):
            why = f"not started: cannot measure stored history ({result})"
        elif not result.below:
            why = f"not needed: {result.describe()}"
        elif held is not None:
            path, holder = held
            who = holder.describe() if holder else "another process"
            why = f"not started: lock {path} is held by {who}"
        else:
            logger.info("backfill: %s: starting it", result.describe())
            self.launch(child)  # the backfill takes the history lock itself, now free
            return True
        child.state, child.next_start, child.message = "skipped", None, why
        logger.info("backfill: %s", why)
        return True

    # -- running and stopping ----------------------------------------------------------------

    def _tick(self) -> None:
        changed = self._poll()
        changed = self._start_due() or changed
        changed = self._consider_backfill() or changed
        if changed:
            self.write()

    def _start_simulator(self, stop: threading.Event) -> None:
        port = self.options.simulator_port or free_port()
        self.simulator_url = f"http://127.0.0.1:{port}"
        self.env_extra.update(simulator_environment(self.simulator_url))
        self.launch(self.add(simulator_child(port, self.options.simulator_contracts)))
        self.write()
        deadline = time.monotonic() + SIMULATOR_READY_TIMEOUT
        sim = self.children[SIMULATOR]
        while not stop.wait(POLL_SECONDS):
            if _accepts(port):
                logger.info("simulator: listening on %s", self.simulator_url)
                return
            self._tick()
            if sim.state == "failed" or time.monotonic() > deadline:
                logger.error("simulator: not listening on %s; starting the others anyway",
                             self.simulator_url)
                return

    def run(self, stop: threading.Event, on_ready: Callable[[str], None] | None = None) -> int:
        """Start everything, supervise until `stop` is set, stop everything; return 0."""
        self.write()
        try:
            if self.options.simulate:
                self._start_simulator(stop)
            if not stop.is_set():
                for spec in service_children(self.options):
                    self.launch(self.add(spec))
                if self.options.backfill:
                    self._history_thread = threading.Thread(
                        target=self._check_history, name="history-check", daemon=True)
                    self._history_thread.start()
                self.state = "running"
                self.write()
                if on_ready:
                    on_ready(self.summary())
            while not stop.wait(POLL_SECONDS):
                self._tick()
            logger.info("stopping every child")
        finally:
            self.stop_all()
        return 0

    def summary(self) -> str:
        """One line for the terminal once everything has been started."""
        names = ", ".join(self.children)
        parts = [f"start.py: running {names}", f"state in {state_path(self.settings)}",
                 f"logs in {self.settings.LOG_DIR}"]
        if self.options.api and API in self.children:
            parts.append(f"API on http://{self.settings.API_HOST}:{self.settings.API_PORT}"
                         " (its OpenAPI docs at /docs)")
        if self.simulator_url:
            parts.append(f"simulator on {self.simulator_url}")
        return "; ".join(parts) + "; stop with Ctrl+C or shutdown_dashboard.py"

    def stop_all(self) -> None:
        """SIGTERM every running child (the simulator last), SIGKILL after the timeout."""
        self._stopping = True
        self.state = "stopping"
        for child in self.children.values():
            if child.state == "waiting":
                child.state, child.next_start = "stopped", None
        self.write()
        services = [c for name, c in self.children.items() if name != SIMULATOR]
        self._stop_group(services)
        self._stop_group([c for name, c in self.children.items() if name == SIMULATOR])
        self.state = "stopped"
        self.write()
        deadline = time.monotonic() + PUMP_DRAIN_SECONDS
        for pump in self.pumps:  # the last lines a child wrote before it ended
            pump.join(max(deadline - time.monotonic(), 0.0))
        for handler in self.handlers.values():
            handler.close()
        logger.info("every child stopped")

    def _stop_group(self, group: list[Child]) -> None:
        running = [c for c in group if c.proc is not None]
        for child in running:
            assert child.proc is not None
            child.proc.terminate()
            logger.info("%s: sent SIGTERM to pid %d", child.spec.name, child.proc.pid)
        deadline = time.monotonic() + self.settings.SUPERVISOR_STOP_TIMEOUT
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=max(deadline - time.monotonic(), 0.0))
            except subprocess.TimeoutExpired:
                logger.warning("%s: pid %d still running %g s after SIGTERM: SIGKILL",
                               child.spec.name, child.proc.pid,
                               self.settings.SUPERVISOR_STOP_TIMEOUT)
                child.proc.kill()
                child.proc.wait()
        self._poll()


def _accepts(port: int) -> bool:
    """True when something accepts TCP connections on 127.0.0.1:`port`."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


def _leftovers(settings: Settings) -> list[str]:
    """Children an earlier start.py (killed without stopping them) left running."""
    state = read_state(settings)
    children = state.get("children") if state else None
    found = []
    for name, record in (children.items() if isinstance(children, dict) else ()):
        identity = ProcessIdentity.from_record(record) if isinstance(record, dict) else None
        if identity is not None and identity.alive():
            found.append(f"{name} (pid {identity.pid})")
    return found


def run_system(settings: Settings, options: Options, command: str,
               on_ready: Callable[[str], None] | None = None) -> int:
    """start.py: one instance per RUNTIME_DIR, database checked and upgraded, then supervise.

    A second start.py gets LockHeldError naming the first (pid, host, start time); so does one
    that finds children of an earlier, killed start.py still running.
    """
    lock: FileLock = start_lock(settings, command)
    try:
        lock.acquire()
    except LockHeldError:
        holder = lock.holder()
        who = holder.describe() if holder else "another process"
        raise LockHeldError(f"start.py is already running: {who} (stop it with "
                            "shutdown_dashboard.py)") from None
    try:
        left = _leftovers(settings)
        if left:
            raise LockHeldError(f"children of an earlier start.py still run: {', '.join(left)}"
                                " (stop them with shutdown_dashboard.py)")
        with stop_on_signals(grace=None) as stop:
            prepare_database(settings)  # logs what it found and did
            return Supervisor(settings, options, command).run(stop, on_ready)
    finally:
        lock.release()
