"""Find missing settlements of the last --hours per contract and fetch only those ranges."""

from __future__ import annotations

import argparse
import shlex
import sys
from dataclasses import astuple, fields

from lib.runtime.cli import bounded, make_parser, parse_exchanges, run
from lib.runtime.locks import history_lock
from lib.runtime.stopping import stop_on_signals


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from tabulate import tabulate

    from lib.history.repair import GapReport, fill_recent_gaps
    from lib.storage.engine import open_database
    command = shlex.join(["fill_recent_gaps.py", *sys.argv[1:]])
    with history_lock("repair", command, wait=args.wait), stop_on_signals() as stop:
        reports = fill_recent_gaps(open_database(), args.hours, args.exchanges, args.dry_run,
                                   stop=stop)
    headers = [f.name.replace("_", " ") for f in fields(GapReport)]
    print(tabulate([astuple(r) for r in reports], headers=headers, tablefmt="simple"))
    found = sum(r.gaps_found for r in reports)
    left = sum(r.still_missing for r in reports)
    print(f"{'dry run: ' if args.dry_run else ''}{found} gaps found, {left} still missing")
    return 0 if args.dry_run or not any(r.errors for r in reports) else 2


parser = make_parser(__doc__ or "")
parser.add_argument("--hours", type=bounded("--hours"), default=48,
                    help="window to check (default 48)")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--dry-run", action="store_true", help="report gaps, fetch nothing")
parser.add_argument("--wait", action="store_true", help="wait for a running history job")

if __name__ == "__main__":
    run(main, parser, log_file="fill_recent_gaps.log")
