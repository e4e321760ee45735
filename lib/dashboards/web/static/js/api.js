// The API client: one place that knows the JSON conventions of lib/api.
// Lists come as {data: [...], meta: {total, limit, offset, sort}}, single objects as
// {data: {...}}, errors as {error: {code, message, details}}; an error becomes an ApiError
// carrying the API's own message, so a page can show it in one line.

export class ApiError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

// Build "/api/x?a=1&b=2", leaving out empty values so the URL says only what is set.
export function apiUrl(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === "") continue;
    q.set(k, Array.isArray(v) ? v.join(",") : String(v));
  }
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

// GET a route and return its whole body ({data, meta}); throws ApiError on a non-2xx reply.
export async function get(path, params = {}, { signal } = {}) {
  const res = await fetch(apiUrl(path, params), {
    signal, headers: { Accept: "application/json" },
  });
  let body = null;
  try {
    body = await res.json();
  } catch (e) {
    if (res.ok) throw new ApiError(res.status, "bad_json", `${path}: reply is not JSON`);
  }
  if (!res.ok) {
    const err = (body && body.error) || {};
    throw new ApiError(res.status, err.code || `http_${res.status}`,
      err.message || `${path}: HTTP ${res.status}`, err.details);
  }
  return body;
}

export function contractPath(exchange, symbol) {
  return `/api/contracts/${encodeURIComponent(exchange)}/${encodeURIComponent(symbol)}`;
}
