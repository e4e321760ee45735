"""Running the project's scripts as a user would: from the repository root, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_cli(args: list[str], env: dict[str, str], timeout: float = 120,
            ) -> subprocess.CompletedProcess[str]:
    """Run one of the project's scripts to its end."""
    return subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def start_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    """Start one of the project's scripts and leave it running."""
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
