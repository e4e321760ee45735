"""Process identities and stopping with real processes; the detached output log's rotation."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

from system_helpers import Grandchild

from lib.system.processes import ProcessIdentity, open_output_log, terminate

IGNORES_SIGTERM = ("import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
                   "print('ready', flush=True); time.sleep(600)")
SLEEPER = "import time; print('ready', flush=True); time.sleep(600)"


def test_identity_tells_a_process_from_one_that_reuses_its_pid() -> None:
    sleeper = Grandchild.start([sys.executable, "-c", SLEEPER])
    try:
        pid = sleeper.pid
        me = ProcessIdentity.of(pid)
        assert me is not None and me.alive()
        assert not ProcessIdentity(pid, me.started - 1.0).alive()  # another start time
        assert ProcessIdentity.from_record({"pid": pid, "pid_started": me.started}) == me
        assert ProcessIdentity.from_record({"pid": pid}) is None
        assert terminate(ProcessIdentity(pid, me.started + 5.0), 1) == "already gone"
        assert me.alive()  # not signalled
        assert terminate(me, 30).startswith("stopped by SIGTERM in ")
        assert sleeper.exit_status() == -signal.SIGTERM
        assert not me.alive()
    finally:
        sleeper.kill()


def test_terminate_kills_what_ignores_sigterm() -> None:
    stubborn = Grandchild.start([sys.executable, "-c", IGNORES_SIGTERM])
    try:
        assert stubborn.first_line == "ready\n"
        me = ProcessIdentity.of(stubborn.pid)
        assert me is not None
        assert terminate(me, 0.5) == "killed by SIGKILL after 0.5 s (SIGTERM was not enough)"
        assert stubborn.exit_status() == -signal.SIGKILL
    finally:
        stubborn.kill()


def test_output_log_rotates_when_over_its_size(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "backfill.output.log"
    with open_output_log(log, max_bytes=100, backups=2) as out:
        out.write(b"first run\n")
    with open_output_log(log, max_bytes=100, backups=2) as out:  # small: appended
        out.write(b"x" * 100 + b"\n")
    assert log.read_bytes() == b"first run\n" + b"x" * 100 + b"\n"
    for n in (1, 2, 3):
        with open_output_log(log, max_bytes=100, backups=2) as out:
            out.write(f"run {n}\n".encode() * 30)
    assert log.read_bytes() == b"run 3\n" * 30
    assert (tmp_path / "logs" / "backfill.output.log.1").read_bytes() == b"run 2\n" * 30
    assert (tmp_path / "logs" / "backfill.output.log.2").read_bytes() == b"run 1\n" * 30
    assert not (tmp_path / "logs" / "backfill.output.log.3").exists()
