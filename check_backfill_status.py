"""Report backfill progress and completeness; exit 0 complete, 1 running, 2 incomplete, 3 none."""

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
