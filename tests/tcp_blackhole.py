"""A TCP proxy for tests that can turn into a black hole: connections stay open, nothing moves.

That is what a database behind a dropped-packet network looks like to a client: no refusal, no
reset, no reply; every call simply waits. The proxy listens on 127.0.0.1 and forwards to an
upstream address (the test PostgreSQL). `blackhole()` stops forwarding in both directions:
bytes that arrive are held (as TCP would keep retransmitting them), new connections are accepted
but not connected upstream, and an end of stream is held too. `forward()` delivers what was
held and carries on. `stalled` is set when a client meets the black hole (it sent or was owed
bytes, or connected), which is how a test knows the client is blocked before it acts.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from types import TracebackType

logger = logging.getLogger(__name__)

CHUNK = 65536


class TcpProxy:
    """127.0.0.1:<port> -> upstream, switchable between forwarding and a black hole."""

    def __init__(self, upstream: tuple[str, int] = ("127.0.0.1", 5432)) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._closed = False
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.stalled = threading.Event()
        self.stalls = 0  # bytes, ends of stream or connections held by the black hole
        self._thread = threading.Thread(target=self._accept, name="proxy-accept", daemon=True)

    def start(self) -> TcpProxy:
        self._thread.start()
        return self

    # -- switching -------------------------------------------------------------------------

    def blackhole(self) -> None:
        """Stop forwarding anything; keep every connection open."""
        self.stalled.clear()
        self._forwarding.clear()

    def forward(self) -> None:
        """Deliver what was held and forward again."""
        self._forwarding.set()

    def close(self) -> None:
        self._closed = True
        self._forwarding.set()
        self._listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            _shutdown(sock)
            sock.close()
        self._thread.join(5)

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _hold(self) -> bool:
        """Called with something to pass on: wait while black-holed; False once closed."""
        if not self._forwarding.is_set():
            with self._lock:
                self.stalls += 1
            self.stalled.set()
            self._forwarding.wait()
        return not self._closed

    def _track(self, sock: socket.socket) -> None:
        with self._lock:
            if self._closed:
                sock.close()
                raise OSError("proxy closed")
            self._sockets.append(sock)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._connect, args=(client,), daemon=True,
                             name="proxy-connect").start()

    def _connect(self, client: socket.socket) -> None:
        try:
            self._track(client)
            if not self._hold():
                return
            upstream = socket.create_connection(self.upstream, timeout=10)
            upstream.settimeout(None)
            self._track(upstream)
        except OSError as e:
            logger.debug("proxy: cannot connect upstream: %s", e)
            _shutdown(client)
            return
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True,
                             name="proxy-pump").start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while True:
            try:
                data = src.recv(CHUNK)
            except OSError:
                data = b""
            if not self._hold():
                return
            try:
                if not data:
                    dst.shutdown(socket.SHUT_WR)
                    return
                dst.sendall(data)
            except OSError:
                _shutdown(src)
                return


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed by the other side
        sock.shutdown(socket.SHUT_RDWR)
