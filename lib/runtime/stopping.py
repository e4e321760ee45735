"""Stop on SIGINT/SIGTERM promptly, and never with half a write behind.

A stop is first *orderly*: the signal sets the process-wide `STOP` event, and every wait in the
project waits on it (HTTP Retry-After and back-off, rate-limit pauses, lock waits, the
collector's interval and drain, retry back-offs), so it ends at once; long jobs then finish the
write in progress and return. With a database and exchanges that answer, that takes well under
a second.

When they do not answer (a database behind a network that drops packets), a thread can be
blocked in a call no Python code can interrupt, and the main thread itself may be. The signal is
noticed anyway: the C-level handler writes it to a `signal.set_wakeup_fd` socket whatever the
main thread is doing, and a watcher thread reading it sets `STOP`. If the process has not ended
`GRACE_SECONDS` after the signal, the watcher ends it: one line on stderr, exit code 128 + the
signal number (130 for SIGINT, 143 for SIGTERM, as a shell reports a process a signal ended).
Nothing is half-written by that: every write is one transaction, which the server rolls back
when the connection goes away; what was committed stays, and the next run continues from it. A
second signal ends the process at once, the same way.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

logger = logging.getLogger(__name__)

GRACE_SECONDS = 3.0  # after a signal, the orderly stop's time before the process ends itself

# Set by SIGINT/SIGTERM while `stop_on_signals` is active, and never cleared: a process asked to
# stop stays stopping. Code with no event passed to it (the HTTP client) waits on this one.
STOP = threading.Event()

_lock = threading.RLock()  # re-entrant: the main thread's handler may run while it holds it
_received: list[int] = []


def stop_reason() -> str | None:
    """The name of the signal that asked this process to stop (None: not asked)."""
    with _lock:
        return signal.Signals(_received[0]).name if _received else None


def _signalled(signum: int) -> None:
    with _lock:
        first = not _received
        _received.append(signum)
    STOP.set()
    if first:
        logger.info("received %s: stopping after the write in progress",
                    signal.Signals(signum).name)


def _note(signum: int, _frame: FrameType | None) -> None:
    """The Python-level handler: runs in the main thread when it next runs Python code, which
    may be late (the watcher has usually noticed already); it only makes sure `STOP` is set."""
    with _lock:
        seen = bool(_received)
    if not seen:
        _signalled(signum)


def _force_exit(signum: int, why: str) -> None:
    """End the process now with one line on stderr (see the module docstring)."""
    name = signal.Signals(signum).name
    prog = Path(sys.argv[0]).name if sys.argv and sys.argv[0] else "python"
    line = (f"{prog}: stopped by {name}: {why}; exiting without it (an unfinished write is "
            "rolled back, the next run continues)")
    logger.info(line)
    for handler in logging.getLogger().handlers:
        handler.flush()
    with suppress(OSError, ValueError):  # a closed or broken stream must not stop the exit
        sys.stdout.flush()
        sys.stderr.write(line + "\n")
        sys.stderr.flush()
    os._exit(128 + signum)


class _Watcher(threading.Thread):
    """Reads signal numbers from the wakeup socket; sets STOP; ends the process if the
    orderly stop overruns `grace` or a second signal comes."""

    def __init__(self, reader: socket.socket, signals: set[int], grace: float | None) -> None:
        super().__init__(name="stop-watcher", daemon=True)
        self.reader = reader
        self.signals = signals
        self.grace = grace

    def _next_signal(self, timeout: float | None) -> int | None:
        """The next watched signal number; None when the socket closed or `timeout` passed."""
        self.reader.settimeout(timeout)
        while True:
            try:
                data = self.reader.recv(64)
            except (TimeoutError, OSError):
                return None
            if not data:
                return None
            hits = [b for b in data if b in self.signals]
            if hits:
                return hits[0]

    def run(self) -> None:
        try:
            self._watch()
        finally:
            self.reader.close()

    def _watch(self) -> None:
        first = self._next_signal(None)
        if first is None:  # the block ended with no signal
            return
        _signalled(first)
        if self.grace is None:
            return
        deadline = time.monotonic() + self.grace
        again = self._next_signal(self.grace)
        if again is not None:
            _force_exit(again, "a second signal")
        # the block may have ended (socket closed) with the process still alive: keep the promise
        time.sleep(max(deadline - time.monotonic(), 0.0))
        _force_exit(first, f"the work in progress did not finish within {self.grace:g} s "
                           "(a database or exchange call not answering)")


@contextmanager
def stop_on_signals(
    signals: tuple[signal.Signals, ...] = (signal.SIGINT, signal.SIGTERM),
    grace: float | None = GRACE_SECONDS,
) -> Iterator[threading.Event]:
    """Yield `STOP`, set by the first of `signals` while the block runs; the previous handlers
    are restored on exit. Once a signal came, the process has `grace` seconds to end (None:
    no limit), whether or not it left the block.

    Outside the main thread (where Python cannot install handlers) this only yields `STOP`.
    """
    if threading.current_thread() is not threading.main_thread():
        yield STOP
        return
    reader, writer = socket.socketpair()
    writer.setblocking(False)
    watcher = _Watcher(reader, {int(s) for s in signals}, grace)
    previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
    try:
        previous = {s: signal.signal(s, _note) for s in signals}
    except BaseException:
        signal.set_wakeup_fd(previous_fd)
        reader.close()
        writer.close()
        raise
    watcher.start()
    try:
        yield STOP
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
        signal.set_wakeup_fd(previous_fd)
        writer.close()  # the watcher reads the end of stream and returns, unless signalled
