"""Backfill settled funding for the last N days: only what the database lacks, resumable.

Exit codes: 0 completed, or stopped by SIGINT/SIGTERM after the write in progress; 2 failed;
75 another history job holds the lock, or, with --wait, a signal stopped the wait for it;
130/143 SIGINT/SIGTERM with a database or exchange call still blocked 3 s later (the process
ends without it; nothing is half-written and the next run continues).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from lib.runtime.cli import bounded, make_parser, parse_exchanges, run
from lib.runtime.locks import history_lock
from lib.runtime.stopping import stop_on_signals

EXIT_CODES = {"completed": 0, "stopped": 0, "failed": 2}


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.history.backfill import run_backfill
    from lib.history.report import status_table
    from lib.storage.engine import open_database
    command = shlex.join(["unified_historical_backfill.py", *sys.argv[1:]])
    with history_lock("unified", command, wait=args.wait), stop_on_signals() as stop:
        engine = open_database()
        result = run_backfill(engine, args.days, args.exchanges, args.parallel, stop,
                              command=command)
    print(status_table(result.status))
    print(f"backfill {result.state}")
    return EXIT_CODES[result.state]


parser = make_parser(__doc__ or "")
parser.add_argument("--days", type=bounded("--days"), default=30, help="window length (default 30)")
parser.add_argument("--parallel", action="store_true", help="one worker per exchange")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--wait", action="store_true", help="wait for a running history job")

if __name__ == "__main__":
    run(main, parser, log_file="unified_backfill.log")
