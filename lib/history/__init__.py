"""History: settled funding over a window, complete and without duplicates.

Owns the resumable backfill (`backfill`), completeness against each contract's schedule
(`completeness`), fetching one contract's range and storing it with the slots the exchange lacks
(`fetch`, shared by the backfill, the repairs and the live settlement worker), gap repair and
retries (`repair`), settled rates for the live collector (`settlements`), the backfill status
file and report (`status`, `report`), and what every job shares (`jobs`: adapters built from
settings, and the runner the job scripts use for lock, signals, database and exit code).
May import: `config`, `lib.storage`, `lib.exchanges` (through the registry and the adapter
interface), `lib.runtime` (locks, runtime files, signals), and the leaf modules. Not the
collector or the API. Settings are passed in; a function given none reads the process-wide ones
once, at its top.
"""
