// Small facts about a pair item shared by the arbitrage table and the pair page.

// Route parts of the pair page: long leg first, then short leg.
export function pairParts(r) {
  return [r.long.exchange, r.long.symbol, r.short.exchange, r.short.symbol];
}

export function legInterval(leg) {
  return leg.funding_interval_hours ?? leg.interval_hours;
}
