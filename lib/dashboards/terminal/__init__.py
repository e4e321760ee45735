"""The terminal dashboard: one screen of services, collection, database, backfill and the top
opportunities, refreshed every 5 s; keys start and stop a backfill, clear the API cache and
shut the system down.

Data is gathered by pure functions from the runtime files, the locks and the database (it
works with the API down) on a worker thread, so the screen never waits on the database; actions
go to the API over HTTP, and where the API is down B, X and S act through `lib.system` / the
lock files directly.

    views     what one refresh found, as plain data (no Textual, no I/O)
    collection  `.collection_metrics.json` -> per exchange status OK, SLOW, TIMEOUT or ERROR
    backfill  `.unified_backfill.status` and its lock -> progress or last result
    services  start.py's children, the database and the API's health
    database  rows, size and newest data; the top opportunities
    gather    one refresh: every part above, each failing on its own
    api       the API's action routes over HTTP (bearer token, JSON errors)
    actions   what each key does, through the API or locally
    panels    the widgets that draw the views; screens: confirm and help
    app       the Textual app, its timer and key bindings
"""
