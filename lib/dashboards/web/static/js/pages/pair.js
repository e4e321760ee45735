// Pair page: one cross-exchange pair in depth. Both legs now (with the next settlement of
// each), both legs' hourly history per 8 h on one chart and the spread on another (missing
// hours break the lines), the spread's statistics per window, and the realized carry over 1,
// 7 and 30 days after fees with the completeness it was counted on.

import { get } from "../api.js";
import { align, lineChart, loadChartLibrary, withGaps } from "../chart.js";
import {
  countdown, esc, fixed, hours, isNum, musd, parseTime, pct, signClass, utc,
} from "../format.js";
import { headerHtml } from "../table.js";

const PERIODS = [1, 7, 14, 30];

export function pairApiPath(parts) {
  return `/api/arbitrage/pairs/${parts.map(encodeURIComponent).join("/")}`;
}

function contractLink(leg) {
  return `<a href="#/contract/${encodeURIComponent(leg.exchange)}/${
    encodeURIComponent(leg.symbol)}">${esc(leg.symbol)}</a>`;
}

const LEGS = [
  { key: "side", label: "Side" },
  { key: "exchange", label: "Exchange" },
  { key: "symbol", label: "Contract", fmt: contractLink },
  { key: "funding_interval_hours", label: "Interval", unit: "h", num: true,
    fmt: (r) => hours(r.funding_interval_hours) },
  { key: "funding_rate", label: "Rate", unit: "% per interval", num: true,
    fmt: (r) => `<span class="${signClass(r.funding_rate)}">${pct(r.funding_rate, 4)}</span>` },
  { key: "rate_8h", label: "Rate per 8 h", unit: "%", num: true, fmt: (r) => pct(r.rate_8h, 4) },
  { key: "apr", label: "APR", unit: "%", num: true, fmt: (r) => pct(r.apr, 2) },
  { key: "open_interest_usd", label: "OI", unit: "M USD", num: true,
    fmt: (r) => musd(r.open_interest_usd) },
  { key: "next_funding_time", label: "Next settlement", unit: "UTC, h:mm:ss left", num: true,
    fmt: (r) => {
      const t = parseTime(r.next_funding_time);
      return t ? `${utc(t)} <span class="cd" data-t="${t}">${countdown(t)}</span>` : "–";
    } },
  { key: "stale", label: "Data", fmt: (r) => (r.stale ? '<span class="stale-tag">stale</span>'
    : "fresh") },
];

const STATS = [
  { key: "window", label: "Window" },
  { key: "n", label: "Hours", unit: "count", num: true, fmt: (r) => String(r.n ?? "–") },
  { key: "mean_8h", label: "Mean", unit: "% per 8 h", num: true, fmt: (r) => pct(r.mean_8h, 4) },
  { key: "std_8h", label: "Std", unit: "% per 8 h", num: true, fmt: (r) => pct(r.std_8h, 4) },
  { key: "median_8h", label: "Median", unit: "% per 8 h", num: true,
    fmt: (r) => pct(r.median_8h, 4) },
  { key: "min_8h", label: "Min", unit: "% per 8 h", num: true, fmt: (r) => pct(r.min_8h, 4) },
  { key: "max_8h", label: "Max", unit: "% per 8 h", num: true, fmt: (r) => pct(r.max_8h, 4) },
  { key: "last_8h", label: "Last", unit: "% per 8 h", num: true, fmt: (r) => pct(r.last_8h, 4) },
  { key: "persistence", label: "Persistence", unit: "% of hours", num: true,
    fmt: (r) => pct(r.persistence, 1) },
  { key: "zscore", label: "z", unit: "current", num: true, fmt: (r) => fixed(r.zscore, 2) },
];

