"""Process locks for long jobs: an OS-level flock held for the whole run.

The kernel drops a flock when its holder dies (even by SIGKILL), so a crashed job never leaves a
stale lock behind; the lock file only *names* the holder (pid, host, start time, command) so
that a refused run can say who is in the way. The file is never deleted (deleting a flock file
races with a process that has just opened it); release truncates it instead.

The descriptor is opened close-on-exec, so programs a holder starts do not inherit the lock;
children made by a bare `fork` do share it (they share the open file description).
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Literal

from config.settings import Settings
from lib.errors import LockHeldError
from lib.runtime.files import REPAIR_LOCK_FILE, UNIFIED_LOCK_FILE, StatusFileError, runtime_path
from lib.runtime.stopping import STOP, stop_on_signals, stop_reason

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.1
# A non-blocking attempt retries this long before refusing: `is_held()` probes elsewhere take a
# shared flock for microseconds, which must not make a start-up fail.
CONFLICT_GRACE_SECONDS = 0.1


@dataclass(frozen=True)
class LockHolder:
    """Who a lock file says holds it (may be stale: ask `FileLock.is_held`)."""

    pid: int
    host: str
    command: str
    started_at: str  # ISO-8601 UTC

    def describe(self) -> str:
        return f"pid {self.pid} on host {self.host} since {self.started_at}: {self.command}"


def command_line() -> str:
    """This process's command as a lock or status file names it: "fill_recent_gaps.py --hours 6"."""
    return shlex.join([Path(sys.argv[0]).name if sys.argv else "python", *sys.argv[1:]])


class FileLock:
    """An exclusive flock on `path`, recording its holder in the file while held."""

    def __init__(self, path: Path, command: str | None = None) -> None:
        self.path = Path(path)
        self.command = command if command is not None else command_line()
        self._fd: int | None = None

    # -- acquiring and releasing -------------------------------------------------------------

    def acquire(self, wait: bool = False, timeout: float | None = None) -> None:
        """Take the lock; without `wait` (or after `timeout` s) raise LockHeldError naming the
        holder. A wait polls, and SIGINT/SIGTERM end it with a LockHeldError saying so (a
        blocking flock would leave a signal nothing to do but end the process without a word).
        """
        if self._fd is not None:
            raise RuntimeError(f"lock {self.path} is already held by this object")
        fd = self._open(os.O_RDWR | os.O_CREAT)
        try:
            if wait and timeout is None:
                with stop_on_signals():
                    self._poll(fd, math.inf, waited=True)
            else:
                limit = timeout if wait and timeout is not None else CONFLICT_GRACE_SECONDS
                self._poll(fd, time.monotonic() + max(limit, 0.0), waited=wait)
            self._fd = fd
            self._write_holder(fd)
        except BaseException:
            if self._fd is None:
                os.close(fd)
            else:
                self.release()
            raise
        logger.debug("acquired lock %s", self.path)

    def _poll(self, fd: int, deadline: float, waited: bool) -> None:
        announced = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    break
                if waited and not announced:
                    logger.info("waiting for lock %s held by %s", self.path, self._who())
                    announced = True
                if STOP.wait(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0))):
                    why = f"stopped by {stop_reason() or 'a signal'} while waiting for lock"
                    raise LockHeldError(f"{why} {self.path} held by {self._who()}") from None
        raise LockHeldError(self._held_message(waited))

    def _who(self) -> str:
        holder = self.holder()
        return holder.describe() if holder else "another process (no holder recorded yet)"

    def _held_message(self, waited: bool) -> str:
        suffix = " (gave up waiting)" if waited else ""
        return f"lock {self.path} is held by {self._who()}{suffix}"

    def release(self) -> None:
        """Forget the holder and drop the flock; a no-op when not held."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            os.ftruncate(fd, 0)  # before unlocking: the next holder writes its own record
        except OSError as e:
            logger.warning("cannot clear lock file %s: %s", self.path, e.strerror)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        logger.debug("released lock %s", self.path)

    def __enter__(self) -> FileLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    # -- inspecting --------------------------------------------------------------------------

    @property
    def acquired(self) -> bool:
        """True while this object holds the lock."""
        return self._fd is not None

    def holder(self) -> LockHolder | None:
        """The holder the file names, or None if it names none (free, or being written)."""
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as e:
            logger.warning("cannot read lock file %s: %s", self.path, e)
            return None
        if not raw.strip():
            return None
        try:
            data = json.loads(raw)
            return LockHolder(
                pid=int(data["pid"]),
                host=str(data["host"]),
                command=str(data["command"]),
                started_at=str(data["started_at"]),
            )
        except (ValueError, KeyError, TypeError) as e:
            logger.warning("lock file %s does not name a holder: %s", self.path, e)
            return None

    def is_held(self) -> bool:
        """True if a live process (this one included) holds the flock now."""
        if self._fd is not None:
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except FileNotFoundError:
            return False
        except OSError as e:
            raise StatusFileError(f"cannot open lock file {self.path}: {e.strerror}") from e
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)  # closing drops the probe's shared lock
        return False

    # -- internals ---------------------------------------------------------------------------

    def _open(self, flags: int) -> int:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            return os.open(self.path, flags, 0o644)
        except OSError as e:
            raise StatusFileError(f"cannot open lock file {self.path}: {e.strerror}") from e

    def _write_holder(self, fd: int) -> None:
        record = LockHolder(
            pid=os.getpid(),
            host=socket.gethostname(),
            command=self.command,
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
        )
        data = (json.dumps(asdict(record), sort_keys=True) + "\n").encode("utf-8")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, data, 0)
            os.fsync(fd)
        except OSError as e:
            raise StatusFileError(f"cannot write lock file {self.path}: {e.strerror}") from e


HistoryKind = Literal["unified", "repair"]
_HISTORY_LOCKS: dict[str, str] = {"unified": UNIFIED_LOCK_FILE, "repair": REPAIR_LOCK_FILE}


@contextmanager
def history_lock(kind: HistoryKind, command: str | None = None, wait: bool = False,
                 settings: Settings | None = None) -> Iterator[FileLock]:
    """Run one history job at a time: they share each exchange's per-host request budget.

    Both kinds take the two locks in one fixed order (unified, then repair), keep their own for
    the run and drop the other at once. So a job can only start while it holds both, which no
    running job allows (each keeps its own), and two jobs starting together are serialised by
    the first lock. With `wait` they block instead of refusing; the fixed order means no
    deadlock. The lock files name `command` (default: this process's command line) and live in
    the RUNTIME_DIR of `settings`.
    """
    if kind not in _HISTORY_LOCKS:
        raise ValueError(f"unknown history lock kind {kind!r}")
    locks = {k: FileLock(runtime_path(name, settings), command)
             for k, name in _HISTORY_LOCKS.items()}
    own = locks[kind]
    try:
        for lock in locks.values():  # fixed order: unified, then repair
            try:
                lock.acquire(wait=wait)
            except LockHeldError as e:
                raise LockHeldError(f"cannot start the {kind} history job: {e}") from e
        for k, lock in locks.items():
            if k != kind:
                lock.release()
        yield own
    finally:
        for lock in locks.values():
            lock.release()
