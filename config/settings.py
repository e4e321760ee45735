"""Every setting of the project, with its default, its allowed range and its validation.

Precedence: process environment > `.env` in the project root > the defaults below. Values are
parsed and validated once, by `load_settings()`; a bad value raises `ConfigurationError` with one
line naming the setting, the value (passwords masked) and what is allowed, which entry points
print as is. Numeric ranges live in one table, `BOUNDS`, which command-line flags reuse through
`check_range`; `parse_exchange_names` does the same for `--exchanges`.

Parsed by hand, not with pydantic-settings: it reads `.env` through the same python-dotenv calls
(non-UTF-8 bytes still a traceback, a malformed line still only a warning), its errors are
multi-line, name one bound and echo the raw input (password included), and the injected
`environ` and per-exchange `<EXCHANGE>_BASE_URL` keys would need custom sources: the table and
the checks below are shorter than the adapters it would need.
"""

from __future__ import annotations

import codecs
import io
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from types import MappingProxyType
from urllib.parse import urlsplit

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from config.redact import MASK, redact_text, redact_url
from lib.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _adapter_ids() -> tuple[str, ...]:
    """Every exchange with an adapter module in lib/exchanges/venues/, in alphabetical order.

    Module names are read from the package's files, not imported: lib.exchanges imports this
    module, so importing the adapters here would be a cycle. Names starting with "_" are
    helpers, not exchanges.
    """
    import pkgutil  # only this function needs them
    from importlib.resources import files

    venues = files("lib").joinpath("exchanges", "venues")
    names = (m.name for m in pkgutil.iter_modules([str(venues)]))
    return tuple(sorted(name for name in names if not name.startswith("_")))


# The one exchange list of the project: an exchange is supported when its adapter module exists.
SUPPORTED_EXCHANGES: tuple[str, ...] = _adapter_ids()


# Settings whose value is never shown (repr, logs, the API's /api/settings): only whether set.
SECRET_SETTINGS: frozenset[str] = frozenset({"API_TOKEN"})
API_TOKEN_MIN_LENGTH = 16


@dataclass(frozen=True)
class Settings:
    """Validated settings; build with `load_settings()`. Its repr masks passwords."""

    DATABASE_URL: str = ""  # empty: SQLite file DATA_DIR/funding.db
    DATA_DIR: Path = PROJECT_ROOT / "data"
    LOG_DIR: Path = PROJECT_ROOT / "logs"
    RUNTIME_DIR: Path = PROJECT_ROOT  # status, lock and metrics files
    HISTORICAL_DAYS: int = 30
    COLLECTION_INTERVAL: int = 30  # seconds between live snapshots
    ENABLE_CSV_EXPORT: bool = False
    EXCHANGES: tuple[str, ...] = SUPPORTED_EXCHANGES
    API_HOST: str = "127.0.0.1"
    API_PORT: int = 8000
    API_TOKEN: str = ""  # secret; when set, mutating API routes need "Authorization: Bearer"
    API_CACHE_TTL: float = 10.0  # seconds an API answer is served from the cache (0: no cache)
    REDIS_URL: str = ""  # empty: the API caches in process; redis://... shares it across workers
    SIMULATOR_URL: str = ""  # when set, every adapter talks to the simulator
    HTTP_CONNECT_TIMEOUT: float = 5.0
    HTTP_READ_TIMEOUT: float = 15.0
    HTTP_MAX_RETRIES: int = 5
    BACKFILL_COMPLETENESS_THRESHOLD: float = 95.0  # percent
    MAX_ABS_FUNDING_RATE: float = 0.05  # plausibility bound per interval (5 %)
    ZSCORE_WINDOW_DAYS: int = 30
    LOG_MAX_BYTES: int = 10 * 1024 * 1024
    LOG_BACKUP_COUNT: int = 5
    LOG_LEVEL: str = "INFO"
    # start.py's supervision of its children (lib/system/supervisor.py)
    SUPERVISOR_BACKOFF_INITIAL: float = 1.0  # seconds before the first restart; doubles
    SUPERVISOR_BACKOFF_MAX: float = 60.0  # the longest wait between restarts
    SUPERVISOR_CRASH_LIMIT: int = 5  # exits within the window after which a child stays stopped
    SUPERVISOR_CRASH_WINDOW: float = 600.0  # seconds
    SUPERVISOR_STOP_TIMEOUT: float = 10.0  # SIGTERM, then SIGKILL after this many seconds
    EXCHANGE_BASE_URLS: Mapping[str, str] = field(default_factory=dict)  # <EXCHANGE>_BASE_URL
    TAKER_FEES: Mapping[str, float] = field(default_factory=dict)  # <EXCHANGE>_TAKER_FEE

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={self.shown(f.name)!r}" for f in fields(self))
        return redact_text(f"Settings({shown})")

    def shown(self, name: str) -> object:
        """A setting's value as it may be shown to people: secrets masked, URLs without their
        password."""
        value = getattr(self, name)
        if name in SECRET_SETTINGS:
            return MASK if value else ""
        return redact_text(value) if isinstance(value, str) else value

    @property
    def database_url(self) -> str:
        """The SQLAlchemy URL in force: DATABASE_URL, or the default SQLite file."""
        if self.DATABASE_URL:
            return self.DATABASE_URL
        return f"sqlite:///{self.DATA_DIR / 'funding.db'}"

    def exchange_base_url(self, exchange: str, default: str) -> str:
        """Base URL for one exchange: its own override, else the simulator, else the real host."""
        if exchange in self.EXCHANGE_BASE_URLS:
            return self.EXCHANGE_BASE_URLS[exchange]
        if self.SIMULATOR_URL:
            return f"{self.SIMULATOR_URL.rstrip('/')}/{exchange}"
        return default


