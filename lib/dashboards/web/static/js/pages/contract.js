// Contract page: the settled history of one contract over 1, 7, 14 or 30 days as a chart
// (rate per 8 h or APR, zero line and the period mean; missing settlements break the line),
// the completeness of the shown period, a paged table and a CSV export of the shown rows.

import { contractPath, get } from "../api.js";
import { lineChart, loadChartLibrary, withGaps } from "../chart.js";
import { downloadCsv } from "../csv.js";
import {
  countdown, esc, fixed, hours, isNum, musd, parseTime, pct, price, signClass, utc,
} from "../format.js";
import { bindPager, headerHtml, pagerHtml, rowHtml } from "../table.js";

const PERIODS = [1, 7, 14, 30];
const PAGE_SIZE = 50;
const CHART_UNITS = {
  "8h": { label: "Rate per 8 h", unit: "%", key: "rate_8h", decimals: 4 },
  apr: { label: "APR", unit: "%", key: "apr", decimals: 2 },
};

// Settled rows (oldest first) and the period's completeness and gaps from the history route.
export function historyOf(body) {
  const d = body.data;
  const rows = d.settlements.map((r) => {
    const iv = r.funding_interval_hours;
    return {
      ...r,
      rate_8h: isNum(r.rate_8h) ? r.rate_8h : isNum(iv) ? (r.funding_rate * 8) / iv : null,
      apr: isNum(r.apr) ? r.apr : isNum(iv) ? (r.funding_rate * 8760) / iv : null,
    };
  });
  const c = d.completeness;
  return { rows, completeness: c, gaps: (c && c.gaps) || [] };
}

// The API's missing settlements as ranges of consecutive slots (merged here too, so "gaps"
// counts breaks in the series, not missing settlements).
export function gapRanges(gaps, intervalHours) {
  const step = (intervalHours || 8) * 3600e3;
  const spans = gaps.map((g) => [parseTime(g.from), parseTime(g.to)])
    .filter(([a, b]) => a !== null && b !== null).sort((x, y) => x[0] - y[0]);
  const out = [];
  for (const [a, b] of spans) {
    const last = out[out.length - 1];
    if (last && a - last[1] <= step * 1.01) last[1] = Math.max(last[1], b);
    else out.push([a, b]);
  }
  return out;
}

// "98.6 % complete: 142 of 144 expected settlements stored (2 missing; 1 the exchange lacks)"
function completenessText(c, n) {
  if (!c) return `${n} settlements (no listing, so no schedule to count against)`;
  const lacks = c.known_missing_at_exchange
    ? `; ${c.known_missing_at_exchange} the exchange itself lacks` : "";
  return `${fixed(c.percent, 1)} % complete: ${c.stored} of ${c.expected} expected settlements `
    + `stored (${c.missing} missing${lacks})`;
}

const TABLE = [
  { key: "funding_time", label: "Settlement", unit: "UTC", fmt: (r) => utc(r.funding_time) },
  { key: "funding_rate", label: "Rate", unit: "% per interval", num: true,
    fmt: (r) => `<span class="${signClass(r.funding_rate)}">${pct(r.funding_rate, 4)}</span>` },
  { key: "funding_interval_hours", label: "Interval", unit: "h", num: true,
    fmt: (r) => hours(r.funding_interval_hours) },
  { key: "rate_8h", label: "Rate per 8 h", unit: "%", num: true, fmt: (r) => pct(r.rate_8h, 4) },
  { key: "apr", label: "APR", unit: "%", num: true, fmt: (r) => pct(r.apr, 2) },
  { key: "mark_price", label: "Mark", unit: "price", num: true, fmt: (r) => price(r.mark_price) },
  { key: "source", label: "Source" },
];

const CSV_FIELDS = ["funding_time", "funding_rate", "funding_interval_hours", "rate_8h", "apr",
  "mark_price", "source"];

function summaryHtml(d) {
  const c = d.current || {};
  const stats = (d.statistics && d.statistics["30d"]) || {};
  const next = parseTime(c.next_funding_time);
  const item = (label, value) => `<div><dt>${label}</dt><dd class="num">${value}</dd></div>`;
  const listing = d.listing || {};
  return `<p class="sub">${esc(listing.canonical_symbol || c.canonical_symbol || "")}${
    c.stale ? ' <span class="stale-tag">stale</span>' : ""}</p><dl class="facts">`
    + item("Rate (% per interval)", `<span class="${signClass(c.funding_rate)}">${
      pct(c.funding_rate, 4)}</span>`)
    + item("Interval (h)", hours(c.funding_interval_hours ?? listing.funding_interval_hours))
    + item("Rate per 8 h (%)", pct(c.rate_8h, 4))
    + item("APR (%)", pct(c.apr, 2))
    + item("Next settlement (h:mm:ss)", next ? `<span class="cd" data-t="${next}">${
      countdown(next)}</span>` : "–")
    + item("Predicted next (% per interval)", pct(c.predicted_rate, 4))
    + item("Mark (price)", price(c.mark_price))
    + item("Index (price)", price(c.index_price))
    + item("OI (M USD)", musd(c.open_interest_usd))
    + item("z (30 d)", fixed(stats.zscore ?? c.z_score, 2))
    + item("Percentile (30 d, %)", fixed(stats.percentile ?? c.percentile, 1))
    + item("Mean (30 d, % per 8 h)", pct(stats.mean_8h, 4))
    + item("Std (30 d, % per 8 h)", pct(stats.std_8h, 4))
    + `</dl>`;
}