const CARRY = [
  { key: "days", label: "Period", unit: "days", num: true, fmt: (r) => String(r.days) },
  { key: "net", label: "Net carry", unit: "% of notional", num: true,
    fmt: (r) => (r.complete ? `<span class="${signClass(r.net)}">${pct(r.net, 4)}</span>`
      : `incomplete <span class="muted">(partial ${pct(r.partial_net, 4)})</span>`) },
  { key: "net_apr", label: "Net carry APR", unit: "%", num: true,
    fmt: (r) => (r.complete ? pct(r.net_apr, 2) : "–") },
  { key: "fees", label: "Fees", unit: "% of notional", num: true, fmt: (r) => pct(r.fees, 4) },
  { key: "completeness", label: "Completeness", unit: "%", num: true,
    fmt: (r) => pct(r.completeness, 1) },
  { key: "settlements", label: "Settlements", unit: "short / long", num: true,
    fmt: (r) => `${r.short_settlements} / ${r.long_settlements}` },
  { key: "span", label: "Counted over", unit: "UTC",
    fmt: (r) => (r.start ? `${utc(r.start)} – ${utc(r.end)}` : "–") },
];

// A table whose cells carry data-field="<row key>.<column key>" for tests and scripts.
function fieldTable(columns, rows, id, rowKey) {
  const body = rows.map((r) => {
    const cells = columns.map((c) => {
      const cls = c.num ? ' class="num"' : "";
      const html = c.fmt ? c.fmt(r) : esc(r[c.key]);
      return `<td${cls} data-field="${esc(r[rowKey])}.${c.key}">${html}</td>`;
    }).join("");
    return `<tr>${cells}</tr>`;
  }).join("");
  return `<div class="table-wrap"><table class="data" id="${id}"><thead><tr>${
    headerHtml(columns.map((c) => ({ ...c, sortable: false })), null)}</tr></thead><tbody>${
    body}</tbody></table></div>`;
}

function factsHtml(d) {
  const item = (label, field, value) => `<div><dt>${label}</dt><dd class="num" data-field="${
    field}">${value}</dd></div>`;
  return `<dl class="facts">`
    + item("Spread (% per 8 h)", "spread_8h", pct(d.spread_8h, 4))
    + item("Gross APR (%)", "gross_apr", pct(d.gross_apr, 2))
    + item(`Net APR (%, fees over ${d.hold_days} d)`, "net_apr", pct(d.net_apr, 2))
    + item("Fees in and out (% of notional)", "fees", pct(d.fees, 4))
    + item("Persistence (30 d, % of hours)", "persistence", pct(d.persistence, 1))
    + item("Spread z (30 d)", "spread_z", fixed(d.spread_z, 2))
    + item("Smaller leg OI (M USD)", "min_oi_usd", musd(d.min_oi_usd))
    + `</dl>`;
}

