"""Stop a running start.py and all its children through its state file (never by name).

Says what it stopped and how (SIGTERM, or SIGKILL after --timeout seconds), and which of their
files it removed. Exit codes: 0 stopped, or "nothing running"; 2 a bad flag or setting.
"""

from __future__ import annotations

import argparse

from lib.runtime.cli import bounded, make_parser, run


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from config.settings import get_settings
    from lib.system.shutdown import stop_system

    print(stop_system(get_settings(), args.timeout).format())
    return 0


parser = make_parser(__doc__ or "")
parser.add_argument("--timeout", type=bounded("--timeout", "SUPERVISOR_STOP_TIMEOUT"),
                    default=None, help="seconds between SIGTERM and SIGKILL per process "
                    "(default SUPERVISOR_STOP_TIMEOUT)")

if __name__ == "__main__":
    run(main, parser, log_file="shutdown.log")