export async function mount(root, ctx) {
  const [exchange, symbol] = ctx.route.parts;
  const p = ctx.params;
  const days = PERIODS.includes(Number(p.days)) ? Number(p.days) : 7;
  const unit = CHART_UNITS[p.unit] ? p.unit : "8h";
  const state = { days, unit, page: Math.max(1, Number(p.page) || 1), hist: null };
  const periodRadios = PERIODS.map((d) => `<label class="check"><input type="radio" name="days"
    value="${d}"${d === days ? " checked" : ""}> ${d} d</label>`).join("");
  const unitRadios = Object.entries(CHART_UNITS).map(([id, u]) => `<label class="check"><input
    type="radio" name="unit" value="${id}"${id === unit ? " checked" : ""}> ${u.label}</label>`)
    .join("");
  root.innerHTML = `
<p class="crumbs"><a href="#/overview">Overview</a> › contract</p>
<h1>${esc(exchange)} <span class="sym">${esc(symbol)}</span></h1>
<section id="facts" aria-label="Current funding"></section>
<form id="history-filters" class="filters" aria-label="History period">
  <fieldset><legend>Period</legend>${periodRadios}</fieldset>
  <fieldset><legend>Chart unit</legend>${unitRadios}</fieldset>
  <button type="button" id="csv">Export CSV</button>
</form>
<p id="completeness" class="status" aria-live="polite"></p>
<div id="chart" class="chart" role="img" aria-label="Settled funding history"></div>
<h2>Settlements <span class="unit">(newest first)</span></h2>
<div class="table-wrap"><table id="history" class="data"><thead></thead><tbody></tbody></table>
</div>
<div id="pager" class="pager"></div>`;
  const form = root.querySelector("#history-filters");
  form.addEventListener("submit", (ev) => ev.preventDefault());
  const table = root.querySelector("#history");
  const pager = root.querySelector("#pager");
  let destroyChart = null;
  ctx.onCleanup(() => destroyChart && destroyChart());

  function renderChart() {
    const u = CHART_UNITS[state.unit];
    const pts = state.hist.rows.filter((r) => isNum(r[u.key])).map((r) => ({
      t: parseTime(r.funding_time), v: r[u.key] * 100, interval: r.funding_interval_hours,
    }));
    const chartEl = root.querySelector("#chart");
    if (destroyChart) { destroyChart(); destroyChart = null; }
    chartEl.dataset.drawn = "0";
    if (pts.length === 0) {
      chartEl.innerHTML = '<p class="empty">No settlements in this period.</p>';
      return;
    }
    const mean = pts.reduce((s, x) => s + x.v, 0) / pts.length;
    const [xs, ys] = withGaps(pts, state.hist.gaps);
    destroyChart = lineChart(chartEl, {
      data: [xs, ys], series: [{ label: `${u.label} (${u.unit})` }],
      lines: [{ label: `Period mean (${u.unit})`, value: mean }],
      yLabel: `${u.label} (${u.unit})`, decimals: u.decimals,
    });
    chartEl.dataset.drawn = "1";
  }

  function renderTable() {
    const rows = [...state.hist.rows].reverse();
    const pages = Math.max(1, Math.ceil(rows.length / PAGE_SIZE));
    state.page = Math.min(state.page, pages);
    const shown = rows.slice((state.page - 1) * PAGE_SIZE, state.page * PAGE_SIZE);
    table.querySelector("thead").innerHTML = `<tr>${headerHtml(TABLE.map((c) =>
      ({ ...c, sortable: false })), null)}</tr>`;
    table.querySelector("tbody").innerHTML = shown.map((r) => rowHtml(TABLE, r)).join("");
    pager.innerHTML = pagerHtml(state.page, PAGE_SIZE, rows.length);
  }

  let loads = 0; // only the answer to the latest request is shown
  async function loadHistory() {
    const mine = ++loads;
    const [body] = await Promise.all([get(`${contractPath(exchange, symbol)}/history`,
      { days: state.days }, { signal: ctx.signal }), loadChartLibrary()]);
    if (mine !== loads) return;
    state.hist = historyOf(body);
    const last = state.hist.rows[state.hist.rows.length - 1];
    const ranges = gapRanges(state.hist.gaps, last && last.funding_interval_hours);
    root.querySelector("#completeness").textContent = `Last ${state.days} d: ${
      completenessText(state.hist.completeness, state.hist.rows.length)}; `
      + `${ranges.length} gap${ranges.length === 1 ? "" : "s"} (breaks in the line).`;
    renderChart();
    renderTable();
  }

  form.addEventListener("change", (ev) => {
    const t = ev.target;
    if (t.name === "days") {
      state.days = Number(t.value);
      state.page = 1;
      ctx.setParams({ days: state.days, page: null });
      loadHistory().catch((e) => showError(e));
    } else if (t.name === "unit") {
      state.unit = t.value;
      ctx.setParams({ unit: t.value === "8h" ? null : t.value });
      renderChart();
    }
  });
  bindPager(pager, (page) => {
    state.page = page;
    ctx.setParams({ page: page === 1 ? null : page });
    renderTable();
  });
  root.querySelector("#csv").addEventListener("click", () => {
    downloadCsv(`${exchange}_${symbol}_${state.days}d.csv`, CSV_FIELDS, state.hist.rows);
  });

  function showError(err) {
    if (err.name === "AbortError") return;
    const el = root.querySelector("#completeness");
    el.textContent = `Could not load: ${err.message}`;
    el.classList.add("error");
  }

  const [contract] = await Promise.all([
    get(contractPath(exchange, symbol), {}, { signal: ctx.signal }), loadHistory(),
  ]);
  root.querySelector("#facts").innerHTML = summaryHtml(contract.data);
  ctx.every(1000, () => {
    const el = root.querySelector("#facts .cd");
    if (el) el.textContent = countdown(Number(el.dataset.t));
  });
}
