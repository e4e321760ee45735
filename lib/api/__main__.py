"""`python -m lib.api`: serve the API with uvicorn on API_HOST:API_PORT.

A non-loopback API_HOST without API_TOKEN is refused (one line, exit 2): the routes that need no
token without one must not be reachable from other machines.
"""

from __future__ import annotations

import argparse

from config.settings import get_settings
from lib.runtime.cli import make_parser, run


def main(args: argparse.Namespace) -> int:
    import uvicorn

    from lib.api.app import create_app
    from lib.api.security import check_bind

    settings = get_settings()
    check_bind(settings)
    uvicorn.run(create_app(settings), host=settings.API_HOST, port=settings.API_PORT,
                log_level="warning", access_log=False, server_header=False)
    return 0


if __name__ == "__main__":
    run(main, make_parser("Serve the HTTP API and the web dashboard on API_HOST:API_PORT."),
        log_file="api.log")