export async function mount(root, ctx) {
  const parts = ctx.route.parts.slice(0, 4);
  const p = ctx.params;
  const days = PERIODS.includes(Number(p.days)) ? Number(p.days) : 7;
  const hold = Number(p.hold) >= 1 ? Math.floor(Number(p.hold)) : 7;
  const radios = PERIODS.map((d) => `<label class="check"><input type="radio" name="days"
    value="${d}"${d === days ? " checked" : ""}> ${d} d</label>`).join("");
  root.innerHTML = `
<p class="crumbs"><a href="#/arbitrage">Arbitrage</a> › pair</p>
<h1 id="pair-title">Pair</h1>
<section id="pair-facts" aria-label="Spread now"></section>
<section id="pair-legs" aria-label="Legs"></section>
<form id="pair-filters" class="filters" aria-label="History period">
  <fieldset><legend>History</legend>${radios}</fieldset>
  <label>Holding (days) <input type="number" name="hold" min="1" max="3650" step="1"
    value="${hold}"></label>
</form>
<h2>Both legs <span class="unit">(settled rate per 8 h, %, hourly)</span></h2>
<div id="legs-chart" class="chart" role="img" aria-label="Both legs per 8 h"></div>
<h2>Spread <span class="unit">(short − long, % per 8 h)</span></h2>
<div id="spread-chart" class="chart" role="img" aria-label="Spread per 8 h"></div>
<h2>Spread statistics</h2><div id="pair-stats"></div>
<h2>Realized carry after fees</h2><div id="pair-carry"></div>`;
  const form = root.querySelector("#pair-filters");
  form.addEventListener("submit", (ev) => ev.preventDefault());
  const state = { days, hold };
  const destroyers = [];
  ctx.onCleanup(() => destroyers.splice(0).forEach((f) => f()));

  function renderCharts(d) {
    destroyers.splice(0).forEach((f) => f());
    const hist = d.spread_history;
    const legsEl = root.querySelector("#legs-chart");
    const spreadEl = root.querySelector("#spread-chart");
    legsEl.dataset.drawn = spreadEl.dataset.drawn = "0";
    if (hist.length === 0) {
      const msg = '<p class="empty">No spread history yet for this period.</p>';
      legsEl.innerHTML = msg;
      spreadEl.innerHTML = msg;
      return;
    }
    const pts = (key) => hist.map((h) => ({ t: parseTime(h.ts), v: h[key] * 100, interval: 1 }));
    const shortS = withGaps(pts("short_rate_8h"));
    const longS = withGaps(pts("long_rate_8h"));
    destroyers.push(lineChart(legsEl, {
      data: align([longS, shortS]),
      series: [{ label: `Long ${d.long.exchange} (% per 8 h)`, color: "#047857" },
        { label: `Short ${d.short.exchange} (% per 8 h)`, color: "#c2410c" }],
      yLabel: "% per 8 h", decimals: 4,
    }));
    const spread = pts("spread_8h");
    const mean = spread.reduce((s, x) => s + x.v, 0) / spread.length;
    destroyers.push(lineChart(spreadEl, {
      data: withGaps(spread), series: [{ label: "Spread (% per 8 h)", color: "#1f5fbf" }],
      lines: [{ label: "Period mean (% per 8 h)", value: mean }],
      yLabel: "% per 8 h", decimals: 4,
    }));
    legsEl.dataset.drawn = spreadEl.dataset.drawn = "1";
  }

  let loads = 0; // only the answer to the latest request is shown
  async function load() {
    const mine = ++loads;
    const query = { days: state.days, hold_days: state.hold };
    const [body] = await Promise.all([get(pairApiPath(parts), query, { signal: ctx.signal }),
      loadChartLibrary()]);
    if (mine !== loads) return;
    const d = body.data;
    root.querySelector("#pair-title").innerHTML = `${esc(d.base)}: long ${esc(d.long.exchange)} `
      + `<span class="sym">${esc(d.long.symbol)}</span>, short ${esc(d.short.exchange)} `
      + `<span class="sym">${esc(d.short.symbol)}</span>`;
    root.querySelector("#pair-facts").innerHTML = factsHtml(d);
    root.querySelector("#pair-legs").innerHTML = fieldTable(LEGS, [
      { side: "long", ...d.long }, { side: "short", ...d.short }], "legs", "side");
    const stats = Object.entries(d.statistics).map(([w, s]) => ({ window: w, ...s }));
    root.querySelector("#pair-stats").innerHTML = stats.length
      ? fieldTable(STATS, stats, "stats", "window")
      : "<p>No spread statistics yet (the spread job computes them).</p>";
    const carry = Object.values(d.realized_carry).sort((a, b) => a.days - b.days);
    root.querySelector("#pair-carry").innerHTML = fieldTable(CARRY, carry, "carry", "days")
      + "<p class=\"note\">Carry is what both legs actually settled over the period (the short "
      + "leg receives, the long leg pays), minus taker fees in and out of both legs; a period "
      + "with a missing settlement shows as incomplete, never as a partial sum.</p>";
    renderCharts(d);
  }

  function reload() {
    load().catch((err) => {
      if (err.name === "AbortError") return;
      root.querySelector("#pair-facts").innerHTML = `<p class="error" role="alert">Could not `
        + `load: ${esc(err.message)}</p>`;
    });
  }

  form.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t.name === "days") {
      state.days = Number(t.value);
      ctx.setParams({ days: state.days === 7 ? null : state.days });
    } else if (t.name === "hold") {
      const v = Math.floor(Number(t.value));
      if (!isNum(v) || v < 1) return;
      state.hold = v;
      ctx.setParams({ hold: v });
    }
    reload();
  });
  ctx.every(1000, () => {
    const now = Date.now();
    root.querySelectorAll("#legs .cd").forEach((el) => {
      el.textContent = countdown(Number(el.dataset.t), now);
    });
  });
  await load();
}
