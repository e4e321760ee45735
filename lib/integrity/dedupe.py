"""Removal of duplicate settlements from funding history, and restoring its lost unique key.

Rows that are one settlement under different spellings (time jitter around the hour, symbol
case) form a set; one window pass ranks each set into a temporary plan, then one DELETE keeps
the most recently collected row and one UPDATE rewrites it to the scheduled hour and the
exchange's symbol case. Which exchanges write a lower-case "k" multiplier prefix (kPEPE) is
data the caller passes in from the exchanges' symbol rules: this package knows no exchange.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import Connection, Engine, inspect
from tabulate import tabulate

from lib.integrity.sql import KEY_COLUMNS, TABLE, UNIQUE_NAME, Dialect, dialect_of
from lib.storage.engine import translated_errors

logger = logging.getLogger(__name__)

PLAN = "dedupe_plan"
_EXCHANGE_ID = re.compile(r"[a-z0-9_]+")


@dataclass
class DedupeReport:
    """Duplicate sets per exchange and what `fix_duplicates` did about them."""

    dry_run: bool
    per_exchange: dict[str, dict[str, int]] = field(default_factory=dict)
    rewritten: int = 0
    removed: int = 0
    key_was_missing: bool = False
    key_restored: bool = False
    key_form: str = ""

    exit_code = 0  # duplicates found are reported (and removed), not a failure

    def total(self, column: str) -> int:
        return sum(row[column] for row in self.per_exchange.values())

    def format(self) -> str:
        """The summary table the script prints."""
        columns = ("sets", "duplicates", "pairs", "rewrite")
        rows = [[exchange, *(stats[c] for c in columns)]
                for exchange, stats in sorted(self.per_exchange.items())]
        rows.append(["total", *(self.total(c) for c in columns)])
        head = "duplicates in funding_rates_historical"
        if self.dry_run:
            head += " (dry run: nothing changed)"
        table = tabulate(rows, headers=[
            "exchange", "duplicate sets", "rows to remove", "exchange-symbol pairs",
            "rows to normalise",
        ])
        if not self.key_was_missing:
            key = "unique key (exchange, symbol, funding_time): present"
        elif self.key_restored:
            key = ("unique key (exchange, symbol, funding_time): was missing, restored as "
                   + self.key_form)
        else:
            key = "unique key (exchange, symbol, funding_time): missing (would be restored)"
        done = f"rows removed: {self.removed}, rows normalised: {self.rewritten}"
        return f"{head}\n{table}\n\n{done}\n{key}"


def canonical_symbol_sql(k_prefix_exchanges: Collection[str]) -> str:
    """SQL for `symbol` in its exchange's case: upper case, except that on the exchanges named
    a leading lower-case "k" (x1000: kPEPE) stays lower case. An upper-case "K" is an ordinary
    first letter there (KAS), so "KPEPE" stays as it is."""
    bad = [ex for ex in k_prefix_exchanges if not _EXCHANGE_ID.fullmatch(ex)]
    if bad:
        raise ValueError(f"not an exchange id: {', '.join(map(repr, bad))}")
    if not k_prefix_exchanges:
        return "upper(symbol)"
    names = ", ".join(f"'{ex}'" for ex in sorted(k_prefix_exchanges))
    return (f"CASE WHEN exchange IN ({names}) AND substr(symbol, 1, 1) = 'k' "
            "THEN 'k' || upper(substr(symbol, 2)) ELSE upper(symbol) END")


def _ranked(d: Dialect, canonical: str) -> str:
    """Rows numbered within their normalised key: 1 = the one to keep (latest collected)."""
    key = f"exchange, {canonical}, {d.hour_key}"
    return (
        f"SELECT {d.row_id} AS rid, exchange, {canonical} AS nsym, "
        f"CASE WHEN symbol <> {canonical} OR {d.off_hour} THEN 1 ELSE 0 END AS needs, "
        f"ROW_NUMBER() OVER (PARTITION BY {key} "
        f"ORDER BY collected_at DESC NULLS LAST, {d.row_id} DESC) AS rn, "
        f"count(*) OVER (PARTITION BY {key}) AS n "
        f"FROM {TABLE}"
    )


def build_plan(conn: Connection, canonical: str) -> None:
    """One window pass into a temp table: every row that must go or be rewritten, with
    `canonical` (from `canonical_symbol_sql`) as the symbol's normal form."""
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {PLAN}")
    conn.exec_driver_sql(
        f"CREATE TEMP TABLE {PLAN} AS SELECT * FROM ({_ranked(dialect_of(conn), canonical)}) r "
        "WHERE n > 1 OR needs = 1"
    )


