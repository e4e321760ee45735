"""What every entry point shares: argument basics, logging set-up and the one exit path.

Scripts stay thin: build a parser with `make_parser`, then `run(main)` where `main(args)` returns
an exit code. A known failure (`FundingError`) prints one line to stderr and exits with its code
(2, or 75 for a held lock); anything else is a bug and keeps its traceback (exit 1). A bad
argument is one line too (`prog: error: ... (see prog --help)`, exit 2), not argparse's usage.
Scripts import the heavy modules (SQLAlchemy, requests) inside `main`, after the arguments and
settings are checked: a bad input or `--help` then answers in 0.1 s, not 0.8 s.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from logging.handlers import RotatingFileHandler
from pathlib import Path
from typing import NoReturn

from config.redact import RedactingFormatter, redact_text
from config.settings import check_range, get_settings, parse_exchange_names
from lib.errors import ConfigurationError, FundingError

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
USAGE_ERROR = 2
EXCHANGES_FLAG = "--exchanges"
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


def _argument_error(error: ConfigurationError, flag: str) -> argparse.ArgumentTypeError:
    """The settings' message for a flag, without the "argument FLAG: " argparse adds itself."""
    return argparse.ArgumentTypeError(str(error).removeprefix(f"argument {flag}: "))


def bounded(flag: str, setting: str | None = None) -> Callable[[str], int | float]:
    """argparse type for a numeric flag: the range of `settings.BOUNDS[setting or flag]`.

    nan, inf, overflow, zero or negatives where the range has none, and anything outside it are
    refused with the range, so a typo never becomes a silent default, a reversed window or a
    busy loop. `setting` names the setting a flag overrides (cleanup's --days: HISTORICAL_DAYS).
    """
    def parse(raw: str) -> int | float:
        try:
            return check_range(setting or flag, raw, flag)
        except ConfigurationError as e:
            raise _argument_error(e, flag) from None

    return parse


def parse_exchanges(value: str) -> tuple[str, ...]:
    """argparse type for `--exchanges a,b`: the EXCHANGES setting's rules, as argparse's error."""
    try:
        return parse_exchange_names(value, EXCHANGES_FLAG)
    except ConfigurationError as e:  # argparse puts "argument --exchanges: " in front itself
        raise _argument_error(e, EXCHANGES_FLAG) from None


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
        handler.setFormatter(RedactingFormatter(LOG_FORMAT))
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
        print(f"{prog}: error: {redact_text(str(e))}", file=sys.stderr)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        sys.exit(130)
    sys.exit(code)