def _subject(source: str, raw: object) -> str:
    """How a message names what the user typed: a setting, or a command-line flag."""
    if source.startswith("-"):
        return f"argument {source}: {raw!r}"
    return f"setting {source}={raw!r}"


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(value)


@dataclass(frozen=True)
class Bound:
    """An allowed numeric range: whole or real, its limits, and the unit messages show."""

    kind: type[int] | type[float]
    low: float
    high: float
    unit: str = ""
    low_open: bool = False  # the low limit itself is refused (a timeout of exactly 0)

    def describe(self) -> str:
        """E.g. 'a whole number from 1 to 3650 days', 'a number above 0 up to 300 seconds'."""
        what = "a whole number" if self.kind is int else "a number"
        low = (f"above {_number_text(self.low)} up" if self.low_open
               else f"from {_number_text(self.low)}")
        return f"{what} {low} to {_number_text(self.high)} {self.unit}".rstrip()

    def parse(self, value: str | float) -> int | float | None:
        """`value` as this range's kind, or None when it is not one or lies outside."""
        try:
            number = float(value) if self.kind is float else _whole(value)
        except (TypeError, ValueError, OverflowError):
            return None
        if not math.isfinite(number) or number > self.high or number < self.low or (
                self.low_open and number == self.low):
            return None
        return number


def _whole(value: str | float) -> int:
    if isinstance(value, str):
        return int(value.strip())
    if not float(value).is_integer():
        raise ValueError(value)
    return int(value)


PORT = Bound(int, 1, 65535)
PERCENT = Bound(float, 0, 100, "percent", low_open=True)  # 0 % would call anything complete

# <EXCHANGE>_TAKER_FEE: a user's own fee tier per venue (analytics' defaults: lib/analytics/fees.py)
TAKER_FEE = Bound(float, 0, 0.01, "(a fraction of notional)")

# Every numeric setting, and the command-line windows that have no setting of their own. The
# limits are sanity bounds: beyond them a value is a typo (1e9), not a configuration.
BOUNDS: Mapping[str, Bound] = MappingProxyType({
    "HISTORICAL_DAYS": Bound(int, 1, 3650, "days"),
    "COLLECTION_INTERVAL": Bound(int, 1, 86400, "seconds"),
    "API_PORT": PORT,
    "API_CACHE_TTL": Bound(float, 0, 3600, "seconds"),
    "HTTP_CONNECT_TIMEOUT": Bound(float, 0, 300, "seconds", low_open=True),
    "HTTP_READ_TIMEOUT": Bound(float, 0, 300, "seconds", low_open=True),
    "HTTP_MAX_RETRIES": Bound(int, 0, 20, "retries"),
    "BACKFILL_COMPLETENESS_THRESHOLD": PERCENT,
    "MAX_ABS_FUNDING_RATE": Bound(float, 0, 1, "(a fraction per funding interval)",
                                  low_open=True),
    "ZSCORE_WINDOW_DAYS": Bound(int, 1, 3650, "days"),
    "LOG_MAX_BYTES": Bound(int, 1024, 1024**3, "bytes"),
    "LOG_BACKUP_COUNT": Bound(int, 1, 1000, "files"),  # 0 would switch rotation off
    "SUPERVISOR_BACKOFF_INITIAL": Bound(float, 0, 3600, "seconds", low_open=True),
    "SUPERVISOR_BACKOFF_MAX": Bound(float, 0, 3600, "seconds", low_open=True),
    "SUPERVISOR_CRASH_LIMIT": Bound(int, 1, 1000, "exits"),
    "SUPERVISOR_CRASH_WINDOW": Bound(float, 0, 86400, "seconds", low_open=True),
    "SUPERVISOR_STOP_TIMEOUT": Bound(float, 0, 3600, "seconds", low_open=True),
    "--days": Bound(float, 0, 3650, "days", low_open=True),
    "--hours": Bound(float, 0, 3650 * 24, "hours", low_open=True),
    "--interval": Bound(float, 0, 86400, "seconds", low_open=True),
    "--threshold": PERCENT,
    # start.py --simulate
    "--simulator-port": Bound(int, 0, 65535, "(0: any free port)"),
    "--simulator-contracts": Bound(int, 8, 100_000, "contracts"),
    # scripts/top_opportunities.py
    "--min-apr": Bound(float, -1e6, 1e6, "percent"),
    "--min-oi": Bound(float, 0, 1e13, "USD"),
    "--hold-days": Bound(int, 1, 3650, "days"),
    "--limit": Bound(int, 1, 100_000, "rows"),
})


