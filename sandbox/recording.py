"""A log of the requests the sandbox receives, for whoever drives a client against it.

Every request is kept with what the sandbox answered, so a caller can see afterwards what a
client sent: its authorization requests, token requests (with the tokens issued), refreshes,
userinfo and API calls. `clear()` starts a new log, e.g. one per test case. Bounded: only the
latest `limit` requests are kept.

The log is taken by `RecordingMiddleware`, around everything else the sandbox runs: a request
is kept whatever its method, content type or fate, also when a guard (a JSON body at the token
endpoint, an oversized body, unreadable Basic credentials) answers it before Flask sees it."""

import contextlib
import io
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from werkzeug.wsgi import get_content_length, get_input_stream

if TYPE_CHECKING:  # typeshed's WSGI types exist for type checkers only
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

FORM = "application/x-www-form-urlencoded"
NOTES_KEY = "sandbox.notes"  # where a request's notes wait in the WSGI environ for the log
# whether the request's connection was served with SandboxServer.serve_alternative_tls's context
TLS_ALTERNATIVE_KEY = "sandbox.tls_alternative"
# The note of an authorization response delivered as a form that posts itself (response_mode=form_post):
# the response as the redirect it would otherwise have been, its parameters in the query.
FORM_POST_NOTE = "form_post"
# The note of a plaintext HTTP request that reached the HTTPS port: OpenSSL refuses its handshake ("http request"),
# so nothing of it is read (its headers and body may carry a client secret or a bearer token, which the log keeps
# nowhere); its entry has no method or path, only its arrival and this note.
PLAIN_HTTP_NOTE = "plain_http"
MAX_RECORDED_BODY = 64 * 1024  # an OAuth request is a few hundred bytes; a bigger body is noted, not kept


@dataclass(frozen=True)
class RecordedRequest:
    at: float  # time.time() when the request arrived
    method: str
    path: str
    query: tuple  # (name, value) pairs, repeated names kept
    form: tuple  # (name, value) pairs of a form body
    headers: dict[str, str] = field(repr=False)  # every header, as the client named it (up to MAX_RECORDED_HEADERS)
    body: str = field(default="", repr=False)
    status: int = 0
    location: str = field(default="", repr=False)  # where a redirect sent the client
    response_json: dict | None = field(default=None, repr=False)
    notes: dict = field(default_factory=dict)  # what the sandbox found, e.g. about a bearer token

    def param(self, name: str) -> str | None:
        """A parameter from the query or the form body (the first one if repeated)."""
        return next((v for k, v in (*self.query, *self.form) if k == name), None)

    def params(self, name: str) -> list[str]:
        return [v for k, v in (*self.query, *self.form) if k == name]

    @property
    def content_type(self) -> str:
        """The body's media type, lower case, without its parameters ("" for none)."""
        return self.headers.get("Content-Type", "").split(";")[0].strip().lower()

    @property
    def json_body(self) -> dict | None:
        try:
            value = json.loads(self.body) if self.body else None
        except ValueError:
            return None
        return value if isinstance(value, dict) else None

    @property
    def delivered_to(self) -> str:
        """Where the answer sent the client with parameters: a redirect's Location, or the URL an
        authorization response posted by a form (form_post) would have been as a redirect."""
        return self.location or self.notes.get(FORM_POST_NOTE, "")

    @property
    def location_params(self) -> dict:
        """The parameters the answer sent the client to its redirect_uri with, however delivered:
        in a Location's query or fragment, or in the fields of a form_post page."""
        parts = urlsplit(self.delivered_to)
        return dict(parse_qsl(parts.query or parts.fragment, keep_blank_values=True))


# A request's headers are a few hundred bytes; a client that sends more (a browser's cookies) has them kept
# up to this many characters, names and values, in the order they came; one that does not fit is noted as cut
MAX_RECORDED_HEADERS = 32 * 1024
HEADERS_CUT_NOTE = "headers_cut"  # the note of a request whose headers were not all kept: how many were left out


class RequestLog:
    def __init__(self, limit: int = 2000) -> None:
        self._entries: deque[RecordedRequest] = deque(maxlen=limit)
        self._lock = threading.Lock()
        # Called with each entry as it is recorded, before its answer leaves: what the answer
        # carries (tokens) is known to a listener before the client has it.
        self.listeners: list = []
        self._in_flight = 0
        self._last_activity = 0.0

    def activity(self) -> tuple[int, float]:
        """How many requests are being answered now, and when (time.time()) the last one arrived or
        was answered: a caller waiting for a client's next request can tell a quiet client from a
        request still on its way into the log."""
        with self._lock:
            return self._in_flight, self._last_activity

    def _arrived(self) -> None:
        with self._lock:
            self._in_flight += 1
            self._last_activity = time.time()

    def _answered(self) -> None:
        with self._lock:
            self._in_flight -= 1
            self._last_activity = time.time()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def append(self, entry: RecordedRequest) -> None:
        with self._lock:
            self._entries.append(entry)
        for listener in self.listeners:
            listener(entry)


def plain_http_request(arrived: float) -> RecordedRequest:
    """The log's entry of a plaintext HTTP request on the HTTPS port (PLAIN_HTTP_NOTE)."""
    return RecordedRequest(arrived, "", "", (), (), {}, notes={PLAIN_HTTP_NOTE: True})


