"""`python -m lib.terminal_dashboard` as a user runs it: in a real terminal (a pty of 80 × 24)
it draws the panels and Q quits with exit 0; a bad flag or setting is one line and exit 2."""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from tui_helpers import Filled, free_port

ROOT = Path(__file__).resolve().parents[3]
MODULE = "lib.terminal_dashboard"


def _env(filled: Filled | None, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    if filled is not None:
        s = filled.settings
        env.update(DATABASE_URL=s.database_url, RUNTIME_DIR=str(s.RUNTIME_DIR),
                   DATA_DIR=str(s.DATA_DIR))
    else:
        env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'funding.db'}",
                   RUNTIME_DIR=str(tmp_path / "run"), DATA_DIR=str(tmp_path))
    env.update({"LOG_DIR": str(tmp_path / "logs"), "API_PORT": str(free_port()),
                "TERM": "xterm-256color", "COLUMNS": "80", "LINES": "24", **extra})
    return env


def test_bad_flag_and_bad_setting_are_one_line(tmp_path: Path) -> None:
    bad_flag = subprocess.run([sys.executable, "-m", MODULE, "--refresh", "0"], cwd=ROOT,
                              env=_env(None, tmp_path), capture_output=True, text=True,
                              timeout=60)
    assert bad_flag.returncode == 2
    assert bad_flag.stderr.strip().splitlines() == [
        "python -m lib.terminal_dashboard: error: argument --refresh: '0' must be a number "
        "above 0 up to 86400 seconds (see python -m lib.terminal_dashboard --help)"]
    bad_setting = subprocess.run([sys.executable, "-m", MODULE], cwd=ROOT,
                                 env=_env(None, tmp_path, API_PORT="99999"),
                                 capture_output=True, text=True, timeout=60)
    assert bad_setting.returncode == 2
    assert len(bad_setting.stderr.strip().splitlines()) == 1
    assert "API_PORT='99999'" in bad_setting.stderr


def _read_until(fd: int, wanted: list[bytes], deadline: float) -> bytes:
    """What the terminal got until every one of `wanted` appeared (or the deadline)."""
    seen = b""
    while not all(w in seen for w in wanted):
        left = deadline - time.monotonic()
        assert left > 0, f"the screen never showed {wanted}: {seen[-2000:]!r}"
        ready, _, _ = select.select([fd], [], [], min(left, 1.0))
        if ready:
            try:
                seen += os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
    return seen


def _drain(fd: int) -> None:
    ready, _, _ = select.select([fd], [], [], 0.2)
    if ready:
        with contextlib.suppress(OSError):  # the child closed the terminal
            os.read(fd, 65536)


def test_runs_in_a_real_terminal_and_q_quits(filled: Filled, tmp_path: Path) -> None:
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", MODULE], cwd=ROOT,
                               env=_env(filled, tmp_path), stdin=child, stdout=child,
                               stderr=child, start_new_session=True)
    os.close(child)
    try:
        _read_until(main, [b"Services", b"Collection", b"Database", b"Backfill",
                           b"opportunities", b"OK"], time.monotonic() + 60)
        os.write(main, b"q")
        deadline = time.monotonic() + 60
        while process.poll() is None:  # keep reading: a full terminal would block the app
            assert time.monotonic() < deadline, "q did not end the dashboard"
            _drain(main)
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(main)
    assert (tmp_path / "logs" / "terminal_dashboard.log").exists()
