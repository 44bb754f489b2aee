"""Small misbehaving and hostile servers on loopback, for the network-fault and secrets tests.
Each stops with its test."""

import contextlib
import datetime
import gzip
import http.server
import ipaddress
import json
import re
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qsl

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


class SlowRelay:
    """Relays TCP to `port` on loopback, the answers one byte at a time, `every` seconds apart: a
    TLS handshake, headers and body that each read gets quickly and the whole never does."""

    def __init__(self, port: int, every: float):
        self.port, self.every = port, every
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"https://127.0.0.1:{self.socket.getsockname()[1]}"
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                client, _ = self.socket.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.port))
            threading.Thread(target=self._pipe, args=(client, server, 0), daemon=True).start()
            threading.Thread(target=self._pipe, args=(server, client, self.every), daemon=True).start()

    @staticmethod
    def _pipe(source, target, every):
        """Copies `source` to `target`: byte by byte, `every` seconds apart, or as it comes for 0."""
        try:
            while data := source.recv(1 if every else 65536):
                target.sendall(data)
                time.sleep(every)
        except OSError:
            pass
        finally:
            source.close()
            target.close()

    def close(self):
        self.socket.close()


class RawServer:
    """Accepts connections and then either says nothing (`silent`), resets them (`reset`), or answers
    with no HTTP but terminal control sequences (`escapes`: set the window's title, clear the screen,
    ESC, BEL and C1's CSI) and closes them."""

    ESCAPES = b"\x1b]0;PWNED-TITLE\x07\x1b[2J\x1b[31mEVIL\x9b31m\r\n\r\n"

    def __init__(self, behaviour: str):
        self.behaviour, self.held = behaviour, []
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"
        self.connections = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            self.connections += 1
            if self.behaviour == "silent":
                self.held.append(connection)
            elif self.behaviour == "escapes":
                connection.recv(4096)
                connection.sendall(self.ESCAPES)
                connection.close()
            else:
                connection.recv(1024)
                connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                connection.close()

    def close(self):
        for connection in self.held:
            connection.close()
        self.socket.close()


class Fault:
    """Answer `status` (with `headers`) the first `times` times a matching request is seen."""

    def __init__(
        self, method: str, path: str, status: int, times: int = 1, headers=None, body_contains="", answer=None
    ):
        self.method, self.path, self.status, self.times = method, re.compile(path), status, times
        self.headers, self.body_contains = headers or {}, body_contains
        self.answer = answer if answer is not None else b'{"error": "injected fault"}'  # the body it answers

    def matches(self, method: str, path: str, body: str) -> bool:
        return method == self.method and self.path.search(path) and self.body_contains in body


