"""Live collection: every interval, every exchange's current funding into `exchange_data`.

Owns the collector loop (`collector`) and `.collection_metrics.json` (`metrics`). Settled rates
seen between cycles are stored through `lib.history.settlements`.
May import: `lib.storage`, `lib.exchanges`, `lib.history`, `lib.runtime` and the leaf modules.
"""
