"""The HTTP API and the web dashboard it serves (FastAPI on API_HOST:API_PORT).

May import: `lib.storage`, `lib.analytics`, `lib.history` (status and report), `lib.collection`
(metrics), `lib.runtime`, `lib.system` (backfill start/stop, shutdown). Routes read; jobs are
started as processes (lib.system), never run in the server.

    app        create_app(settings): state, routers, static files, middleware
    __main__   python -m lib.api: uvicorn on API_HOST:API_PORT (bind check first)
    binding    where the server may listen; security: who may change state
    errors     the one JSON error envelope; listing: paging, sorting, JSON bytes
    cache      in-process TTL cache or Redis; hits: cached answers served before routing
    metrics    /metrics (Prometheus) and the request-latency middleware
    rates      current funding items in comparable units; contract: one contract, its history
    pairs      opportunities and one pair in depth
    routes/    health, data, arbitrage, backfill, system
"""
