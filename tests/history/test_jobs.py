"""The runner behind the job scripts: lock, signals, database and report, in that order."""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest
from script_runs import run_cli
from sqlalchemy import inspect

from config.settings import Settings, load_settings
from lib.errors import LockHeldError
from lib.history.jobs import JobContext, adapter_factory_for, run_job
from lib.runtime.files import REPAIR_LOCK_FILE, UNIFIED_LOCK_FILE
from lib.runtime.locks import FileLock, command_line, history_lock


@dataclass
class Done:
    """A report as jobs return them."""

    text: str
    exit_code: int = 0

    def format(self) -> str:
        return self.text


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    """Settings of their own, unlike the process-wide ones: the runner must use these."""
    return load_settings({"DATABASE_URL": db_url, "RUNTIME_DIR": str(tmp_path / "jobs-run")},
                         env_file=tmp_path / "none.env")


def test_job_runs_locked_on_the_settings_database_and_returns_its_report(
    settings: Settings,
) -> None:
    seen: dict[str, object] = {}

    def work(job: JobContext) -> Done:
        own = FileLock(settings.RUNTIME_DIR / REPAIR_LOCK_FILE)
        seen["held"] = own.is_held()
        seen["holder"] = own.holder()
        seen["other"] = FileLock(settings.RUNTIME_DIR / UNIFIED_LOCK_FILE).is_held()
        with job.engine.connect() as conn:
            seen["tables"] = set(inspect(conn).get_table_names())
        seen["settings"] = job.settings
        seen["stopped"] = job.stop.is_set()
        return Done("all good", 2)

    report = run_job(work, lock="repair", signals=False, settings=settings)
    assert (report.format(), report.exit_code) == ("all good", 2)
    assert seen["held"] is True and seen["other"] is False
    holder = seen["holder"]
    assert holder is not None and holder.command == command_line()  # type: ignore[attr-defined]
    assert "funding_rates_historical" in seen["tables"]  # type: ignore[operator]
    assert seen["settings"] is settings and seen["stopped"] is False
    assert not FileLock(settings.RUNTIME_DIR / REPAIR_LOCK_FILE).is_held()  # released


def test_a_held_lock_refuses_before_the_database_is_touched(
    settings: Settings, tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'never' / 'funding.db'}"
    own = load_settings({"DATABASE_URL": url, "RUNTIME_DIR": str(settings.RUNTIME_DIR)},
                        env_file=tmp_path / "none.env")
    with (history_lock("unified", "a running backfill", settings=own),
          pytest.raises(LockHeldError, match=r"held by pid .*: a running backfill")):
        run_job(lambda job: Done("ran"), lock="repair", signals=False, settings=own)
    assert not (tmp_path / "never").exists()


def test_no_lock_for_jobs_that_take_none(settings: Settings) -> None:
    with history_lock("unified", "a running backfill", settings=settings):
        report = run_job(lambda job: Done(job.command), signals=False, settings=settings)
    assert report.format() == command_line()


# SIGTERM reaches a job run the way a script runs it; in its own process, because a stop is
# process-wide (it is never cleared, and may end the process after a grace).
SIGNALLED = textwrap.dedent(
    """
    import os, signal
    from lib.history.jobs import run_job

    class Done:
        exit_code = 0

        def __init__(self, text):
            self.text = text

        def format(self):
            return self.text

    def work(job):
        os.kill(os.getpid(), signal.SIGTERM)
        return Done("stopped" if job.stop.wait(5) else "still running")

    before = signal.getsignal(signal.SIGTERM)
    print(run_job(work).format(), signal.getsignal(signal.SIGTERM) == before)
    """
)


def test_sigterm_sets_the_jobs_stop_event_and_the_old_handler_returns(
    settings: Settings,
) -> None:
    env = {**os.environ, "DATABASE_URL": settings.database_url,
           "RUNTIME_DIR": str(settings.RUNTIME_DIR)}
    done = run_cli(["-c", SIGNALLED], env, timeout=60)
    assert (done.returncode, done.stdout) == (0, "stopped True\n"), done.stderr


def test_adapter_factory_builds_registered_adapters_from_the_settings(tmp_path: Path) -> None:
    settings = load_settings({"SIMULATOR_URL": "http://127.0.0.1:9"},
                             env_file=tmp_path / "none.env")
    adapter = adapter_factory_for(settings, time_scale=2.0)("okx")
    try:
        assert adapter.id == "okx" and adapter.base_url == "http://127.0.0.1:9/okx"
    finally:
        adapter.close()
    given = adapter_factory_for(settings, factory=lambda ex: adapter)
    assert given("bybit") is adapter
