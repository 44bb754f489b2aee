"""Run the sandbox as a real HTTP server on loopback, in a background thread."""

import threading

from werkzeug.serving import make_server

from .app import create_app
from .defects import Defects
from .registry import Registry


class SandboxServer:
    """A started sandbox: `url` is where it listens, `issuer` what it publishes."""

    def __init__(self, registry: Registry, defects=(), host="127.0.0.1", port=0, issuer=None):
        self._http = make_server(host, port, app=None, threaded=True)
        self.url = f"http://{host}:{self._http.server_port}"
        self.issuer = (issuer or self.url).rstrip("/")
        self._http.app = create_app(self.issuer, registry, Defects(defects))
        self._thread = threading.Thread(target=self._http.serve_forever, name="sandbox", daemon=True)

    def start(self) -> "SandboxServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def serve_forever(self) -> None:
        self._http.serve_forever()