class FaultyProxy:
    """A reverse proxy to `target` that injects faults; `seen` counts each distinct request.
    `renames` ({server's form field: the name this proxy publishes}) gives the target's HTML
    forms other field names, as a server with its own login page would have. With
    `echo_credentials`, every JSON error says what it received: the form as sent (URL-encoded),
    its values decoded (JSON-escaped in the answer), the form as JSON (escaped twice) and the
    Authorization header (base64); every answer repeats that header in X-Received, successes too.
    `rewrite(method, path, status, headers, body) -> (status, headers, body)` changes the target's
    answers, as a server that answers the same thing its own way would (another status, more challenges)."""

    def __init__(
        self,
        faults=(),
        tls_cert: Path | None = None,
        tls_key: Path | None = None,
        renames=None,
        echo_credentials=False,
        rewrite=None,
    ):
        self.faults, self.target, self.seen = list(faults), None, Counter()
        self.rewrite = rewrite
        self.renames = {k.encode(): v.encode() for k, v in (renames or {}).items()}
        self.echo_credentials = echo_credentials
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                proxy.handle(self)

            do_POST = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        scheme = "http"
        if tls_cert:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls_cert, tls_key)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def handle(self, handler):
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0))
        key = (handler.command, handler.path, body)
        self.seen[key] += 1
        for fault in self.faults:
            if (
                fault.matches(handler.command, handler.path, body.decode(errors="replace"))
                and self.seen[key] <= fault.times
            ):
                return self._answer(handler, fault.status, fault.headers, fault.answer)
        headers = {k: v for k, v in handler.headers.items() if k.lower() not in ("host", "content-length")}
        for own, published in self.renames.items():
            body = re.sub(rb"(^|&)" + re.escape(published) + rb"=", rb"\1" + own + b"=", body)
        response = requests.request(
            handler.command, self.target + handler.path, data=body, headers=headers, allow_redirects=False, timeout=10
        )
        passed = {
            k: v
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding")
        }
        content = response.content
        if self.echo_credentials and "Authorization" in handler.headers:
            passed["X-Received"] = handler.headers["Authorization"]
        if self.echo_credentials and response.status_code >= 400 and content.startswith(b"{"):
            form = dict(parse_qsl(body.decode(errors="replace")))
            received = (
                f"{body.decode(errors='replace')} {' '.join(form.values())} {json.dumps(form)} "
                f"{handler.headers.get('Authorization', '')}"
            )
            content = json.dumps({**json.loads(content), "error_description": f"received {received}"}).encode()
        if response.headers.get("Content-Type", "").startswith("text/html"):
            for own, published in self.renames.items():
                content = content.replace(b'name="' + own + b'"', b'name="' + published + b'"')
        status = response.status_code
        if self.rewrite is not None:
            status, passed, content = self.rewrite(handler.command, handler.path, status, passed, content)
        self._answer(handler, status, passed, content)

    @staticmethod
    def _answer(handler, status, headers, body):
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def count(self, method: str, path_part: str, body_part: str = "") -> int:
        return sum(
            n for (m, p, b), n in self.seen.items() if m == method and path_part in p and body_part.encode() in b
        )

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class Relay:
    """Records every request and passes it on to `target` (one URL, whatever the request's path), the
    answer back unchanged but for a relative Location, made absolute on the target's origin: a server
    that reads what a login form posted to it and completes the sign-in, so that nothing looks amiss."""

    def __init__(self):
        self.target, self.requests = "", []
        relay = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                relay.requests.append((self.command, self.path, body.decode(errors="replace")))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")}
                answer = requests.request(
                    self.command, relay.target, data=body, headers=headers, allow_redirects=False, timeout=10
                )
                self.send_response(answer.status_code)
                for name, value in answer.headers.items():
                    if name.lower() == "location" and value.startswith("/"):
                        value = relay.target.split("/", 3)[0] + "//" + relay.target.split("/", 3)[2] + value
                    if name.lower() not in ("content-length", "transfer-encoding", "connection", "content-encoding"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_POST = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


class Answer:
    """What a `HostileServer` answers on one path. `body` is bytes, or a callable that writes to
    the socket itself (dripping, endless, cut short). A route may also be a function of the
    request body that returns an Answer (an echo)."""

    def __init__(self, status=200, headers=None, body=b"", json_body=None):
        self.status, self.headers = status, dict(headers or {})
        if json_body is not None:
            body = json.dumps(json_body).encode()
            self.headers.setdefault("Content-Type", "application/json")
        self.body = body


class HostileServer:
    """An HTTP/1.1 server on loopback whose answers the test writes: a discovery document that
    points wherever the test says, token responses with any content type, echoes, drips, bombs.
    `requests` holds every request seen, as (method, path, headers, body)."""

    def __init__(self, routes: dict):
        self.routes, self.requests = routes, []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                path = self.path.split("?")[0]
                server.requests.append((self.command, self.path, dict(self.headers), body.decode(errors="replace")))
                answer = server.routes.get(path) or Answer(404, body=b"not here")
                if not isinstance(answer, Answer):  # a function of the request body
                    answer = answer(body.decode(errors="replace"))
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                if callable(answer.body):
                    with contextlib.suppress(OSError):  # the client gave up, as it should
                        answer.body(self)
                    self.close_connection = True
                    return
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_POST = do_GET

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def discovery(self, **endpoints) -> Answer:
        """A discovery document for this server; `endpoints` replace its URLs."""
        metadata = {
            "issuer": self.url,
            "authorization_endpoint": self.url + "/connect/authorize",
            "token_endpoint": self.url + "/connect/token",
            "jwks_uri": self.url + "/jwks",
            "revocation_endpoint": self.url + "/connect/revocation",
            "grant_types_supported": ["client_credentials"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            **endpoints,
        }
        return Answer(json_body=metadata)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def drip(body: bytes, every: float, announced: bool = True):
    """A body sent one byte at a time, `every` seconds apart: each read is quick, the whole is not.
    Not `announced`, it has no Content-Length and ends with the connection."""

    def write(handler):
        if announced:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for byte in body:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return write


def drip_headers(every: float):
    """A status line and headers sent one byte at a time, `every` seconds apart, and never ended:
    each read is quick, the answer never comes."""

    def write(handler):
        handler._headers_buffer = []  # what send_response queued: this answer writes its own
        for byte in b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"x" * 100_000:
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
            time.sleep(every)

    return write


def endless(chunk: bytes = b"x" * 65536):
    """A chunked body that never ends (until the client hangs up)."""

    def write(handler):
        handler.send_header("Transfer-Encoding", "chunked")
        handler.end_headers()
        while True:
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))

    return write


