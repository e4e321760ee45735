"""Collect current funding from every enabled exchange: once, or every --interval seconds.

--once prints one summary line (exchanges ok and failed, contracts, settled rates stored,
seconds) and exits 0 when every exchange was collected and stored, 3 when some exchanges failed
(the others were stored), 2 when every exchange failed or nothing could be written (no network,
a read-only or unreachable database; also a bad flag or setting), and 0 when SIGINT/SIGTERM
cut the cycle short. --continuous logs each cycle's line and exits 0 on
SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse

from config.settings import get_settings
from lib.runtime.cli import bounded, make_parser, parse_exchanges, run
from lib.runtime.stopping import stop_on_signals

DRAIN_SECONDS = 60.0  # --once: how long to wait for just-settled rates


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.collection.collector import Collector
    from lib.storage.engine import database

    settings = get_settings()
    with stop_on_signals() as stop, database(settings) as engine:
        collector = Collector(engine, args.exchanges, settings)
        try:
            if args.once:
                summary = collector.collect_once(DRAIN_SECONDS, stop)
                print(summary.format())
                return summary.exit_code
            collector.run(args.interval or settings.COLLECTION_INTERVAL, stop)
        finally:
            collector.close()
    return 0


parser = make_parser(__doc__ or "")
mode = parser.add_mutually_exclusive_group(required=True)
mode.add_argument("--once", action="store_true", help="collect one batch and exit")
mode.add_argument("--continuous", action="store_true", help="collect until SIGTERM/SIGINT")
parser.add_argument("--interval", type=bounded("--interval"), default=None,
                    help="seconds between batches")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")

if __name__ == "__main__":
    run(main, parser, log_file="data_collector.log")
