"""Transport-neutral request/response objects, so venues never touch http.server."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Call:
    """A request as a client sends it: method, the venue's own path, query and JSON body."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, Any] | None = None


@dataclass
class Request:
    """One incoming request, already split into exchange and the exchange's own path."""

    method: str
    exchange: str
    path: str  # the venue's real path, e.g. /fapi/v1/premiumIndex
    query: dict[str, str]
    body: bytes = b""
    client: str = "127.0.0.1"
    path_params: dict[str, str] = field(default_factory=dict)

    def json_body(self) -> Any:
        """The POST body parsed as JSON (ValueError when it is not)."""
        return json.loads(self.body.decode() or "null")


@dataclass
class Response:
    """A reply: `body` is a JSON-able object unless `raw` is set (HTML errors, broken JSON)."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None
    content_type: str = "application/json"
    # True when the body is a data listing that the "empty" fault may blank out.
    listing: bool = False

    def encode(self) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(self.body, separators=(",", ":")).encode()


def json_response(body: Any, status: int = 200, listing: bool = False) -> Response:
    return Response(status=status, body=body, listing=listing)


def html_response(status: int, text: str) -> Response:
    raw = f"<html><head><title>{status} {text}</title></head><body><center><h1>{status} {text}"
    raw += "</h1></center><hr><center>nginx</center></body></html>"
    return Response(status=status, raw=raw.encode(), content_type="text/html")
