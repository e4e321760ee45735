// Arbitrage: current cross-exchange pairs ranked by spread APR, gross or net of taker fees,
// with filters (assets, exchanges, intervals, min APR, min OI, holding days) kept in the URL.
// The table is sorted and paged by the API; a row opens the pair page.

import { get } from "../api.js";
import { esc, fixed, hours, isNum, musd, pct } from "../format.js";
import { buildHash } from "../router.js";
import { headerHtml, pagerHtml, bindPager, parseSort, sortString, toggleSort } from "../table.js";
import { legInterval, pairParts } from "./pair_data.js";

const PAGE_SIZE = 50;
const INTERVALS = [1, 2, 4, 8];
const REFRESH_MS = 30000;

function legHtml(leg) {
  return `${esc(leg.exchange)} <span class="sym">${esc(leg.symbol)}</span>`;
}

export const COLUMNS = [
  { key: "base", label: "Asset", sortable: true,
    fmt: (r) => `<a class="pair-link" href="${buildHash("pair", pairParts(r), {
      hold: r.hold_days })}">${esc(r.base)}</a>` },
  { key: "long_exchange", label: "Long leg", fmt: (r) => legHtml(r.long) },
  { key: "short_exchange", label: "Short leg", fmt: (r) => legHtml(r.short) },
  { key: "intervals", label: "Intervals", unit: "long / short, h", sortable: false, num: true,
    fmt: (r) => `${hours(legInterval(r.long))} / ${hours(legInterval(r.short))}` },
  { key: "gross_apr", label: "Spread APR", unit: "%", num: true, fmt: (r) => pct(r.gross_apr, 2) },
  { key: "net_apr", label: "Net APR", unit: "% after fees", num: true,
    fmt: (r) => pct(r.net_apr, 2) },
  { key: "persistence", label: "Persistence", unit: "% of hours, 30 d", num: true,
    fmt: (r) => pct(r.persistence, 1) },
  { key: "spread_z", label: "Spread z", unit: "30 d", num: true, fmt: (r) => fixed(r.spread_z, 2) },
  { key: "min_oi_usd", label: "OI", unit: "smaller leg, M USD", num: true,
    fmt: (r) => musd(r.min_oi_usd) },
];

function template(p, exchanges) {
  const exBoxes = exchanges.map((ex) => `<label class="check"><input type="checkbox"
    name="exchanges" value="${esc(ex)}"${(p.exchanges || "").split(",").includes(ex)
    ? " checked" : ""}> ${esc(ex)}</label>`).join("");
  const ivBoxes = INTERVALS.map((h) => `<label class="check"><input type="checkbox"
    name="intervals" value="${h}"${(p.intervals || "").split(",").includes(String(h))
    ? " checked" : ""}> ${h} h</label>`).join("");
  const net = p.basis !== "gross";
  return `
<h1>Arbitrage</h1>
<form id="arb-filters" class="filters" aria-label="Opportunity filters">
  <label>Assets <input type="text" name="assets" value="${esc(p.assets || "")}"
    placeholder="BTC,ETH" autocomplete="off"></label>
  <label>Min APR (%) <input type="number" name="min_apr" step="any" value="${
    esc(p.min_apr || "")}"></label>
  <label>Min OI (USD) <input type="number" name="min_oi" min="0" step="any" value="${
    esc(p.min_oi || "")}"></label>
  <label>Holding (days) <input type="number" name="hold" min="1" max="365" step="1" value="${
    esc(p.hold || "7")}"></label>
  <fieldset><legend>APR</legend>
    <label class="check"><input type="radio" name="basis" value="net"${net ? " checked" : ""}>
      net of fees</label>
    <label class="check"><input type="radio" name="basis" value="gross"${net ? "" : " checked"}>
      gross</label></fieldset>
  <fieldset class="exchanges"><legend>Exchanges</legend>${exBoxes}</fieldset>
  <fieldset><legend>Intervals</legend>${ivBoxes}</fieldset>
  <button type="submit">Apply</button>
</form>
<p id="arb-status" class="status" aria-live="polite"></p>
<div class="table-wrap"><table id="arb" class="data"><thead></thead><tbody></tbody></table></div>
<div id="arb-pager" class="pager"></div>`;
}

