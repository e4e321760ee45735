"""Which process a recorded pid is, and stopping it: SIGTERM, wait, SIGKILL after a timeout.

A pid written to a file may, by the time someone reads it, belong to another process (the
recorded one ended and the kernel reused its number). So every record keeps the process's start
time as well, and nothing is signalled unless the live process with that pid started at that
time (`ProcessIdentity.alive`). psutil reads start times and command lines the same way on
Linux and macOS.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil

logger = logging.getLogger(__name__)

# psutil's start times come from clock ticks (1/100 s on Linux): equal within this tolerance.
START_TIME_TOLERANCE = 0.05
POLL_SECONDS = 0.05


@dataclass(frozen=True)
class ProcessIdentity:
    """A process as a state file records it: its pid and when it started (epoch seconds)."""

    pid: int
    started: float

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        """The identity of live process `pid`, or None when there is none."""
        try:
            return cls(pid, psutil.Process(pid).create_time())
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return None

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ProcessIdentity | None:
        """The identity stored under "pid" and "pid_started" of a record, if both are there."""
        try:
            return cls(int(record["pid"]), float(record["pid_started"]))
        except (KeyError, TypeError, ValueError):
            return None

    def same(self, other: ProcessIdentity) -> bool:
        """True when both name the same process (same pid, same start time)."""
        return (self.pid == other.pid
                and abs(self.started - other.started) < START_TIME_TOLERANCE)

    def alive(self) -> bool:
        """True while this very process runs (not a zombie, not a later one with its pid)."""
        try:
            proc = psutil.Process(self.pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            return abs(proc.create_time() - self.started) < START_TIME_TOLERANCE
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            return False
        except psutil.AccessDenied:  # another user's process: certainly not ours
            return False

    def arguments(self) -> list[str]:
        """Its command line, program first ([] when it is gone)."""
        try:
            return list(psutil.Process(self.pid).cmdline())
        except psutil.Error:
            return []


def wait_gone(identity: ProcessIdentity, timeout: float) -> bool:
    """Wait up to `timeout` s for the process to end; True when it has."""
    deadline = time.monotonic() + timeout
    while identity.alive():
        if time.monotonic() >= deadline:
            return False
        _reap(identity.pid)
        time.sleep(POLL_SECONDS)
    return True


def _reap(pid: int) -> None:
    """Collect our own child's exit status, so that it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):  # not our child: its parent reaps it
        os.waitpid(pid, os.WNOHANG)


def terminate(identity: ProcessIdentity, timeout: float) -> str:
    """Stop the process: SIGTERM, wait `timeout` s, then SIGKILL. Say how it ended.

    Returns "already gone", "stopped by SIGTERM in 0.4 s" or "killed by SIGKILL after 10 s
    (SIGTERM was not enough)". Never signals a process other than the one identified.
    """
    if not identity.alive():
        return "already gone"
    started = time.monotonic()
    if not _signal(identity, signal.SIGTERM):
        return "already gone"
    if wait_gone(identity, timeout):
        return f"stopped by SIGTERM in {time.monotonic() - started:.1f} s"
    if not _signal(identity, signal.SIGKILL):
        return f"stopped by SIGTERM in {time.monotonic() - started:.1f} s"
    wait_gone(identity, max(timeout, 5.0))
    return f"killed by SIGKILL after {timeout:g} s (SIGTERM was not enough)"


def _signal(identity: ProcessIdentity, signum: signal.Signals) -> bool:
    """Send `signum` if the identified process still runs; False when it is gone."""
    if not identity.alive():
        return False
    try:
        os.kill(identity.pid, signum)
    except ProcessLookupError:
        return False
    logger.info("sent %s to pid %d", signum.name, identity.pid)
    return True


def open_output_log(path: Path, max_bytes: int, backups: int) -> IO[bytes]:
    """`path` opened for appending a detached process's stdout and stderr, rotated first (to
    path.1, path.2, ...) when it has grown past `max_bytes`, as RotatingFileHandler would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.stat().st_size >= max_bytes:
        for n in range(backups - 1, 0, -1):
            older = path.with_name(f"{path.name}.{n}")
            if older.exists():
                os.replace(older, path.with_name(f"{path.name}.{n + 1}"))
        os.replace(path, path.with_name(f"{path.name}.1"))
    return open(path, "ab")  # handed to the child; the caller closes it