class RecordingMiddleware:
    """WSGI: reads the request (its body up to MAX_RECORDED_BODY, however framed, given back to the
    application unchanged), lets the application answer, and logs both. A CORS preflight (OPTIONS) is the
    browser's, not the client's, and is not logged."""

    def __init__(self, wsgi_app: "WSGIApplication", log: RequestLog) -> None:
        self.wsgi_app, self.log = wsgi_app, log

    def __call__(self, environ: "WSGIEnvironment", start_response: "StartResponse") -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") == "OPTIONS":
            return self.wsgi_app(environ, start_response)
        self.log._arrived()
        try:
            arrived, body = time.time(), _read_body(environ)
            answer: dict = {}

            def recording_start_response(
                status: str, headers: list[tuple[str, str]], exc_info: "OptExcInfo | None" = None
            ) -> Callable[[bytes], object]:
                answer["status"], answer["headers"] = int(status.split()[0]), headers
                return start_response(status, headers, exc_info)

            answered = self.wsgi_app(environ, recording_start_response)
            try:
                chunks = list(answered)
            finally:
                if hasattr(answered, "close"):  # as WSGI asks of whoever iterates a response
                    answered.close()
            self.log.append(_entry(environ, body, arrived, answer, b"".join(chunks)))
        finally:
            self.log._answered()
        return chunks


def _read_body(environ: "WSGIEnvironment") -> bytes:
    """The body as the application reads it (werkzeug's get_input_stream): its Content-Length's bytes, or, where
    the server ends the stream itself (wsgi.input_terminated: a chunked body, RFC 9112 section 7.1, which a
    client without a Content-Length sends), up to the stream's end. Given back to the application unchanged."""
    declared = environ.get("CONTENT_LENGTH") or ""
    length = get_content_length(environ)  # None for a chunked body
    if (declared.isdigit() and int(declared) > MAX_RECORDED_BODY) or (length or 0) > MAX_RECORDED_BODY:
        # one a guard refuses unread: its size is in the Content-Length, even beside a Transfer-Encoding (a
        # request that says both is refused for its Content-Length, never waited for)
        return b""
    stream = get_input_stream(environ)
    body = b""
    while len(body) <= MAX_RECORDED_BODY and (piece := stream.read(MAX_RECORDED_BODY + 1 - len(body))):
        body += piece
    if len(body) > MAX_RECORDED_BODY:  # a chunked body that long: not kept, the application still reads it all
        environ["wsgi.input"] = _ReadAgain(body, stream)
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    return body


class _ReadAgain(io.RawIOBase):
    """The part of a body already read, then the rest of its stream."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = io.BytesIO(head), rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]  # RawIOBase: any writable buffer
        count = self._head.readinto(buffer)
        if count:
            return count
        piece = self._rest.read(len(buffer))
        buffer[: len(piece)] = piece
        return len(piece)


def _entry(
    environ: "WSGIEnvironment", body: bytes, arrived: float, answer: dict, response_body: bytes
) -> RecordedRequest:
    headers, cut = _headers(environ)
    notes = dict(environ.get(NOTES_KEY) or {})
    if cut:
        notes[HEADERS_CUT_NOTE] = cut
    if environ.get(TLS_ALTERNATIVE_KEY):
        notes["tls"] = "alternative"
    text = body.decode("utf-8", errors="replace")
    content_type = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    response_headers = dict(answer.get("headers", ()))
    response_json = None
    if response_headers.get("Content-Type", "").startswith("application/json"):
        with contextlib.suppress(ValueError):
            response_json = json.loads(response_body)
    return RecordedRequest(
        at=arrived,
        method=environ.get("REQUEST_METHOD", ""),
        path=environ.get("PATH_INFO", ""),
        query=tuple(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True)),
        form=tuple(parse_qsl(text, keep_blank_values=True)) if content_type == FORM else (),
        headers=headers,
        body=text,
        status=answer.get("status", 0),
        location=response_headers.get("Location", ""),
        response_json=response_json if isinstance(response_json, dict) else None,
        notes=notes,
    )


def _headers(environ: "WSGIEnvironment") -> tuple[dict[str, str], int]:
    """Every header of the request, named as HTTP writes them (X-Refresh-Token), whatever it is: a client
    may send a credential in a header of its own; and how many were left out past MAX_RECORDED_HEADERS."""
    found = [("Content-Type", environ.get("CONTENT_TYPE")), ("Content-Length", environ.get("CONTENT_LENGTH"))]
    found += [
        ("-".join(word.capitalize() for word in key[5:].split("_")), value)
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    ]
    # those the sandbox's own checks read first, so that a client's big cookies never push them out
    found.sort(key=lambda header: header[0] not in ("Authorization", "Content-Type", "Origin", "User-Agent"))
    headers: dict[str, str] = {}
    size = cut = 0
    for name, value in found:
        if not value:
            continue
        if size + len(name) + len(value) > MAX_RECORDED_HEADERS:
            cut += 1
        else:
            headers[name], size = value, size + len(name) + len(value)
    return headers, cut
