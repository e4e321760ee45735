"""Retry contracts whose stored history is below --threshold % complete, with back-off."""

from __future__ import annotations

import argparse

from lib.history.jobs import run_job
from lib.history.repair import retry_incomplete
from lib.runtime.cli import bounded, make_parser, parse_exchanges, run


def main(args: argparse.Namespace) -> int:
    result = run_job(lambda job: retry_incomplete(
        job.engine, args.threshold, args.days, args.exchanges, args.dry_run,
        settings=job.settings, stop=job.stop,
    ), lock="repair", wait=args.wait)
    print(result.format())
    return result.exit_code


parser = make_parser(__doc__ or "")
parser.add_argument("--threshold", type=float, default=None, help="percent (default: setting)")
parser.add_argument("--days", type=bounded("--days"), default=None,
                    help="window (default HISTORICAL_DAYS)")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--dry-run", action="store_true", help="list contracts, fetch nothing")
parser.add_argument("--wait", action="store_true", help="wait for a running history job")

if __name__ == "__main__":
    run(main, parser, log_file="retry_incomplete_contracts.log")
