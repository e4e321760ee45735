"""Start and stop the history backfill on request (the API's and the terminal dashboard's B, X).

`start_backfill` starts `unified_historical_backfill.py --days N --parallel` as a detached
process (its own session, output appended to LOG_DIR/backfill.output.log), which takes the
history lock itself; it refuses with `LockHeldError` naming the holder when a history job
already holds a history lock. `stop_backfill` stops whatever history job holds a history lock,
through the pid its lock file names, after checking that this pid still runs that job.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from config.settings import Settings
from lib.errors import LockHeldError
from lib.runtime.files import (
    REPAIR_LOCK_FILE,
    UNIFIED_LOCK_FILE,
    read_json,
    runtime_path,
    write_json_atomic,
)
from lib.runtime.locks import FileLock, LockHolder
from lib.system.environment import PYTHON, SCRIPTS, child_environment
from lib.system.processes import ProcessIdentity, open_output_log, terminate
from lib.system.state import backfill_record_path
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)

BACKFILL_SCRIPT = "unified_historical_backfill.py"
BACKFILL_OUTPUT_LOG = "backfill.output.log"
LOCK_TAKEN_TIMEOUT = 60.0  # how long start_backfill waits for its child to hold the lock
HISTORY_LOCK_FILES = (UNIFIED_LOCK_FILE, REPAIR_LOCK_FILE)


@dataclass(frozen=True)
class BackfillStarted:
    """What `start_backfill` started."""

    pid: int
    command: list[str]
    log: Path
    message: str


@dataclass(frozen=True)
class BackfillStopped:
    """What `stop_backfill` did: `stopped` is False when no history job was running."""

    stopped: bool
    pid: int | None
    message: str


def backfill_command(days: float | None, exchanges: Sequence[str] | None) -> list[str]:
    """The backfill's command line: `--days N --parallel [--exchanges a,b]`."""
    command = [PYTHON, str(SCRIPTS / BACKFILL_SCRIPT)]
    if days is not None:
        command += ["--days", f"{days:g}"]
    command.append("--parallel")
    if exchanges:
        command += ["--exchanges", ",".join(exchanges)]
    return command


def history_lock_holder(settings: Settings) -> tuple[Path, LockHolder | None] | None:
    """The first held history lock and who its file names; None when no history job runs."""
    for name in HISTORY_LOCK_FILES:
        lock = FileLock(runtime_path(name, settings))
        if lock.is_held():
            return lock.path, _holder(lock)
    return None


def _holder(lock: FileLock, wait: float = 2.0) -> LockHolder | None:
    """The holder the file names; a holder writes its record just after taking the flock."""
    deadline = time.monotonic() + wait
    while (holder := lock.holder()) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return holder


def _held_error(path: Path, holder: LockHolder | None) -> LockHeldError:
    who = holder.describe() if holder else "another process (no holder recorded yet)"
    return LockHeldError(f"cannot start the backfill: lock {path} is held by {who}")


def start_backfill(settings: Settings, days: float | None = None,
                   exchanges: Sequence[str] | None = None) -> BackfillStarted:
    """Start the backfill detached; LockHeldError naming the holder when a history job runs.

    Waits until the child holds the history lock (or ends), so the answer is true: a job that
    took the lock between the check and the child's start makes this a LockHeldError too.
    """
    held = history_lock_holder(settings)
    if held is not None:
        raise _held_error(*held)
    command = backfill_command(days, exchanges)
    log = settings.LOG_DIR / BACKFILL_OUTPUT_LOG
    with open_output_log(log, settings.LOG_MAX_BYTES, settings.LOG_BACKUP_COUNT) as output:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=output,
                                stderr=subprocess.STDOUT, env=child_environment(settings),
                                cwd=SCRIPTS.parent, start_new_session=True)
    # reap it when it ends, so that it never lingers as a zombie of this process
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    identity = ProcessIdentity.of(proc.pid)
    if identity is not None:
        write_json_atomic(backfill_record_path(settings), {
            "pid": identity.pid, "pid_started": identity.started, "command": command,
            "started_at": utcnow().isoformat(), "log": str(log)})
    _wait_for_lock(settings, proc, command)
    shown = " ".join([BACKFILL_SCRIPT, *command[2:]])
    logger.info("started the backfill (pid %d): %s", proc.pid, shown)
    return BackfillStarted(proc.pid, command, log,
                           f"started the backfill (pid {proc.pid}): {shown}; output in {log}")


def _wait_for_lock(settings: Settings, proc: subprocess.Popen[bytes], command: list[str],
                   ) -> None:
    """Return once `proc` holds the unified lock; LockHeldError if it ended refused by it."""
    lock = FileLock(runtime_path(UNIFIED_LOCK_FILE, settings))
    deadline = time.monotonic() + LOCK_TAKEN_TIMEOUT
    while time.monotonic() < deadline:
        holder = lock.holder() if lock.is_held() else None
        if holder is not None and holder.pid == proc.pid:
            return
        code = proc.poll()
        if code is not None:
            if code == LockHeldError.exit_code:
                held = history_lock_holder(settings)
                raise _held_error(*held) if held else LockHeldError(
                    "cannot start the backfill: another history job took the lock first")
            return  # it ran (quickly) and ended: its output log says how
        time.sleep(0.05)
    logger.warning("the backfill (pid %d) has not taken the history lock after %g s: %s",
                   proc.pid, LOCK_TAKEN_TIMEOUT, " ".join(command))


def _runs_job(identity: ProcessIdentity, holder: LockHolder) -> bool:
    """True when the live process runs the script the lock file names (an argument that is
    that script's file, not merely text that mentions it)."""
    script = holder.command.split(" ", 1)[0]
    return bool(script) and any(Path(arg).name == script for arg in identity.arguments())


def stop_backfill(settings: Settings, timeout: float | None = None) -> BackfillStopped:
    """Stop the history job holding a history lock: SIGTERM, wait, SIGKILL after `timeout`
    (default SUPERVISOR_STOP_TIMEOUT). Says what it stopped and how, or that none runs."""
    timeout = settings.SUPERVISOR_STOP_TIMEOUT if timeout is None else timeout
    held = history_lock_holder(settings)
    if held is None:
        return BackfillStopped(False, None, "no backfill running")
    path, holder = held
    if holder is None:
        return BackfillStopped(False, None,
                               f"lock {path} is held but names no holder: cannot stop it")
    if holder.host != socket.gethostname():
        return BackfillStopped(False, holder.pid, f"lock {path} is held by {holder.describe()}"
                               ": another host, cannot stop it from here")
    identity = ProcessIdentity.of(holder.pid)
    if holder.pid == os.getpid():
        return BackfillStopped(False, holder.pid, f"lock {path} is held by this process "
                               f"({holder.command}): not stopping itself")
    if identity is None or not _runs_job(identity, holder):
        return BackfillStopped(False, holder.pid, f"lock {path} names pid {holder.pid}, which "
                               f"no longer runs {holder.command!r}: nothing stopped")
    how = terminate(identity, timeout)
    _forget_record(settings, identity)
    logger.info("stopped history job pid %d (%s): %s", holder.pid, holder.command, how)
    return BackfillStopped(True, holder.pid,
                           f"stopped {holder.command} (pid {holder.pid}): {how}")


def _forget_record(settings: Settings, identity: ProcessIdentity) -> None:
    """Remove the started-backfill record when it names the process just stopped."""
    path = backfill_record_path(settings)
    record = read_json(path)
    recorded = ProcessIdentity.from_record(record) if record is not None else None
    if recorded is not None and recorded.same(identity):
        path.unlink(missing_ok=True)
