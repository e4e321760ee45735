"""Stop everything start.py runs, through its state file: `shutdown_dashboard.py` and
`POST /api/shutdown` both call `stop_system`.

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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config.settings import Settings
from lib.runtime.files import read_json
from lib.system.processes import ProcessIdentity, terminate
from lib.system.state import backfill_record_path, read_state, state_path

logger = logging.getLogger(__name__)

# start.py stops its children within its own stop timeout: give it that and this much more.
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
    stopped_supervisor = _stop("start.py", state, timeout + SUPERVISOR_MARGIN_SECONDS, report)
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
