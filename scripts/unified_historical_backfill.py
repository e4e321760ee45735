"""Backfill settled funding for the last N days: only what the database lacks, resumable.

Exit codes: 0 completed, or stopped by SIGINT/SIGTERM after the write in progress; 2 failed;
75 another history job holds the lock, or, with --wait, a signal stopped the wait for it;
130/143 SIGINT/SIGTERM with a database or exchange call still blocked 3 s later (the process
ends without it; nothing is half-written and the next run continues).
"""

from __future__ import annotations

import argparse

from lib.runtime.cli import bounded, make_parser, parse_exchanges, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.history.backfill import run_backfill
    from lib.history.jobs import run_job

    result = run_job(lambda job: run_backfill(
        job.engine, args.days, args.exchanges, args.parallel, stop=job.stop,
        settings=job.settings, command=job.command,
    ), lock="unified", wait=args.wait)
    print(result.format())
    return result.exit_code


parser = make_parser(__doc__ or "")
parser.add_argument("--days", type=bounded("--days"), default=None,
                    help="window length in days (default HISTORICAL_DAYS)")
parser.add_argument("--parallel", action="store_true", help="one worker per exchange")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--wait", action="store_true", help="wait for a running history job")

if __name__ == "__main__":
    run(main, parser, log_file="unified_backfill.log")
