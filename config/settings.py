"""Every setting of the project, with its default.

Precedence: process environment > `.env` in the project root (python-dotenv) > the defaults
below. Values are parsed and validated once, by `load_settings()`; a bad value raises
`ConfigurationError` naming the setting and the value, which entry points print as one line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from lib.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SUPPORTED_EXCHANGES: tuple[str, ...] = (
    "binance",
    "bybit",
    "okx",
    "bitget",
    "gate",
    "kucoin",
    "hyperliquid",
    "dydx",
)


@dataclass(frozen=True)
class Settings:
    """Validated settings; build with `load_settings()`."""

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
    EXCHANGE_BASE_URLS: Mapping[str, str] = field(default_factory=dict)  # <EXCHANGE>_BASE_URL

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


def _parse_bool(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"setting {name}={raw!r} is not a boolean (use true or false)")


def _parse_number(name: str, raw: str, kind: type, minimum: float) -> float | int:
    try:
        value = kind(raw.strip())
    except ValueError:
        raise ConfigurationError(
            f"setting {name}={raw!r} is not a valid {kind.__name__}"
        ) from None
    if value < minimum:
        raise ConfigurationError(f"setting {name}={raw!r} must be at least {minimum}")
    return value


def parse_exchange_names(raw: str, source: str = "EXCHANGES") -> tuple[str, ...]:
    """Exchange ids from "a, B,c" (case and spaces ignored): every one supported, at least one.

    A ConfigurationError names `source`: a setting ("EXCHANGES") or a flag ("--exchanges").
    """
    names = tuple(n.strip().lower() for n in raw.split(",") if n.strip())
    unknown = [n for n in names if n not in SUPPORTED_EXCHANGES]
    if unknown or not names:
        flag = source.startswith("-")
        what = f"argument {source}: {raw!r}" if flag else f"setting {source}={raw!r}"
        raise ConfigurationError(
            f"{what} names unknown exchange(s) {', '.join(unknown) or '(none)'}"
            f"; supported: {', '.join(SUPPORTED_EXCHANGES)}"
        )
    return names


def _check_url(name: str, raw: str, schemes: tuple[str, ...]) -> str:
    parts = urlsplit(raw)
    scheme = parts.scheme.split("+", 1)[0]
    if scheme not in schemes or (scheme != "sqlite" and not parts.netloc):
        raise ConfigurationError(
            f"setting {name}={raw!r} is not a valid URL (expected {' or '.join(schemes)})"
        )
    return raw


_NUMBERS: dict[str, tuple[type, float]] = {
    "HISTORICAL_DAYS": (int, 1),
    "COLLECTION_INTERVAL": (int, 1),
    "API_PORT": (int, 1),
    "HTTP_CONNECT_TIMEOUT": (float, 0.1),
    "HTTP_READ_TIMEOUT": (float, 0.1),
    "HTTP_MAX_RETRIES": (int, 0),
    "BACKFILL_COMPLETENESS_THRESHOLD": (float, 0),
    "MAX_ABS_FUNDING_RATE": (float, 0),
    "ZSCORE_WINDOW_DAYS": (int, 1),
    "LOG_MAX_BYTES": (int, 1024),
    "LOG_BACKUP_COUNT": (int, 0),
}


def _parse_value(name: str, raw: str) -> object:
    """One setting's value from its text, or ConfigurationError naming it."""
    if name in _NUMBERS:
        kind, minimum = _NUMBERS[name]
        return _parse_number(name, raw, kind, minimum)
    if name == "ENABLE_CSV_EXPORT":
        return _parse_bool(name, raw)
    if name == "EXCHANGES":
        return parse_exchange_names(raw)
    if name in {"DATA_DIR", "LOG_DIR", "RUNTIME_DIR"}:
        return Path(raw).expanduser()
    if name == "DATABASE_URL" and raw:
        return _check_url(name, raw, ("sqlite", "postgresql", "postgres"))
    if name == "SIMULATOR_URL" and raw:
        return _check_url(name, raw, ("http", "https"))
    if name == "LOG_LEVEL":
        if raw.upper() not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigurationError(f"setting LOG_LEVEL={raw!r} is not a log level")
        return raw.upper()
    return raw


def load_settings(
    environ: Mapping[str, str] | None = None, env_file: Path | None = None
) -> Settings:
    """Read defaults, `.env` and the environment; validate every value once."""
    env_path = env_file if env_file is not None else PROJECT_ROOT / ".env"
    merged: dict[str, str] = {
        k: v for k, v in dotenv_values(env_path).items() if v is not None
    } if env_path.exists() else {}
    merged.update(os.environ if environ is None else environ)

    values: dict[str, object] = {
        f.name: _parse_value(f.name, merged[f.name])
        for f in fields(Settings)
        if f.name != "EXCHANGE_BASE_URLS" and f.name in merged
    }
    base_urls = {}
    for exchange in SUPPORTED_EXCHANGES:
        key = f"{exchange.upper()}_BASE_URL"
        if merged.get(key):
            base_urls[exchange] = _check_url(key, merged[key], ("http", "https")).rstrip("/")
    values["EXCHANGE_BASE_URLS"] = base_urls
    url = str(values.get("DATABASE_URL", ""))
    if url.startswith("postgres://"):  # the form docker and Heroku print; SQLAlchemy wants this
        values["DATABASE_URL"] = "postgresql://" + url[len("postgres://"):]
    return Settings(**values)  # type: ignore[arg-type]


@cache
def get_settings() -> Settings:
    """The process-wide settings, loaded on first use."""
    return load_settings()
