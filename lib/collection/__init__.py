"""Live collection: every interval, every exchange's current funding into `exchange_data`.

Owns the collector loop (`collector`) and `.collection_metrics.json` (`metrics`), both written
under the RUNTIME_DIR of the settings the collector is given. Settled rates seen between cycles
are stored through `lib.history.settlements`; adapters come from `lib.history.jobs`.
May import: `config`, `lib.storage`, `lib.exchanges`, `lib.history`, `lib.runtime` and the leaf
modules.
"""
