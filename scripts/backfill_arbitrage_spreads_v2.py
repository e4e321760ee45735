"""Rebuild the spread series and its statistics from stored settled rates.

Incremental by default (only hours not built yet); --force rebuilds the whole window.
"""

from __future__ import annotations

import argparse

from config.settings import get_settings
from lib.runtime.cli import bounded, make_parser, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.analytics.spreads import run_spreads
    from lib.storage.engine import database

    with database(get_settings()) as engine:
        result = run_spreads(engine, args.days, args.force, refresh_statistics=True)
    print(result.format(force=args.force))
    return 0


parser = make_parser(__doc__ or "")
parser.add_argument("--days", type=bounded("--days", "HISTORICAL_DAYS"), default=30,
                    help="window to build, whole days (default 30)")
parser.add_argument("--force", action="store_true", help="rebuild every hour of the window")

if __name__ == "__main__":
    run(main, parser, log_file="spread_backfill.log")
