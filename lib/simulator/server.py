"""The HTTP side: route /<exchange>/<real path> to a venue, count, inject faults, serve.

`Simulator` is the transport-free application (easy to call directly); `SimulatorServer` puts
it behind a ThreadingHTTPServer on 127.0.0.1 and stops cleanly even while connections are
being held open by the timeout fault.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections import Counter
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from lib.simulator.config import FaultConfig, SimClock, SimulatorConfig
from lib.simulator.faults import Decision, FaultInjector, gateway_error, malformed
from lib.simulator.http_types import Request, Response, json_response
from lib.simulator.ratelimit import WindowLimiter
from lib.simulator.universe import Universe
from lib.simulator.venues import VENUES
from lib.simulator.venues.base import Venue

logger = logging.getLogger(__name__)


class Simulator:
    """All venues over one Universe, one limiter, one fault injector."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.config = config
        self.clock = SimClock(config.now, config.time_scale)
        self.universe = Universe(config.seed, config.total_contracts, self.clock)
        self.limiter = WindowLimiter(config.time_scale)
        self.faults = FaultInjector(config.fault_config(), config.seed)
        self.venues: dict[str, Venue] = {
            name: cls(self.universe, self.limiter) for name, cls in VENUES.items()
        }
        self.stop_event = threading.Event()
        self._counts: Counter[str] = Counter()
        self._count_lock = threading.Lock()

    def request_counts(self) -> dict[str, int]:
        with self._count_lock:
            return {name: self._counts.get(name, 0) for name in self.venues}

    def reset_counts(self) -> None:
        with self._count_lock:
            self._counts.clear()

    def set_faults(self, faults: FaultConfig | str | dict[str, Any] | None) -> None:
        self.faults.set(FaultConfig.parse(faults))

    def dispatch(self, req: Request) -> Response | None:
        """The reply for one request; None means hold the connection and close it unanswered."""
        venue = self.venues.get(req.exchange)
        if venue is None:
            return json_response({"error": f"unknown exchange {req.exchange!r}"}, status=404)
        with self._count_lock:
            self._counts[req.exchange] += 1
        arrived = time.monotonic()
        decision = self.faults.decide()
        if decision.kind == "timeout":
            self.stop_event.wait(decision.latency_s + self.faults.config.timeout_s)
            return None
        if decision.kind == "error":
            resp = venue.internal_error(500) if decision.error_status == 500 else (
                gateway_error(decision.error_status)
            )
        else:
            resp = _apply_data_fault(venue, venue.handle(req), decision)
        # latency is the time from a request's arrival to its reply, the venue's own work
        # included, as a remote venue's is: all venues share this process, and work done
        # after the wait would queue each venue's replies behind the others' generation
        self.stop_event.wait(max(0.0, arrived + decision.latency_s - time.monotonic()))
        return resp


def _apply_data_fault(venue: Venue, resp: Response, decision: Decision) -> Response:
    if resp.status != 200 or resp.raw is not None:
        return resp
    if decision.kind == "malformed":
        return malformed(resp, decision.variant)
    if decision.kind == "empty" and resp.listing:
        return venue.empty(resp)
    return resp


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 60  # idle keep-alive connections do not pin a thread forever
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        exchange, _, rest = parts.path.lstrip("/").partition("/")
        query: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(key, value)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        req = Request(self.command, exchange, "/" + rest, query, body, self.client_address[0])
        try:
            resp = self.server.app.dispatch(req)
        except Exception:  # a bug in a venue must show up as a 500, not a dropped connection
            logger.exception("%s %s: handler failed", exchange, req.path)
            resp = json_response({"error": "simulator bug"}, status=500)
        if resp is None:
            self.close_connection = True
            return
        payload = resp.encode()
        reason = self.responses.get(resp.status, ("",))[0]
        head = [f"{self.protocol_version} {resp.status} {reason}",
                f"Date: {self._sim_date()}", f"Content-Type: {resp.content_type}",
                f"Content-Length: {len(payload)}"]
        head += [f"{key}: {value}" for key, value in resp.headers.items()]
        # one write for head and body: two small writes meet Nagle + delayed ACK (~40 ms)
        data = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")
        self.wfile.write(data + (payload if self.command != "HEAD" else b""))
        self.log_request(resp.status)

    def _sim_date(self) -> str:
        """The Date header in simulated time: the exchange's clock, as a real server's is."""
        return formatdate(self.server.app.universe.now_ms() / 1000, usegmt=True)

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.client_address[0], format % args)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: Simulator) -> None:
        self.app = app
        super().__init__(address, _Handler)


class SimulatorServer:
    """A running simulator: `url`, `universe`, counts, run-time faults, `stop()`."""

    def __init__(self, config: SimulatorConfig) -> None:
        self.app = Simulator(config)
        self._httpd = _HTTPServer((config.host, config.port), self.app)
        self.url = f"http://{config.host}:{self._httpd.server_port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True,
            name="simulator-http",
        )

    @property
    def universe(self) -> Universe:
        return self.app.universe

    def start(self) -> SimulatorServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Release held connections, stop accepting, close the socket."""
        self.app.stop_event.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def request_counts(self) -> dict[str, int]:
        return self.app.request_counts()

    def reset_counts(self) -> None:
        self.app.reset_counts()

    def set_faults(self, faults: FaultConfig | str | dict[str, Any] | None) -> None:
        self.app.set_faults(faults)

    def saturate_rate_limits(self, exchange: str) -> list[str]:
        """Use up every rate-limit window this exchange has counted so far, for one whole
        window from now (see WindowLimiter.saturate); return the limiter keys."""
        return self.app.limiter.saturate(f"{exchange}:")

    def reset_rate_limits(self) -> None:
        """Forget all rate-limit windows and bans (handy between tests)."""
        self.app.limiter.reset()
        for venue in self.app.venues.values():
            reset = getattr(venue, "reset_bans", None)
            if reset is not None:
                reset()

    def wait_ready(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.01)
