"""Rebuild the spread series and its statistics from stored settled rates.

Incremental by default (only hours not built yet); --force rebuilds the whole window.
"""

from __future__ import annotations

import argparse

from lib.analytics.spreads import run_spreads
from lib.errors import ConfigurationError
from lib.runtime.cli import make_parser, run
from lib.storage.engine import open_database


def main(args: argparse.Namespace) -> int:
    if args.days < 1:
        raise ConfigurationError(f"--days {args.days}: must be at least 1")
    result = run_spreads(open_database(), args.days, args.force, refresh_statistics=True)
    build = result.build
    print(f"pairs {build.pairs.pairs} ({build.pairs.pairs_added} new), "
          f"rows written {build.rows_written}"
          + (f" ({build.rows_deleted} replaced)" if args.force else "")
          + f", statistics updated {result.statistics_updated}, {result.seconds:.1f} seconds")
    return 0


parser = make_parser(__doc__ or "")
parser.add_argument("--days", type=int, default=30, help="window to build (default 30)")
parser.add_argument("--force", action="store_true", help="rebuild every hour of the window")

if __name__ == "__main__":
    run(main, parser, log_file="spread_backfill.log")
