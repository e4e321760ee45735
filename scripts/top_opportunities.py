"""Current cross-exchange funding carries ranked by APR net of fees, with their history.

APR is simple (not compounded). --min-apr (percent, net of fees) and --min-oi (USD, both legs)
filter; --json prints for scripts.
"""

from __future__ import annotations

import argparse
import json

from config.settings import get_settings
from lib.runtime.cli import bounded, make_parser, parse_exchanges, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.analytics.ranking import top_opportunities
    from lib.analytics.report import ranking_json, ranking_table
    from lib.storage.engine import database

    with database(get_settings()) as engine:
        ranking = top_opportunities(
            engine, min_apr=None if args.min_apr is None else args.min_apr / 100,
            min_oi_usd=args.min_oi, exchanges=args.exchanges, hold_days=args.hold_days,
            limit=args.limit)
    print(json.dumps(ranking_json(ranking), indent=2) if args.json else ranking_table(ranking))
    return 0


parser = make_parser(__doc__ or "")
parser.add_argument("--min-apr", type=bounded("--min-apr"), default=None,
                    help="minimum APR net of fees, in percent")
parser.add_argument("--min-oi", type=bounded("--min-oi"), default=None,
                    help="minimum open interest on both legs, in USD")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--hold-days", type=bounded("--hold-days"), default=7,
                    help="holding period the fees are spread over (default 7)")
parser.add_argument("--limit", type=bounded("--limit"), default=20,
                    help="rows to show (default 20)")
parser.add_argument("--json", action="store_true", help="print JSON instead of a table")

if __name__ == "__main__":
    run(main, parser)
