// Entry point: mounts the page named by the URL hash, keeps the header clock and the stale
// banner up to date. Each page module exports mount(root, ctx); ctx tracks its timers and
// requests so that leaving the page stops them.

import { get } from "./api.js";
import { age, utc } from "./format.js";
import { parseHash, replaceParams } from "./router.js";
// Each page's module is fetched when it is first opened: the overview loads only its own.
const PAGES = {
  overview: () => import("./pages/overview.js"),
  contract: () => import("./pages/contract.js"),
  arbitrage: () => import("./pages/arbitrage.js"),
  pair: () => import("./pages/pair.js"),
  health: () => import("./pages/health.js"),
};
const BANNER_POLL_MS = 30000;

let current = null;

function makeContext(route) {
  const timers = [];
  const cleanups = [];
  const abort = new AbortController();
  let params = { ...route.params };
  return {
    route,
    signal: abort.signal,
    get params() { return params; },
    // Merge `patch` into the URL's filters (null removes a key).
    setParams(patch) {
      params = { ...params, ...patch };
      for (const [k, v] of Object.entries(patch)) if (v === null || v === "") delete params[k];
      replaceParams(route, params);
    },
    every(ms, fn) { timers.push(setInterval(fn, ms)); },
    onCleanup(fn) { cleanups.push(fn); },
    get alive() { return !abort.signal.aborted; },
    destroy() {
      abort.abort();
      timers.forEach(clearInterval);
      cleanups.forEach((fn) => fn());
    },
  };
}

// A page error as one readable line in the page, not a console trace.
export function showError(root, err) {
  if (err && err.name === "AbortError") return;
  const p = document.createElement("p");
  p.className = "error";
  p.setAttribute("role", "alert");
  p.textContent = `Could not load: ${err && err.message ? err.message : err}`;
  root.prepend(p);
}

async function mountRoute() {
  if (current) current.destroy();
  const route = parseHash();
  const load = PAGES[route.page] || PAGES.overview;
  const root = document.getElementById("page");
  root.replaceChildren();
  root.dataset.page = route.page;
  root.dataset.ready = "0";
  document.querySelectorAll("nav a").forEach((a) => {
    const on = a.dataset.page === route.page
      || (a.dataset.page === "arbitrage" && route.page === "pair")
      || (a.dataset.page === "overview" && route.page === "contract");
    if (on) a.setAttribute("aria-current", "page"); else a.removeAttribute("aria-current");
  });
  const ctx = makeContext(route);
  current = ctx;
  try {
    const mod = await load();
    if (current !== ctx) return;
    await mod.mount(root, ctx);
    // the page's first data is on screen (scripts, tests and the bench wait for this); the
    // mark comes a frame later, once that frame has been painted
    if (current === ctx) {
      root.dataset.ready = "1";
      requestAnimationFrame(() => requestAnimationFrame(() => {
        performance.mark(`drawn:${route.page}`);
      }));
    }
  } catch (err) {
    if (ctx.alive) showError(root, err);
  }
}

function tickClock() {
  document.getElementById("clock").textContent = `${utc(Date.now(), true)} UTC`;
}

// The banner says when collection is stale (an exchange's newest snapshot is older than the
// API's freshness limit), whatever page is open.
async function refreshBanner() {
  const banner = document.getElementById("stale-banner");
  try {
    const h = (await get("/api/health")).data;
    const stale = Object.entries(h.exchanges || {}).filter(([, e]) => !e.fresh);
    if (stale.length) {
      const names = stale.map(([ex, e]) => `${ex} (${e.age_seconds === null ? "no data"
        : `${age(e.age_seconds)} old`})`).join(", ");
      banner.textContent = `Collection is stale for ${names}: data older than ${
        Math.round(h.max_age_seconds)} s. See Health.`;
      banner.hidden = false;
    } else {
      banner.hidden = true;
    }
  } catch (err) {
    banner.textContent = `API unreachable or unhealthy: ${err.message}`;
    banner.hidden = false;
  }
}

window.addEventListener("hashchange", mountRoute);
tickClock();
setInterval(tickClock, 1000);
refreshBanner();
setInterval(refreshBanner, BANNER_POLL_MS);
mountRoute();
