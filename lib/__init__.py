"""funding-arb: collect perpetual-futures funding rates and find cross-exchange carry.

One package per concern; each package's docstring says what it owns and what it may import.
Leaf modules shared by all of them: `errors` (the error hierarchy), `models` (the records that
flow between adapters, storage and analytics) and `timeutils` (UTC helpers).

    exchanges/   one adapter per exchange behind one interface, HTTP, symbol rules
    simulator/   a real HTTP server speaking every supported exchange's public API
    storage/     engine, schema, migrations, bulk writes, admin and backup
    history/     backfill, completeness, gap repair, settled-rate fetching, status and report
    collection/  the live collector and its metrics file
    integrity/   cleanup of invalid rows and removal of duplicates
    analytics/   spreads, z-scores, realized carry and ranked opportunities
    api/         the HTTP API and the web dashboard it serves
    dashboards/  the terminal dashboard
    runtime/     what every entry point shares: exit path, logging, locks, runtime files, signals
"""
