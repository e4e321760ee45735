"""What every job that fetches and stores funding shares: its adapters and the script runner.

`adapter_factory_for` is the one place an exchange's adapter is built from settings (tests and
benchmarks pass their own factory instead). `run_job` is what the history-job scripts
(`unified_historical_backfill.py`, `fill_recent_gaps.py`, `retry_incomplete_contracts.py`) and
the integrity scripts run their work through: settings read once, the history lock taken (its
command is this process's command line), the stop-on-signal handler installed, the database
opened and disposed of, and the job's report returned for the script to print and exit with.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Protocol, TypeVar

from sqlalchemy import Engine

from config.settings import Settings, get_settings
from lib.exchanges import get_adapter
from lib.exchanges.base import ExchangeAdapter
from lib.runtime.locks import HistoryKind, command_line, history_lock
from lib.runtime.stopping import stop_on_signals
from lib.storage.engine import database

AdapterFactory = Callable[[str], ExchangeAdapter]


def adapter_factory_for(settings: Settings, time_scale: float = 1.0,
                    factory: AdapterFactory | None = None) -> AdapterFactory:
    """`factory` if given, else one building each exchange's registered adapter from
    `settings` (base URLs, timeouts, retries) at the simulator's `time_scale`."""
    return factory or partial(get_adapter, settings=settings, time_scale=time_scale)


class JobReport(Protocol):
    """What a job returns: a text for the terminal and the exit code it stands for."""

    @property
    def exit_code(self) -> int: ...

    def format(self) -> str: ...


Report = TypeVar("Report", bound=JobReport)


@dataclass(frozen=True)
class JobContext:
    """What a job gets from the runner."""

    settings: Settings
    engine: Engine
    stop: threading.Event  # set by SIGINT/SIGTERM (never, for jobs run without signals)
    command: str  # this process's command line, as the lock file names it


@contextmanager
def _stop_event(signals: bool) -> Iterator[threading.Event]:
    if signals:
        with stop_on_signals() as stop:
            yield stop
    else:
        yield threading.Event()


def run_job(work: Callable[[JobContext], Report], *, lock: HistoryKind | None = None,
            wait: bool = False, signals: bool = True,
            settings: Settings | None = None) -> Report:
    """Run `work` holding the `lock` history lock (none: no lock; `wait`: queue behind a
    running job instead of refusing), stopping on SIGINT/SIGTERM when `signals`, with the
    settings' database open; return its report once the lock and database are released."""
    settings = settings or get_settings()
    command = command_line()
    with ExitStack() as stack:
        if lock is not None:
            stack.enter_context(history_lock(lock, command, wait=wait, settings=settings))
        stop = stack.enter_context(_stop_event(signals))
        engine = stack.enter_context(database(settings))
        return work(JobContext(settings, engine, stop, command))
