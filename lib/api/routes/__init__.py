"""The API's routes, one module per group: health, data, arbitrage, backfill, system."""
