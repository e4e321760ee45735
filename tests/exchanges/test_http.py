"""lib.exchanges.http against a real local HTTP server: retries, Retry-After, bad JSON, timeouts."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from lib.errors import ExchangeDataError, ExchangeError, TemporaryExchangeError
from lib.exchanges.http import (
    ARRIVAL_MARGIN,
    ExchangeHttp,
    RateLimit,
    RateLimiter,
    RemainingHeader,
    WeightHeader,
    parse_remaining,
)


class Script:
    """What the test server answers, one reply per request, the last one repeated."""

    def __init__(self) -> None:
        self.replies: list[tuple[int, dict[str, str], bytes, float]] = []
        self.times: list[float] = []
        self.paths: list[str] = []  # request targets: a proxy is sent the absolute URL
        self.date: str | None = None  # the Date header to send instead of the real time

    def next(self) -> tuple[int, dict[str, str], bytes, float]:
        self.times.append(time.monotonic())
        return self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            script.paths.append(self.path)
            status, headers, body, delay = script.next()
            time.sleep(delay)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def date_time_string(self, timestamp: float | None = None) -> str:
            return script.date or super().date_time_string(timestamp)

        def log_message(self, *args: object) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def _client(url: str, **kw: object) -> ExchangeHttp:
    return ExchangeHttp("testex", url, RateLimit(1000, 1.0), read_timeout=0.5, **kw)  # type: ignore[arg-type]


def test_5xx_is_retried_until_success(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(503, {}, b"busy", 0), (502, {}, b"", 0), (200, {}, b'{"ok": 1}', 0)]
    assert _client(url).get_json("/x") == {"ok": 1}
    assert len(script.times) == 3


def test_429_retry_after_is_honoured(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(429, {"Retry-After": "1"}, b"{}", 0), (200, {}, b"[1]", 0)]
    assert _client(url).get_json("/x") == [1]
    assert script.times[1] - script.times[0] >= 0.95


def test_persistent_5xx_is_a_temporary_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(500, {}, b"oops", 0)]
    with pytest.raises(TemporaryExchangeError, match="testex: /x: HTTP 500"):
        _client(url, max_retries=2).get_json("/x")
    assert len(script.times) == 3


def test_client_error_is_not_retried(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(400, {}, b'{"code":-1121,"msg":"Invalid symbol."}', 0)]
    with pytest.raises(ExchangeError, match=r"HTTP 400.*Invalid symbol"):
        _client(url).get_json("/x")
    assert len(script.times) == 1


def test_truncated_json_is_asked_again_then_named(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(200, {}, b'{"a": [1, 2', 0), (200, {}, b'{"a": []}', 0)]
    assert _client(url).get_json("/x") == {"a": []}
    script.replies = [(200, {}, b"<html>", 0)]
    with pytest.raises(ExchangeDataError, match="testex: /y: reply is not valid JSON"):
        _client(url).get_json("/y")


def test_read_timeout_is_a_temporary_error(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(200, {}, b"{}", 1.5)]
    with pytest.raises(TemporaryExchangeError, match="testex: /slow"):
        _client(url, max_retries=1).get_json("/slow")


def test_connection_refused_is_a_temporary_error() -> None:
    client = ExchangeHttp("testex", "http://127.0.0.1:1", RateLimit(10, 1), max_retries=0)
    with pytest.raises(TemporaryExchangeError, match="testex: /x"):
        client.get_json("/x")


def test_used_weight_header_pauses_the_limiter(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(200, {"X-MBX-USED-WEIGHT-1M": "2300"}, b"{}", 0)]
    header = WeightHeader("X-MBX-USED-WEIGHT-1M", limit=2400, window=2.0)
    client = _client(url, weight_header=header)
    client.get_json("/x")
    client.get_json("/x")
    # the second request waited for the (2 s) weight window to roll over
    assert script.times[1] - script.times[0] >= 0.05
    assert json.dumps(script.times) and client.request_count == 2


def test_rate_limiter_spaces_requests_to_the_budget() -> None:
    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    limiter = RateLimiter(RateLimit(5, 1.0), clock=lambda: now[0], sleep=sleep)
    sent = []
    for _ in range(15):
        limiter.acquire()
        sent.append(now[0])
    # the whole budget per period: 5 at once, 5 after a second, 5 after two (each period
    # stretched by the margin for the requests' arrival at the venue)
    span = 1.0 * (1 + ARRIVAL_MARGIN)
    assert now[0] == pytest.approx(2 * span)
    # and never more than 5 in any one-second window, however an exchange aligns its windows
    # (a token bucket that starts full sends 9 in the first second)
    assert max(sum(1 for t in sent if start <= t < start + 1.0 - 1e-9) for start in sent) == 5
    for weight in (2.0, 7.0):  # weighted requests; one heavier than the budget goes alone
        limiter.acquire(weight)
    assert now[0] == pytest.approx(4 * span)
    limiter.pause(3.0)
    limiter.acquire()
    assert now[0] >= 4 * span + 3.0


def test_retry_after_in_milliseconds_is_not_read_as_seconds(server: tuple[str, Script]) -> None:
    url, script = server
    # dYdX's indexer sends Retry-After in ms: 2000 means 2 s, not 33 minutes
    script.replies = [(429, {"Retry-After": "2000"}, b"{}", 0), (200, {}, b"[2]", 0)]
    client = _client(url, retry_after_unit=0.001)
    started = time.monotonic()
    assert client.get_json("/x") == [2]
    assert time.monotonic() - started < 5
    script.replies = [(429, {"Retry-After": "1500"}, b"{}", 0), (200, {}, b"[3]", 0)]
    strict = _client(url, retry_after_unit=0.001, max_retries=0)
    with pytest.raises(TemporaryExchangeError, match="HTTP 429"):
        strict.get_json("/x")
    # ...and the client's limiter holds its next request for the 1.5 s the venue asked for
    held = time.monotonic()
    assert strict.get_json("/x") == [3]
    assert 1.4 <= time.monotonic() - held < 5


def test_exchange_now_follows_the_servers_date_header(server: tuple[str, Script]) -> None:
    """The exchange's clock, not the local one: a server a day ahead is a day ahead."""
    url, script = server
    script.replies = [(200, {}, b"{}", 0)]
    client = _client(url, time_scale=3600.0)  # one exchange hour per local second
    before = datetime.now(UTC)
    assert abs((client.exchange_now() - before).total_seconds()) < 5  # no reply yet: local
    ahead = before.replace(microsecond=0) + timedelta(days=1)
    script.date = format_datetime(ahead, usegmt=True)
    client.get_json("/x")
    first = client.exchange_now()
    assert ahead <= first < ahead + timedelta(minutes=10)
    time.sleep(0.5)
    assert client.exchange_now() - first >= timedelta(minutes=29)  # 0.5 s x 3600
    script.date = "not a date"
    client.get_json("/x")  # an unreadable Date is ignored: the last good one stands
    assert client.exchange_now() >= first


