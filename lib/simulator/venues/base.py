"""What every simulated venue shares: its declared facts, routing, limits, errors, formatting.

A venue subclass declares its facts as class attributes (what the universe lists on it, how it
names contracts, its precision, jitter and rate limits), its routes in `register()`, and
overrides the few hooks where the exchange really differs (error shapes, rate-limit replies,
how an empty page looks).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from lib.simulator.assets import DeliveryRules, NamingRules
from lib.simulator.contracts import Contract
from lib.simulator.http_types import Call, Request, Response, json_response
from lib.simulator.ratelimit import HistoryCost, Limit, Verdict, WindowLimiter

if TYPE_CHECKING:  # the universe reads the venues' facts; venues get it at run time
    from lib.simulator.universe import Universe

Handler = Callable[[Request], Response]


class ParamError(Exception):
    """A request the exchange would refuse; the venue renders it in its own error shape."""

    def __init__(self, message: str, code: str | int | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status


@dataclass(frozen=True)
class IntervalChange:
    """Every trading perpetual listed before the change settled every `previous_hours` until
    `days_ago` days before the clock's start (on that grid), then at its current interval."""

    previous_hours: int
    days_ago: float


@dataclass(frozen=True)
class Route:
    method: str
    segments: tuple[str, ...]
    handler: Handler
    name: str


class Venue(ABC):
    """Base class: match a route, check limits, call the handler, render errors.

    Facts without a default (see REQUIRED_FACTS) must be declared by every venue; the registry
    refuses a venue that lacks one, naming it.
    """

    name: ClassVar[str] = ""  # the exchange id: the module's name and the URL's first part
    # ----- what the universe lists on this venue (universe.py builds from these) -------------
    default_size: ClassVar[int]  # perpetuals at total_contracts=2300 (universe.SIZES_AT)
    interval_mix: ClassVar[tuple[float, float, float]]  # share of 8 h / 4 h / 1 h contracts
    two_hour_share: ClassVar[float] = 0.0  # of the 4 h and 1 h contracts, how many are 2 h
    naming: ClassVar[NamingRules]  # symbol, base, quote, settle and multiplier names
    lot_sized: ClassVar[bool] = False  # contracts are ~$10 lots (ctVal, quanto_multiplier)
    prelaunch_listed: ClassVar[int] = 0  # pre-launch perpetuals listed beside trading ones
    delisted_listed: ClassVar[int] = 0  # delisted perpetuals still listed (isDelisted)
    dated_futures: ClassVar[DeliveryRules | None] = None  # delivery futures on the same lists
    # ----- how it reports rates ---------------------------------------------------------------
    rate_decimals: ClassVar[int]  # digits it prints a rate with (the truth is rounded to them)
    jitter: ClassVar[tuple[int, int, float]] = (0, 0, 0.0)  # late: min ms, max ms, on-time share
    interval_change: ClassVar[IntervalChange | None] = None  # a venue-wide schedule change
    # ----- rate limits and request costs (exchange-apis.md) -----------------------------------
    rate_limits: ClassVar[tuple[Limit, ...]]  # check_limits charges them, by name
    history_cost: ClassVar[HistoryCost]  # one funding-history request, for rate floors
    snapshot_call: ClassVar[Call]  # the one request listing every contract's current funding
    snapshot_requests: ClassVar[int] = 1  # fewest requests for a full snapshot (+ prices, OI)
    # where no one request lists every contract's current funding (Deribit: one book summary
    # per currency), the requests that together do; empty: `snapshot_call` alone
    snapshot_calls: ClassVar[tuple[Call, ...]] = ()

    REQUIRED_FACTS: ClassVar[tuple[str, ...]] = (
        "default_size", "interval_mix", "naming", "rate_decimals", "rate_limits", "history_cost",
        "snapshot_call",
    )

    @classmethod
    def every_snapshot_call(cls) -> tuple[Call, ...]:
        """The requests that together list every contract's current funding."""
        return cls.snapshot_calls or (cls.snapshot_call,)

    @classmethod
    def missing_facts(cls) -> list[str]:
        """The required facts this venue class does not declare (empty when complete)."""
        missing = [fact for fact in cls.REQUIRED_FACTS if not hasattr(cls, fact)]
        if not cls.name:
            missing.insert(0, "name")
        return missing

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

    # ----- rate limits ------------------------------------------------------------------------
    @classmethod
    def limit(cls, name: str) -> Limit:
        """One of `rate_limits` by name (KeyError naming the venue and the limit)."""
        for limit in cls.rate_limits:
            if limit.name == name:
                return limit
        raise KeyError(f"{cls.name}: no rate limit named {name!r}")

    def charge(self, limit_name: str, req: Request, route: Route, cost: int = 1) -> Verdict:
        """Charge one request against one of `rate_limits`, in the window it is counted in."""
        limit = self.limit(limit_name)
        key = limit_name if limit.per == "ip" else route.name
        if limit.param is not None:
            key = f"{key}:{req.query.get(limit.param, '')}"
        return self.limiter.charge(f"{self.name}:{key}", limit.weight, limit.window_s, cost)

    def used(self, limit_name: str) -> int:
        """Weight used so far in a venue-wide limit's current window (for used-weight headers)."""
        return self.limiter.used(f"{self.name}:{limit_name}", self.limit(limit_name).window_s)

    def reset_in(self, limit_name: str) -> int:
        """Whole venue seconds until a venue-wide limit's window resets (for reset headers)."""
        seconds = self.limiter.reset_in(self.limit(limit_name).window_s) * self.limiter.time_scale
        return max(1, math.ceil(seconds))

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
