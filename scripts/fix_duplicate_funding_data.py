"""Remove duplicate funding settlements and restore the history table's unique key.

Rows that are one settlement under different spellings (time jitter around the hour, symbol
case) count as duplicates; the most recently collected one is kept and rewritten to the
scheduled hour and the exchange's symbol case.
"""

from __future__ import annotations

import argparse

from lib.runtime.cli import make_parser, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.integrity.repairs import fix_duplicates
    from lib.storage.engine import open_database
    engine = open_database()
    try:
        print(fix_duplicates(engine, dry_run=args.dry_run).format())
    finally:
        engine.dispose()
    return 0


parser = make_parser(__doc__.splitlines()[0])
parser.add_argument("--dry-run", action="store_true", help="report only, change nothing")

if __name__ == "__main__":
    run(main, parser, log_file="fix_duplicate_funding_data.log")
