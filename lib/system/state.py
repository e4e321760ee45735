"""start.py's state file and single-instance lock, and the record of a backfill started on
request.

The state file (`RUNTIME_DIR/.start_state.json`) is rewritten atomically by start.py on every
change, so readers (shutdown_dashboard.py, the API, the dashboards) never see half of one:

    {"pid": 4242, "pid_started": 1764464000.12, "host": "laptop", "command": "start.py",
     "started_at": "2026-11-30T01:00:00+00:00", "updated_at": "...", "state": "running",
     "simulate": false, "simulator_url": null,
     "children": {"collector": {"state": "running", "pid": 4250, "pid_started": ...,
                                "command": "...", "log": ".../collector.output.log",
                                "restarts": 0, "last_exit_code": null, "last_exit_at": null,
                                "started_at": "...", "next_start_at": null, "message": ""}}}

`state` is "starting", "running", "stopping" or "stopped"; a child's is "running", "waiting"
(back-off before a restart), "failed" (crashed too often, left stopped), "exited" (a one-shot
child such as the backfill that ended), "skipped" (not started, `message` says why) or
"stopped". Only start.py writes it; it is kept after start.py exits (its last exit codes) and
removed by `stop_system` when that stopped the start.py it describes.

The single-instance lock (`.start.lock`) is a flock held for start.py's whole run: a second
start.py refuses at once naming the first. The backfill record (`.backfill_started.json`)
names the detached backfill `start_backfill` started, so that a shutdown stops it too.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from config.settings import Settings
from lib.runtime.files import read_json, runtime_path, write_json_atomic
from lib.runtime.locks import FileLock

logger = logging.getLogger(__name__)

STATE_FILE = ".start_state.json"
START_LOCK_FILE = ".start.lock"
BACKFILL_RECORD_FILE = ".backfill_started.json"


def state_path(settings: Settings) -> Path:
    """Where start.py's state file lives."""
    return runtime_path(STATE_FILE, settings)


def start_lock(settings: Settings, command: str | None = None) -> FileLock:
    """start.py's single-instance lock (not acquired)."""
    return FileLock(runtime_path(START_LOCK_FILE, settings), command)


def write_state(settings: Settings, state: dict[str, Any]) -> None:
    """Replace the state file atomically."""
    write_json_atomic(state_path(settings), state)


def read_state(settings: Settings) -> dict[str, Any] | None:
    """The state start.py last wrote, or None when there is no state file."""
    return read_json(state_path(settings))


def backfill_record_path(settings: Settings) -> Path:
    """Where the record of a backfill started on request lives."""
    return runtime_path(BACKFILL_RECORD_FILE, settings)
