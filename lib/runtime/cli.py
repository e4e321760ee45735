"""What every entry point shares: argument basics, logging set-up and the one exit path.

Scripts stay thin: build a parser with `make_parser`, then `run(main)` where `main(args)` returns
an exit code. A known failure (`FundingError`) prints one line to stderr and exits with its code
(2, or 75 for a held lock); anything else is a bug and keeps its traceback (exit 1).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from logging.handlers import RotatingFileHandler

from config.settings import check_range, get_settings, parse_exchange_names
from lib.errors import ConfigurationError, FundingError

logger = logging.getLogger(__name__)

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
EXCHANGES_FLAG = "--exchanges"


def make_parser(description: str) -> argparse.ArgumentParser:
    """A parser with the flags every tool has."""
    parser = argparse.ArgumentParser(description=description)
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


def setup_logging(log_file: str | None = None, verbose: bool = False) -> None:
    """Log to stderr (warnings and up unless verbose) and, if named, a size-rotated file."""
    settings = get_settings()
    root = logging.getLogger()
    root.handlers.clear()
    root.setLevel(logging.DEBUG if verbose else getattr(logging, settings.LOG_LEVEL))
    console = logging.StreamHandler(sys.stderr)
    console.setLevel(logging.DEBUG if verbose else logging.WARNING)
    console.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(console)
    if log_file:
        settings.LOG_DIR.mkdir(parents=True, exist_ok=True)
        handler = RotatingFileHandler(
            settings.LOG_DIR / log_file,
            maxBytes=settings.LOG_MAX_BYTES,
            backupCount=settings.LOG_BACKUP_COUNT,
        )
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
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
