"""Analytics: spreads, z-scores, realized carry and ranked opportunities.

Works only in comparable units (rate_8h, simple APR), never raw per-interval rates.
May import: `lib.storage` and the leaf modules; reads what collection and history stored.
Nothing here fetches from an exchange.

    units          rate_8h, APR, USD amounts from each venue's unit, confidence levels
    current        which current rates are fresh enough to use
    fees           taker fees per venue (documented defaults, user overrides)
    matching       which contracts pair across venues; the stored legs and pairs
    series         the hourly settled rate of every leg, built set-based from history
    spread_stats   per pair and window: mean, std, median, p95, persistence, carry, z
    zscores        funding_statistics per contract, and the recompute cadence
    carry          realized carry from actual settlements, minus fees, with completeness
    opportunities  current cross-venue pairs from the latest snapshot
    ranking        those pairs ranked by net APR with their history; report: table, JSON
    spreads        the spread jobs (rebuild, collector); inputs, watermarks, loop: shared
"""