def huge(size: int, chunk: bytes = b"x" * 65536):
    """A body of `size` bytes, announced in Content-Length and sent as fast as it is read."""

    def write(handler):
        handler.send_header("Content-Length", str(size))
        handler.end_headers()
        for _ in range(size // len(chunk)):
            handler.wfile.write(chunk)

    return write


def cut_short(body: bytes, declared: int):
    """Announces `declared` bytes, sends `body` (fewer) and hangs up."""

    def write(handler):
        handler.send_header("Content-Length", str(declared))
        handler.end_headers()
        handler.wfile.write(body)
        handler.wfile.flush()
        handler.connection.shutdown(socket.SHUT_RDWR)

    return write


def gzip_bomb(inflated_mib: int) -> bytes:
    """gzip members of 16 MiB of zeros, concatenated (RFC 1952 allows it): about 16 KB each."""
    member = gzip.compress(b"\0" * 2**24, compresslevel=9)
    return member * max(1, inflated_mib // 16)


def browser_driven_spa(app_url: str, timeout: float = 10.0):
    """What appside's BrowserDriver reads of an application file, for a single-page application served at
    `app_url` whose callback is `/callback` and whose signed-in page says "signed in": the browser tests
    drive such an application against a HostileServer standing in for it."""
    from types import SimpleNamespace

    return SimpleNamespace(
        drive=SimpleNamespace(
            sign_in_url=app_url + "/",
            use_api_url=None,
            timeout=timeout,
            settle=0.5,
            signed_in=SimpleNamespace(selector=None, text="signed in"),
        ),
        redirect_uris=(app_url + "/callback",),
        app_type="spa",
    )


def registered_stand_in(client_id: str, app_type: str, redirect_uris: tuple):
    """appside's stand-in, started for an application registered as `client_id` of `app_type` with `redirect_uris`
    (its user too): what the browser tests' applications sign in with."""
    from types import SimpleNamespace

    from appside.stand_in import start_stand_in
    from sandbox.faults import SHORT_LIFETIME

    return start_stand_in(
        SimpleNamespace(
            client_id=client_id,
            app_type=app_type,
            redirect_uris=redirect_uris,
            scope="openid profile email",
            tenant_id=None,
            is_interactive=True,
            issuer_port=0,
            access_token_lifetime=SHORT_LIFETIME,
            refresh_token_app_types=("web",),
        )
    )
