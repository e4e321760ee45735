// Hash routing for the one-page app: "#/page/part/part?key=value". Filters live in the query
// part, so a view can be bookmarked, shared and restored with the back button.

export function parseHash(hash = location.hash) {
  const raw = hash.replace(/^#\/?/, "");
  const qi = raw.indexOf("?");
  const path = qi < 0 ? raw : raw.slice(0, qi);
  const query = qi < 0 ? "" : raw.slice(qi + 1);
  const parts = path.split("/").filter((p) => p !== "").map(decodeURIComponent);
  const params = Object.fromEntries(new URLSearchParams(query));
  return { page: parts[0] || "overview", parts: parts.slice(1), params };
}

export function buildHash(page, parts = [], params = {}) {
  const path = [page, ...parts.map(encodeURIComponent)].join("/");
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "" || v === false) continue;
    q.set(k, v === true ? "1" : String(v));
  }
  const s = q.toString();
  return `#/${path}${s ? `?${s}` : ""}`;
}

// Replace the current URL's filters without a navigation (no hashchange, no remount).
export function replaceParams(route, params) {
  const hash = buildHash(route.page, route.parts, params);
  if (hash !== location.hash) history.replaceState(null, "", hash);
}
