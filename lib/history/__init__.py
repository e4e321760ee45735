"""History: settled funding over a window, complete and without duplicates.

Owns the resumable backfill (`backfill`), completeness against each contract's schedule
(`completeness`), gap repair and retries (`repair`), fetching settled rates for the live
collector (`settlements`), and the backfill status file and report (`status`, `report`).
May import: `lib.storage`, `lib.exchanges` (through the registry and the adapter interface),
`lib.runtime` (locks, runtime files), and the leaf modules. Not the collector or the API.
"""
