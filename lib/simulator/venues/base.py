"""What every simulated venue shares: routing, parameter errors, number formatting.

A venue subclass declares its routes in `register()` and overrides the few hooks where the
exchange really differs (error shapes, rate limits, how an empty page looks).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

from lib.simulator.http_types import Request, Response, json_response
from lib.simulator.ratelimit import WindowLimiter
from lib.simulator.universe import Contract, Universe

Handler = Callable[[Request], Response]


class ParamError(Exception):
    """A request the exchange would refuse; the venue renders it in its own error shape."""

    def __init__(self, message: str, code: str | int | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class Route:
    method: str
    segments: tuple[str, ...]
    handler: Handler
    name: str


class Venue(ABC):
    """Base class: match a route, check limits, call the handler, render errors."""

    name: ClassVar[str] = ""

    def __init__(self, universe: Universe, limiter: WindowLimiter) -> None:
        self.u = universe
        self.limiter = limiter
        self.routes: list[Route] = []
        self.register()

    # ----- to override ------------------------------------------------------------------------
    @abstractmethod
    def register(self) -> None:
        """Add this venue's routes (each venue module defines its endpoints here)."""

    def check_limits(self, req: Request, route: Route) -> Response | None:
        """Return a refusal when the request is over a limit; None lets it through."""
        return None

    def decorate(self, req: Request, route: Route, resp: Response) -> None:
        """Add per-venue headers (e.g. used weight) to any response; most venues add none."""
        return None

    def not_found(self, req: Request) -> Response:
        return json_response({"error": "Not Found", "path": req.path}, status=404)

    def param_error(self, req: Request, err: ParamError) -> Response:
        return json_response({"code": err.code, "msg": err.message}, status=err.status)

    def internal_error(self, status: int) -> Response:
        """Body for an injected 500 (502/503 are generic gateway pages)."""
        return json_response({"code": status, "msg": "Internal Server Error"}, status=status)

    def empty(self, resp: Response) -> Response:
        """The same response with its data listing emptied (the 'empty page' fault)."""
        resp.body = _emptied(resp.body)
        return resp

    # ----- machinery --------------------------------------------------------------------------
    def add(self, method: str, path: str, handler: Handler, name: str | None = None) -> None:
        segs = tuple(s for s in path.split("/") if s)
        self.routes.append(Route(method, segs, handler, name or path))

    def match(self, req: Request) -> Route | None:
        segs = [s for s in req.path.split("/") if s]
        for route in self.routes:
            if route.method != req.method or len(route.segments) != len(segs):
                continue
            params: dict[str, str] = {}
            for want, got in zip(route.segments, segs, strict=True):
                if want.startswith("{"):
                    params[want[1:-1]] = got
                elif want != got:
                    break
            else:
                req.path_params = params
                return route
        return None

    def handle(self, req: Request) -> Response:
        route = self.match(req)
        if route is None:
            return self.not_found(req)
        refused = self.check_limits(req, route)
        if refused is not None:
            self.decorate(req, route, refused)
            return refused
        try:
            resp = route.handler(req)
        except ParamError as err:
            resp = self.param_error(req, err)
        self.decorate(req, route, resp)
        return resp

    # ----- helpers for handlers ---------------------------------------------------------------
    def perps(self, include_prelaunch: bool = False) -> list[Contract]:
        return self.u.contracts(self.name, include_prelaunch=include_prelaunch)

    def lookup(self, symbol: str | None) -> Contract | None:
        return self.u.find(self.name, symbol) if symbol else None


def _emptied(body: Any) -> Any:
    if isinstance(body, list):
        return []
    if isinstance(body, dict):
        out = dict(body)
        for key in ("data", "result", "list", "historicalFunding"):
            if key in out:
                out[key] = _emptied(out[key]) if isinstance(out[key], dict | list) else out[key]
        if "markets" in out:  # dYdX: an object keyed by ticker
            out["markets"] = {}
        return out
    return body


def int_param(
    req: Request, name: str, default: int | None = None, *, error: ParamError | None = None
) -> int | None:
    """Integer query parameter, or `default`; a non-integer raises `error` (or a generic one)."""
    text = req.query.get(name)
    if text is None or text == "":
        return default
    try:
        return int(text)
    except ValueError:
        raise error or ParamError(f"invalid {name}: {text!r}") from None


def fmt_rate(value: float, decimals: int, trim: bool = True) -> str:
    """A rate as the venue prints it: fixed decimals, optionally without trailing zeros."""
    text = f"{value:.{decimals}f}"
    if trim:
        text = text.rstrip("0").rstrip(".") if "." in text else text
        if text in ("", "-", "-0"):
            text = "0"
    return text


def fmt_px(value: float, sig: int = 6) -> str:
    """A price/amount with ~`sig` significant digits, never in exponent notation."""
    if value == 0:
        return "0"
    decimals = max(0, sig - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def px(value: float, sig: int = 6) -> float:
    """Like fmt_px but a JSON number (KuCoin, Hyperliquid universe)."""
    return float(fmt_px(value, sig))


def to_ms(value: datetime | None) -> int:
    """Datetime → epoch ms (0 for None, like venues print an unset time)."""
    return round(value.timestamp() * 1000) if value is not None else 0


def iso_ms(ms: int) -> str:
    """ISO-8601 with milliseconds and Z, like dYdX and Bitmex print times."""
    dt = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


def parse_iso_ms(text: str) -> int:
    """ISO-8601 (Z or offset, optional fraction) → epoch ms; ValueError when malformed."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return round(value.timestamp() * 1000)
