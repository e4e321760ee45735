"""Storage: the one schema on SQLite and PostgreSQL, and everything that touches it as a whole.

Owns the engine factory and database-error translation (`engine`), the tables (`schema`),
versioned in-place upgrades (`migrations`), the bulk writes shared by collectors and history
jobs (`writes`), the work behind `database_tools.py` (`admin`) and backup/restore (`backup`).
May import: `lib.errors`, `lib.models`, `lib.timeutils`, `config`. Never an exchange adapter,
the simulator or a job: everything else builds on storage, not the other way round.
"""
