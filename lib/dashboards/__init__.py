"""The terminal dashboard (Textual): services, collection, database, backfill, opportunities.

May import: `lib.storage`, `lib.analytics`, `lib.history` (status and report),
`lib.collection` (metrics) and `lib.runtime`; talks to the API over HTTP for actions.
"""
