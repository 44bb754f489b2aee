"""Run the sandbox as a real HTTP server on loopback, in a background thread."""

import contextlib
import errno
import selectors
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import IO, cast

from flask import Flask
from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

from sandbox.app import MAX_REQUEST_BYTES, create_app, signed_in_session
from sandbox.defects import Defects
from sandbox.faults import Faults
from sandbox.recording import TLS_ALTERNATIVE_KEY, RequestLog, plain_http_request
from sandbox.registry import Registry

# How long a connection may wait for its client's next request (and any one read or write may
# take): well beyond a client's pauses between requests when it waits for something to expire
# (codes and tokens that live a few seconds), so that the server does not close a connection just
# as the client sends on it.
IDLE_SECONDS = 30
# OpenSSL's reason for a handshake that met a plaintext HTTP request instead of a ClientHello
PLAIN_HTTP_REASON = "HTTP_REQUEST"


class _RequestBody(LimitedStream):
    """A request's body and not one byte past it, where the client's next request begins. The
    connection's end reads as the body's end (the body is then not exhausted, and the connection
    is closed); the application's own stream (werkzeug's Request) still reports it as a client
    that went away."""

    def on_disconnect(self, error: Exception | None = None) -> None:
        pass

    def read(self, size: int | None = -1) -> bytes:
        # werkzeug's drain asks for 10 MB: RawIOBase would allocate (and zero) that much for each
        # request before finding nothing left
        left = self.limit - self.tell()
        return super().read(left if size is None or size < 0 else min(size, left))


class _KeepAliveHandler(WSGIRequestHandler):
    """werkzeug's handler, keeping an HTTP/1.1 connection open for the client's next request:
    a TCP (and TLS) connection and a thread per request cost more than the request itself.

    werkzeug closes every connection because http.server cannot tell where a request's body ends
    when the application left part of it unread. Here the application reads the body through a
    stream that ends at its Content-Length, what it left unread is read after the answer, and the
    next request starts right after it. A body that cannot be drained that way (chunked, larger
    than MAX_REQUEST_BYTES, an unreadable Content-Length), a client that asks to close, or an
    application that answers Connection: close still end the connection after the answer, with
    werkzeug's Connection: close. werkzeug frames every answer (its Content-Length, or chunked when
    it has none), so the client knows where each one ends."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_SECONDS  # set on every connection: an idle one ends, its thread with it
    # werkzeug writes an answer's headers and its body apart: with Nagle's algorithm the body
    # would wait for the client's delayed ACK of the headers (40 ms on Linux), on an open connection
    disable_nagle_algorithm = True
    _kept, _held = False, None  # the connection is kept open; a Connection header not yet sent
    server: "_Server"

    def make_environ(self):
        environ = super().make_environ()
        # a resumed session skipped the certificate: no evidence of what the client makes of it
        connection = self.connection
        environ[TLS_ALTERNATIVE_KEY] = (
            getattr(connection, "served_alternative", False) and not connection.session_reused
        )
        return environ

    def run_wsgi(self) -> None:
        if self.server.stopped:  # a request read from a kept connection after stop(): not answered
            self.close_connection = True
            return
        length = self._body_length()
        if length is None:
            return super().run_wsgi()
        connection, body = self.rfile, _RequestBody(cast(IO[bytes], self.rfile), length)
        # werkzeug's environ and its drain read `rfile`, as a stream of bytes and nothing more
        self.rfile, self._kept = body, True  # type: ignore[assignment]
        try:
            super().run_wsgi()
        finally:
            self.rfile, self._kept, self._held = connection, False, None
        body.exhaust()
        if not body.is_exhausted:  # the client went away, or stalled, before the end of its body
            self.close_connection = True

    def _body_length(self) -> int | None:
        """The request body's length when the connection can stay open after it."""
        lengths = self.headers.get_all("Content-Length") or ["0"]
        length = lengths[0] if len(lengths) == 1 else ""
        if self.close_connection or "Transfer-Encoding" in self.headers or not (length.isascii() and length.isdigit()):
            return None
        return int(length) if int(length) <= MAX_REQUEST_BYTES else None

    def send_header(self, keyword: str, value: str) -> None:
        # werkzeug's Connection: close is the last header of every answer: a Connection header is
        # held back until another header shows it was the application's
        if self._held:
            super().send_header(*self._held)
            self._held = None
        if self._kept and keyword.lower() == "connection":
            self._held = (keyword, value)
        else:
            super().send_header(keyword, value)

    def end_headers(self) -> None:
        self._held = None  # werkzeug's Connection: close, left out
        super().end_headers()

    def log_error(self, format: str, *args: object) -> None:
        if not (args and isinstance(args[0], TimeoutError)):  # http.server's words for an idle connection's end
            super().log_error(format, *args)


