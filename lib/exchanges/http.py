"""HTTP for exchange adapters: one session per exchange, retries, rate limiting, typed errors.

Transport retries (timeouts, 5xx, 429 honouring Retry-After) are urllib3 `Retry`'s job; its
waits, like the limiter's, wait on the stop event (lib.runtime.stopping), so a stop never sits
out a 30-60 s Retry-After: the wait ends at once and the request fails as temporary. The
`RateLimiter` keeps a client under an exchange's documented request budget before it is hit.
One budget is shared by every request, except where a venue counts a request per key (OKX's
history: per IP and instrument): a request naming a `limit_key` then goes through that key's
own limiter, built lazily from the `keyed_rate_limit` the adapter declares, so instruments
never wait on one another. Where the exchange reports its count in a header the limiter also
pauses before the budget runs out, so a long backfill never earns a ban: used weight nearing
the limit (`WeightHeader`), or remaining budget below a floor until the reset the header names
(`RemainingHeader`, the IETF `RateLimit: "policy";r=..;t=..` form). A pause applies to the
limiter the reply's request went through. Which venue does what is declared by the adapters;
nothing here names one.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from lib.errors import ExchangeDataError, ExchangeError, TemporaryExchangeError
from lib.runtime.stopping import STOP
from lib.timeutils import utcnow

logger = logging.getLogger(__name__)

RETRY_STATUSES = (429, 500, 502, 503, 504)
MALFORMED_RETRIES = 3  # a truncated body is a transport fault: ask again a few times
ARRIVAL_MARGIN = 0.02  # share of a rate-limit period added for the requests' arrival jitter
BACKGROUND_YIELD_S = 0.01  # a background request behind a waiting foreground one looks again


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`requests` requests (or weight units) per `period` seconds."""

    requests: int
    period: float

    @property
    def per_second(self) -> float:
        return self.requests / self.period


class RateLimiter:
    """Thread-safe sliding-window limiter: `acquire(weight)` blocks until the weight sent in
    the last `limit.period` seconds leaves room for it.

    Why not a token bucket: exchanges count in fixed windows, and a bucket that starts full lets
    a client spend its burst at the end of one window and its refill at the start of the next,
    nearly twice the limit in one window (a 429, and a ban for a client that keeps at it). A
    sliding window never exceeds the limit in any window, fixed or rolling, and still sends
    the whole budget per period.
    """

    def __init__(self, limit: RateLimit, clock: Any = time.monotonic, sleep: Any = time.sleep):
        self.limit = limit
        self._clock = clock
        self._sleep = sleep
        self._sent: deque[tuple[float, float]] = deque()  # (time, weight), oldest first
        self._used = 0.0
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self._foreground_waiting = 0
        self._cap: tuple[float, float] | None = None  # (weight left, until): the venue's word
        # a request counts for a little longer than the period: the venue counts it when it
        # arrives, and one sent on the edge of its window can arrive later than the next one
        self._span = limit.period * (1 + ARRIVAL_MARGIN)
        self.acquired = 0  # requests let through since creation (for tests and diagnostics)

    def acquire(self, weight: float = 1.0, background: bool = False) -> None:
        """Wait for room for `weight`. A `background` request (the settlement worker's
        history) also lets every waiting foreground one (a snapshot) go first, so a busy
        settlement instant spending the whole budget never starves the next snapshot."""
        # one request heavier than the whole budget can only ever go alone
        weight = min(weight, float(self.limit.requests))
        waiting = False
        try:
            while True:
                with self._lock:
                    now = self._clock()
                    self._expire(now)
                    wait = max(self._paused_until - now, 0.0)
                    cap = self._cap if self._cap is not None and now < self._cap[1] else None
                    if cap is not None and (background or weight > cap[0] + 1e-9):
                        wait = max(wait, cap[1] - now)
                    fits = self._used + weight <= self.limit.requests + 1e-9
                    behind = background and self._foreground_waiting > 0
                    if wait == 0.0 and fits and not behind:
                        self._sent.append((now, weight))
                        self._used += weight
                        self.acquired += 1
                        if cap is not None:
                            self._cap = (cap[0] - weight, cap[1])
                        return
                    if not background and not waiting:
                        waiting = True
                        self._foreground_waiting += 1
                    if wait == 0.0:
                        wait = BACKGROUND_YIELD_S if fits else max(self._room_at(weight) - now,
                                                                   1e-3)
                self._sleep(wait)
        finally:
            if waiting:
                with self._lock:
                    self._foreground_waiting -= 1

    def _expire(self, now: float) -> None:
        while self._sent and self._sent[0][0] <= now - self._span:
            self._used -= self._sent.popleft()[1]
        if not self._sent:
            self._used = 0.0  # no float dust left behind

    def _room_at(self, weight: float) -> float:
        """When enough of the window's weight has expired for `weight` to fit."""
        excess = self._used + weight - self.limit.requests
        freed = 0.0
        for sent_at, w in self._sent:
            freed += w
            if freed >= excess - 1e-9:
                return sent_at + self._span
        return self._clock() + self._span

    def cap(self, remaining: float, seconds: float) -> None:
        """The venue says only `remaining` weight is left for `seconds`: until then background
        requests wait (whatever we think they cost: the venue's count wins), and foreground
        ones (a snapshot) still go while they fit in what is left."""
        with self._lock:
            self._cap = (remaining, self._clock() + seconds)

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (the exchange says we are near or over its limit)."""
        with self._lock:
            self._paused_until = max(self._paused_until, self._clock() + seconds)


class _StoppableRetry(Retry):
    """urllib3's Retry with its waits (Retry-After, else back-off) done by `wait`, which
    returns early and raises when the process is stopping; the delays are urllib3's own."""

    wait: Callable[[float], None] = staticmethod(time.sleep)

    def new(self, **kw: Any) -> _StoppableRetry:
        retry = super().new(**kw)
        retry.wait = self.wait
        return retry

    def sleep(self, response: Any = None) -> None:
        delay = 0.0
        if self.respect_retry_after_header and response:
            delay = self.get_retry_after(response) or 0.0
        if not delay:
            delay = self.get_backoff_time()
        if delay > 0:
            self.wait(delay)