def check_range(name: str, value: str | float, source: str | None = None) -> int | float:
    """`value` (text or number) checked against `BOUNDS[name]`, as that bound's kind.

    Raises ConfigurationError naming `source` (default `name`; a flag when it starts with "-"),
    the value and the allowed range, in one line: nan, inf, out of range and wrong kind alike.
    """
    bound = BOUNDS[name]
    number = bound.parse(value)
    if number is None:
        raise ConfigurationError(f"{_subject(source or name, value)} must be {bound.describe()}")
    return number


def parse_exchange_names(raw: str, source: str = "EXCHANGES") -> tuple[str, ...]:
    """Comma-separated exchange names, each known and named once; else ConfigurationError."""
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    supported = f"supported: {', '.join(SUPPORTED_EXCHANGES)}"
    if not names:
        raise ConfigurationError(f"{_subject(source, raw)} names no exchange; {supported}")
    unknown = [n for n in names if n not in SUPPORTED_EXCHANGES]
    if unknown:
        raise ConfigurationError(
            f"{_subject(source, raw)} names unknown exchange(s) {', '.join(unknown)}; {supported}"
        )
    repeated = list(dict.fromkeys(n for n in names if names.count(n) > 1))
    if repeated:
        raise ConfigurationError(
            f"{_subject(source, raw)} names {', '.join(repeated)} more than once"
        )
    return names


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"setting {name}={raw!r} is not a boolean (use true or false)")


def _check_url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    """`raw` if it is a URL of one of `schemes` with a valid port; messages mask the password."""
    subject = _subject(name, redact_url(raw))
    try:
        parts = urlsplit(raw)
    except ValueError:  # a broken [IPv6] host
        parts = None
    scheme = parts.scheme.split("+", 1)[0] if parts else ""
    if parts is None or scheme not in schemes or (scheme != "sqlite" and not parts.netloc):
        raise ConfigurationError(
            f"{subject} is not a valid URL (expected {' or '.join(schemes)})"
        )
    try:
        port = parts.port
    except ValueError:  # not a number, or outside 0-65535
        port = 0
    if port is not None and PORT.parse(port) is None:
        raise ConfigurationError(f"{subject} has a port that is not {PORT.describe()}")
    return raw


def _why_not_writable(path: Path) -> str | None:
    """None when this user may create files in the folder `path`, else the reason."""
    if os.access(path, os.W_OK | os.X_OK):
        return None
    try:
        read_only = bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        read_only = False
    if read_only:
        return f"{path} is on a read-only file system"
    return f"this user cannot write to {path}"


def _check_directory(name: str, path: Path) -> None:
    """ConfigurationError unless `path` is a writable folder, or could be created as one.

    Nothing is created here: validation must not change the disk. A folder that does not exist
    yet is fine when its nearest existing ancestor is a writable folder.
    """
    subject = _subject(name, str(path))
    try:
        probe = path.absolute()
        if probe.exists():
            if not probe.is_dir():
                raise ConfigurationError(f"{subject} exists and is not a folder")
            reason = _why_not_writable(probe)
            if reason:
                raise ConfigurationError(f"{subject} cannot be used: {reason}")
            return
        if probe.is_symlink():
            raise ConfigurationError(f"{subject} is a link to nothing")
        ancestor = probe.parent
        while not ancestor.exists():  # ends at the root at the latest
            ancestor = ancestor.parent
    except OSError as e:
        raise ConfigurationError(f"{subject} cannot be used: {e.strerror or e}") from None
    reason = _why_not_writable(ancestor) if ancestor.is_dir() else f"{ancestor} is not a folder"
    if reason:
        raise ConfigurationError(f"{subject} cannot be created: {reason}")


_ENV_KEY = re.compile(r"(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")