def _nobody(address: tuple) -> bool:
    return False


class _CannotBind(Exception):
    """An OSError of bind(), carried past werkzeug's `except OSError` (see _Server.server_bind)."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Server(ThreadedWSGIServer):
    """werkzeug's threaded server with _KeepAliveHandler. It knows its open connections, so that
    a stopped sandbox leaves none open waiting for a next request, to answer it."""

    def __init__(self, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> None:
        # no application yet: SandboxServer makes it once the port, which its issuer names, is known
        try:
            super().__init__(host, port, None, _KeepAliveHandler, ssl_context=ssl_context)  # type: ignore[arg-type]
        except _CannotBind as failed:
            raise failed.error from None
        self._connections: set[socket.socket] = set()
        self._lock, self.stopped = threading.Lock(), False
        # serve_alternative_tls: the context new TLS connections are served with instead of ssl_context
        self.alternative_tls: ssl.SSLContext | None = None
        # the clients (by their address) still served with ssl_context, and whose kept connections stay open
        self.spared: Callable[[tuple], bool] = _nobody
        self.handshake_failures: deque[tuple[float, str]] = deque(maxlen=100)
        self.recording: RequestLog | None = None  # where a plaintext HTTP request on the TLS port is logged
        if ssl_context is not None:
            ssl_context.sni_callback = self._choose_context  # called for every handshake, with SNI or without

    def _choose_context(self, connection, server_name, context) -> None:
        """ssl's SNI callback: `connection` is the server side's SSLSocket (ssl types it as SSLObject)."""
        alternative = self.alternative_tls
        if alternative is not None and not self._spared(connection):
            connection.context = alternative
            connection.served_alternative = True

    def get_request(self):
        """A TLS handshake runs in accept(); one the client broke off (it refused the certificate) is
        noted with the client's alert before socketserver drops the connection, as it does. One OpenSSL found to be
        a plaintext HTTP request ("http request") is logged too, as such: a client that sent its credentials where
        TLS is required (RFC 6750 section 5.3, RFC 6749 section 3.2); nothing of it is read."""
        try:
            return super().get_request()
        except ssl.SSLError as error:
            self.handshake_failures.append((time.time(), error.reason or str(error)))
            if error.reason == PLAIN_HTTP_REASON and self.recording is not None:
                self.recording.append(plain_http_request(time.time()))
            raise

    def server_bind(self) -> None:
        """A port that cannot be bound (in use) raises OSError to the caller: werkzeug's own handling
        prints two lines to stderr and calls sys.exit(1), which took the caller's process with it."""
        try:
            super().server_bind()
        except OSError as error:
            self.socket.close()
            raise _CannotBind(error) from None

    def process_request(self, request, client_address) -> None:
        with self._lock:  # in the serving thread, before the connection's own thread starts
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def end_kept_connections(self, wait: float = 2.0) -> None:
        """Every open connection ends after its answer, so that a client's next request opens a new
        one; new connections are served. Waits (at most `wait` seconds) until they have ended: Linux
        still lets a connection read what arrives after its shutdown, so a client's request sent
        meanwhile would be answered on the old connection."""
        with self._lock:
            ending = {connection for connection in self._connections if not self._spared(connection)}
            for connection in ending:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(connection, socket.SHUT_RD)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with self._lock:
                if not ending & self._connections:
                    return
            time.sleep(0.01)

    def _spared(self, connection: socket.socket) -> bool:
        """Whether `connection`'s client is one `spared` names (an exception in the SNI callback would fail the
        handshake)."""
        try:
            return self.spared(connection.getpeername())
        except OSError:  # already closed by its client: nothing to spare
            return False

    def end_connections(self) -> None:
        """No connection is answered again. Each reads its end: a thread waiting for a next request
        finishes at once, one answering a request finishes its answer first. (server_close() does
        not wait for them: werkzeug's connection threads are daemons.) The flag covers a request
        that arrives after the shutdown, which Linux still lets a connection read."""
        with self._lock:
            self.stopped = True
            for connection in self._connections:
                # the plain socket's shutdown: ssl's would drop TLS from under an answer being written
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(connection, socket.SHUT_RD)


