"""Report backfill progress and completeness of this DATABASE_URL's database.

Exit codes: 0 complete (at or above BACKFILL_COMPLETENESS_THRESHOLD); 1 a backfill is running;
2 incomplete, failed, stopped or stale, no contracts known, or (one line on stderr) the status
file describes another database, is not a backfill status, names an exchange this code does not
know, or the database or its schema does not exist (a check never creates them); 3 no status
yet.
"""

from __future__ import annotations

import argparse
import json

from lib.runtime.cli import make_parser, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.history.report import check_status

    report = check_status()
    print(json.dumps(report.data, indent=2, sort_keys=True) if args.json else report.text)
    return report.code


parser = make_parser(__doc__ or "")
parser.add_argument("--json", action="store_true", help="print the report as JSON")

if __name__ == "__main__":
    run(main, parser)