// The form's values as URL parameters (empty ones dropped).
function formParams(form) {
  const fd = new FormData(form);
  return {
    assets: (fd.get("assets") || "").toUpperCase().replace(/\s+/g, ""),
    min_apr: fd.get("min_apr"), min_oi: fd.get("min_oi"), hold: fd.get("hold"),
    basis: fd.get("basis") === "gross" ? "gross" : null,
    exchanges: fd.getAll("exchanges").join(","), intervals: fd.getAll("intervals").join(","),
  };
}

// URL parameters as the API's query (APR in the form is in percent, the API's a fraction).
export function apiQuery(p, sort, page) {
  const q = {
    assets: p.assets, exchanges: p.exchanges, intervals: p.intervals, min_oi: p.min_oi,
    hold_days: p.hold || 7, net_of_fees: p.basis === "gross" ? "false" : "true",
    sort: sortString(sort), limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE,
  };
  if (p.min_apr !== undefined && p.min_apr !== "" && isNum(Number(p.min_apr))) {
    q.min_apr = Number(p.min_apr) / 100;
  }
  return q;
}

function defaultSort(p) {
  return p.basis === "gross" ? "-gross_apr" : "-net_apr";
}

export async function mount(root, ctx) {
  const exchanges = (await get("/api/exchanges", {}, { signal: ctx.signal })).data
    .map((e) => (typeof e === "string" ? e : e.exchange || e.name));
  const p = ctx.params;
  root.innerHTML = template(p, exchanges);
  const form = root.querySelector("#arb-filters");
  const table = root.querySelector("#arb");
  const status = root.querySelector("#arb-status");
  const pager = root.querySelector("#arb-pager");
  const state = {
    sort: parseSort(p.sort, defaultSort(p)),
    page: Math.max(1, Number(p.page) || 1),
  };

  let loads = 0; // only the answer to the latest request is shown
  async function load() {
    const mine = ++loads;
    const body = await get("/api/arbitrage/opportunities", apiQuery(ctx.params, state.sort,
      state.page), { signal: ctx.signal });
    if (mine !== loads) return;
    table.querySelector("thead").innerHTML = `<tr>${headerHtml(COLUMNS, state.sort)}</tr>`;
    table.querySelector("tbody").innerHTML = body.data.map((r) => `<tr>${COLUMNS.map((c) =>
      `<td${c.num ? ' class="num"' : ""}>${c.fmt(r)}</td>`).join("")}</tr>`).join("");
    table.dataset.rows = String(body.data.length);
    pager.innerHTML = pagerHtml(state.page, PAGE_SIZE, body.meta.total);
    status.classList.remove("error");
    const basis = ctx.params.basis === "gross" ? "gross" : "net";
    status.textContent = `${body.meta.total} pairs; min APR on ${basis} APR. APR is simple `
      + "(not compounded); net APR subtracts taker fees in and out of both legs over "
      + `${ctx.params.hold || 7} days.`;
  }

  function reload() {
    load().catch((err) => {
      if (err.name === "AbortError") return;
      status.textContent = `Could not load: ${err.message}`;
      status.classList.add("error");
    });
  }

  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.page = 1;
    ctx.setParams({ ...formParams(form), page: null });
    if (!ctx.params.sort) state.sort = parseSort(null, defaultSort(ctx.params));
    reload();
  });
  form.addEventListener("change", (ev) => {
    if (ev.target.type === "checkbox" || ev.target.type === "radio") form.requestSubmit();
  });
  table.querySelector("thead").addEventListener("click", (ev) => {
    const btn = ev.target.closest("button.sort");
    if (!btn) return;
    const key = btn.dataset.key;
    state.sort = toggleSort(state.sort, key, !["base", "long_exchange", "short_exchange"]
      .includes(key));
    state.page = 1;
    ctx.setParams({ sort: sortString(state.sort), page: null });
    reload();
  });
  // A click anywhere on a row opens its pair, like its link does.
  table.querySelector("tbody").addEventListener("click", (ev) => {
    if (ev.target.closest("a")) return;
    const tr = ev.target.closest("tr");
    const a = tr && tr.querySelector("a.pair-link");
    if (a) location.hash = a.getAttribute("href");
  });
  bindPager(pager, (page) => {
    state.page = page;
    ctx.setParams({ page: page === 1 ? null : page });
    reload();
  });
  ctx.every(REFRESH_MS, reload);
  await load();
}
