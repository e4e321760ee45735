"""Locks with real processes: refusal naming the holder, no stale lock after SIGKILL, waiting."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib.errors import LockHeldError
from lib.runtime.files import REPAIR_LOCK_FILE, UNIFIED_LOCK_FILE
from lib.runtime.locks import FileLock, LockHolder, history_lock

ROOT = Path(__file__).resolve().parents[2]

# A tiny entry point that holds a history lock through the project's one exit path.
HOLDER = textwrap.dedent(
    """
    import sys, time
    from lib.runtime.cli import make_parser, run
    from lib.runtime.locks import history_lock

    parser = make_parser("lock holder")
    parser.add_argument("kind")
    parser.add_argument("--hold", type=float, default=60)
    parser.add_argument("--wait", action="store_true")

    def main(args):
        with history_lock(args.kind, f"holder {args.kind} --hold {args.hold}", wait=args.wait):
            print("acquired", time.time(), flush=True)
            time.sleep(args.hold)
        return 0

    run(main, parser)
    """
)


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """RUNTIME_DIR for this process and for the subprocesses it starts."""
    from config import settings

    directory = tmp_path / "run"
    monkeypatch.setenv("RUNTIME_DIR", str(directory))
    settings.get_settings.cache_clear()
    yield directory
    settings.get_settings.cache_clear()


def _env(run_dir: Path) -> dict[str, str]:
    return {**os.environ, "RUNTIME_DIR": str(run_dir), "LOG_DIR": str(run_dir.parent / "logs")}


def _start_holder(run_dir: Path, kind: str, *extra: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, kind, *extra],
        cwd=ROOT, env=_env(run_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("acquired"), proc.stderr.read() if proc.stderr else line
    return proc


def _run_holder(run_dir: Path, kind: str, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", HOLDER, kind, "--hold", "0", *extra],
        cwd=ROOT, env=_env(run_dir), capture_output=True, text=True, timeout=60,
    )


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=30)


def test_filelock_records_and_clears_holder(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    lock = FileLock(path, command="backfill --days 30")
    assert not lock.is_held() and lock.holder() is None
    with lock:
        holder = lock.holder()
        assert holder is not None
        assert (holder.pid, holder.host, holder.command) == (
            os.getpid(), socket.gethostname(), "backfill --days 30"
        )
        assert holder.started_at.endswith("+00:00")
        assert lock.is_held() and FileLock(path).is_held()
    assert path.read_text() == ""  # release truncates, never deletes
    assert not FileLock(path).is_held() and lock.holder() is None


def test_second_lock_object_in_same_process_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.lock"
    with FileLock(path, command="first"):
        with pytest.raises(LockHeldError) as info:
            FileLock(path, command="second").acquire()
        assert str(info.value).startswith(f"lock {path} is held by pid {os.getpid()} on host ")
        assert str(info.value).endswith(": first")
        assert info.value.exit_code == 75
        with pytest.raises(LockHeldError, match=r"\(gave up waiting\)$"):
            FileLock(path).acquire(wait=True, timeout=0.3)


@pytest.mark.parametrize(("held", "wanted"), [
    ("unified", "unified"), ("unified", "repair"), ("repair", "unified"), ("repair", "repair"),
])
def test_second_process_exits_75_naming_the_holder(run_dir: Path, held: str, wanted: str) -> None:
    proc = _start_holder(run_dir, held)
    try:
        result = _run_holder(run_dir, wanted)
        # a repair job meets a unified holder at the first lock; a unified job meets a repair
        # holder at the second one
        lock_name = UNIFIED_LOCK_FILE if held == "unified" else REPAIR_LOCK_FILE
        assert result.returncode == 75, result.stderr
        assert result.stdout == ""
        prefix = re.escape(
            f"-c: error: cannot start the {wanted} history job: lock {run_dir / lock_name} "
            f"is held by pid {proc.pid} on host {socket.gethostname()} since "
        )
        suffix = re.escape(f": holder {held} --hold 60")
        lines = result.stderr.splitlines()
        assert len(lines) == 1, lines
        assert re.fullmatch(prefix + r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00" + suffix, lines[0])
    finally:
        _stop(proc)


def test_holder_file_names_only_own_lock_while_running(run_dir: Path) -> None:
    proc = _start_holder(run_dir, "repair")
    try:
        repair = FileLock(run_dir / REPAIR_LOCK_FILE)
        unified = FileLock(run_dir / UNIFIED_LOCK_FILE)
        assert repair.is_held() and not unified.is_held()
        assert repair.holder() == LockHolder(
            pid=proc.pid, host=socket.gethostname(), command="holder repair --hold 60",
            started_at=json.loads((run_dir / REPAIR_LOCK_FILE).read_text())["started_at"],
        )
        assert unified.holder() is None
    finally:
        _stop(proc)


def test_sigkilled_holder_leaves_no_stale_lock(run_dir: Path) -> None:
    proc = _start_holder(run_dir, "unified")
    path = run_dir / UNIFIED_LOCK_FILE
    assert FileLock(path).is_held()
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    # the file still names the dead holder, but nobody holds the flock
    holder = FileLock(path).holder()
    assert holder is not None and holder.pid == proc.pid
    assert not FileLock(path).is_held()
    with history_lock("unified", "after crash") as lock:
        assert lock.holder() is not None and lock.holder().command == "after crash"  # type: ignore[union-attr]
    assert _run_holder(run_dir, "repair").returncode == 0


def test_wait_true_waits_for_the_holder(run_dir: Path) -> None:
    proc = _start_holder(run_dir, "unified", "--hold", "1.5")
    started = time.time()
    try:
        result = _run_holder(run_dir, "repair", "--wait")
        assert result.returncode == 0, result.stderr
        acquired_at = float(result.stdout.split()[1])
        assert proc.wait(timeout=30) == 0
        assert acquired_at - started >= 1.0  # it got the lock only once the holder was done
    finally:
        _stop(proc)


def test_history_lock_in_process_releases_both(run_dir: Path) -> None:
    with history_lock("repair", "fill_recent_gaps") as lock:
        assert lock.path == run_dir / REPAIR_LOCK_FILE
        assert not FileLock(run_dir / UNIFIED_LOCK_FILE).is_held()
        with (
            pytest.raises(LockHeldError, match="cannot start the unified history job: lock "),
            history_lock("unified", "backfill"),
        ):
            pass
    assert not FileLock(run_dir / REPAIR_LOCK_FILE).is_held()
    assert (run_dir / REPAIR_LOCK_FILE).read_text() == ""