def test_proxy_settings_from_the_environment_are_honoured(
        server: tuple[str, Script], monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment is read once per session (not per request) and still applies: a venue
    behind HTTP_PROXY is reached through it, one named in NO_PROXY directly."""
    proxy, script = server
    script.replies = [(200, {}, b'{"through": "proxy"}', 0.0)]
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    http = ExchangeHttp("x", "http://venue.invalid/api", RateLimit(10, 1.0), max_retries=0)
    assert http.get_json("/rates") == {"through": "proxy"}
    assert script.paths == ["http://venue.invalid/api/rates"]
    http.close()

    monkeypatch.setenv("NO_PROXY", "venue.invalid")
    direct = ExchangeHttp("x", "http://venue.invalid/api", RateLimit(10, 1.0), max_retries=0)
    with pytest.raises(TemporaryExchangeError):
        direct.get_json("/rates")  # no proxy: the name does not resolve
    assert script.paths == ["http://venue.invalid/api/rates"]
    direct.close()


class ManualClock:
    """A clock that moves only when the test moves it; sleepers wait for it (threads)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleepers = 0
        self.cond = threading.Condition()

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.cond:
            until = self.now + seconds
            self.sleepers += 1
            self.cond.notify_all()
            self.cond.wait_for(lambda: self.now >= until)
            self.sleepers -= 1

    def advance(self, seconds: float) -> None:
        with self.cond:
            self.now += seconds
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[], bool]) -> None:
        with self.cond:
            assert self.cond.wait_for(predicate, timeout=30)


def test_background_requests_let_waiting_foreground_ones_go_first() -> None:
    """The settlement worker's history (background) must not starve the next snapshot: when
    room opens, a waiting snapshot takes it, whichever thread wakes first."""
    manual = ManualClock()
    limiter = RateLimiter(RateLimit(1, 1.0), clock=manual.clock, sleep=manual.sleep)
    limiter.acquire()  # the budget is spent
    order: list[str] = []

    def take(name: str, background: bool) -> None:
        limiter.acquire(background=background)
        with manual.cond:
            order.append(name)
            manual.cond.notify_all()

    history = threading.Thread(target=take, args=("history", True))
    history.start()
    manual.wait_for(lambda: manual.sleepers == 1)  # the history request waits for room
    snapshot = threading.Thread(target=take, args=("snapshot", False))
    snapshot.start()
    manual.wait_for(lambda: manual.sleepers == 2)  # and so does the snapshot, after it
    span = 1.0 * (1 + ARRIVAL_MARGIN)  # the period, and the margin for arrival at the venue
    manual.advance(span)  # room for one
    manual.wait_for(lambda: len(order) == 1)
    assert order == ["snapshot"]
    manual.advance(span)
    history.join(30)
    snapshot.join(30)
    assert order == ["snapshot", "history"]


