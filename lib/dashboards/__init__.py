"""The terminal dashboard (Textual): services, collection, database, backfill, opportunities.

May import: `lib.storage`, `lib.analytics`, `lib.history` (status and report),
`lib.collection` (metrics), `lib.runtime` and `lib.system` (start.py's state; the terminal
dashboard's B, X and S when the API is down); talks to the API over HTTP for actions.
"""
