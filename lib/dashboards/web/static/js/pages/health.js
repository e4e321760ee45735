// Health: per exchange the freshness of its data and its part of the last collection cycle
// (duration, records, error); the z-score and spread jobs' last runs; the history backfill's
// progress per exchange, polled every 2 s while one runs.

import { get } from "../api.js";
import { esc, fixed, isNum, parseTime, utc } from "../format.js";
import { headerHtml, rowHtml } from "../table.js";

const POLL_RUNNING_MS = 2000;
const POLL_IDLE_MS = 15000;
const JOB_STALE_SECONDS = 600; // both jobs run every minute or so under start.py

const yesNo = (ok, yes = "ok", no = "no") => (ok ? `<span class="ok">${yes}</span>`
  : `<span class="bad">${no}</span>`);

const EXCHANGES = [
  { key: "exchange", label: "Exchange" },
  { key: "fresh", label: "Data", fmt: (r) => yesNo(r.fresh, "fresh", "stale") },
  { key: "newest_snapshot", label: "Last collected", unit: "newest snapshot, UTC",
    fmt: (r) => utc(r.newest_snapshot, true) },
  { key: "age_seconds", label: "Age", unit: "s", num: true, fmt: (r) => fixed(r.age_seconds, 0) },
  { key: "snapshots", label: "Contracts", unit: "count", num: true,
    fmt: (r) => String(r.snapshots) },
  { key: "cycle_at", label: "Last cycle", unit: "UTC",
    fmt: (r) => (r.last_cycle ? utc(r.last_cycle.at, true) : "–") },
  { key: "success", label: "Result",
    fmt: (r) => (r.last_cycle ? yesNo(r.last_cycle.success, "ok", "failed") : "–") },
  { key: "duration", label: "Duration", unit: "s", num: true,
    fmt: (r) => (r.last_cycle && isNum(r.last_cycle.duration_ms)
      ? (r.last_cycle.duration_ms / 1000).toFixed(2) : "–") },
  { key: "records", label: "Records", unit: "count", num: true,
    fmt: (r) => (r.last_cycle && isNum(r.last_cycle.record_count)
      ? String(r.last_cycle.record_count) : "–") },
  { key: "error", label: "Error", fmt: (r) => esc((r.last_cycle && r.last_cycle.error) || "") },
];

const BACKFILL = [
  { key: "exchange", label: "Exchange" },
  { key: "state", label: "State" },
  { key: "progress", label: "Progress", unit: "% of contracts", num: true,
    fmt: (r) => `<progress max="100" value="${r.percent_complete || 0}" data-exchange="${
      esc(r.exchange)}" aria-label="${esc(r.exchange)} backfill progress"></progress> `
      + `<span class="pct">${fixed(r.percent_complete, 1)}</span>` },
  { key: "contracts", label: "Contracts", unit: "done / total", num: true,
    fmt: (r) => `${r.contracts_done} / ${r.contracts_total}` },
  { key: "records", label: "Records", unit: "count", num: true, fmt: (r) => String(r.records) },
  { key: "completeness", label: "Completeness", unit: "%", num: true,
    fmt: (r) => fixed(r.completeness, 2) },
  { key: "errors", label: "Errors", unit: "count", num: true, fmt: (r) => String(r.errors) },
  { key: "last_error", label: "Last error", fmt: (r) => esc(r.last_error || "") },
];

function table(columns, rows, id) {
  return `<div class="table-wrap"><table class="data" id="${id}"><thead><tr>${
    headerHtml(columns.map((c) => ({ ...c, sortable: false })), null)}</tr></thead><tbody>${
    rows.map((r) => rowHtml(columns, r)).join("")}</tbody></table></div>`;
}

function jobRow(name, at, now) {
  const t = parseTime(at);
  const secs = t === null ? null : (now - t) / 1000;
  const fresh = secs !== null && secs <= JOB_STALE_SECONDS;
  return `<tr><th scope="row">${name}</th><td>${utc(at, true)}</td><td class="num">${
    fixed(secs, 0)}</td><td>${t === null ? '<span class="bad">never run</span>'
    : yesNo(fresh, "fresh", "stale")}</td></tr>`;
}