@dataclass(frozen=True, slots=True)
class WeightHeader:
    """A response header carrying the weight used in the current window, and its limit."""

    name: str
    limit: int
    window: float  # seconds
    headroom: float = 0.9


@dataclass(frozen=True, slots=True)
class RemainingHeader:
    """A response header saying how much budget is left and when it resets, in the IETF
    RateLimit form: `"policy";r=<remaining>;t=<seconds to reset>` (Pacifica's `ratelimit`).

    Below `floor` (in budget units, the ones `RateLimit` counts) the limiter holds background
    requests (the settlement worker's history) until the reset and lets foreground ones (a
    snapshot's 1 credit) go while they fit in the rest: the venue's own count wins over our
    estimate of what requests cost, and over other clients on the same IP. `unit` is budget
    units per header unit (Pacifica reports tenths of a credit: 0.1)."""

    name: str
    floor: float
    unit: float = 1.0


def parse_remaining(value: str) -> tuple[float, float] | None:
    """(remaining, seconds to reset) from an IETF RateLimit header value, in header units; of
    several policies the one with least remaining; None when no item carries both numbers.

    `"credits";r=1200;t=32` -> (1200.0, 32.0)."""
    found: list[tuple[float, float]] = []
    for item in value.split(","):
        params: dict[str, str] = {}
        for part in item.split(";")[1:]:
            key, _, number = part.partition("=")
            params[key.strip().lower()] = number.strip()
        try:
            found.append((float(params["r"]), float(params["t"])))
        except (KeyError, ValueError):
            continue
    return min(found) if found else None


