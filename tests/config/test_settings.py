"""Settings: defaults, `.env` and environment precedence, and one clear line for a bad value."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import SUPPORTED_EXCHANGES, load_settings
from lib.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent


def write_env(tmp_path: Path, text: str) -> Path:
    path = tmp_path / ".env"
    path.write_text(text)
    return path


def test_defaults_without_env_file(tmp_path: Path) -> None:
    settings = load_settings({}, tmp_path / "absent.env")
    assert settings.HISTORICAL_DAYS == 30
    assert settings.EXCHANGES == SUPPORTED_EXCHANGES
    assert settings.database_url == f"sqlite:///{settings.DATA_DIR / 'funding.db'}"


def test_env_file_overrides_defaults_and_environment_overrides_env_file(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "HISTORICAL_DAYS=10\nEXCHANGES=okx,bybit\n"
                                   "DATABASE_URL=postgres://u:p@db:5432/exchange_data\n")
    from_file = load_settings({}, env_file)
    assert from_file.HISTORICAL_DAYS == 10
    assert from_file.EXCHANGES == ("okx", "bybit")
    assert from_file.database_url == "postgresql://u:p@db:5432/exchange_data"
    both = load_settings({"HISTORICAL_DAYS": "20"}, env_file)
    assert both.HISTORICAL_DAYS == 20
    assert both.EXCHANGES == ("okx", "bybit")


@pytest.mark.parametrize("name, value, message", [
    ("HISTORICAL_DAYS", "abc", "setting HISTORICAL_DAYS='abc' is not a valid int"),
    ("HISTORICAL_DAYS", "0", "setting HISTORICAL_DAYS='0' must be at least 1"),
    ("EXCHANGES", "foo", "setting EXCHANGES='foo' names unknown exchange(s) foo; supported: "
                         + ", ".join(SUPPORTED_EXCHANGES)),
    ("DATABASE_URL", "mysql://x", "setting DATABASE_URL='mysql://x' is not a valid URL "
                                  "(expected sqlite or postgresql or postgres)"),
    ("ENABLE_CSV_EXPORT", "maybe", "setting ENABLE_CSV_EXPORT='maybe' is not a boolean "
                                   "(use true or false)"),
])
def test_bad_value_names_setting_and_value(
        tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        load_settings({name: value}, tmp_path / "absent.env")
    assert str(raised.value) == message
    env_file = write_env(tmp_path, f"{name}={value}\n")
    with pytest.raises(ConfigurationError) as from_file:
        load_settings({}, env_file)
    assert str(from_file.value) == message


def test_good_environment_value_hides_bad_env_file_value(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "HISTORICAL_DAYS=abc\n")
    assert load_settings({"HISTORICAL_DAYS": "7"}, env_file).HISTORICAL_DAYS == 7


@pytest.mark.parametrize("name, value, message", [
    ("HISTORICAL_DAYS", "abc", "setting HISTORICAL_DAYS='abc' is not a valid int"),
    ("EXCHANGES", "foo", "setting EXCHANGES='foo' names unknown exchange(s) foo; supported: "
                         + ", ".join(SUPPORTED_EXCHANGES)),
    ("DATABASE_URL", "mysql://x", "setting DATABASE_URL='mysql://x' is not a valid URL "
                                  "(expected sqlite or postgresql or postgres)"),
])
def test_cli_exits_with_one_line(tmp_path: Path, name: str, value: str, message: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
               DATA_DIR=str(tmp_path / "data"), LOG_DIR=str(tmp_path / "logs"),
               RUNTIME_DIR=str(tmp_path / "run"), SIMULATOR_URL="")
    env[name] = value
    done = subprocess.run([sys.executable, "database_tools.py", "status"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"database_tools.py: error: {message}\n"
    assert not (tmp_path / "data").exists()


def test_env_example_is_valid_and_documents_the_compose_url(tmp_path: Path) -> None:
    example = (ROOT / ".env.example").read_text()
    assert load_settings({}, ROOT / ".env.example").DATABASE_URL == ""
    compose_line = next(ln for ln in example.splitlines()
                        if ln.startswith("# DATABASE_URL=postgresql://"))
    env_file = write_env(tmp_path, compose_line.removeprefix("# ") + "\n")
    url = load_settings({}, env_file).database_url
    password = next(ln.split("=", 1)[1] for ln in example.splitlines()
                    if ln.startswith("POSTGRES_PASSWORD="))
    assert url == f"postgresql://postgres:{password}@127.0.0.1:5432/exchange_data"
