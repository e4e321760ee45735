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
    from lib.exchanges.symbols import k_prefix_exchanges
    from lib.history.jobs import run_job
    from lib.integrity.dedupe import fix_duplicates

    report = run_job(lambda job: fix_duplicates(job.engine, dry_run=args.dry_run,
                                                k_prefix_exchanges=k_prefix_exchanges()),
                     signals=False)
    print(report.format())
    return report.exit_code


parser = make_parser(__doc__.splitlines()[0])
parser.add_argument("--dry-run", action="store_true", help="report only, change nothing")

if __name__ == "__main__":
    run(main, parser, log_file="fix_duplicate_funding_data.log")