def read_env_file(path: Path) -> dict[str, str]:
    """The KEY=value pairs of a `.env` file (none when it does not exist).

    ConfigurationError naming the file and line for bytes that are not UTF-8 and for a line that
    cannot be parsed (python-dotenv would only warn and skip it, so the default would be used).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as e:
        raise ConfigurationError(f"cannot read {path}: {e.strerror or e}") from None
    data = data.removeprefix(codecs.BOM_UTF8)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data.count(b"\n", 0, e.start) + 1
        raise ConfigurationError(
            f"{path} line {line}: byte 0x{data[e.start]:02x} is not UTF-8 text"
        ) from None
    for binding in parse_stream(io.StringIO(text)):
        if binding.error:
            statement = binding.original.string  # starts with the blank lines before it
            blank = statement[:len(statement) - len(statement.lstrip())].count("\n")
            key = _ENV_KEY.match(statement.lstrip())
            what = (f"the value of {key[1]} (an unterminated quote?)" if key
                    else "this line (expected KEY=value)")
            raise ConfigurationError(
                f"{path} line {binding.original.line + blank}: cannot parse {what}"
            )
    values = dotenv_values(stream=io.StringIO(text))
    return {k: v for k, v in values.items() if v is not None}


def _check_token(raw: str) -> str:
    """API_TOKEN if it is long enough to guess no faster than a password; never echoed."""
    if len(raw) < API_TOKEN_MIN_LENGTH or any(ch.isspace() for ch in raw):
        raise ConfigurationError(
            f"setting API_TOKEN (not shown) must be at least {API_TOKEN_MIN_LENGTH} characters "
            "with no spaces (e.g. the output of: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')")
    return raw


_DIRECTORIES = ("DATA_DIR", "LOG_DIR", "RUNTIME_DIR")
_LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _parse_value(name: str, raw: str) -> object:
    """One setting's value from its text, or ConfigurationError naming it."""
    if name in BOUNDS:
        return check_range(name, raw)
    if name == "ENABLE_CSV_EXPORT":
        return _parse_bool(name, raw)
    if name == "EXCHANGES":
        return parse_exchange_names(raw)
    if name in _DIRECTORIES:
        return Path(raw).expanduser()
    if name == "DATABASE_URL" and raw:
        return _check_url(name, raw, ("sqlite", "postgresql", "postgres"))
    if name == "SIMULATOR_URL" and raw:
        return _check_url(name, raw, ("http", "https"))
    if name == "REDIS_URL" and raw:
        return _check_url(name, raw, ("redis", "rediss"))
    if name == "API_TOKEN" and raw:
        return _check_token(raw)
    if name == "LOG_LEVEL":
        if raw.upper() not in _LOG_LEVELS:
            raise ConfigurationError(
                f"setting LOG_LEVEL={raw!r} is not a log level (use {', '.join(_LOG_LEVELS)})"
            )
        return raw.upper()
    return raw


_PER_EXCHANGE = ("EXCHANGE_BASE_URLS", "TAKER_FEES")  # read from <EXCHANGE>_... keys


def _taker_fees(merged: Mapping[str, str]) -> dict[str, float]:
    """{exchange: fee} from the <EXCHANGE>_TAKER_FEE keys that are set."""
    fees = {}
    for exchange in SUPPORTED_EXCHANGES:
        key = f"{exchange.upper()}_TAKER_FEE"
        if merged.get(key):
            fee = TAKER_FEE.parse(merged[key])
            if fee is None:
                raise ConfigurationError(
                    f"{_subject(key, merged[key])} must be {TAKER_FEE.describe()}")
            fees[exchange] = float(fee)
    return fees


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> Settings:
    """Read defaults, `.env` and the environment; validate every value once."""
    merged = read_env_file(env_file if env_file is not None else PROJECT_ROOT / ".env")
    merged.update(os.environ if environ is None else environ)

    values: dict[str, object] = {
        f.name: _parse_value(f.name, merged[f.name])
        for f in fields(Settings)
        if f.name not in _PER_EXCHANGE and f.name in merged
    }
    base_urls = {}
    for exchange in SUPPORTED_EXCHANGES:
        key = f"{exchange.upper()}_BASE_URL"
        if merged.get(key):
            base_urls[exchange] = _check_url(key, merged[key], ("http", "https")).rstrip("/")
    values["EXCHANGE_BASE_URLS"] = base_urls
    values["TAKER_FEES"] = _taker_fees(merged)
    url = str(values.get("DATABASE_URL", ""))
    if url.startswith("postgres://"):  # the form docker and Heroku print; SQLAlchemy wants this
        values["DATABASE_URL"] = "postgresql://" + url[len("postgres://"):]
    settings = Settings(**values)  # type: ignore[arg-type]
    for name in _DIRECTORIES:
        if name != "DATA_DIR" or not settings.DATABASE_URL:  # its one use: the SQLite default
            _check_directory(name, getattr(settings, name))
    return settings


@cache
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return load_settings()
