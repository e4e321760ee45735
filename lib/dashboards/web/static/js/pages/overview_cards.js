// The overview's summary cards: contracts, assets, exchanges collecting now, and the highest
// and lowest APR with the contracts that pay them.

import { get } from "../api.js";
import { esc, pct } from "../format.js";

export async function loadCards(ctx) {
  const opts = { signal: ctx.signal };
  const [summary, exchanges] = await Promise.all([
    get("/api/statistics/summary", {}, opts),
    get("/api/exchanges", { limit: 1000 }, opts),
  ]);
  const s = summary.data;
  const list = exchanges.data || [];
  return {
    contracts: s.snapshots,
    stale: s.stale,
    assets: s.assets,
    collecting: list.filter((e) => e.fresh > 0).length,
    exchanges: list.length,
    highest: s.apr ? s.apr.max : null,
    lowest: s.apr ? s.apr.min : null,
  };
}

function contractCard(title, row) {
  if (!row) return `<div class="card"><h2>${title}</h2><p class="big">–</p></div>`;
  const href = `#/contract/${encodeURIComponent(row.exchange)}/${encodeURIComponent(row.symbol)}`;
  return `<div class="card"><h2>${title} <span class="unit">(APR, %)</span></h2>`
    + `<p class="big num">${pct(row.apr, 2)}</p>`
    + `<p><a href="${href}">${esc(row.exchange)} ${esc(row.symbol)}</a></p></div>`;
}

export function cardsHtml(c) {
  return `<div class="card"><h2>Contracts</h2><p class="big num" id="card-contracts">${
    c.contracts}</p>${c.stale ? `<p class="stale-note">${c.stale} stale</p>` : ""}</div>`
    + `<div class="card"><h2>Assets</h2><p class="big num" id="card-assets">${c.assets}</p></div>`
    + `<div class="card"><h2>Exchanges collecting now</h2><p class="big num" id="card-exchanges">${
      c.collecting} <span class="of">of ${c.exchanges}</span></p></div>`
    + contractCard("Highest", c.highest)
    + contractCard("Lowest", c.lowest);
}
