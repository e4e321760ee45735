"""Record the spread series and its statistics: once, or every --interval seconds."""

from __future__ import annotations

import argparse

from config.settings import get_settings
from lib.runtime.cli import bounded, make_parser, run
from lib.runtime.stopping import stop_on_signals

DEFAULT_INTERVAL_S = 60.0


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.analytics.spreads import SpreadCollector, run_spreads
    from lib.storage.engine import database

    with database(get_settings()) as engine:
        if args.once:
            print(run_spreads(engine).format())
            return 0
        with stop_on_signals() as stop:
            SpreadCollector(engine).run(args.interval or DEFAULT_INTERVAL_S, stop)
    return 0


parser = make_parser(__doc__ or "")
mode = parser.add_mutually_exclusive_group(required=True)
mode.add_argument("--once", action="store_true", help="build once and exit")
mode.add_argument("--continuous", action="store_true", help="build until SIGTERM/SIGINT")
parser.add_argument("--interval", type=bounded("--interval"), default=None,
                    help=f"seconds between builds (default {DEFAULT_INTERVAL_S:g})")

if __name__ == "__main__":
    run(main, parser, log_file="spread_collector.log")
