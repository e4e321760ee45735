"""Find missing settlements of the last --hours per contract and fetch only those ranges."""

from __future__ import annotations

import argparse

from lib.runtime.cli import bounded, make_parser, parse_exchanges, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.history.jobs import run_job
    from lib.history.repair import fill_recent_gaps

    result = run_job(lambda job: fill_recent_gaps(
        job.engine, args.hours, args.exchanges, args.dry_run, settings=job.settings,
        stop=job.stop,
    ), lock="repair", wait=args.wait)
    print(result.format())
    return result.exit_code


parser = make_parser(__doc__ or "")
parser.add_argument("--hours", type=bounded("--hours"), default=48,
                    help="window to check (default 48)")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--dry-run", action="store_true", help="report gaps, fetch nothing")
parser.add_argument("--wait", action="store_true", help="wait for a running history job")

if __name__ == "__main__":
    run(main, parser, log_file="fill_recent_gaps.log")