class WatchedStop(threading.Event):
    """A stop event that records every wait the client's limiter and retries make on it."""

    def __init__(self) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.waiting = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(-1.0 if timeout is None else timeout)
        self.waiting.set()
        return super().wait(timeout)


def test_a_key_at_its_limit_does_not_hold_up_other_keys(server: tuple[str, Script]) -> None:
    """Requests naming a limit key go through that key's own limiter, not the shared one: a key
    that has spent its budget waits, and another key's requests go through meanwhile."""
    url, script = server
    script.replies = [(200, {}, b"{}", 0)]
    stop = WatchedStop()
    client = ExchangeHttp("testex", url, RateLimit(1000, 1.0), stop=stop,
                          keyed_rate_limit=RateLimit(2, 60.0))
    client.get_json("/h", {"i": "A"}, limit_key="A")
    client.get_json("/h", {"i": "A"}, limit_key="A")
    errors: list[Exception] = []

    def third_on_a() -> None:
        try:
            client.get_json("/h", {"i": "A"}, limit_key="A")
        except TemporaryExchangeError as e:
            errors.append(e)

    blocked = threading.Thread(target=third_on_a)
    blocked.start()
    assert stop.waiting.wait(10)  # A's third request waits in A's limiter (60 s window)
    other = threading.Thread(target=lambda: [client.get_json("/h", {"i": "B"}, limit_key="B")
                                             for _ in range(2)])
    other.start()
    other.join(10)
    assert not other.is_alive() and blocked.is_alive()
    assert script.paths.count("/h?i=B") == 2 and script.paths.count("/h?i=A") == 2
    assert len(stop.waits) == 1  # B never waited
    assert sorted(client.limit_keys) == ["A", "B"]
    assert client.limiter_for("B").acquired == 2 and client.limiter.acquired == 0
    stop.set()  # a stop cuts A's wait short: its request fails as temporary, unsent
    blocked.join(10)
    assert len(errors) == 1 and "stopping" in str(errors[0])
    assert script.paths.count("/h?i=A") == 2


def test_limit_key_without_a_keyed_budget_shares_the_limiter(server: tuple[str, Script]) -> None:
    url, script = server
    script.replies = [(200, {}, b"{}", 0)]
    client = _client(url)
    client.get_json("/h", limit_key="A")
    client.get_json("/h")
    assert client.limiter_for("A") is client.limiter and client.limiter.acquired == 2
    assert client.limit_keys == []


@pytest.mark.parametrize(("value", "expected"), [
    ('"credits";r=1200;t=32', (1200.0, 32.0)),  # Pacifica's documented reply header
    ('"credits";r=0;t=5', (0.0, 5.0)),
    ('"burst";r=50;t=1, "daily";r=7;t=3600', (7.0, 3600.0)),  # the tightest policy
    ('"credits";q=1250;w=60', None),  # the policy header names no remaining count
    ("garbage", None),
    ('"credits";r=x;t=1', None),
])
def test_remaining_header_values_are_read(value: str, expected: tuple[float, float] | None
                                          ) -> None:
    assert parse_remaining(value) == expected


def test_remaining_budget_below_the_floor_holds_heavier_requests_until_the_reset(
        server: tuple[str, Script]) -> None:
    """Pacifica's header counts tenths of a credit: r=1200 is 120 credits left (no wait),
    r=100 is 10, under a 12.5-credit floor: until the reset `t` seconds later (32 venue
    seconds, 1 s at time scale 32) only what fits in what is left goes, and once nothing is
    left even a 1-credit snapshot waits for the reset."""
    url, script = server
    header = RemainingHeader("ratelimit", floor=12.5, unit=0.1)
    stop = WatchedStop()
    client = ExchangeHttp("testex", url, RateLimit(1000, 1.0), stop=stop,
                          remaining_header=header, time_scale=32.0)
    script.replies = [(200, {"ratelimit": '"credits";r=1200;t=32'}, b"{}", 0)]
    client.get_json("/x", weight=9)
    client.get_json("/x", weight=9)
    assert stop.waits == []
    script.replies = [(200, {"ratelimit": f'"credits";r={left};t=32'}, b"{}", 0)
                      for left in (100, 90, 0, 1200)]
    client.get_json("/x", weight=9)  # 10 credits left after it, says the venue
    client.get_json("/x", weight=1)  # a snapshot fits: no wait (9 left)
    client.get_json("/x", weight=9)  # so does a history request (none left)
    assert stop.waits == []
    client.get_json("/x", weight=1)  # nothing fits until the reset
    assert len(stop.waits) == 1 and 0.9 < stop.waits[0] <= 1.05
    assert len(script.times) == 6
