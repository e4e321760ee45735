"""Bad databases through `database_tools.py check` and `status` as real subprocesses: each gives
one clear line on stderr, exit 2, no traceback, and leaves every stored row where it was."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import make_url
from test_database_tools import PREFIX, counts, run_tool, seed

from lib.storage.engine import create_db_engine, describe_url, normalise_url
from lib.storage.schema import SCHEMA_VERSION, schema_version

TEST_DATABASE_URL = os.environ.get(
    "TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)

COMMANDS = ("check", "status")


def assert_one_line_error(done: subprocess.CompletedProcess[str], message: str) -> None:
    assert done.returncode == 2, done.stderr
    assert done.stdout == ""
    assert done.stderr == f"{PREFIX}{message}\n"
    assert "Traceback" not in done.stderr


def base_env(tmp_path: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=url, RUNTIME_DIR=str(tmp_path / "run"),
               LOG_DIR=str(tmp_path / "logs"), DATA_DIR=str(tmp_path / "data"), SIMULATOR_URL="")
    return env


def pg_url(**parts: object) -> str:
    return make_url(TEST_DATABASE_URL).set(**parts).render_as_string(hide_password=False)


@pytest.mark.parametrize("command", COMMANDS)
def test_unreachable_server_names_host_and_port(command: str, tmp_path: Path) -> None:
    done = run_tool(base_env(tmp_path, "postgresql://postgres@127.0.0.1:1/funding"), command)
    assert_one_line_error(
        done, "cannot connect to PostgreSQL at 127.0.0.1:1/funding: connection refused "
              "(is it running?)")


@pytest.mark.parametrize("command", COMMANDS)
def test_database_that_does_not_exist(command: str, tmp_path: Path) -> None:
    url = pg_url(database="no_such_db_funding")
    done = run_tool(base_env(tmp_path, url), command)
    host = make_url(url).host
    assert_one_line_error(
        done, f"PostgreSQL at {host}:{make_url(url).port or 5432}/no_such_db_funding: "
              "database does not exist")


@pytest.mark.parametrize("command", COMMANDS)
def test_role_that_does_not_exist(command: str, tmp_path: Path) -> None:
    url = pg_url(username="no_such_role_funding", password=None)
    done = run_tool(base_env(tmp_path, url), command)
    assert_one_line_error(done, f"{describe_url(url)}: role 'no_such_role_funding' does not exist")


@pytest.fixture
def password_role() -> Iterator[str]:
    """A role with a known password, dropped afterwards.

    It joins the group `funding_password_checked`, for which .ci/run puts a password rule
    (scram-sha-256) ahead of the loopback `trust` line in pg_hba.conf.
    """
    role = f"funding_pw_{uuid.uuid4().hex[:8]}"
    admin = create_engine(normalise_url(TEST_DATABASE_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(
            "DO $$ BEGIN CREATE ROLE funding_password_checked NOLOGIN; "
            "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
        ))
        conn.execute(text(
            f"CREATE ROLE {role} LOGIN PASSWORD 'right-password' IN ROLE funding_password_checked"
        ))
    try:
        yield role
    finally:
        with admin.connect() as conn:
            conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
        admin.dispose()


def _server_checks_passwords(url: str) -> bool:
    """False where pg_hba says 'trust' for this host (the local test server does)."""
    probe = create_db_engine(url)
    try:
        with probe.connect():
            return False
    except sa_exc.OperationalError:
        return True
    finally:
        probe.dispose()


def test_wrong_password(password_role: str, tmp_path: Path) -> None:
    url = pg_url(username=password_role, password="wrong-password")
    if not _server_checks_passwords(url):
        pytest.skip("the server trusts this host (pg_hba 'trust'): any password is accepted, "
                    "so a wrong one cannot be detected here")
    done = run_tool(base_env(tmp_path, url), "check")
    assert_one_line_error(
        done, f"{describe_url(url)}: authentication failed for user '{password_role}'")


@pytest.mark.parametrize("command", COMMANDS)
def test_sqlite_directory_under_a_regular_file(command: str, tmp_path: Path) -> None:
    """As root, chmod cannot make a directory unwritable; a regular file in the path can."""
    blocker = tmp_path / "file"
    blocker.write_text("I am a file, not a directory\n")
    path = blocker / "data" / "funding.db"
    done = run_tool(base_env(tmp_path, f"sqlite:///{path}"), command)
    assert_one_line_error(done, f"SQLite file {path}: {blocker} is not a directory")
    assert blocker.read_text() == "I am a file, not a directory\n"


@pytest.mark.parametrize("command", COMMANDS)
def test_sqlite_missing_directory_is_not_created(command: str, tmp_path: Path) -> None:
    path = tmp_path / "missing" / "funding.db"
    done = run_tool(base_env(tmp_path, f"sqlite:///{path}"), command)
    assert_one_line_error(done, f"SQLite file {path}: directory {path.parent} does not exist")
    assert not path.parent.exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_corrupt_sqlite_file(command: str, tmp_path: Path) -> None:
    path = tmp_path / "funding.db"
    junk = bytes(range(256)) * 64
    path.write_bytes(junk)
    done = run_tool(base_env(tmp_path, f"sqlite:///{path}"), command)
    assert_one_line_error(
        done, f"SQLite file {path} is corrupt or not a SQLite database (file is not a database)")
    assert path.read_bytes() == junk


@pytest.mark.parametrize("command", COMMANDS)
def test_newer_schema_version(command: str, engine: Engine, cli_env: dict[str, str],
                              db_url: str) -> None:
    expected = seed(engine)
    with engine.begin() as conn:
        conn.execute(schema_version.insert().values(version=99, applied_at=text(
            "CURRENT_TIMESTAMP")))
    done = run_tool(cli_env, command)
    where = describe_url(db_url)
    message = f"{where}: schema version 99 is newer than this code supports ({SCHEMA_VERSION})"
    if command != "check":
        message += "; upgrade the project"
    assert_one_line_error(done, message)
    assert counts(engine) == expected


@pytest.mark.parametrize("flag", ["--no-such-flag", "frobnicate"])
def test_bad_arguments_exit_with_one_line(flag: str, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "database_tools.py", flag],
                          cwd=Path(__file__).resolve().parents[2],
                          env=base_env(tmp_path, "sqlite:///" + str(tmp_path / "x.db")),
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1, done.stderr  # no usage dump: one line
    assert done.stderr.startswith("database_tools.py: error: ")
    assert done.stderr.endswith(" (see database_tools.py --help)\n")
    assert not (tmp_path / "x.db").exists()
