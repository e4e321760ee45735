"""Z-scores of every contract's current funding against its settled history (7 and 30 days).

--continuous recomputes contracts with |z| > 2 every 30 s and the others every 60 s.
"""

from __future__ import annotations

import argparse

from config.settings import get_settings
from lib.runtime.cli import make_parser, run
from lib.runtime.stopping import stop_on_signals


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.analytics.zscores import ZscoreLoop, calculate_zscores
    from lib.storage.engine import database

    with database(get_settings()) as engine:
        if args.once:
            print(calculate_zscores(engine, require=True).format())
            return 0
        with stop_on_signals() as stop:
            ZscoreLoop(engine).run(stop)
    return 0


parser = make_parser(__doc__ or "")
mode = parser.add_mutually_exclusive_group(required=True)
mode.add_argument("--once", action="store_true", help="one pass over every contract")
mode.add_argument("--continuous", action="store_true", help="run until SIGTERM/SIGINT")

if __name__ == "__main__":
    run(main, parser, log_file="zscore_calculator.log")
