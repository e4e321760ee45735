"""The list conventions every list route keeps: paging, sorting, the envelope, JSON bytes.

A list answers `{"data": [...], "meta": {"total", "limit", "offset", "sort"}}`: `total` counts
the items that passed the filters, before paging. `sort=field` is ascending, `sort=-field`
descending, an unknown field a 422 naming the allowed ones; items without a value for the field
(null) come last either way. `limit` is 1..1000. Times are ISO-8601 UTC strings; a number that
is not finite (a std of one observation) is null, never NaN, which browsers' JSON.parse rejects.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response

from lib.api.errors import bad_parameter
from lib.api.hits import LOOKED_UP, cache_key, pack, unpack

MAX_LIMIT = 1000
DEFAULT_LIMIT = 100


@dataclass(frozen=True)
class Page:
    limit: int
    offset: int
    sort: str | None


def page_params(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="items per page (1-1000)")]
    = DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, le=10_000_000, description="items to skip")] = 0,
    sort: Annotated[str | None, Query(max_length=64, description=(
        "field to sort by, ascending; prefix with '-' for descending"))] = None,
) -> Page:
    """Dependency: the paging and sort parameters every list route takes."""
    return Page(limit, offset, sort)


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def num(value: Any) -> float | None:
    """A float for JSON: None for missing and non-finite values."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def sort_items(items: list[dict[str, Any]], sort: str,
               allowed: Iterable[str]) -> list[dict[str, Any]]:
    """`items` ordered by `sort` ("field" or "-field"); nulls last; 422 for another field."""
    descending = sort.startswith("-")
    name = sort[1:] if descending else sort
    fields = sorted(allowed)
    if name not in fields:
        raise bad_parameter("sort", f"cannot sort by {name!r}; sortable fields: "
                            f"{', '.join(fields)} (prefix '-' for descending)")
    present = [i for i in items if i.get(name) is not None]
    missing = [i for i in items if i.get(name) is None]
    present.sort(key=lambda i: i[name], reverse=descending)
    return present + missing


def page_of(items: list[dict[str, Any]], page: Page, default_sort: str,
            allowed: Iterable[str], extra_meta: Mapping[str, Any] | None = None,
            ) -> dict[str, Any]:
    """The list envelope of one page of `items`, sorted as asked (else by `default_sort`)."""
    sort = page.sort or default_sort
    ordered = sort_items(items, sort, allowed)
    meta = {"total": len(ordered), "limit": page.limit, "offset": page.offset, "sort": sort}
    meta.update(extra_meta or {})
    return {"data": ordered[page.offset: page.offset + page.limit], "meta": meta}


def sortable(sample: Mapping[str, Any], exclude: Sequence[str] = ()) -> frozenset[str]:
    """The fields of an item that hold a plain value (not a list or object)."""
    return frozenset(k for k, v in sample.items()
                     if k not in exclude and not isinstance(v, dict | list))


def split_list(name: str, raw: str | None, allowed: Iterable[str] | None = None,
               transform: Callable[[str], str] = str) -> list[str] | None:
    """A comma-separated query parameter as a list; 422 for a name not in `allowed`."""
    if raw is None:
        return None
    values = [transform(v.strip()) for v in raw.split(",") if v.strip()]
    if not values:
        raise bad_parameter(name, "names nothing")
    if allowed is not None:
        known = set(allowed)
        unknown = [v for v in values if v not in known]
        if unknown:
            raise bad_parameter(name, f"unknown value(s) {', '.join(unknown)}; known: "
                                f"{', '.join(sorted(known))}")
    return values


def to_json(payload: Any) -> bytes:
    return json.dumps(payload, separators=(",", ":"), allow_nan=False, default=str).encode()


def json_bytes_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status_code=status, media_type="application/json")


def cached_json(request: Request, compute: Callable[[], Any]) -> Response:
    """The answer to this request from the app's cache, else `compute()`d and cached.

    `CachedAnswers` (lib.api.hits) has already looked the request up and answered a hit
    before routing; a route reaches here on a miss and stores its answer, under its route's
    template (for the latency metric of later hits). Concurrent misses of one key compute it
    once (`KeyLocks`). Only whole successful answers are cached; an error raised by `compute`
    is not.
    """
    cache = request.app.state.cache
    key = cache_key(request.scope["path"], request.scope["query_string"])
    entry = None if request.scope.get(LOOKED_UP) else cache.get(key)
    if entry is not None:
        return json_bytes_response(unpack(entry)[1])
    with request.app.state.computing.hold(key):
        # computed meanwhile by the request this one waited for (not counted twice)
        entry = cache.get(key, count=False)
        if entry is not None:
            return json_bytes_response(unpack(entry)[1])
        body = to_json(compute())
        route = str(getattr(request.scope.get("route"), "path", request.scope["path"]))
        cache.set(key, pack(route, body))
    return json_bytes_response(body)
