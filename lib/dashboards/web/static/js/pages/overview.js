// Overview: summary cards and the asset × exchange grid in a chosen comparable unit, each
// cell with its interval and a live countdown to the next settlement. Filters (search,
// exchanges, listed on 2+ only, unit, sort) live in the URL; data refreshes every 30 s
// without a reload, keeping open rows open.

import { get } from "../api.js";
import { countdown, esc, isNum, parseTime, pct, signClass } from "../format.js";
import { headerHtml, parseSort, sortRows, sortString, toggleSort } from "../table.js";
import { UNITS, unitOf } from "../units.js";
import { cardsHtml, loadCards } from "./overview_cards.js";
import { contractsTable } from "./overview_contracts.js";

const REFRESH_MS = 30000;
const FIRST_ROWS = 80; // more than a tall screen shows
const CHUNK_ROWS = 120;

function template(unit) {
  const options = UNITS.map((u) => `<option value="${u.id}"${u.id === unit ? " selected" : ""}>${
    esc(u.label)}</option>`).join("");
  return `
<h1>Overview</h1>
<section id="cards" class="cards" aria-label="Summary"></section>
<form id="grid-filters" class="filters" role="search" aria-label="Grid filters">
  <label>Search asset <input type="search" name="q" id="f-q" autocomplete="off"
    placeholder="BTC"></label>
  <label>Unit <select name="unit" id="f-unit">${options}</select></label>
  <label class="check"><input type="checkbox" name="multi" id="f-multi"> Listed on 2+
    exchanges only</label>
  <fieldset id="f-exchanges" class="exchanges"><legend>Exchanges</legend></fieldset>
</form>
<p id="grid-status" class="status" aria-live="polite"></p>
<div class="table-wrap"><table id="grid" class="grid">
  <caption class="sr-only">Funding by asset and exchange</caption>
  <thead></thead><tbody></tbody></table></div>`;
}

function cellHtml(cell, decimals) {
  if (!cell) return '<td class="num empty"><span class="sr-only">not listed</span></td>';
  const stale = cell.stale ? " stale" : "";
  const next = parseTime(cell.next_funding_time);
  const title = `${cell.symbol}${cell.stale ? " (stale)" : ""}`;
  return `<td class="num cell${stale}" title="${esc(title)}">`
    + `<span class="v ${signClass(cell.value)}">${pct(cell.value, decimals)}</span>`
    + `${cell.stale ? '<span class="stale-tag">stale</span>' : ""}`
    + `<span class="meta">${isNum(cell.interval_hours) ? `${cell.interval_hours}h` : ""} `
    + `<span class="cd" data-t="${next ?? ""}">${next ? countdown(next) : ""}</span></span></td>`;
}

function columnsFor(exchanges, decimals, expanded) {
  const cols = [
    { key: "base", label: "Asset", value: (r) => r.base,
      fmt: (r) => `<button type="button" class="expand" aria-expanded="${
        expanded.has(r.base)}" data-base="${esc(r.base)}">${esc(r.base)}</button>` },
    { key: "listed", label: "Listed on", unit: "exchanges", num: true,
      value: (r) => r.listed, fmt: (r) => String(r.listed) },
  ];
  for (const ex of exchanges) {
    cols.push({ key: `ex:${ex}`, label: ex, unit: "%", num: true, raw: true,
      value: (r) => (r.cells[ex] ? r.cells[ex].value : null),
      cell: (r) => cellHtml(r.cells[ex], decimals) });
  }
  cols.push({ key: "range", label: "Max − min", unit: "%", num: true,
    value: (r) => r.range, fmt: (r) => pct(r.range, decimals) });
  return cols;
}

