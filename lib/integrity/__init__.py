"""Integrity: repairs of stored funding history as set-based SQL on both engines.

Owns the cleanup of invalid and expired rows (`cleanup`) and the removal of duplicate
settlements, including restoring a lost unique key (`dedupe`); the SQL fragments that differ
between SQLite and PostgreSQL and the history table's names are shared in `sql`.
May import: `config`, `lib.storage` and the leaf modules. Knows no exchange by name: what
differs by exchange (which ones keep a lower-case "k" multiplier prefix) is passed in by the
caller, from `lib.exchanges.symbols`.
"""
