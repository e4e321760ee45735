"""What routes share through `app.state`: the database engine, created on first use."""

from __future__ import annotations

import threading

from fastapi import Request
from sqlalchemy import Engine


class DatabaseHandle:
    """The app's engine, created on first use (never at import or start-up), so the API starts
    and answers /api/health with 503 while the database is down."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def get(self) -> Engine:
        if self._engine is None:
            from lib.storage.engine import create_db_engine  # pulls in the drivers

            with self._lock:
                if self._engine is None:
                    self._engine = create_db_engine(self.url)
        return self._engine

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def engine_of(request: Request) -> Engine:
    """The app's database engine (created on first use)."""
    handle: DatabaseHandle = request.app.state.database
    return handle.get()
