"""The HTTP API and the web dashboard it serves (FastAPI on API_HOST:API_PORT).

May import: `lib.storage`, `lib.analytics`, `lib.history` (status and report), `lib.collection`
(metrics), `lib.runtime`. Routes read; jobs are started as processes, never run in the server.
"""
