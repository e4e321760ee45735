"""Delete invalid, future and expired funding history rows, then reclaim the space.

Invalid: null or non-finite rates, |rate| above MAX_ABS_FUNDING_RATE, funding times more than
one funding interval in the future, and rows older than HISTORICAL_DAYS (or --days).
arbitrage_spreads are never touched.
"""

from __future__ import annotations

import argparse

from lib.runtime.cli import bounded, make_parser, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.history.jobs import run_job
    from lib.integrity.cleanup import cleanup_history

    report = run_job(lambda job: cleanup_history(job.engine, days=args.days, dry_run=args.dry_run,
                                                 settings=job.settings), signals=False)
    print(report.format())
    return report.exit_code


parser = make_parser(__doc__.splitlines()[0])
parser.add_argument("--days", type=bounded("--days", "HISTORICAL_DAYS"),
                    help="retention in days (default HISTORICAL_DAYS)")
parser.add_argument("--dry-run", action="store_true", help="count only, delete nothing")

if __name__ == "__main__":
    run(main, parser, log_file="cleanup_historical_data.log")