function jobsHtml(perf) {
  const now = Date.now();
  const sp = perf.spreads || {};
  const z = perf.zscores || {};
  return `<table class="data" id="jobs"><thead><tr><th scope="col">Job</th>
    <th scope="col">Last run <span class="unit">(UTC)</span></th>
    <th scope="col" class="num">Age <span class="unit">(s)</span></th>
    <th scope="col">State</th></tr></thead><tbody>`
    + jobRow("z-scores", z.last_run, now)
    + jobRow("spread series", sp.last_series_build, now)
    + jobRow("spread statistics", sp.last_statistics_run, now)
    + "</tbody></table>";
}

function backfillHtml(b) {
  if (!b) return "<p>No backfill has run for this database yet.</p>";
  const st = b.status || {};
  const rows = Object.entries(st.exchanges || {}).map(([ex, e]) => ({ exchange: ex, ...e }));
  const o = st.overall || {};
  return `<p class="status"><strong>${esc(b.running ? "running" : b.state || "")}</strong>: ${
    esc(b.verdict || "")}. Window ${utc(st.window_start)} – ${utc(st.window_end)} UTC; `
    + `started ${utc(st.started_at, true)}, updated ${utc(st.updated_at, true)}.</p>`
    + (b.running ? `<p><progress id="backfill-overall" max="100" value="${
      o.percent_complete || 0}" aria-label="Overall backfill progress"></progress> ${
      fixed(o.percent_complete, 1)} % of contracts</p>` : "")
    + table(BACKFILL, rows, "backfill")
    + `<p>Stored history now: ${fixed(b.completeness, 2)} % complete (threshold ${
      fixed(b.threshold, 2)} %).</p>`;
}

export async function mount(root, ctx) {
  root.innerHTML = `
<h1>Health</h1>
<section aria-labelledby="h-coll"><h2 id="h-coll">Collection</h2>
  <p id="health-status" class="status" aria-live="polite"></p><div id="exchanges"></div></section>
<section aria-labelledby="h-jobs"><h2 id="h-jobs">Analytics jobs</h2><div id="jobs-box"></div>
</section>
<section aria-labelledby="h-bf"><h2 id="h-bf">History backfill</h2><div id="backfill-box"></div>
</section>`;
  const opts = { signal: ctx.signal };

  async function loadHealth() {
    const [health, perf] = await Promise.all([get("/api/health", {}, opts),
      get("/api/health/performance", {}, opts)]);
    const h = health.data;
    const rows = Object.entries(h.exchanges).map(([ex, e]) => ({ exchange: ex, ...e }));
    const c = perf.data.collection;
    root.querySelector("#health-status").innerHTML = `Status <strong class="${
      h.status === "ok" ? "ok" : "bad"}">${esc(h.status)}</strong>; database ${
      esc(h.database.database)} (schema ${esc(h.database.schema_version)}). `
      + (c ? `Last cycle ${utc(c.batch_timestamp, true)} UTC, ${fixed(c.duration_ms / 1000, 2)} s, `
        + `${c.exchanges_ok ?? "?"} exchanges ok, ${c.exchanges_failed ?? "?"} failed.`
        : esc(perf.data.collection_metrics_problem || "No collection cycle yet."))
      + ` Data older than ${fixed(h.max_age_seconds, 0)} s is stale.`;
    root.querySelector("#exchanges").innerHTML = table(EXCHANGES, rows, "exchange-health");
    root.querySelector("#jobs-box").innerHTML = jobsHtml(perf.data);
  }

  let timer = null;
  async function loadBackfill() {
    let b = null;
    try {
      b = (await get("/api/backfill/status", {}, opts)).data;
    } catch (err) {
      if (err.code !== "no_backfill_status") throw err;
    }
    root.querySelector("#backfill-box").innerHTML = backfillHtml(b);
    return b && b.running;
  }

  function schedule(running) {
    clearTimeout(timer);
    if (!ctx.alive) return;
    timer = setTimeout(() => {
      loadBackfill().then(schedule).catch(() => schedule(false));
    }, running ? POLL_RUNNING_MS : POLL_IDLE_MS);
  }
  ctx.onCleanup(() => clearTimeout(timer));
  ctx.every(POLL_IDLE_MS, () => { loadHealth().catch(() => {}); });
  const [, running] = await Promise.all([loadHealth(), loadBackfill()]);
  schedule(running);
}
