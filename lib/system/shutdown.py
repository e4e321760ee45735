"""Stop everything start.py runs, through its state file: `shutdown_dashboard.py` and
`POST /api/shutdown` both call `stop_system`.

`request_shutdown` is the same from inside the system (the API is one of start.py's children,
and start.py stops it while it answers): it starts `shutdown_dashboard.py` as a detached process
and returns at once, saying what it is stopping.

Never by process name: only the pids the state file records, and each only while the live
process with that pid is the one recorded (same start time). start.py gets SIGTERM first (it
stops its children itself); then every child the file names that still runs gets SIGTERM, a
wait and SIGKILL (start.py may have been killed, leaving its children behind). A backfill
started on request (`lib.system.backfill`) is stopped the same way. Files are removed only when
they belong to processes stopped here: the state file of the start.py stopped, the record of
the backfill stopped.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import PROJECT_ROOT, Settings
from lib.runtime.files import read_json
from lib.system.environment import PYTHON, child_environment
from lib.system.processes import ProcessIdentity, open_output_log, terminate
from lib.system.state import backfill_record_path, read_state, state_path

logger = logging.getLogger(__name__)

# start.py stops its children within its own stop timeouts: give it those and this much more.
SUPERVISOR_MARGIN_SECONDS = 15.0


@dataclass
class SystemStopReport:
    """What `stop_system` stopped (one line each) and which files it removed."""

    stopped: list[str] = field(default_factory=list)
    removed: list[Path] = field(default_factory=list)

    @property
    def nothing_running(self) -> bool:
        return not self.stopped

    def format(self) -> str:
        if self.nothing_running:
            return "nothing running"
        lines = list(self.stopped)
        lines += [f"removed {path}" for path in self.removed]
        return "\n".join(lines)


def _stop(name: str, record: dict[str, Any], timeout: float, report: SystemStopReport) -> bool:
    """Stop the process a record names if it still runs; True when it did run."""
    identity = ProcessIdentity.from_record(record)
    if identity is None or not identity.alive():
        return False
    how = terminate(identity, timeout)
    report.stopped.append(f"{name} (pid {identity.pid}): {how}")
    logger.info("%s (pid %d): %s", name, identity.pid, how)
    return True


def _exit_text(code: object) -> str:
    """An exit code as start.py's state file records it, for people."""
    if isinstance(code, int) and code < 0:
        try:
            return f"ended by {signal.Signals(-code).name}"
        except ValueError:
            return f"ended by signal {-code}"
    return f"exit code {code}" if code is not None else "exit code unknown"


def stop_system(settings: Settings, timeout: float | None = None) -> SystemStopReport:
    """Stop a running start.py, all its children and a backfill started on request.

    `timeout` (default SUPERVISOR_STOP_TIMEOUT) is each child's time between SIGTERM and
    SIGKILL; start.py itself gets that plus a margin to stop its children first.
    """
    timeout = settings.SUPERVISOR_STOP_TIMEOUT if timeout is None else timeout
    report = SystemStopReport()
    state = read_state(settings)
    if state is not None:
        _stop_start_py(settings, state, timeout, report)
    record_path = backfill_record_path(settings)
    record = read_json(record_path)
    if record is not None and _stop("backfill started on request", record, timeout, report):
        record_path.unlink(missing_ok=True)
        report.removed.append(record_path)
    return report


def _stop_start_py(settings: Settings, state: dict[str, Any], timeout: float,
                   report: SystemStopReport) -> None:
    """start.py first (it stops its children), then whatever children it left running."""
    # start.py stops its services, then the simulator, each within its own stop timeout
    stopped_supervisor = _stop("start.py", state, 2 * timeout + SUPERVISOR_MARGIN_SECONDS,
                               report)
    # start.py rewrote the file as it stopped: its children's last pids are there
    state = (read_state(settings) or state) if stopped_supervisor else state
    children = state.get("children")
    stopped_children = False
    for name, child in (children.items() if isinstance(children, dict) else ()):
        if not isinstance(child, dict):
            continue
        if _stop(name, child, timeout, report):
            stopped_children = True
        elif stopped_supervisor and child.get("pid"):
            how = ("stopped by start.py" if child.get("state") == "stopped"
                   else f"had already ended ({child.get('state')})")
            report.stopped.append(f"{name} (pid {child['pid']}): {how} "
                                  f"({_exit_text(child.get('last_exit_code'))})")
    if stopped_supervisor or stopped_children:
        path = state_path(settings)
        now = read_state(settings)
        if now is not None and now.get("pid") == state.get("pid"):  # not a newer start.py's
            path.unlink(missing_ok=True)
            report.removed.append(path)


SHUTDOWN_OUTPUT_LOG = "shutdown.output.log"


@dataclass(frozen=True)
class ShutdownRequested:
    """What `request_shutdown` found running and the process it started to stop it (None:
    nothing was running, nothing was started)."""

    running: list[str]
    pid: int | None
    message: str


def running_processes(settings: Settings) -> list[str]:
    """What the state file and the backfill record name that still runs ("start.py (pid 1)")."""
    found = []
    state = read_state(settings)
    if state is not None:
        identity = ProcessIdentity.from_record(state)
        if identity is not None and identity.alive():
            found.append(f"start.py (pid {identity.pid})")
        children = state.get("children")
        for name, child in (children.items() if isinstance(children, dict) else ()):
            child_id = ProcessIdentity.from_record(child) if isinstance(child, dict) else None
            if child_id is not None and child_id.alive():
                found.append(f"{name} (pid {child_id.pid})")
    record = read_json(backfill_record_path(settings))
    started = ProcessIdentity.from_record(record) if record is not None else None
    if started is not None and started.alive():
        found.append(f"backfill started on request (pid {started.pid})")
    return found


def request_shutdown(settings: Settings) -> ShutdownRequested:
    """Start `shutdown_dashboard.py` detached (its own session, output appended to
    LOG_DIR/shutdown.output.log) and return at once: it outlives the caller, which it may
    stop. Nothing is started when nothing runs."""
    running = running_processes(settings)
    if not running:
        return ShutdownRequested([], None, "nothing running")
    log = settings.LOG_DIR / SHUTDOWN_OUTPUT_LOG
    with open_output_log(log, settings.LOG_MAX_BYTES, settings.LOG_BACKUP_COUNT) as output:
        proc = subprocess.Popen([PYTHON, str(PROJECT_ROOT / "shutdown_dashboard.py")],
                                stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, env=child_environment(settings),
                                cwd=PROJECT_ROOT, start_new_session=True)
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    logger.info("shutdown requested: shutdown_dashboard.py (pid %d) stops %s", proc.pid,
                ", ".join(running))
    return ShutdownRequested(running, proc.pid,
                             f"stopping {', '.join(running)} (shutdown_dashboard.py, pid "
                             f"{proc.pid}; its report goes to {log})")
