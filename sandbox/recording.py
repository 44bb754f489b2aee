"""A log of the requests the sandbox receives, for whoever drives a client against it.

Every request is kept with what the sandbox answered, so a caller can see afterwards what a
client sent: its authorization requests, token requests (with the tokens issued), refreshes,
userinfo and API calls. `clear()` starts a new log, e.g. one per test case. Bounded: only the
latest `limit` requests are kept."""

import threading
import time
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from flask import Request, Response


@dataclass(frozen=True)
class RecordedRequest:
    at: float  # time.time() when the request arrived
    method: str
    path: str
    query: tuple  # (name, value) pairs, repeated names kept
    form: tuple  # (name, value) pairs of a form body
    headers: dict = field(repr=False)  # Authorization, Content-Type, Origin
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
    def location_params(self) -> dict:
        parts = urlsplit(self.location)
        return dict(parse_qsl(parts.query or parts.fragment, keep_blank_values=True))


RECORDED_HEADERS = ("Authorization", "Content-Type", "Origin")


class RequestLog:
    def __init__(self, limit: int = 2000) -> None:
        self._entries: deque[RecordedRequest] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def entries(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._entries)

    def record(self, request: Request, response: Response, notes: dict) -> None:
        """Flask's request and response, after the sandbox answered."""
        form = tuple(request.form.items(multi=True)) if request.mimetype == "application/x-www-form-urlencoded" else ()
        body = urlencode(form) if form else request.get_data(as_text=True, cache=True)
        answer = response.get_json(silent=True) if response.is_json else None
        entry = RecordedRequest(
            at=time.time(),
            method=request.method,
            path=request.path,
            query=tuple(parse_qsl(request.query_string.decode(), keep_blank_values=True)),
            form=form,
            headers={k: request.headers[k] for k in RECORDED_HEADERS if k in request.headers},
            body=body,
            status=response.status_code,
            location=response.headers.get("Location", ""),
            response_json=answer if isinstance(answer, dict) else None,
            notes=dict(notes),
        )
        with self._lock:
            self._entries.append(entry)
