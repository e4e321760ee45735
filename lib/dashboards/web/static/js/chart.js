// Time-series charts on canvas with the vendored uPlot (a classic script, global `uPlot`,
// loaded on first use: await loadChartLibrary() before lineChart). Missing settlements are
// null points, which uPlot draws as breaks in the line: a gap is shown as a gap, never
// interpolated.

const UPLOT = "vendor/uplot-1.6.32/uPlot";
let uplotReady = null;

// Load the vendored uPlot (script and stylesheet) once, on the first page with a chart.
export function loadChartLibrary() {
  if (!uplotReady) {
    uplotReady = new Promise((resolve, reject) => {
      const css = document.createElement("link");
      css.rel = "stylesheet";
      css.href = `${UPLOT}.min.css`;
      document.head.append(css);
      const js = document.createElement("script");
      js.src = `${UPLOT}.iife.min.js`;
      js.onload = () => resolve(window.uPlot);
      js.onerror = () => { uplotReady = null; reject(new Error(`${js.src} did not load`)); };
      document.head.append(js);
    });
  }
  return uplotReady;
}

const COLORS = ["#1f5fbf", "#c2410c", "#047857", "#7c3aed"];

// Insert a null point wherever the next settlement comes later than the interval allows, and
// at the start of every gap the API reports ({from, to}). rows: [{t: ms, v: number,
// interval: hours}] sorted by t.
export function withGaps(rows, gaps = []) {
  const xs = [];
  const ys = [];
  const gapStarts = gaps.map((g) => Date.parse(g.from)).filter((t) => !Number.isNaN(t));
  const extra = new Set();
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    xs.push(r.t / 1000);
    ys.push(r.v);
    const next = rows[i + 1];
    if (next && r.interval && next.t - r.t > r.interval * 3600e3 * 1.5) {
      const at = r.t + r.interval * 3600e3;
      extra.add(at);
    }
  }
  for (const g of gapStarts) extra.add(g);
  if (extra.size === 0) return [xs, ys];
  const merged = xs.map((x, i) => [x, ys[i]]);
  for (const at of extra) {
    const x = at / 1000;
    if (!xs.includes(x)) merged.push([x, null]);
  }
  merged.sort((a, b) => a[0] - b[0]);
  return [merged.map((p) => p[0]), merged.map((p) => p[1])];
}

// Join several [xs, ys] series on the union of their x values (null where a series has none).
export function align(seriesList) {
  const all = new Set();
  for (const [xs] of seriesList) for (const x of xs) all.add(x);
  const xs = [...all].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const out = [xs];
  for (const [sx, sy] of seriesList) {
    const ys = new Array(xs.length).fill(null);
    sx.forEach((x, i) => { ys[index.get(x)] = sy[i]; });
    out.push(ys);
  }
  return out;
}

const pad = (n) => String(n).padStart(2, "0");

// Time ticks in UTC, 24 h clock: "11-27" for day steps, "08:00" within a day (with the date
// under midnight's tick).
function timeTicks(u, splits, axisIdx, space, incr) {
  return splits.map((s) => {
    const d = new Date(s * 1000);
    const day = `${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    if (incr >= 86400) return day;
    const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    return d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? `${hm}\n${day}` : hm;
  });
}

// The y range always holds zero, so that the zero line is on every chart (5 % headroom).
function withZero(u, min, max) {
  if (min === null || max === null) return [-1, 1];
  const lo = Math.min(0, min);
  const hi = Math.max(0, max);
  if (hi === lo) return [-1e-4, 1e-4]; // every value zero
  const pad = (hi - lo) * 0.05;
  return [lo < 0 ? lo - pad : lo, hi > 0 ? hi + pad : hi];
}

// A value with gaps on both sides has no line to draw: show it as a dot.
function isolatedPoints(u, si, show) {
  if (show) return null;
  const ys = u.data[si];
  const out = [];
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] !== null && ys[i] !== undefined && (i === 0 || ys[i - 1] === null)
      && (i === ys.length - 1 || ys[i + 1] === null)) out.push(i);
  }
  return out.length ? out : null;
}

function zeroLine(u) {
  const { ctx } = u;
  const y = Math.round(u.valToPos(0, "y", true));
  const { left, top, width, height } = u.bbox;
  if (y < top || y > top + height) return;
  ctx.save();
  ctx.setLineDash([]);
  ctx.strokeStyle = "#374151";
  ctx.lineWidth = 1;
  ctx.beginPath();
  ctx.moveTo(left, y);
  ctx.lineTo(left + width, y);
  ctx.stroke();
  ctx.restore();
}

// A line chart in `el`: data = [xs (s), ys1, ys2, ...]; series = [{label, dash, color}];
// lines = [{label, value}] constant reference lines (e.g. the period mean). Returns a
// destroy function. Decimals: the y values' digits in the legend.
export function lineChart(el, { data, series, lines = [], yLabel, decimals = 4, height = 300 }) {
  const U = window.uPlot;
  const full = [...data];
  const specs = series.map((s, i) => ({
    label: s.label,
    stroke: s.color || COLORS[i % COLORS.length],
    width: 1.5,
    spanGaps: false,
    points: { show: false, filter: isolatedPoints },
    value: (u, v) => (v === null || v === undefined ? "–" : v.toFixed(decimals)),
  }));
  for (const ln of lines) {
    full.push(new Array(data[0].length).fill(ln.value));
    specs.push({
      label: ln.label, stroke: ln.color || "#6b7280", width: 1, dash: [6, 4],
      points: { show: false }, value: () => ln.value.toFixed(decimals),
    });
  }
  const opts = {
    width: Math.max(320, el.clientWidth || 800),
    height,
    tzDate: (ts) => U.tzDate(new Date(ts * 1000), "Etc/UTC"), // ticks on UTC hours and days
    scales: { x: { time: true }, y: { range: withZero } },
    axes: [
      { stroke: "#333", grid: { stroke: "#e5e7eb" }, values: timeTicks },
      { stroke: "#333", grid: { stroke: "#e5e7eb" }, label: yLabel, size: 70,
        values: (u, vals) => vals.map((v) => v.toFixed(Math.min(decimals, 4))) },
    ],
    series: [{ label: "Time (UTC)", value: (u, ts) => (ts === null || ts === undefined ? "–"
      : new Date(ts * 1000).toISOString().slice(0, 16).replace("T", " ")) }, ...specs],
    hooks: { draw: [zeroLine] },
  };
  el.replaceChildren();
  const plot = new U(opts, full, el);
  el.uplot = plot; // the drawn data, for scripts and tests
  el.dataset.points = String(data[0].length);
  el.dataset.nullPoints = String(data.slice(1).reduce((n, ys) => n + ys.filter((v) =>
    v === null).length, 0));
  const ro = new ResizeObserver(() => {
    const w = Math.max(320, el.clientWidth);
    if (Math.abs(w - plot.width) > 4) plot.setSize({ width: w, height });
  });
  ro.observe(el);
  return () => { ro.disconnect(); plot.destroy(); };
}
