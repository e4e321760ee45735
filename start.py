"""Run the whole system: live collector, spread collector, z-scores, API, and the backfill.

Checks the settings and the database (creating or upgrading its schema), then supervises its
children until Ctrl+C or SIGTERM, which stop them all (exit 0). A child that exits is restarted
with back-off; one that keeps crashing is left stopped. RUNTIME_DIR/.start_state.json says what
runs. Exit codes: 0 stopped on request; 2 a bad flag or setting, or the database cannot be used;
75 another start.py runs (or its children still do).
"""

from __future__ import annotations

import argparse
import sys

from lib.runtime.cli import bounded, make_parser, parse_exchanges, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from config.settings import get_settings
    from lib.runtime.locks import command_line
    from lib.system.children import Options
    from lib.system.supervisor import run_system

    options = Options(simulate=args.simulate, backfill=not args.no_backfill, api=not args.no_api,
                      exchanges=args.exchanges, simulator_port=args.simulator_port,
                      simulator_contracts=args.simulator_contracts)
    return run_system(get_settings(), options, command_line(),
                      on_ready=lambda line: print(line, file=sys.stderr, flush=True))


parser = make_parser(__doc__ or "")
parser.add_argument("--simulate", action="store_true",
                    help="run the exchange simulator too and point every child at it")
parser.add_argument("--no-backfill", action="store_true",
                    help="never start the backfill, even when stored history is incomplete")
parser.add_argument("--no-api", action="store_true", help="do not run the HTTP API")
parser.add_argument("--exchanges", type=parse_exchanges, default=None, help="e.g. binance,okx")
parser.add_argument("--simulator-port", type=bounded("--simulator-port"), default=0,
                    help="--simulate: the simulator's port (default: any free port)")
parser.add_argument("--simulator-contracts", type=bounded("--simulator-contracts"), default=2300,
                    help="--simulate: contracts over all exchanges (default 2300)")

if __name__ == "__main__":
    run(main, parser, log_file="start.log")
