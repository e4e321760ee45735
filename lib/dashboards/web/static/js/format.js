// Number, time and unit formatting: fixed decimals per column, percent for rates, UTC times.

const DASH = "–";

export function isNum(x) {
  return typeof x === "number" && Number.isFinite(x);
}

// A fraction shown as percent with fixed decimals: 0.0001 -> "0.0100".
export function pct(x, decimals = 4) {
  return isNum(x) ? (x * 100).toFixed(decimals) : DASH;
}

export function fixed(x, decimals = 2) {
  return isNum(x) ? x.toFixed(decimals) : DASH;
}

// A USD amount in millions with two decimals (header says "M USD").
export function musd(x) {
  return isNum(x) ? (x / 1e6).toFixed(2) : DASH;
}

// A price with enough decimals for its size (sub-cent coins keep their digits).
export function price(x) {
  if (!isNum(x)) return DASH;
  const a = Math.abs(x);
  const d = a >= 1000 ? 2 : a >= 1 ? 4 : a >= 0.01 ? 6 : 8;
  return x.toFixed(d);
}

export function hours(x) {
  return isNum(x) ? `${Number.isInteger(x) ? x : x.toFixed(1)} h` : DASH;
}

export function parseTime(iso) {
  if (!iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

// "2026-03-01 08:00" (UTC); seconds only when asked.
export function utc(iso, seconds = false) {
  const t = typeof iso === "number" ? iso : parseTime(iso);
  if (t === null) return DASH;
  const s = new Date(t).toISOString().replace("T", " ");
  return seconds ? s.slice(0, 19) : s.slice(0, 16);
}

// Time left until `ms` as "h:mm:ss" ("due" once passed).
export function countdown(ms, now = Date.now()) {
  if (ms === null || ms === undefined) return DASH;
  let s = Math.round((ms - now) / 1000);
  if (s <= 0) return "due";
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h}:${String(m).padStart(2, "0")}:${String(s).padStart(2, "0")}`;
}

// "42 s", "5 min", "3.2 h": how old something is.
export function age(seconds) {
  if (!isNum(seconds)) return DASH;
  if (seconds < 120) return `${Math.round(seconds)} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 172800) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

export function signClass(x) {
  if (!isNum(x) || x === 0) return "";
  return x > 0 ? "pos" : "neg";
}

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
export function esc(s) {
  return s === null || s === undefined ? "" : String(s).replace(/[&<>"']/g, (c) => ESC[c]);
}
