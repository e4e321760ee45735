"""`python -m lib.api`: serve the API with uvicorn on API_HOST:API_PORT.

A non-loopback API_HOST without API_TOKEN is refused (one line, exit 2): the routes that need no
token without one must not be reachable from other machines.
"""

from __future__ import annotations

import argparse
import logging
import signal
from types import FrameType
from typing import NoReturn

from config.settings import get_settings
from lib.api.binding import check_bind
from lib.runtime.cli import make_parser, run

logger = logging.getLogger(__name__)


def _stopped(number: int, _frame: FrameType | None) -> NoReturn:
    logger.info("API stopped by %s", signal.Signals(number).name)
    raise SystemExit(0)


def main(args: argparse.Namespace) -> int:
    settings = get_settings()
    check_bind(settings)  # before importing the web stack: a refusal is immediate
    import uvicorn

    from lib.api.app import create_app

    # uvicorn stops gracefully on SIGINT/SIGTERM, then raises the signal again under the
    # handlers it found: with this one, that ends in exit 0 (a supervisor's normal stop), and
    # a signal before uvicorn listens ends the process at once, the same way
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _stopped)
    uvicorn.run(create_app(settings), host=settings.API_HOST, port=settings.API_PORT,
                log_level="warning", access_log=False, server_header=False)
    return 0


def parser() -> argparse.ArgumentParser:
    built = make_parser("Serve the HTTP API and the web dashboard on API_HOST:API_PORT.")
    built.prog = "python -m lib.api"
    return built


if __name__ == "__main__":
    run(main, parser(), log_file="api.log")
