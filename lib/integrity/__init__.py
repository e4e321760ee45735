"""Integrity: repairs of stored funding history as set-based SQL on both engines.

Owns the cleanup of invalid and expired rows and the removal of duplicate settlements
(including restoring a lost unique key).
May import: `lib.storage` and the leaf modules. Knows no exchange by name.
"""
