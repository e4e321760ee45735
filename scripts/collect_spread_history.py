"""Record the spread series and its statistics: once, or every --interval seconds."""

from __future__ import annotations

import argparse

from lib.analytics.spreads import DEFAULT_INTERVAL_S, SpreadCollector, run_spreads
from lib.errors import ConfigurationError
from lib.runtime.cli import make_parser, run
from lib.runtime.stopping import stop_on_signals
from lib.storage.engine import open_database


def main(args: argparse.Namespace) -> int:
    if args.interval is not None and args.interval <= 0:
        raise ConfigurationError(f"--interval {args.interval:g}: must be more than 0 seconds")
    engine = open_database()
    if args.once:
        result = run_spreads(engine)
        print(f"pairs {result.build.pairs.pairs}, rows written {result.build.rows_written}, "
              f"statistics updated {result.statistics_updated}, {result.seconds:.1f} seconds")
        return 0
    with stop_on_signals() as stop:
        SpreadCollector(engine).run(args.interval or DEFAULT_INTERVAL_S, stop)
    return 0


parser = make_parser(__doc__ or "")
mode = parser.add_mutually_exclusive_group(required=True)
mode.add_argument("--once", action="store_true", help="build once and exit")
mode.add_argument("--continuous", action="store_true", help="build until SIGTERM/SIGINT")
parser.add_argument("--interval", type=float, default=None,
                    help=f"seconds between builds (default {DEFAULT_INTERVAL_S:g})")

if __name__ == "__main__":
    run(main, parser, log_file="spread_collector.log")
