"""Settings: defaults, `.env` and environment precedence, and one clear line for a bad value.

Every bad value is refused with exactly one line naming the setting (or file and line) and what
is allowed; no message ever shows the database password. The case tables are data: a new case
is one line.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path

import pytest

from config.settings import (
    BOUNDS,
    SUPPORTED_EXCHANGES,
    Settings,
    check_range,
    load_settings,
    parse_exchange_names,
)
from lib.errors import ConfigurationError

ROOT = Path(__file__).resolve().parents[2]
SECRET = "S3cret-Pw"


DIRECTORIES = ("DATA_DIR", "LOG_DIR", "RUNTIME_DIR")
# Folders that could be created (never are) whoever runs the tests: the repository's defaults
# are not writable for every user.
WRITABLE = {name: str(Path(tempfile.gettempdir()) / "settings-test" / name.lower())
            for name in DIRECTORIES}


def load(environ: dict[str, str], env_file: Path) -> Settings:
    """`load_settings` with folders any user may create, unless `environ` names its own."""
    return load_settings({**WRITABLE, **environ}, env_file)


def write_env(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / ".env"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return path


def refused(environ: dict[str, str], env_file: Path) -> str:
    """The one-line message of the ConfigurationError that loading these settings raises."""
    with pytest.raises(ConfigurationError) as raised:
        load(environ, env_file)
    message = str(raised.value)
    assert "\n" not in message
    return message


def test_defaults_without_env_file(tmp_path: Path) -> None:
    settings = load({}, tmp_path / "absent.env")
    assert settings.HISTORICAL_DAYS == 30
    assert settings.EXCHANGES == SUPPORTED_EXCHANGES
    assert settings.database_url == f"sqlite:///{settings.DATA_DIR / 'funding.db'}"


def test_env_file_overrides_defaults_and_environment_overrides_env_file(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "HISTORICAL_DAYS=10\nEXCHANGES=okx,bybit\n"
                                   "DATABASE_URL=postgres://u:p@db:5432/exchange_data\n")
    from_file = load({}, env_file)
    assert from_file.HISTORICAL_DAYS == 10
    assert from_file.EXCHANGES == ("okx", "bybit")
    assert from_file.database_url == "postgresql://u:p@db:5432/exchange_data"
    both = load({"HISTORICAL_DAYS": "20"}, env_file)
    assert both.HISTORICAL_DAYS == 20
    assert both.EXCHANGES == ("okx", "bybit")


@pytest.mark.parametrize("name, value, message", [
    ("HISTORICAL_DAYS", "abc", "setting HISTORICAL_DAYS='abc' must be a whole number from 1 to "
                               "3650 days"),
    ("HISTORICAL_DAYS", "0", "setting HISTORICAL_DAYS='0' must be a whole number from 1 to "
                             "3650 days"),
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
        load({name: value}, tmp_path / "absent.env")
    assert str(raised.value) == message
    env_file = write_env(tmp_path, f"{name}={value}\n")
    with pytest.raises(ConfigurationError) as from_file:
        load({}, env_file)
    assert str(from_file.value) == message


def test_good_environment_value_hides_bad_env_file_value(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "HISTORICAL_DAYS=abc\n")
    assert load({"HISTORICAL_DAYS": "7"}, env_file).HISTORICAL_DAYS == 7


@pytest.mark.parametrize("name, value, message", [
    ("HISTORICAL_DAYS", "abc", "setting HISTORICAL_DAYS='abc' must be a whole number from 1 to "
                               "3650 days"),
    ("EXCHANGES", "foo", "setting EXCHANGES='foo' names unknown exchange(s) foo; supported: "
                         + ", ".join(SUPPORTED_EXCHANGES)),
    ("DATABASE_URL", "mysql://x", "setting DATABASE_URL='mysql://x' is not a valid URL "
                                  "(expected sqlite or postgresql or postgres)"),
    ("MAX_ABS_FUNDING_RATE", "nan", "setting MAX_ABS_FUNDING_RATE='nan' must be a number above "
                                    "0 up to 1 (a fraction per funding interval)"),
    ("DATABASE_URL", f"postgresq://postgres:{SECRET}@127.0.0.1/x",
     "setting DATABASE_URL='postgresq://postgres:***@127.0.0.1/x' is not a valid URL "
     "(expected sqlite or postgresql or postgres)"),
    ("LOG_DIR", "{tmp}/a-file", "setting LOG_DIR='{tmp}/a-file' exists and is not a folder"),
])
def test_cli_exits_with_one_line(tmp_path: Path, name: str, value: str, message: str) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    env = {k: v for k, v in os.environ.items() if not k.endswith("_BASE_URL")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'data' / 'funding.db'}",
               DATA_DIR=str(tmp_path / "data"), LOG_DIR=str(tmp_path / "logs"),
               RUNTIME_DIR=str(tmp_path / "run"), SIMULATOR_URL="")
    env[name] = value.format(tmp=tmp_path)
    done = subprocess.run([sys.executable, "database_tools.py", "status"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"database_tools.py: error: {message.format(tmp=tmp_path)}\n"
    assert SECRET not in done.stderr
    assert not (tmp_path / "data").exists()


def test_env_example_is_valid_and_documents_the_compose_url(tmp_path: Path) -> None:
    example = (ROOT / ".env.example").read_text()
    assert load({}, ROOT / ".env.example").DATABASE_URL == ""
    compose_line = next(ln for ln in example.splitlines()
                        if ln.startswith("# DATABASE_URL=postgresql://"))
    env_file = write_env(tmp_path, compose_line.removeprefix("# ") + "\n")
    url = load({}, env_file).database_url
    password = next(ln.split("=", 1)[1] for ln in example.splitlines()
                    if ln.startswith("POSTGRES_PASSWORD="))
    assert url == f"postgresql://postgres:{password}@127.0.0.1:5432/exchange_data"


def test_env_example_documents_every_setting_and_its_range() -> None:
    example = (ROOT / ".env.example").read_text()
    for f in fields(Settings):
        if f.name not in ("EXCHANGE_BASE_URLS", "TAKER_FEES"):  # <EXCHANGE>_... keys
            assert f"{f.name}=" in example, f.name
    assert "<EXCHANGE>_BASE_URL" in example and "<EXCHANGE>_TAKER_FEE" in example
    for name, bound in BOUNDS.items():
        if not name.startswith("-"):
            assert f"{name}: {bound.describe()}" in example, name


# --- numbers -------------------------------------------------------------------------------

# Every numeric setting: a good value and what it parses to. The allowed range is the one in
# BOUNDS, spelled out in RANGES so that a change to a bound is a visible change here (and in
# the README's settings table).
NUMERIC = {
    "HISTORICAL_DAYS": ("7", 7),
    "COLLECTION_INTERVAL": ("15", 15),
    "API_PORT": ("8080", 8080),
    "API_CACHE_TTL": ("2.5", 2.5),
    "HTTP_CONNECT_TIMEOUT": ("2.5", 2.5),
    "HTTP_READ_TIMEOUT": ("30", 30.0),
    "HTTP_MAX_RETRIES": ("0", 0),
    "BACKFILL_COMPLETENESS_THRESHOLD": ("99.5", 99.5),
    "MAX_ABS_FUNDING_RATE": ("0.03", 0.03),
    "ZSCORE_WINDOW_DAYS": ("14", 14),
    "LOG_MAX_BYTES": ("1048576", 1048576),
    "LOG_BACKUP_COUNT": ("3", 3),
    "SUPERVISOR_BACKOFF_INITIAL": ("0.5", 0.5),
    "SUPERVISOR_BACKOFF_MAX": ("30", 30.0),
    "SUPERVISOR_CRASH_LIMIT": ("3", 3),
    "SUPERVISOR_CRASH_WINDOW": ("120", 120.0),
    "SUPERVISOR_STOP_TIMEOUT": ("5", 5.0),
}
RANGES = {
    "HISTORICAL_DAYS": "a whole number from 1 to 3650 days",
    "COLLECTION_INTERVAL": "a whole number from 1 to 86400 seconds",
    "API_PORT": "a whole number from 1 to 65535",
    "API_CACHE_TTL": "a number from 0 to 3600 seconds",
    "HTTP_CONNECT_TIMEOUT": "a number above 0 up to 300 seconds",
    "HTTP_READ_TIMEOUT": "a number above 0 up to 300 seconds",
    "HTTP_MAX_RETRIES": "a whole number from 0 to 20 retries",
    "BACKFILL_COMPLETENESS_THRESHOLD": "a number above 0 up to 100 percent",
    "MAX_ABS_FUNDING_RATE": "a number above 0 up to 1 (a fraction per funding interval)",
    "ZSCORE_WINDOW_DAYS": "a whole number from 1 to 3650 days",
    "LOG_MAX_BYTES": "a whole number from 1024 to 1073741824 bytes",
    "LOG_BACKUP_COUNT": "a whole number from 1 to 1000 files",
    "SUPERVISOR_BACKOFF_INITIAL": "a number above 0 up to 3600 seconds",
    "SUPERVISOR_BACKOFF_MAX": "a number above 0 up to 3600 seconds",
    "SUPERVISOR_CRASH_LIMIT": "a whole number from 1 to 1000 exits",
    "SUPERVISOR_CRASH_WINDOW": "a number above 0 up to 86400 seconds",
    "SUPERVISOR_STOP_TIMEOUT": "a number above 0 up to 3600 seconds",
    "--days": "a number above 0 up to 3650 days",
    "--hours": "a number above 0 up to 87600 hours",
    "--interval": "a number above 0 up to 86400 seconds",
    "--threshold": "a number above 0 up to 100 percent",
    "--min-apr": "a number from -1000000 to 1000000 percent",
    "--min-oi": "a number from 0 to 10000000000000 USD",
    "--hold-days": "a whole number from 1 to 3650 days",
    "--limit": "a whole number from 1 to 100000 rows",
    "--simulator-port": "a whole number from 0 to 65535 (0: any free port)",
    "--simulator-contracts": "a whole number from 8 to 100000 contracts",
}
BAD_NUMBERS = ("nan", "inf", "-inf", "1e9", "0", "-1", "", "abc", "1.5e400")
ZERO_MEANS_SOMETHING = {"HTTP_MAX_RETRIES": "no retry", "API_CACHE_TTL": "no cache"}


def test_every_numeric_setting_has_a_bound_and_a_case() -> None:
    numeric = {f.name for f in fields(Settings) if f.type in ("int", "float")}
    assert numeric == set(NUMERIC) == {n for n in BOUNDS if not n.startswith("-")}
    assert {name: bound.describe() for name, bound in BOUNDS.items()} == RANGES


@pytest.mark.parametrize("name", NUMERIC)
def test_numeric_setting_accepts_a_good_value_and_its_limits(tmp_path: Path, name: str) -> None:
    text, value = NUMERIC[name]
    assert getattr(load({name: text}, tmp_path / "absent.env"), name) == value
    bound = BOUNDS[name]
    if not bound.low_open:
        assert check_range(name, str(bound.kind(bound.low))) == bound.low
    assert check_range(name, str(bound.kind(bound.high))) == bound.high


@pytest.mark.parametrize("name, value", [
    (name, value) for name in NUMERIC for value in BAD_NUMBERS
    if not (value == "0" and name in ZERO_MEANS_SOMETHING)
] + [(name, "1e9") for name in NUMERIC] + [
    ("HISTORICAL_DAYS", "3651"), ("HISTORICAL_DAYS", "7.5"), ("API_PORT", "65536"),
    ("HTTP_READ_TIMEOUT", "300.5"), ("HTTP_MAX_RETRIES", "21"),
    ("BACKFILL_COMPLETENESS_THRESHOLD", "100.01"), ("MAX_ABS_FUNDING_RATE", "1.5"),
    ("LOG_MAX_BYTES", "1023"), ("LOG_BACKUP_COUNT", "0"), ("COLLECTION_INTERVAL", "0.5"),
])
def test_numeric_setting_refuses_with_one_line_naming_it_and_its_range(
        tmp_path: Path, name: str, value: str) -> None:
    expected = f"setting {name}={value!r} must be {RANGES[name]}"
    assert refused({name: value}, tmp_path / "absent.env") == expected
    assert refused({}, write_env(tmp_path, f"{name}={value}\n")) == expected


@pytest.mark.parametrize("name, value, expected", [
    ("--days", "0.5", 0.5),
    ("--days", 2, 2.0),
    ("--hours", "48", 48.0),
    ("--interval", "0.5", 0.5),
    ("--threshold", "100", 100.0),
    ("HISTORICAL_DAYS", 30.0, 30),
])
def test_check_range_returns_the_bound_kind(name: str, value: str | float,
                                            expected: float) -> None:
    result = check_range(name, value)
    assert result == expected
    assert type(result) is BOUNDS[name].kind


@pytest.mark.parametrize("name, value, source, message", [
    ("--days", "0", None, "argument --days: '0' must be a number above 0 up to 3650 days"),
    ("--days", "-1", None, "argument --days: '-1' must be a number above 0 up to 3650 days"),
    ("--hours", "inf", None, "argument --hours: 'inf' must be a number above 0 up to 87600 hours"),
    ("--interval", "-5", None,
     "argument --interval: '-5' must be a number above 0 up to 86400 seconds"),
    ("--threshold", "nan", None,
     "argument --threshold: 'nan' must be a number above 0 up to 100 percent"),
    ("HISTORICAL_DAYS", "0", "--days",
     "argument --days: '0' must be a whole number from 1 to 3650 days"),
    ("HISTORICAL_DAYS", 2.5, None, "setting HISTORICAL_DAYS=2.5 must be a whole number from 1 to "
                                   "3650 days"),
])
def test_check_range_names_the_flag(name: str, value: str | float, source: str | None,
                                    message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        check_range(name, value, source)
    assert str(raised.value) == message


# --- exchanges -----------------------------------------------------------------------------

SUPPORTED = "supported: " + ", ".join(SUPPORTED_EXCHANGES)


@pytest.mark.parametrize("raw, source, message", [
    ("binance,binance", "EXCHANGES", "setting EXCHANGES='binance,binance' names binance more "
                                     "than once"),
    ("okx,Binance,OKX,binance", "EXCHANGES", "setting EXCHANGES='okx,Binance,OKX,binance' names "
                                             "okx, binance more than once"),
    ("", "EXCHANGES", f"setting EXCHANGES='' names no exchange; {SUPPORTED}"),
    (" , ", "EXCHANGES", f"setting EXCHANGES=' , ' names no exchange; {SUPPORTED}"),
    ("okx,nope", "--exchanges", f"argument --exchanges: 'okx,nope' names unknown exchange(s) "
                                f"nope; {SUPPORTED}"),
    ("bybit,bybit", "--exchanges", "argument --exchanges: 'bybit,bybit' names bybit more than "
                                   "once"),
])
def test_exchange_names_refused(raw: str, source: str, message: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        parse_exchange_names(raw, source)
    assert str(raised.value) == message


def test_exchange_names_parsed() -> None:
    assert parse_exchange_names(" OKX, bybit ,") == ("okx", "bybit")
    assert parse_exchange_names(",".join(SUPPORTED_EXCHANGES)) == SUPPORTED_EXCHANGES


def test_duplicate_exchanges_setting_refused(tmp_path: Path) -> None:
    assert refused({"EXCHANGES": "binance,binance"}, tmp_path / "absent.env") == (
        "setting EXCHANGES='binance,binance' names binance more than once")


# --- URLs and ports ------------------------------------------------------------------------

PORT_RANGE = "a whole number from 1 to 65535"


@pytest.mark.parametrize("name, value, shown", [
    ("DATABASE_URL", "postgresql://u@h:99999/db", "postgresql://u@h:99999/db"),
    ("DATABASE_URL", "postgresql://u@h:abc/db", "postgresql://u@h:abc/db"),
    ("DATABASE_URL", "postgresql://u@h:0/db", "postgresql://u@h:0/db"),
    ("DATABASE_URL", "postgresql://u@h:-1/db", "postgresql://u@h:-1/db"),
    ("DATABASE_URL", f"postgresql://u:{SECRET}@h:1e9/db", "postgresql://u:***@h:1e9/db"),
    ("SIMULATOR_URL", "http://127.0.0.1:70000", "http://127.0.0.1:70000"),
    ("BINANCE_BASE_URL", "http://127.0.0.1:99999/binance", "http://127.0.0.1:99999/binance"),
    # with no "@" a text after ":" may be a password: masked, at the cost of a clear port
    ("BINANCE_BASE_URL", "http://127.0.0.1:nan/binance", "http://127.0.0.1:***/binance"),
])
def test_url_port_refused(tmp_path: Path, name: str, value: str, shown: str) -> None:
    message = refused({name: value}, tmp_path / "absent.env")
    assert message == f"setting {name}={shown!r} has a port that is not {PORT_RANGE}"


@pytest.mark.parametrize("url", [
    "postgresql://u@h:5432/db", "postgresql://u@h/db", "postgresql://u@h:65535/db",
    "postgresql+psycopg2://u:p@[::1]:5432/db", "sqlite:////tmp/x.db", "sqlite:///:memory:",
])
def test_good_database_urls_accepted(tmp_path: Path, url: str) -> None:
    settings = load({"DATABASE_URL": url}, tmp_path / "absent.env")
    assert settings.database_url == url


# --- secrets -------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    f"postgresq://postgres:{SECRET}@127.0.0.1:5432/x",   # misspelt scheme
    f"postgresql://postgres:{SECRET}@127.0.0.1:99999/x",  # port out of range
    f"postgresql://postgres:{SECRET}@127.0.0.1:abc/x",    # port not a number
    f"postgresql://postgres:{SECRET}@[::1/x",             # broken IPv6 host
    f"postgresql://postgres:{SECRET}",                    # no host at all
    f"postgresql://postgres:{SECRET}@:0/x",               # empty host, port 0
    f"postgresql://postgres:p@{SECRET}@h:99999/x",        # "@" inside the password
    f"postgresql://postgres:{SECRET}/x@h:99999/x",        # "/" inside the password
    f"mysql://postgres:{SECRET}@h/x",                     # unsupported engine
    f"postgresql://u@h:99999/x?password={SECRET}",       # libpq's password parameter
])
def test_password_never_in_a_message(tmp_path: Path, url: str) -> None:
    message = refused({"DATABASE_URL": url}, tmp_path / "absent.env")
    assert message.startswith("setting DATABASE_URL=")
    assert SECRET not in message
    assert "***" in message
    from_file = refused({}, write_env(tmp_path, f"DATABASE_URL={url}\n"))
    assert SECRET not in from_file


def test_password_not_in_a_broken_env_line(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, f"DATABASE_URL='postgresql://u:{SECRET}@h/db\n")
    message = refused({}, env_file)
    assert message == f"{env_file} line 1: cannot parse the value of DATABASE_URL " \
                      "(an unterminated quote?)"


def test_settings_repr_masks_the_password(tmp_path: Path) -> None:
    url = f"postgresql://postgres:{SECRET}@127.0.0.1:5432/x"
    settings = load({"DATABASE_URL": url}, tmp_path / "absent.env")
    assert settings.database_url == url
    assert SECRET not in repr(settings)
    assert "postgresql://postgres:***@127.0.0.1:5432/x" in repr(settings)


# --- .env ----------------------------------------------------------------------------------

def test_env_file_not_utf8_is_one_line_naming_file_and_line(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, b"HISTORICAL_DAYS=10\nLOG_LEVEL=d\xe9bug\n")
    assert refused({}, env_file) == f"{env_file} line 2: byte 0xe9 is not UTF-8 text"
    assert refused({"LOG_LEVEL": "DEBUG"}, env_file) == refused({}, env_file)
    with_bom = write_env(tmp_path, b"\xef\xbb\xbfA=1\nB=2\nC=\xff\n")
    assert refused({}, with_bom) == f"{with_bom} line 3: byte 0xff is not UTF-8 text"


@pytest.mark.parametrize("text, line, what", [
    ('HISTORICAL_DAYS=10\nEXCHANGES="okx,bybit\nLOG_LEVEL=DEBUG\n', 2,
     "the value of EXCHANGES (an unterminated quote?)"),
    ("HISTORICAL_DAYS='7\n", 1, "the value of HISTORICAL_DAYS (an unterminated quote?)"),
    ("# comment\n\nexport LOG_LEVEL='x'y\n", 3, "the value of LOG_LEVEL (an unterminated quote?)"),
    ("HISTORICAL_DAYS=10\njust some words\n", 2, "this line (expected KEY=value)"),
    ("=10\n", 1, "this line (expected KEY=value)"),
    ("A=1\n\n  \n\nB='x\n", 5, "the value of B (an unterminated quote?)"),
])
def test_env_file_malformed_line_is_an_error_naming_file_and_line(
        tmp_path: Path, text: str, line: int, what: str) -> None:
    env_file = write_env(tmp_path, text)
    message = f"{env_file} line {line}: cannot parse {what}"
    assert refused({}, env_file) == message
    # the environment setting the same name does not hide a broken file
    assert refused({"EXCHANGES": "okx", "HISTORICAL_DAYS": "5", "LOG_LEVEL": "INFO"},
                   env_file) == message


def test_env_file_with_byte_order_mark_and_comments(tmp_path: Path) -> None:
    env_file = write_env(tmp_path, "\ufeffHISTORICAL_DAYS=12 # days\nexport LOG_LEVEL='debug'\n"
                                   "UNRELATED\n")
    settings = load({}, env_file)
    assert (settings.HISTORICAL_DAYS, settings.LOG_LEVEL) == (12, "DEBUG")


def test_env_file_that_is_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "env-folder"
    folder.mkdir()
    assert refused({}, folder) == f"cannot read {folder}: Is a directory"


# --- folders -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", DIRECTORIES)
def test_folder_that_is_a_file(tmp_path: Path, name: str) -> None:
    path = tmp_path / "a-file"
    path.write_text("x")
    message = refused({name: str(path)}, tmp_path / "absent.env")
    assert message == f"setting {name}={str(path)!r} exists and is not a folder"


@pytest.mark.parametrize("name", DIRECTORIES)
def test_folder_under_a_file(tmp_path: Path, name: str) -> None:
    (tmp_path / "a-file").write_text("x")
    path = tmp_path / "a-file" / "sub" / "deeper"
    message = refused({name: str(path)}, tmp_path / "absent.env")
    assert message == (f"setting {name}={str(path)!r} cannot be created: "
                       f"{tmp_path / 'a-file'} is not a folder")


@pytest.mark.parametrize("name", DIRECTORIES)
def test_folder_that_is_a_dangling_link(tmp_path: Path, name: str) -> None:
    path = tmp_path / "link"
    path.symlink_to(tmp_path / "nowhere")
    message = refused({name: str(path)}, tmp_path / "absent.env")
    assert message == f"setting {name}={str(path)!r} is a link to nothing"


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere: no permission to test")
@pytest.mark.parametrize("name", DIRECTORIES)
def test_folder_without_write_permission(tmp_path: Path, name: str) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        assert refused({name: str(locked)}, tmp_path / "absent.env") == (
            f"setting {name}={str(locked)!r} cannot be used: this user cannot write to {locked}")
        assert refused({name: str(locked / "sub")}, tmp_path / "absent.env") == (
            f"setting {name}={str(locked / 'sub')!r} cannot be created: this user cannot write "
            f"to {locked}")
    finally:
        locked.chmod(0o700)


@contextmanager
def read_only_mount(directory: Path) -> Iterator[None]:
    """`directory` bind-mounted read-only over itself (root only; skips elsewhere)."""
    done = subprocess.run(["mount", "--bind", str(directory), str(directory)],
                          capture_output=True, text=True, check=False)
    if done.returncode:
        pytest.skip(f"cannot mount here (needs root): {done.stderr.strip()}")
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(directory)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(directory)], check=True)


@pytest.mark.parametrize("name", DIRECTORIES)
def test_folder_on_a_read_only_file_system(tmp_path: Path, name: str) -> None:
    frozen = tmp_path / "frozen"
    frozen.mkdir()
    with read_only_mount(frozen):
        assert refused({name: str(frozen)}, tmp_path / "absent.env") == (
            f"setting {name}={str(frozen)!r} cannot be used: {frozen} is on a read-only file "
            "system")
        assert refused({name: str(frozen / "sub")}, tmp_path / "absent.env") == (
            f"setting {name}={str(frozen / 'sub')!r} cannot be created: {frozen} is on a "
            "read-only file system")


def test_data_dir_is_checked_only_when_it_holds_the_database(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("x")
    data_dir = str(tmp_path / "a-file")
    assert refused({"DATA_DIR": data_dir}, tmp_path / "absent.env") == (
        f"setting DATA_DIR={data_dir!r} exists and is not a folder")
    url = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    settings = load({"DATA_DIR": data_dir, "DATABASE_URL": url}, tmp_path / "absent.env")
    assert settings.database_url == url


def test_folders_that_do_not_exist_yet_are_fine_and_not_created(tmp_path: Path) -> None:
    environ = {name: str(tmp_path / "new" / name.lower()) for name in DIRECTORIES}
    settings = load(environ, tmp_path / "absent.env")
    assert settings.database_url == f"sqlite:///{tmp_path / 'new' / 'data_dir' / 'funding.db'}"
    assert not (tmp_path / "new").exists()


def test_relative_folder_is_checked_from_the_working_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "logs").write_text("x")
    monkeypatch.chdir(tmp_path)
    assert refused({"LOG_DIR": "logs"}, tmp_path / "absent.env") == (
        "setting LOG_DIR='logs' exists and is not a folder")
    log_dir = load({"LOG_DIR": "new/logs"}, tmp_path / "absent.env").LOG_DIR
    assert log_dir == Path("new/logs")


def test_taker_fees_per_exchange(tmp_path: Path) -> None:
    settings = load_settings({"BINANCE_TAKER_FEE": "0.0004", "OKX_TAKER_FEE": "0"},
                             env_file=tmp_path / "none.env")
    assert settings.TAKER_FEES == {"binance": 0.0004, "okx": 0.0}


@pytest.mark.parametrize("raw", ["nan", "inf", "-0.001", "0.5", "abc"])
def test_bad_taker_fee_is_one_line_naming_it(tmp_path: Path, raw: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"BYBIT_TAKER_FEE": raw}, env_file=tmp_path / "none.env")
    assert str(caught.value) == (
        f"setting BYBIT_TAKER_FEE={raw!r} must be a number from 0 to 0.01 (a fraction of notional)")
