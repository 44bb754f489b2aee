"""Run the sandbox as a real HTTP server on loopback, in a background thread."""

import selectors
import socket
import threading

from werkzeug.serving import make_server

from .app import create_app
from .defects import Defects
from .faults import Faults
from .recording import RequestLog
from .registry import Registry


class SandboxServer:
    """A started sandbox: `url` is where it listens, `issuer` what it publishes; `recording` logs
    every request it receives, `faults` injects wrong answers at run time.

    `more_defect_sets` serves further sandboxes from the same process and thread, each on its own
    port with its own switches, state and issuer (`issuers`: the issuer of each defect set, the
    first one's included), so that one server proves many switches (the detection matrix)."""

    def __init__(self, registry: Registry, defects=(), host="127.0.0.1", port=0, issuer=None,
                 more_defect_sets=(), code_lifetime=300, ssl_context=None):
        first = make_server(host, port, app=None, threaded=True, ssl_context=ssl_context)  # HTTPS with a context
        self.url = f"{'https' if ssl_context else 'http'}://{host}:{first.server_port}"
        self.issuer = (issuer or self.url).rstrip("/")
        self.recording, self.faults = RequestLog(), Faults()
        first.app = create_app(self.issuer, registry, Defects(defects), self.recording, self.faults,
                               code_lifetime=code_lifetime)
        self.issuers = {tuple(defects): self.issuer}
        self._servers = [first]
        for names in map(tuple, more_defect_sets):
            server = make_server(host, 0, app=None, threaded=True)
            self.issuers[names] = f"http://{host}:{server.server_port}"
            server.app = create_app(self.issuers[names], registry, Defects(names), code_lifetime=code_lifetime)
            self._servers.append(server)
        # stop() wakes the serving loop at once (socketserver's own loop looks every 0.5 s, which
        # every run paid at its end)
        self._wake, self._waker = socket.socketpair()
        self._thread = threading.Thread(target=self.serve_forever, name="sandbox", daemon=True)

    def start(self) -> "SandboxServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._waker.send(b"stop")
        if self._thread.is_alive():
            self._thread.join()
        for server in self._servers:
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
