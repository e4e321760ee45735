"""The environment a child process gets: this one's, with the settings it must share.

A child reads its settings itself (environment, then `.env`). Whatever the caller's `Settings`
say about where data, logs and runtime files live and which hosts to talk to is put into the
child's environment, so that a child always works on the same database and runtime directory
as the process that started it, even when that one was given its settings in code (tests).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from config.settings import PROJECT_ROOT, SUPPORTED_EXCHANGES, Settings

PYTHON = sys.executable
SCRIPTS = PROJECT_ROOT / "scripts"


def child_environment(settings: Settings, extra: Mapping[str, str] | None = None,
                      ) -> dict[str, str]:
    """os.environ plus the settings' database, directories and exchange hosts, plus `extra`."""
    env = dict(os.environ)
    env.update(
        DATABASE_URL=settings.database_url,
        DATA_DIR=str(settings.DATA_DIR),
        LOG_DIR=str(settings.LOG_DIR),
        RUNTIME_DIR=str(settings.RUNTIME_DIR),
        SIMULATOR_URL=settings.SIMULATOR_URL,
        EXCHANGES=",".join(settings.EXCHANGES),
    )
    for exchange in SUPPORTED_EXCHANGES:
        key = f"{exchange.upper()}_BASE_URL"
        if exchange in settings.EXCHANGE_BASE_URLS:
            env[key] = settings.EXCHANGE_BASE_URLS[exchange]
        else:
            env.pop(key, None)
    env.update(extra or {})
    env["PYTHONUNBUFFERED"] = "1"  # output reaches its log as it is written, not at exit
    return env


def simulator_environment(simulator_url: str) -> dict[str, str]:
    """What points every exchange at the simulator, over any `<EXCHANGE>_BASE_URL` in `.env`."""
    base = simulator_url.rstrip("/")
    env = {"SIMULATOR_URL": base}
    env.update({f"{ex.upper()}_BASE_URL": f"{base}/{ex}" for ex in SUPPORTED_EXCHANGES})
    return env
