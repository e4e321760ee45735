"""Runtime JSON files (metrics, backfill status) written atomically.

Readers (the API, the dashboard, cron scripts) poll these files while writers rewrite them, so a
file is written to a temporary file in the same directory, fsynced and renamed over the old one
with `os.replace`: a reader sees the old or the new content, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from config.settings import Settings, get_settings
from lib.errors import FundingError

logger = logging.getLogger(__name__)

METRICS_FILE = ".collection_metrics.json"
BACKFILL_STATUS_FILE = ".unified_backfill.status"
UNIFIED_LOCK_FILE = ".unified_backfill.lock"
REPAIR_LOCK_FILE = ".backfill.lock"


class StatusFileError(FundingError):
    """A runtime file cannot be written or read (disk full, read-only directory, corrupt file)."""


def _os_reason(error: OSError) -> str:
    return error.strerror or str(error)


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Replace `path` with `data` as JSON so that no reader ever sees a partial file.

    Datetimes and other non-JSON values are written as `str(value)`; NaN/inf are refused
    because browsers' JSON.parse rejects them.
    """
    path = Path(path)
    try:
        payload = json.dumps(data, indent=2, sort_keys=True, default=str, allow_nan=False)
        payload += "\n"
    except (TypeError, ValueError) as e:
        raise StatusFileError(f"cannot write {path}: data is not JSON-serialisable ({e})") from e
    tmp_name: str | None = None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
        tmp_name = None
        _fsync_dir(path.parent)
    except OSError as e:
        raise StatusFileError(f"cannot write {path}: {_os_reason(e)}") from e
    finally:
        if tmp_name is not None:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)


def _fsync_dir(directory: Path) -> None:
    """Make the rename itself durable (best effort: some filesystems refuse O_RDONLY on dirs)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError as e:
        logger.debug("cannot open %s to fsync it: %s", directory, e)
        return
    try:
        os.fsync(fd)
    except OSError as e:
        logger.debug("cannot fsync directory %s: %s", directory, e)
    finally:
        os.close(fd)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object stored at `path`, or None if there is no such file."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StatusFileError(f"cannot read {path}: {_os_reason(e)}") from e
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise StatusFileError(f"{path} is not valid JSON (truncated or corrupt): {e}") from e
    if not isinstance(data, dict):
        raise StatusFileError(f"{path} holds a JSON {type(data).__name__}, expected an object")
    return data


def runtime_path(name: str, settings: Settings | None = None) -> Path:
    """Where runtime file `name` lives: the settings' RUNTIME_DIR/name, directory created."""
    directory = (settings or get_settings()).RUNTIME_DIR
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StatusFileError(
            f"cannot create runtime directory {directory}: {_os_reason(e)}"
        ) from e
    return directory / name