export async function mount(root, ctx) {
  const p = ctx.params;
  const unit = unitOf(p.unit).id;
  root.innerHTML = template(unit);
  const form = root.querySelector("#grid-filters");
  const table = root.querySelector("#grid");
  const status = root.querySelector("#grid-status");
  form.q.value = p.q || "";
  form.multi.checked = p.multi === "1";
  form.addEventListener("submit", (ev) => ev.preventDefault());

  const state = {
    unit, grid: null, expanded: new Set(), details: new Map(),
    sort: parseSort(p.sort, "base"),
    exchanges: new Set((p.ex || "").split(",").filter(Boolean)),
  };
  let countdowns = [];

  function shownExchanges() {
    const all = state.grid ? state.grid.exchanges : [];
    return state.exchanges.size ? all.filter((e) => state.exchanges.has(e)) : all;
  }

  function filteredRows(exchanges) {
    const q = form.q.value.trim().toUpperCase();
    const out = [];
    for (const row of state.grid.rows) {
      if (q && !row.base.toUpperCase().includes(q)) continue;
      let listed = 0;
      let lo = Infinity;
      let hi = -Infinity;
      for (const ex of exchanges) {
        const c = row.cells[ex];
        if (!c) continue;
        listed += 1;
        if (isNum(c.value)) { lo = Math.min(lo, c.value); hi = Math.max(hi, c.value); }
      }
      if (listed === 0 || (form.multi.checked && listed < 2)) continue;
      out.push({ base: row.base, cells: row.cells, listed, range: listed > 1 ? hi - lo : null });
    }
    return out;
  }

  // Rows go in by chunks, one frame each: the first screenful is painted at once and the rest
  // follows without one long freeze (a later render cancels the chunks of an earlier one).
  // With the table's fixed layout, appended rows never re-measure the ones above.
  let renderToken = 0;
  function render(onComplete) {
    if (!state.grid) return;
    const token = ++renderToken;
    const exchanges = shownExchanges();
    const decimals = unitOf(state.unit).decimals;
    const cols = columnsFor(exchanges, decimals, state.expanded);
    const rows = sortRows(filteredRows(exchanges), cols, state.sort);
    table.querySelector("thead").innerHTML = `<tr>${headerHtml(cols, state.sort)}</tr>`;
    table.style.minWidth = `${20 + exchanges.length * 6.5}rem`;
    table.style.maxWidth = `${24 + exchanges.length * 11}rem`; // few exchanges: no wide gaps
    const parts = rows.map((r) => {
      const cells = cols.map((c) => (c.cell ? c.cell(r)
        : `<td${c.num ? ' class="num"' : ""}>${c.fmt(r)}</td>`)).join("");
      const detail = state.expanded.has(r.base)
        ? `<tr class="detail"><td colspan="${cols.length}"><div class="detail-wrap">${
          contractsTable(state.details.get(r.base))}</div></td></tr>` : "";
      return `<tr data-base="${esc(r.base)}">${cells}</tr>${detail}`;
    });
    const tbody = table.querySelector("tbody");
    table.dataset.complete = "0";
    tbody.innerHTML = parts.slice(0, FIRST_ROWS).join("");
    status.textContent = `${rows.length} of ${state.grid.rows.length} assets, `
      + `${exchanges.length} exchange${exchanges.length === 1 ? "" : "s"}, `
      + `${unitOf(state.unit).header}. `
      + `Updated ${new Date().toISOString().slice(11, 19)} UTC.`;
    let next = FIRST_ROWS;
    const finish = () => {
      table.dataset.rows = String(rows.length);
      table.dataset.complete = "1";
      countdowns = [...table.querySelectorAll(".cd[data-t]")].filter((e) => e.dataset.t);
      if (!performance.getEntriesByName("complete:overview").length) {
        requestAnimationFrame(() => requestAnimationFrame(() => {
          performance.mark("complete:overview");
        }));
      }
      if (onComplete) onComplete();
    };
    const more = () => {
      if (token !== renderToken || !ctx.alive) return;
      if (next >= parts.length) { finish(); return; }
      tbody.insertAdjacentHTML("beforeend", parts.slice(next, next + CHUNK_ROWS).join(""));
      next += CHUNK_ROWS;
      requestAnimationFrame(more);
    };
    if (parts.length <= FIRST_ROWS) finish(); else requestAnimationFrame(more);
  }

  function renderExchangeFilter() {
    const fs = form.querySelector("#f-exchanges");
    fs.innerHTML = "<legend>Exchanges</legend>" + state.grid.exchanges.map((ex) =>
      `<label class="check"><input type="checkbox" name="ex" value="${esc(ex)}"${
        state.exchanges.has(ex) ? " checked" : ""}> ${esc(ex)}</label>`).join("");
  }

  async function loadDetail(base) {
    const body = await get("/api/funding-rates",
      { base, include_stale: true, limit: 1000, sort: "exchange" }, { signal: ctx.signal });
    state.details.set(base, body.data);
  }

  let loads = 0; // only the answer to the latest request is shown
  async function load() {
    const mine = ++loads;
    const body = await get("/api/funding-rates/grid", { view: state.unit },
      { signal: ctx.signal });
    if (mine !== loads) return;
    const first = state.grid === null;
    state.grid = body.data;
    if (first) renderExchangeFilter();
    await Promise.all([...state.expanded].map(loadDetail));
    render();
    table.dataset.ready = "1";
  }

  async function refreshCards() {
    root.querySelector("#cards").innerHTML = cardsHtml(await loadCards(ctx));
  }

  // The grid first, then the cards: each of their routes reads every snapshot, and asking for
  // all at once would only make the grid wait for the cards.
  async function refreshAll() {
    await load();
    await refreshCards();
  }

  form.addEventListener("input", (ev) => {
    const t = ev.target;
    if (t.name === "q") ctx.setParams({ q: t.value.trim() });
    else if (t.name === "multi") ctx.setParams({ multi: t.checked ? "1" : null });
    else if (t.name === "ex") {
      if (t.checked) state.exchanges.add(t.value); else state.exchanges.delete(t.value);
      ctx.setParams({ ex: [...state.exchanges].join(",") });
    } else if (t.name === "unit") {
      state.unit = t.value;
      ctx.setParams({ unit: t.value === "apr" ? null : t.value });
      table.dataset.ready = "0";
      table.dataset.complete = "0"; // until the grid in the new unit is in
      load().catch((e) => showInline(e));
      return;
    }
    render();
  });

  table.querySelector("thead").addEventListener("click", (ev) => {
    const btn = ev.target.closest("button.sort");
    if (!btn) return;
    const key = btn.dataset.key;
    state.sort = toggleSort(state.sort, key, key !== "base");
    ctx.setParams({ sort: sortString(state.sort) === "base" ? null : sortString(state.sort) });
    render();
  });

  table.querySelector("tbody").addEventListener("click", async (ev) => {
    const btn = ev.target.closest("button.expand");
    if (!btn) return;
    const base = btn.dataset.base;
    if (state.expanded.has(base)) {
      state.expanded.delete(base);
    } else {
      state.expanded.add(base);
      try { await loadDetail(base); } catch (e) { showInline(e); }
    }
    render(() => {
      const again = table.querySelector(`button.expand[data-base="${CSS.escape(base)}"]`);
      if (again) again.focus();
    });
  });

  function showInline(err) {
    if (err.name === "AbortError") return;
    status.textContent = `Could not refresh: ${err.message}`;
    status.classList.add("error");
  }

  ctx.every(1000, () => {
    const now = Date.now();
    for (const el of countdowns) el.textContent = countdown(Number(el.dataset.t), now);
  });
  ctx.every(REFRESH_MS, () => {
    refreshAll().then(() => status.classList.remove("error")).catch(showInline);
  });
  await load();
  refreshCards().catch(showInline);
}
