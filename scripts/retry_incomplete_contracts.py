"""Retry contracts whose stored history is below --threshold % complete, with back-off."""

from __future__ import annotations

import argparse
import shlex
import sys

from config.settings import get_settings
from lib.runtime.cli import bounded, make_parser, parse_exchanges, run
from lib.runtime.locks import history_lock
from lib.runtime.stopping import stop_on_signals


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from tabulate import tabulate

    from lib.history.repair import retry_incomplete
    from lib.storage.engine import open_database
    settings = get_settings()
    threshold = args.threshold
    if threshold is None:
        threshold = settings.BACKFILL_COMPLETENESS_THRESHOLD
    days = args.days or settings.HISTORICAL_DAYS
    command = shlex.join(["retry_incomplete_contracts.py", *sys.argv[1:]])
    with history_lock("repair", command, wait=args.wait), stop_on_signals() as stop:
        reports = retry_incomplete(open_database(), threshold, days, args.exchanges,
                                   args.dry_run, stop=stop)
    rows = [(r.exchange, r.symbol, r.attempts, "dry run" if args.dry_run else
             ("ok" if r.success else f"failed: {r.error or 'still below threshold'}"),
             f"{r.before:.2f}%", f"{r.after:.2f}%") for r in reports]
    print(tabulate(rows, headers=("exchange", "symbol", "attempts", "result", "before", "after"),
                   tablefmt="simple"))
    failed = sum(1 for r in reports if not r.success)
    print(f"{len(reports)} contracts below {threshold:g}%"
          + ("" if args.dry_run else f", {len(reports) - failed} fixed, {failed} not"))
    return 0 if args.dry_run or not failed else 2


parser = make_parser(__doc__ or "")
parser.add_argument("--threshold", type=bounded("--threshold"), default=None,
                    help="percent (default: setting)")
parser.add_argument("--days", type=bounded("--days"), default=None,
                    help="window (default HISTORICAL_DAYS)")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--dry-run", action="store_true", help="list contracts, fetch nothing")
parser.add_argument("--wait", action="store_true", help="wait for a running history job")

if __name__ == "__main__":
    run(main, parser, log_file="retry_incomplete_contracts.log")
