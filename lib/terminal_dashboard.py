"""Live terminal dashboard: services, collection, database, backfill, top opportunities.

Keys: B start a backfill, X stop it, C clear the API cache, S shut the system down, H help,
Q quit. Works without the API (from the database and the runtime files). Logs to
LOG_DIR/terminal_dashboard.log (the screen is the terminal's).
"""

from __future__ import annotations

import argparse
import logging

from config.settings import get_settings
from lib.runtime.cli import bounded, make_parser, run

LOG_FILE = "terminal_dashboard.log"


def _quiet_terminal_logging() -> None:
    """Log to the file only while the app owns the terminal: a stderr line would tear it."""
    root = logging.getLogger()
    for handler in root.handlers[:]:
        if type(handler) is logging.StreamHandler:
            root.removeHandler(handler)


def main(args: argparse.Namespace) -> int:
    from lib.dashboards.terminal.app import DashboardApp  # Textual loads in 0.3 s: after checks

    _quiet_terminal_logging()
    app = DashboardApp(get_settings(), refresh_seconds=args.refresh)
    app.run()
    return app.return_code or 0  # 1 when the app ended on an error it showed


parser = make_parser(__doc__ or "")
parser.prog = "python -m lib.terminal_dashboard"
parser.add_argument("--refresh", type=bounded("--interval"), default=5.0,
                    help="seconds between refreshes (default 5)")

if __name__ == "__main__":
    run(main, parser, log_file=LOG_FILE)