def duplicate_stats(conn: Connection) -> dict[str, dict[str, int]]:
    """Per exchange: duplicate sets, rows to remove, exchange-symbol pairs, rows to normalise."""
    sql = (
        "SELECT exchange, "
        "sum(CASE WHEN n > 1 AND rn = 1 THEN 1 ELSE 0 END), "
        "sum(CASE WHEN rn > 1 THEN 1 ELSE 0 END), "
        "count(DISTINCT CASE WHEN n > 1 THEN nsym END), "
        "sum(CASE WHEN rn = 1 AND needs = 1 THEN 1 ELSE 0 END) "
        f"FROM {PLAN} GROUP BY exchange"
    )
    stats = {}
    for exchange, sets, dups, pairs, rewrite in conn.exec_driver_sql(sql):
        stats[str(exchange)] = {"sets": int(sets), "duplicates": int(dups),
                                "pairs": int(pairs), "rewrite": int(rewrite)}
    return stats


def has_unique_key(conn: Connection) -> bool:
    """True if a unique constraint or unique index covers exactly the history key columns."""
    insp = inspect(conn)
    key = set(KEY_COLUMNS)
    if any(set(uc["column_names"]) == key for uc in insp.get_unique_constraints(TABLE)):
        return True
    return any(ix["unique"] and set(ix["column_names"]) == key
               for ix in insp.get_indexes(TABLE))


def restore_unique_key(conn: Connection) -> str:
    """Add the key back; return the form used.

    PostgreSQL gets the named UNIQUE constraint the schema declares. SQLite cannot add a
    constraint to an existing table, so it gets a UNIQUE INDEX of the same name on the same
    columns, which enforces the same thing and serves ON CONFLICT (exchange, symbol,
    funding_time) just the same.
    """
    cols = ", ".join(KEY_COLUMNS)
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"ALTER TABLE {TABLE} ADD CONSTRAINT {UNIQUE_NAME} UNIQUE ({cols})")
        return f"UNIQUE constraint {UNIQUE_NAME}"
    conn.exec_driver_sql(f"CREATE UNIQUE INDEX {UNIQUE_NAME} ON {TABLE} ({cols})")
    return f"UNIQUE INDEX {UNIQUE_NAME}"


def _lock_for_writing(conn: Connection) -> None:
    """Keep writers out until commit, so no new duplicate slips in before the key is back."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
    else:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def remove_duplicates(conn: Connection, canonical: str) -> tuple[int, int]:
    """Apply the plan: delete all but the kept row of each set, normalise the kept rows;
    return (removed, rewritten)."""
    d = dialect_of(conn)
    removed = conn.exec_driver_sql(
        f"DELETE FROM {TABLE} WHERE {d.row_id} IN (SELECT rid FROM {PLAN} WHERE rn > 1)"
    ).rowcount
    # Only kept rows are left, one per normalised key, so the rewrite cannot collide; the
    # delete moved no surviving row, so their physical ids still hold.
    rewritten = conn.exec_driver_sql(
        f"UPDATE {TABLE} SET symbol = {canonical}, funding_time = {d.settlement} "
        f"WHERE {d.row_id} IN (SELECT rid FROM {PLAN} WHERE rn = 1 AND needs = 1)"
    ).rowcount
    return int(removed or 0), int(rewritten or 0)


def fix_duplicates(engine: Engine, dry_run: bool = False, *,
                   k_prefix_exchanges: Collection[str]) -> DedupeReport:
    """Find and (unless dry_run) remove duplicate settlements and restore the unique key.

    `k_prefix_exchanges`: the exchanges whose native symbols keep a lower-case "k" multiplier
    prefix (from `lib.exchanges.symbols`); every other symbol is upper case.
    """
    canonical = canonical_symbol_sql(k_prefix_exchanges)
    report = DedupeReport(dry_run=dry_run)
    with translated_errors(engine), engine.connect() as conn:
        if not dry_run:
            _lock_for_writing(conn)
        report.key_was_missing = not has_unique_key(conn)
        build_plan(conn, canonical)
        report.per_exchange = duplicate_stats(conn)
        if not dry_run:
            report.removed, report.rewritten = remove_duplicates(conn, canonical)
            if report.key_was_missing:
                report.key_form = restore_unique_key(conn)
                report.key_restored = True
        conn.exec_driver_sql(f"DROP TABLE {PLAN}")
        if dry_run:
            conn.rollback()
        else:
            conn.commit()
    logger.info("dedupe: %s sets, removed %d rows, normalised %d (dry run: %s)",
                report.total("sets"), report.removed, report.rewritten, dry_run)
    return report
