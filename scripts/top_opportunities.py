"""Current cross-exchange funding carries ranked by APR net of fees, with their history.

APR is simple (not compounded). --min-apr and --min-oi filter, --json prints for scripts.
"""

from __future__ import annotations

import argparse
import json

from tabulate import tabulate

from lib.analytics.inputs import require_snapshots
from lib.analytics.ranking import rank_opportunities
from lib.analytics.report import HEADERS, ranking_json, summary_line, table_rows
from lib.errors import ConfigurationError
from lib.runtime.cli import make_parser, parse_exchanges, run
from lib.storage.engine import open_database


def main(args: argparse.Namespace) -> int:
    for flag, value in (("--hold-days", args.hold_days), ("--limit", args.limit)):
        if value < 1:
            raise ConfigurationError(f"{flag} {value}: must be at least 1")
    with open_database().connect() as conn:
        require_snapshots(conn)
        ranking = rank_opportunities(
            conn, min_apr=None if args.min_apr is None else args.min_apr / 100,
            min_oi_usd=args.min_oi, exchanges=args.exchanges, hold_days=args.hold_days,
            limit=args.limit)
    if args.json:
        print(json.dumps(ranking_json(ranking), indent=2))
    else:
        print(tabulate(table_rows(ranking), headers=HEADERS, tablefmt="simple"))
        print(summary_line(ranking))
    return 0


parser = make_parser(__doc__ or "")
parser.add_argument("--min-apr", type=float, default=None, help="minimum net APR in percent")
parser.add_argument("--min-oi", type=float, default=None,
                    help="minimum open interest in USD on both legs")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--hold-days", type=int, default=7,
                    help="holding period the fees are spread over (default 7)")
parser.add_argument("--limit", type=int, default=20, help="rows to show (default 20)")
parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

if __name__ == "__main__":
    run(main, parser)