def _twins(first: "_Server", hosts, ssl_context) -> list["_Server"]:
    """`first`'s port on each of `hosts`, serving its application: one a host the machine does not have (no IPv6)
    is left out, as no other process can listen there either; one another process holds raises OSError."""
    twins: list[_Server] = []
    for host in hosts:
        try:
            twin = _Server(host, first.server_port, ssl_context=ssl_context)
        except OSError as error:
            if error.errno in (errno.EADDRNOTAVAIL, errno.EAFNOSUPPORT):
                continue
            first.server_close()
            for made in twins:
                made.server_close()
            raise OSError(error.errno, f"{error.strerror} on [{host}]:{first.server_port}") from None
        twin.app = first.app
        twins.append(twin)
    return twins


class SandboxServer:
    """A started sandbox: `url` is where it listens, `issuer` what it publishes; `recording` logs
    every request it receives, `faults` injects wrong answers at run time.

    `more_defect_sets` serves further sandboxes from the same process and thread, each on its own
    port with its own switches, state and issuer (`issuers`: the issuer of each defect set, the
    first one's included), so that one server proves many switches (the detection matrix)."""

    def __init__(
        self,
        registry: Registry,
        defects=(),
        host: str = "127.0.0.1",
        port: int = 0,
        issuer=None,
        more_defect_sets=(),
        code_lifetime: int = 300,
        ssl_context=None,
        also_on=(),
    ) -> None:
        first = _Server(host, port, ssl_context=ssl_context)  # HTTPS with a context
        self.url = f"{'https' if ssl_context else 'http'}://{host}:{first.server_port}"
        self.issuer = (issuer or self.url).rstrip("/")
        self.recording, self.faults = RequestLog(), Faults()
        first.app = create_app(
            self.issuer, registry, Defects(defects), self.recording, self.faults, code_lifetime=code_lifetime
        )
        self.issuers = {tuple(defects): self.issuer}
        # the first port on each of `also_on`'s hosts too (::1 beside 127.0.0.1, where the issuer names localhost,
        # which a client may resolve to either): the same sandbox, so that no other process can answer there
        self._first_port = [first, *_twins(first, also_on, ssl_context)]
        for server in self._first_port:
            server.recording = self.recording
        self._servers = list(self._first_port)
        for names in map(tuple, more_defect_sets):
            server = _Server(host, 0)
            self.issuers[names] = f"http://{host}:{server.server_port}"
            server.app = create_app(self.issuers[names], registry, Defects(names), code_lifetime=code_lifetime)
            self._servers.append(server)
        # stop() wakes the serving loop at once (socketserver's own loop looks every 0.5 s, which
        # every run paid at its end)
        self._wake, self._waker = socket.socketpair()
        self._thread = threading.Thread(target=self.serve_forever, name="sandbox", daemon=True)

    def serve_alternative_tls(
        self, context: ssl.SSLContext | None, end_kept: bool = True, spared: Callable[[tuple], bool] | None = None
    ) -> None:
        """New TLS connections to the first port are served with `context` from now on (None: with the
        server's own again), and (`end_kept`) the connections kept open end after their answers, so that a client's
        next request meets it. A request on such a connection is logged with the note {"tls": "alternative"};
        a handshake the client broke off is in handshake_failures. A client whose address (the connection's
        peer, (host, port)) `spared` says yes to is served with the server's own context still, and its kept
        connections stay open: a client that must go on as before while others meet `context`."""
        for server in self._first_port:
            server.alternative_tls, server.spared = context, spared or _nobody
            if end_kept:
                server.end_kept_connections()

    @property
    def handshake_failures(self) -> list[tuple[float, str]]:
        """(time.time(), the TLS alert or error) of each handshake on the first port that failed."""
        return sorted(failure for server in self._first_port for failure in server.handshake_failures)

    def signed_in_session(self, username: str) -> tuple[str, str]:
        """The session cookie (name, value) of a browser in which `username` signed in on the first port's
        sandbox (sandbox.app.signed_in_session)."""
        return signed_in_session(cast(Flask, self._first_port[0].app), username)

    def start(self) -> "SandboxServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._waker.send(b"stop")
        if self._thread.is_alive():
            self._thread.join()
        for server in self._servers:  # no connection is accepted any more
            server.end_connections()
            server.server_close()
        self._wake.close()
        self._waker.close()

    def serve_forever(self) -> None:
        """Accept connections on every port until stop(); each is served in its own thread."""
        with selectors.DefaultSelector() as selector:
            selector.register(self._wake, selectors.EVENT_READ)
            for server in self._servers:
                selector.register(server, selectors.EVENT_READ, server)
            while True:
                for key, _ in selector.select():
                    if key.data is None:
                        return
                    key.data.handle_request()  # a connection is waiting: accepted without blocking
