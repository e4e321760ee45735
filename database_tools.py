"""Database maintenance: init, status, check, optimize, clear, export, backup and restore.

Works on both engines. Exit codes: 0 done; 2 a bad flag or setting, or the database cannot be
used as asked (no schema yet: `status` names `init`; unhealthy: `check` lists what is wrong).
"""

from __future__ import annotations

import argparse
import json
import sys

from config.settings import get_settings
from lib.errors import ConfigurationError, SchemaError
from lib.runtime.cli import file_path, make_parser, run


def _confirm_clear(url: str) -> None:
    """Typed confirmation on a terminal; no terminal means no, unless --yes."""
    from lib.storage import admin as db_admin

    name = db_admin.database_name(url)
    if not sys.stdin.isatty():
        raise ConfigurationError("refusing to clear without a terminal to confirm: pass --yes")
    answer = input(f"Delete every data row in {name}? Type 'clear' or '{name}' to confirm: ")
    if answer.strip() not in {"clear", name}:
        raise ConfigurationError("not confirmed: nothing was deleted")


def main(args: argparse.Namespace) -> int:
    # imported after the arguments and settings are checked: a bad one is refused at once
    from lib.storage import admin as db_admin
    from lib.storage import backup as db_backup
    from lib.storage import maintenance
    url = get_settings().database_url
    if args.command == "init":
        print(maintenance.init_schema(url).format())
    elif args.command == "optimize":
        print(maintenance.optimize(url).format())
    elif args.command == "status":
        status = db_admin.database_status(url)
        print(json.dumps(status.as_dict(), indent=2) if args.json else
              db_admin.format_status(status))
    elif args.command == "check":
        report = db_admin.check_database(url)
        if not report.healthy:
            raise SchemaError(report.summary())
        print(report.summary())
    elif args.command == "clear":
        if not args.yes:
            _confirm_clear(url)
        removed = db_admin.clear_data(url, vacuum=not args.quick)
        print(f"cleared {sum(removed.values())} rows: " +
              ", ".join(f"{t} {n}" for t, n in removed.items()))
    elif args.command == "export":
        output = args.output or db_admin.CSV_FILENAME
        rows = db_admin.export_csv(url, output)
        print(f"wrote {rows} rows to {output}")
    elif args.command == "backup":
        print(f"backed up to {args.file} ({db_backup.backup_database(url, args.file)} bytes)")
    elif args.command == "restore":
        rows = db_backup.restore_database(url, args.file, force=args.force)
        print(f"restored {args.file}: {rows} data rows")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = make_parser(__doc__ or "")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("init", help="create the schema, or upgrade an older one (idempotent)")
    sub.add_parser("status", help="rows, size, time range per table").add_argument(
        "--json", action="store_true", help="machine-readable output")
    sub.add_parser("check", help="verify schema version, tables, constraints, indexes")
    sub.add_parser("optimize", help="VACUUM, ANALYZE and PRAGMA optimize / REINDEX, with sizes")
    clear = sub.add_parser("clear", help="delete every data row, keep the schema")
    clear.add_argument("--quick", action="store_true", help="skip VACUUM afterwards")
    clear.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    sub.add_parser("export", help="exchange_data as CSV").add_argument(
        "--output", type=file_path, default=None,
        help="CSV path (default: unified_exchange_data.csv in the current folder)")
    sub.add_parser("backup", help="write a backup file").add_argument("file", type=file_path)
    restore = sub.add_parser("restore", help="replace the database with a backup file")
    restore.add_argument("file", type=file_path)
    restore.add_argument("--force", action="store_true", help="overwrite stored rows")
    return parser


if __name__ == "__main__":
    run(main, build_parser())
