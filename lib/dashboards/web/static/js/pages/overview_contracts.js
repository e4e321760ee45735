// The contracts of one asset, shown when its grid row is expanded.

import { countdown, esc, fixed, hours, musd, parseTime, pct, price, signClass } from "../format.js";
import { headerHtml, rowHtml } from "../table.js";

function link(r) {
  return `<a href="#/contract/${encodeURIComponent(r.exchange)}/${encodeURIComponent(r.symbol)}">${
    esc(r.symbol)}</a>`;
}

const COLUMNS = [
  { key: "exchange", label: "Exchange" },
  { key: "symbol", label: "Contract", fmt: link },
  { key: "funding_rate", label: "Rate", unit: "% per interval", num: true,
    fmt: (r) => `<span class="${signClass(r.funding_rate)}">${pct(r.funding_rate, 4)}</span>` },
  { key: "funding_interval_hours", label: "Interval", unit: "h", num: true,
    fmt: (r) => hours(r.funding_interval_hours) },
  { key: "apr", label: "APR", unit: "%", num: true, fmt: (r) => pct(r.apr, 2) },
  { key: "mark_price", label: "Mark", unit: "price", num: true, fmt: (r) => price(r.mark_price) },
  { key: "index_price", label: "Index", unit: "price", num: true,
    fmt: (r) => price(r.index_price) },
  { key: "open_interest_usd", label: "OI", unit: "M USD", num: true,
    fmt: (r) => musd(r.open_interest_usd) },
  { key: "z_score", label: "z", unit: "30 d", num: true, fmt: (r) => fixed(r.z_score, 2) },
  { key: "percentile", label: "Percentile", unit: "30 d, %", num: true,
    fmt: (r) => fixed(r.percentile, 1) },
  { key: "mean_30d", label: "Mean", unit: "30 d, % per 8 h", num: true,
    fmt: (r) => pct(r.mean_30d, 4) },
  { key: "std_30d", label: "Std", unit: "30 d, % per 8 h", num: true,
    fmt: (r) => pct(r.std_30d, 4) },
  { key: "predicted_rate", label: "Predicted next", unit: "% per interval", num: true,
    fmt: (r) => pct(r.predicted_rate, 4) },
  { key: "next_funding_time", label: "Next settlement", unit: "h:mm:ss", num: true,
    fmt: (r) => {
      const t = parseTime(r.next_funding_time);
      return t ? `<span class="cd" data-t="${t}">${countdown(t)}</span>` : "–";
    } },
  { key: "stale", label: "State", fmt: (r) => (r.stale ? '<span class="stale-tag">stale</span>'
    : "fresh") },
];

export function contractsTable(rows) {
  if (!rows) return '<p class="loading">Loading contracts…</p>';
  if (rows.length === 0) return "<p>No contracts.</p>";
  const body = rows.map((r) => rowHtml(COLUMNS, r, r.stale ? ' class="stale"' : "")).join("");
  return `<table class="contracts"><thead><tr>${headerHtml(COLUMNS.map((c) =>
    ({ ...c, sortable: false })), null)}</tr></thead><tbody>${body}</tbody></table>`;
}
