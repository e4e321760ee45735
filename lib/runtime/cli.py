"""What every entry point shares: argument basics, logging set-up and the one exit path.

Scripts stay thin: build a parser with `make_parser`, then `run(main)` where `main(args)` returns
an exit code. A known failure (`FundingError`) prints one line to stderr and exits with its code
(2, or 75 for a held lock); anything else is a bug and keeps its traceback (exit 1). A bad
argument is one line too (`prog: error: ... (see prog --help)`, exit 2), not argparse's usage.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import NoReturn

from config.settings import get_settings
from lib.errors import ConfigurationError, FundingError

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
USAGE_ERROR = 2
# Libraries whose warnings are retry chatter (urllib3 logs every retry at WARNING): they go to
# the log file at debug level; what failed in the end is logged by our own code.
QUIET_LOGGERS = ("urllib3",)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line: cron mail shows what is wrong, no usage."""

    def error(self, message: str) -> NoReturn:
        line = " ".join(message.split())
        self.exit(USAGE_ERROR, f"{self.prog}: error: {line} (see {self.prog} --help)\n")


def make_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the flags every tool has."""
    parser = Parser(description=description)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    return parser


@dataclass(frozen=True)
class Bounded:
    """argparse type: a finite number from `low` to `high` (`low` itself excluded if `above`).

    nan, inf, overflow to inf, and anything out of range are refused with the range, so a
    typo never becomes a silent default, a reversed window or a busy loop.
    """

    what: str  # "a number of days", "a whole number of days", ...
    low: float
    high: float
    above: bool = False  # True: low is excluded
    whole: bool = False

    def describe(self) -> str:
        low = f"above {self.low:g}" if self.above else f"from {self.low:g}"
        return f"{self.what} {low} {'and at most' if self.above else 'to'} {self.high:g}"

    def __call__(self, raw: str) -> float:
        try:
            value = float(raw)
        except ValueError:
            value = math.nan
        too_low = value <= self.low if self.above else value < self.low
        if not math.isfinite(value) or too_low or value > self.high or (
                self.whole and not value.is_integer()):
            raise argparse.ArgumentTypeError(f"must be {self.describe()}, not {raw!r}")
        return int(value) if self.whole else value


DAYS = Bounded("a number of days", 0, 3650, above=True)
WHOLE_DAYS = Bounded("a whole number of days", 1, 3650, whole=True)
HOURS = Bounded("a number of hours", 0, 87600, above=True)
SECONDS = Bounded("a number of seconds", 0.1, 86400)
PERCENT = Bounded("a percentage", 0, 100, above=True)


def parse_exchanges(value: str) -> tuple[str, ...]:
    """argparse type for `--exchanges a,b`: known exchange names, each once."""
    from config.settings import SUPPORTED_EXCHANGES

    names = tuple(n.strip().lower() for n in value.split(",") if n.strip())
    unknown = [n for n in names if n not in SUPPORTED_EXCHANGES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown exchange(s) {', '.join(unknown) or '(none)'}; "
            f"supported: {', '.join(SUPPORTED_EXCHANGES)}"
        )
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"exchange(s) named more than once: {', '.join(repeated)}")
    return names


def file_path(raw: str) -> Path:
    """argparse type for a file to read or write: a path, and not one of a folder."""
    if not raw.strip():
        raise argparse.ArgumentTypeError("must name a file, not ''")
    path = Path(raw).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{path} is a folder, not a file")
    return path


class _QuietLibraries(logging.Filter):
    """Demotes chatter of `QUIET_LOGGERS` below ERROR to DEBUG before a handler's level check."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.level = level

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR and record.name.split(".")[0] in QUIET_LOGGERS:
            record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return record.levelno >= self.level


def _file_handler(log_file: str) -> logging.Handler:
    """A size-rotated LOG_DIR/log_file, or ConfigurationError naming LOG_DIR."""
    settings = get_settings()
    path = settings.LOG_DIR / log_file
    try:
        settings.LOG_DIR.mkdir(parents=True, exist_ok=True)
        return RotatingFileHandler(path, maxBytes=settings.LOG_MAX_BYTES,
                                   backupCount=settings.LOG_BACKUP_COUNT)
    except OSError as e:
        raise ConfigurationError(
            f"setting LOG_DIR={str(settings.LOG_DIR)!r}: cannot write log file {path}: "
            f"{e.strerror or e}"
        ) from e


def setup_logging(log_file: str | None = None, verbose: bool = False) -> None:
    """Log to stderr (warnings and up unless verbose) and, if named, a size-rotated file."""
    settings = get_settings()
    level = logging.DEBUG if verbose else getattr(logging, settings.LOG_LEVEL)
    handlers: list[tuple[logging.Handler, int]] = [
        (logging.StreamHandler(sys.stderr), logging.DEBUG if verbose else logging.WARNING)]
    if log_file:
        handlers.append((_file_handler(log_file), level))
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
        old.close()
    root.setLevel(level)
    for handler, handler_level in handlers:
        handler.setLevel(handler_level)
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.addFilter(_QuietLibraries(handler_level))
        root.addHandler(handler)
    for noisy in ("urllib3", "sqlalchemy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def run(main: Callable[[argparse.Namespace], int], parser: argparse.ArgumentParser,
        argv: Sequence[str] | None = None, log_file: str | None = None) -> None:
    """Parse arguments, run `main`, and exit through the one exit path."""
    args = parser.parse_args(argv)
    prog = parser.prog
    try:
        get_settings()  # validate settings once, before any work
        setup_logging(log_file, getattr(args, "verbose", False))
        code = main(args)
    except FundingError as e:
        logger.debug("%s failed", prog, exc_info=True)
        print(f"{prog}: error: {e}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code)
