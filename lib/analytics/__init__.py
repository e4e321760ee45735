"""Analytics: spreads, z-scores, realized carry and ranked opportunities.

Works only in comparable units (rate_8h, simple APR), never raw per-interval rates.
May import: `lib.storage` and the leaf modules; reads what collection and history stored.
Nothing here fetches from an exchange.
"""
