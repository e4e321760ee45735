// Sortable, paged tables built as one HTML string (fast for thousands of rows). Headers are
// buttons, so sorting works from the keyboard; aria-sort tells screen readers the order.
// A column: {key, label, unit, num, fmt(row) -> html, value(row) -> sortable, cls(row)}.

import { esc, isNum } from "./format.js";

// "-apr" -> {key: "apr", desc: true}
export function parseSort(sort, fallback) {
  const s = sort || fallback || "";
  return s.startsWith("-") ? { key: s.slice(1), desc: true } : { key: s, desc: false };
}

export function sortString({ key, desc }) {
  return `${desc ? "-" : ""}${key}`;
}

// The next sort after a click on `key`: numbers start high-to-low, text A-to-Z.
export function toggleSort(current, key, numeric) {
  if (current.key === key) return { key, desc: !current.desc };
  return { key, desc: !!numeric };
}

function missing(v) {
  return v === null || v === undefined || (typeof v === "number" && !isNum(v));
}

function compare(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return String(a).localeCompare(String(b));
}

// Sort rows by a column; missing values last in both directions.
export function sortRows(rows, columns, sort) {
  const col = columns.find((c) => c.key === sort.key);
  if (!col) return rows;
  const value = col.value || ((r) => r[col.key]);
  const withV = rows.map((r) => [value(r), r]);
  withV.sort((x, y) => {
    const xm = missing(x[0]);
    const ym = missing(y[0]);
    if (xm || ym) return xm && ym ? 0 : xm ? 1 : -1;
    const c = compare(x[0], y[0]);
    return sort.desc ? -c : c;
  });
  return withV.map((p) => p[1]);
}

export function headerHtml(columns, sort) {
  return columns.map((c) => {
    const label = `${esc(c.label)}${c.unit ? ` <span class="unit">(${esc(c.unit)})</span>` : ""}`;
    const cls = c.num ? ' class="num"' : "";
    if (c.sortable === false) return `<th scope="col"${cls}>${label}</th>`;
    const on = sort && sort.key === c.key;
    const aria = on ? ` aria-sort="${sort.desc ? "descending" : "ascending"}"` : "";
    const arrow = on ? (sort.desc ? " ▼" : " ▲") : "";
    return `<th scope="col"${cls}${aria}><button type="button" class="sort" data-key="${
      esc(c.key)}">${label}<span class="arrow" aria-hidden="true">${arrow}</span></button></th>`;
  }).join("");
}

export function rowHtml(columns, row, attrs = "") {
  const cells = columns.map((c) => {
    const extra = c.cls ? c.cls(row) : "";
    const cls = [c.num ? "num" : "", extra].filter(Boolean).join(" ");
    const html = c.fmt ? c.fmt(row) : esc(row[c.key]);
    return `<td${cls ? ` class="${cls}"` : ""}>${html}</td>`;
  }).join("");
  return `<tr${attrs}>${cells}</tr>`;
}

// A pager: "Previous | Page 2 of 9 (412 rows) | Next".
export function pagerHtml(page, pageSize, total) {
  const pages = Math.max(1, Math.ceil(total / pageSize));
  return `<button type="button" data-page="${page - 1}"${page <= 1 ? " disabled" : ""}>`
    + "Previous</button>"
    + `<span class="pageinfo">Page ${page} of ${pages} (${total} rows)</span>`
    + `<button type="button" data-page="${page + 1}"${page >= pages ? " disabled" : ""}>`
    + "Next</button>";
}

export function bindPager(el, onPage) {
  el.addEventListener("click", (ev) => {
    const btn = ev.target.closest("button[data-page]");
    if (btn && !btn.disabled) onPage(Number(btn.dataset.page));
  });
}
