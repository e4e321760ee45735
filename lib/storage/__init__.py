"""Storage: the one schema on SQLite and PostgreSQL, and everything that touches it as a whole.

Owns opening and disposing of a database (`engine.database`, the one way to do both), turning
database errors into one-line `DatabaseError`s (`engine.translated_errors`), the bulk
insert-or-ignore and upsert (`engine`), the tables (`schema`), versioned in-place upgrades
(`migrations`), the writes shared by collectors and history jobs (`writes`), the work behind
`database_tools.py` with the database's size and its one byte formatter (`admin`) and
backup/restore (`backup`).
May import: `lib.errors`, `lib.models`, `lib.timeutils`, `config`. Never an exchange adapter,
the simulator or a job: everything else builds on storage, not the other way round.
"""