class ExchangeHttp:
    """GET/POST JSON against one exchange with timeouts, retries and rate limiting."""

    def __init__(
        self,
        exchange: str,
        base_url: str,
        rate_limit: RateLimit,
        *,
        connect_timeout: float = 5.0,
        read_timeout: float = 15.0,
        max_retries: int = 5,
        weight_header: WeightHeader | None = None,
        remaining_header: RemainingHeader | None = None,
        keyed_rate_limit: RateLimit | None = None,
        time_scale: float = 1.0,
        retry_after_unit: float = 1.0,
        stop: threading.Event | None = None,
    ) -> None:
        self.exchange = exchange
        self.base_url = base_url.rstrip("/")
        self.stop = stop or STOP  # default: the process-wide event SIGINT/SIGTERM set
        self.limiter = RateLimiter(rate_limit, sleep=self._wait)
        # per-key budgets (one limiter per instrument a venue lists: a few hundred at most,
        # each a handful of timestamps), made on first use; None: keys share `limiter`
        self.keyed_rate_limit = keyed_rate_limit
        self._keyed: dict[str, RateLimiter] = {}
        self._keyed_lock = threading.Lock()
        self.timeout = (connect_timeout, read_timeout)
        self.weight_header = weight_header
        self.remaining_header = remaining_header
        self.time_scale = time_scale
        self.retry_after_unit = retry_after_unit  # seconds per Retry-After unit (ms: 0.001)
        self.request_count = 0
        self._count_lock = threading.Lock()
        self._server_date: tuple[datetime, float] | None = None  # (Date header, monotonic)
        self._date_lock = threading.Lock()
        self._local = threading.local()  # per thread: are its requests in the background?
        retry = _StoppableRetry(
            total=max_retries,
            connect=max_retries,
            read=max_retries,
            status=max_retries,
            backoff_factor=0.5,
            backoff_max=30,
            status_forcelist=RETRY_STATUSES,
            allowed_methods=None,  # the POSTs adapters send are read-only queries
            # urllib3 reads Retry-After as seconds; where a venue sends another unit we back off
            # exponentially instead and honour the header in our own limiter.
            respect_retry_after_header=retry_after_unit == 1.0,
            raise_on_status=False,
        )
        retry.wait = self._wait
        self.session = requests.Session()
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=16)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = "funding-arb/0.1"
        _environment_once(self.session, self.base_url)

    @contextmanager
    def in_background(self) -> Iterator[None]:
        """This thread's requests inside the block yield to the others at the rate limiter
        (see `RateLimiter.acquire`)."""
        before = getattr(self._local, "background", False)
        self._local.background = True
        try:
            yield
        finally:
            self._local.background = before

    def get_json(
        self, path: str, params: dict[str, Any] | None = None, weight: float = 1,
        limit_key: str | None = None,
    ) -> Any:
        """GET `path`; `limit_key` (an instrument) counts it against that key's own budget."""
        return self._request("GET", path, weight, limit_key, params=params)

    def post_json(
        self, path: str, body: dict[str, Any], weight: float = 1, limit_key: str | None = None,
    ) -> Any:
        return self._request("POST", path, weight, limit_key, json=body)

    def limiter_for(self, key: str | None) -> RateLimiter:
        """The limiter a request with `limit_key=key` goes through: the key's own when the
        adapter declared a per-key budget, else the shared one."""
        if key is None or self.keyed_rate_limit is None:
            return self.limiter
        with self._keyed_lock:
            limiter = self._keyed.get(key)
            if limiter is None:
                limiter = RateLimiter(self.keyed_rate_limit, sleep=self._wait)
                self._keyed[key] = limiter
            return limiter

    @property
    def limit_keys(self) -> list[str]:
        """The keys that have a limiter of their own so far."""
        with self._keyed_lock:
            return list(self._keyed)

    def _request(
        self, method: str, path: str, weight: float, limit_key: str | None, **kwargs: Any
    ) -> Any:
        url = f"{self.base_url}{path}"
        limiter = self.limiter_for(limit_key)
        for attempt in range(MALFORMED_RETRIES + 1):
            if self.stop.is_set():
                raise TemporaryExchangeError(self.exchange, f"{path}: not sent: stopping")
            limiter.acquire(weight, background=getattr(self._local, "background", False))
            with self._count_lock:
                self.request_count += 1
            try:
                response = self.session.request(method, url, timeout=self.timeout, **kwargs)
            except (requests.Timeout, requests.ConnectionError) as e:
                raise TemporaryExchangeError(self.exchange, f"{path}: {_short(e)}") from e
            except requests.RequestException as e:
                raise TemporaryExchangeError(self.exchange, f"{path}: {_short(e)}") from e
            self._observe(response, limiter)
            self._raise_for_status(path, response, limiter)
            try:
                return response.json()
            except (json.JSONDecodeError, ValueError) as e:
                if attempt == MALFORMED_RETRIES:
                    raise ExchangeDataError(
                        self.exchange, path, f"reply is not valid JSON ({_short(e)})"
                    ) from e
                logger.warning("%s: %s: invalid JSON, asking again", self.exchange, path)
        raise AssertionError("unreachable")

    def _wait(self, seconds: float) -> None:
        """Sleep before a retry or for the limiter; a stop cuts it short and fails the request."""
        if self.stop.wait(seconds):
            raise TemporaryExchangeError(
                self.exchange, f"stopping: a {seconds:.3g}s wait before a request was cut short"
            )

    def exchange_now(self) -> datetime:
        """The exchange's clock: the `Date` header of its latest reply, advanced by the time
        since (times the simulator's time scale); the local clock until a reply carried one.

        Venues that do not publish the next funding time derive it from "now"; the
        exchange's clock, not a local one that may be skewed, says which hour has settled.
        Numbered history pages are counted back from it too. `Date` is truncated to the
        second, which never moves "now" across an hour."""
        with self._date_lock:
            seen = self._server_date
        if seen is None:
            return utcnow()
        date, received = seen
        return date + timedelta(seconds=(time.monotonic() - received) * self.time_scale)

    def _observe(self, response: requests.Response, limiter: RateLimiter) -> None:
        """Read the reply's clock and, where the venue reports its count, pause `limiter`
        (the one the request went through) before the budget runs out."""
        self._observe_date(response)
        self._observe_weight(response, limiter)
        self._observe_remaining(response, limiter)

    def _observe_date(self, response: requests.Response) -> None:
        date = response.headers.get("Date")
        if date:
            try:
                parsed = parsedate_to_datetime(date)
            except (TypeError, ValueError):
                parsed = None
            if parsed is not None and parsed.tzinfo is not None:
                with self._date_lock:
                    self._server_date = (parsed.astimezone(UTC), time.monotonic())

    def _observe_weight(self, response: requests.Response, limiter: RateLimiter) -> None:
        header = self.weight_header
        if header is None or header.name not in response.headers:
            return
        try:
            used = int(response.headers[header.name])
        except ValueError:
            return
        if used >= header.limit * header.headroom:
            window = header.window / self.time_scale
            pause = window - (time.time() % window) + 0.05
            logger.warning("%s: used weight %d of %d, pausing %.1fs",
                           self.exchange, used, header.limit, pause)
            limiter.pause(pause)

    def _observe_remaining(self, response: requests.Response, limiter: RateLimiter) -> None:
        header = self.remaining_header
        value = response.headers.get(header.name) if header is not None else None
        if header is None or value is None:
            return
        parsed = parse_remaining(value)
        if parsed is None:
            logger.debug("%s: unreadable %s header %r", self.exchange, header.name, value)
            return
        remaining = parsed[0] * header.unit
        if remaining < header.floor:
            pause = parsed[1] / self.time_scale + 0.05
            # routine at the end of each window of a long backfill: the venue's count, not
            # our estimate of request costs, says when to stop
            logger.info("%s: %.4g of the budget left (floor %.4g) for %.2fs, to the reset",
                        self.exchange, remaining, header.floor, pause)
            limiter.cap(remaining, pause)

    def _raise_for_status(
        self, path: str, response: requests.Response, limiter: RateLimiter
    ) -> None:
        status = response.status_code
        if status < 400:
            return
        detail = response.text[:200].replace("\n", " ")
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            try:
                limiter.pause(float(retry_after) * self.retry_after_unit)
            except ValueError:  # an HTTP-date Retry-After: urllib3 already waited on it
                logger.debug("%s: Retry-After %r is a date", self.exchange, retry_after)
        if status in RETRY_STATUSES or status == 418:
            raise TemporaryExchangeError(self.exchange, f"{path}: HTTP {status}: {detail}")
        raise ExchangeError(self.exchange, f"{path}: HTTP {status}: {detail}")

    def close(self) -> None:
        self.session.close()


def _environment_once(session: requests.Session, base_url: str) -> None:
    """Read the proxy and CA bundle settings from the environment once, for this one host.

    With `trust_env` requests reads them on every request (all of os.environ, decoded key by
    key, plus ~/.netrc): about 1 ms of CPU each, and a collection cycle sends 27 requests
    while 16 exchanges' replies are parsed on one interpreter. Every request of this session
    goes to `base_url`, so HTTP(S)_PROXY, ALL_PROXY, NO_PROXY and REQUESTS_CA_BUNDLE /
    CURL_CA_BUNDLE apply exactly as before; public endpoints need no .netrc credentials.
    """
    session.trust_env = False
    if not requests.utils.should_bypass_proxies(base_url, no_proxy=None):
        proxies = requests.utils.get_environ_proxies(base_url)
        session.proxies.update({k: v for k, v in proxies.items() if k != "no"})
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle


def _short(error: Exception) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:200]
