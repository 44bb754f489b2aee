"""HTTP with a record: every exchange is kept for the scenario and attached, redacted, to the
Allure step that made it, with a curl command that reproduces it.

Real servers are slow, rate-limited and sometimes down, so a request is retried a bounded
number of times with backoff, honouring Retry-After, and each attempt is recorded:
- when the server never saw it (connection refused or reset before an answer) or said 429:
  any request;
- after a 5xx or a read timeout: only requests whose repetition cannot change the outcome
  (`idempotent`: GETs, a userinfo POST, client_credentials). A code or rotating refresh token
  redemption is single use, so it is never retried blindly.
A transport failure that persists is an `EnvironmentProblem`, not a non-conformance. HTTP 500 to
the last attempt the request allows (every attempt of a repeatable one, the one attempt of a
single-use one) is a `RepeatedServerError`: the server's answer, which the record judges against
the rule where the server answers other requests of the run."""

import contextlib
import heapq
import http.client
import json
import re
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from typing import Any, ClassVar, cast
from urllib.parse import parse_qsl, unquote_plus, urlsplit, urlunsplit

import allure
import allure_commons
import requests
from allure_commons.logger import AllureFileLogger
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from suite.configuration.environment import HttpSettings, is_loopback
from suite.secrets.redaction import REDACTOR, said
from suite.verdict.checks import ConfigurationProblem, NonConformance
from suite.wire.reproduction import snippet


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: dict
    request_body: str
    status: int
    response_headers: dict
    response_body: str
    seconds: float
    authorization: object = None  # the scenario's authorization request, if any (suite.wire.scenario)

    def report(self) -> str:
        """The exchange as a reviewer reads it; every secret masked."""
        lines = [f"{self.method} {redact_url(self.url)}"]
        lines += [f"{k}: {v}" for k, v in REDACTOR.fields(self.request_headers).items()]
        if self.request_body:
            lines += ["", _redact_body(self.request_body)]
        lines += ["", f"HTTP {self.status} ({self.seconds * 1000:.0f} ms)"]
        lines += [f"{k}: {v}" for k, v in REDACTOR.fields(self.response_headers).items()]
        if self.response_body:
            lines += ["", _redact_body(self.response_body)]
        lines += ["", REPRODUCE, self.curl()]
        return REDACTOR.scrub("\n".join(lines))

    def curl(self) -> str:
        return REDACTOR.scrub(
            snippet(self.method, self.url, self.request_headers, self.request_body, self.authorization)
        )


RETRIED_STATUSES = {429, 500, 502, 503, 504}
MAX_JSON_DEPTH = 64  # no OAuth or OpenID document nests deeper than a few levels
MAX_BODY_BYTES = 10 * 1024 * 1024  # after decompression; no OAuth response comes near it
CHUNK_BYTES = 64 * 1024
ANSWER = "token or discovery response"  # what a request of the suite's is answered with, unless it says


class EnvironmentProblem(Exception):
    """The server could not be reached or kept failing: no verdict on any rule is possible.
    `answered`: the server was reached and began an answer, which came too big, too slowly or damaged."""

    answered = False


class RepeatedServerError(EnvironmentProblem):
    """HTTP 500 to every attempt the request allows (one for a single-use request). Alone in a run,
    an outage; where the same server answers other requests in the run, its answer to this one,
    judged against `sentence` (the one that says the request is served, set by the step that made
    it) or else the rule's own (suite/reports/results.py)."""

    sentence: str | None = None


class UntrustedEndpoint(NonConformance):
    """A credential would have gone somewhere the issuer does not vouch for."""


class PolicyRefusal(UntrustedEndpoint, ConfigurationProblem):
    """A credential the suite's own policy withholds where no sentence of an RFC or of Visma's pages binds the
    server there, nor, on the application side, the application: no failure of theirs. The run cannot go on
    without sending it, so the rule could not be checked, a configuration problem (exit 4) whose one line names
    the cause and what to do. Nothing was sent."""


class UntrustedOrigin(PolicyRefusal):
    """A credential would have gone to an origin the environment does not list. No sentence of an RFC or
    of Visma's pages binds the server there (RFC 6749 section 3.1: how it "authenticates the resource owner
    [...] is beyond the scope of this specification"), so the environment either lists that origin as the
    operator's own (http.trusted_origins) or the run cannot go on without sending a credential where nobody
    vouched for it."""


# What a refusal cites: the suite's own policy, where docs/certify-server.md states it.
POLICY_CITED = (
    "Credentials go only to the issuer's origin and those http.trusted_origins lists: the suite's security "
    'policy (docs/certify-server.md, "Where a login page\'s requests may go")'
)


class CredentialPolicy:
    """Where client secrets, passwords, codes and tokens may go: the issuer's origin, or one the
    environment lists in http.trusted_origins, and never over plain HTTP to a host that is not this
    machine. One policy for the suite's HTTP client and for the browser login method's Chromium.
    Without an issuer only the plain-HTTP rule holds."""

    def __init__(
        self,
        issuer: str | None,
        settings: HttpSettings,
        advice: str = "",
        cited: str = POLICY_CITED,
        any_port: tuple[str, ...] = (),
    ) -> None:
        self.origins = {origin_of(o) for o in (issuer, *settings.trusted_origins) if o}
        # plain-HTTP loopback hosts reached on any port: a native application's loopback redirect URI, whose
        # port the operating system chooses at each sign-in (RFC 8252 section 7.3)
        self.any_port = {host.strip("[]").lower() for host in any_port}
        # what a refusal tells the reader to do where the origin belongs there after all (the keys that widen
        # the policy: the environment file's here, the application file's on the application side) and cites
        self.cited = cited
        self.advice = (
            advice
            or "Nothing was sent there. If that host is the operator's own, list its origin in the environment's "
            "http.trusted_origins."
        ) + f" {cited}"

    def refusal(self, url: str) -> str | None:
        """Why a credential must not go to `url`, or None when it may."""
        refused = self._refusal(url)
        return refused[0] if refused else None

    def _refusal(self, url: str) -> tuple[str, type[UntrustedEndpoint]] | None:
        """Why a credential must not go to `url` and what the refusal is, or None when it may. The host and
        port judged are the ones the HTTP client connects to (urllib3 parses what requests sends), and an
        address that parsers read differently is refused even where that host is the issuer's."""
        origin = origin_of(url)
        if origin == UNREADABLE:
            return f"its address cannot be read as a URL. {UNPLAIN_ADVICE} {self.cited}", PolicyRefusal
        host = origin.split("://", 1)[1].rpartition(":")[0]
        if not origin.startswith("https://") and not is_loopback(host):
            return (
                "it would go over plain HTTP to a host that is not this machine; credentials travel only over "
                "TLS (RFC 6749 section 2.3.1, section 3.2)"
            ), UntrustedEndpoint
        if self.origins and origin not in self.origins and not self._any_port(origin):
            listed = ", ".join(sorted(self.origins))
            return f"{origin} is not the issuer's origin ({listed}). {self.advice}", UntrustedOrigin
        odd = ambiguity(url)
        if odd:
            return (
                f"{AMBIGUOUS} ({odd}), so it is not the issuer's origin for certain. {UNPLAIN_ADVICE} {self.cited}",
                (PolicyRefusal),
            )
        return None

    def reaches(self, host: str, port: int) -> bool:
        """Whether a connection to host:port goes to one of the origins credentials may go to."""
        return self._any_port(f"http://{host}:{port}") or any(
            (urlsplit(o).hostname, urlsplit(o).port) == (host, port) for o in self.origins
        )

    def _any_port(self, origin: str) -> bool:
        scheme, _, authority = origin.partition("://")
        return scheme == "http" and authority.rpartition(":")[0].strip("[]") in self.any_port

    def refuse(self, what: str, url: str) -> None:
        """Raises UntrustedEndpoint, saying why, when `what` (the credentials, named) must not go to `url`: a
        PolicyRefusal (a configuration problem) where only the suite's policy withholds it, not a sentence."""
        refused = self._refusal(url)
        if refused:
            reason, refused_as = refused
            raise refused_as(f"refused to send {what}: {reason}")


# What to do about each kind of failure: every environment problem names its cause and then this.
FIXES = {
    "dns": "Check the host name (the issuer's, or the one its discovery document gives) and this machine's "
    "DNS or proxy settings",
    "refused": "Check that the server is running and listens on that host and port",
    "reset": "Check the URL's scheme (http or https) and port, and any proxy or firewall in between",
    "connect_timeout": "Check the network route (proxy, firewall, VPN), or raise http.connect_timeout",
    "read_timeout": "If the server is really that slow, raise http.read_timeout",
    "certificate": "If a private CA issued the server's certificate, give its PEM file in http.ca_bundle",
    "tls": "Check that the URL's port speaks TLS and that this machine's CA certificates are current",
    "deadline": "If the server is really that slow, raise http.exchange_timeout",
    "too_big": "Check that the URL is the authorization server's own",
    "damaged": "The answer was damaged on its way: run again, and check any proxy in between",
    "failing": "The server keeps failing: run again later, or ask its operators",
    "not_http": "The server's answer breaks HTTP's limits or syntax: ask its operators, and check that the URL's "
    "port is the authorization server's",
    "answered": "Where the server answers the run's other requests this is its answer, and the rule fails; "
    "where it answers none, it keeps failing: run again later, or ask its operators",
}


class _TransportFailure(Exception):
    """An answer that did not arrive whole: too slow in all, too big, cut short, or broken compression."""

    def __init__(self, cause: str, kind: str, repeatable: bool = True) -> None:
        super().__init__(cause)
        self.kind, self.repeatable = kind, repeatable


# A server that refused the connections of this many requests in a row, each after its retries, is
# gone (stopped, crashed): later requests get one attempt each until one is answered. A server that
# died mid-run cost every remaining scenario its whole retry budget (189 s against oidc-provider).
SERVER_GONE_AFTER = 3
# An endpoint that timed out (its exchange outlived http.exchange_timeout, or an attempt's connection
# or read timed out, retries included) is not waited for again in the run: later requests to it end at
# once naming that first timeout. A token endpoint that dripped its headers made every scenario wait
# exchange_timeout again (54 scenarios in 400 s at 30 s; over an hour at the default 60 s).
TIMEOUT_KINDS = ("deadline", "connect_timeout", "read_timeout")


class HttpClient:
    """One per scenario: its own cookies, its own record of exchanges.

    `issuer` is the origin credentials may go to (with `settings.trusted_origins`); without it
    only the plain-HTTP rule guards them."""

    refused_in_a_row: ClassVar[int] = 0  # requests of this process refused to the last attempt, in a row
    timed_out: ClassVar[dict[str, EnvironmentProblem]] = {}  # endpoint (no query) -> its first timeout, this process

    def __init__(self, settings: HttpSettings, issuer: str | None = None) -> None:
        self.settings = settings
        self.credentials = CredentialPolicy(issuer, settings)
        self.session = _Session()
        self.session.headers["User-Agent"] = "visma-connect-conformance"
        for scheme in ("http://", "https://"):
            self.session.mount(scheme, _DeadlineAdapter())
        self.exchanges: list[Exchange] = []
        self.authorization: object = None  # set by suite.wire.authorization: what a code's reproduction replays

    def send(
        self, method: str, url: str, idempotent: bool | None = None, answer: str = ANSWER, **kwargs
    ) -> requests.Response:
        """One request, retried as the module says. `idempotent` defaults to True for GET. `answer`: what
        the request is answered with, in words, for a message about an answer too big to be one."""
        idempotent = method == "GET" if idempotent is None else idempotent
        self._refuse_untrusted_credentials(method, url, kwargs)
        endpoint = _endpoint(url)
        first = HttpClient.timed_out.get(endpoint)
        if first is not None:
            unsent = EnvironmentProblem(
                f"not sent ({_where(method, url)}): this endpoint timed out earlier in the run, and the run does not "
                f"wait for it again; the first time: {first}"
            )
            unsent.answered = first.answered
            raise unsent
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", (self.settings.connect_timeout, self.settings.read_timeout))
        kwargs.setdefault("verify", self.settings.ca_bundle or self.settings.verify_tls)
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                response = self._exchange(method, url, kwargs, answer)
            except requests.exceptions.SSLError as error:  # a certificate does not get better by asking again
                cause, kind = _diagnose(error)
                raise EnvironmentProblem(f"TLS failure ({cause}) ({_where(method, url)}). {FIXES[kind]}") from None
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout, _TransportFailure) as error:
                unseen = _never_reached_the_server(error)
                _attach_failed_attempt(method, url, attempt, error)
                repeatable = getattr(error, "repeatable", True)
                cause, kind = (
                    (str(error), error.kind)
                    if isinstance(error, _TransportFailure)
                    else _diagnose(error, self.settings)
                )
                gone = kind == "refused" and HttpClient.refused_in_a_row >= SERVER_GONE_AFTER
                if attempt < attempts and repeatable and (unseen or idempotent) and not gone:
                    time.sleep(self._backoff(attempt))
                    continue
                if kind == "refused":
                    HttpClient.refused_in_a_row += 1
                failure = EnvironmentProblem(
                    f"{cause} ({_where(method, url)}, {attempt} attempt(s)). "
                    + (
                        f"The server refused every connection of the run's last {SERVER_GONE_AFTER} requests, "
                        "retries included: it is gone, and the rest of the run is not retried. "
                        if gone
                        else ""
                    )
                    + FIXES[kind]
                )
                failure.answered = isinstance(error, _TransportFailure) or kind == "not_http"
                if kind in TIMEOUT_KINDS:
                    HttpClient.timed_out.setdefault(endpoint, failure)
                raise failure from None
            HttpClient.refused_in_a_row = 0  # the server answers: whatever was refused before is retried again
            self._record(response, time.monotonic() - started, attempt)
            if response.status_code not in RETRIED_STATUSES:
                return response
            if attempt < attempts and (response.status_code == 429 or idempotent):
                time.sleep(self._wait(response, attempt))
                continue
            # 500 after every attempt the request allows is the server's answer; 502-504 and 429 say "later"
            problem = RepeatedServerError if response.status_code == 500 else EnvironmentProblem
            raise problem(
                f"HTTP {response.status_code} ({_where(method, url)}, {attempt} attempt(s)"
                f"{'' if idempotent or response.status_code == 429 else ', not repeatable'}). "
                f"{FIXES['answered'] if problem is RepeatedServerError else FIXES['failing']}"
            )
        raise AssertionError("unreachable")

    def _exchange(self, method: str, url: str, kwargs: dict, answer: str = "") -> requests.Response:
        """The request and its whole answer, within `exchange_timeout` and MAX_BODY_BYTES: a
        read timeout bounds each read, not a server that drips its answer a byte at a time. An
        exchange cut by that deadline is not tried again: a server that drips its answer would
        only drip it again, and the request with its retries took exchange_timeout once per attempt."""
        deadline = _Deadline(self.settings.exchange_timeout)
        _WATCHED.deadline = deadline
        try:
            response = self.session.request(method, url, stream=True, **kwargs)
            _read_body(response, deadline, answer or ANSWER)
            # what every step reads, guarded (requests' own json() is replaced on this response only)
            response.json = lambda **_: parse_json(response.text)  # type: ignore[method-assign]
            return response
        except requests.exceptions.RequestException:
            if deadline.expired:
                raise _TransportFailure(deadline.describe(), "deadline", repeatable=False) from None
            raise
        finally:
            _WATCHED.deadline = None
            deadline.cancel()

    def _refuse_untrusted_credentials(self, method: str, url: str, kwargs: dict) -> None:
        carried = credentials_in(kwargs)
        if carried and self.credentials.refusal(url):  # the message, and its scrub, only for a refusal
            self.credentials.refuse(f"{', '.join(sorted(carried))} in {_where(method, url)}", url)

    def _backoff(self, attempt: int) -> float:
        return min(self.settings.backoff * 2.0 ** (attempt - 1), self.settings.max_retry_wait)

    def _wait(self, response: requests.Response, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(float(retry_after), self.settings.max_retry_wait)
        return self._backoff(attempt)

    def _record(self, response: requests.Response, seconds: float, attempt: int) -> None:
        _learn_secrets(response)
        request = response.request
        body = request.body.decode(errors="replace") if isinstance(request.body, bytes) else (request.body or "")
        exchange = Exchange(
            request.method or "",
            request.url or "",
            dict(request.headers),
            body,
            response.status_code,
            dict(response.headers),
            response.text,
            seconds,
            self.authorization,
        )
        self.exchanges.append(exchange)
        if not allure_results_written():
            return  # the report and its reproduction command are built only for someone to read
        name = f"{exchange.method} {urlsplit(exchange.url).path} -> {exchange.status}"
        if attempt > 1:
            name += f" (attempt {attempt})"
        allure.attach(exchange.report(), name=name, attachment_type=allure.attachment_type.TEXT)


def _no_credentials(request: requests.PreparedRequest) -> requests.PreparedRequest:
    return request


class _Session(requests.Session):
    """requests reads the environment (proxy variables, CA bundle variables) again for every
    request: 170 microseconds a request, a tenth of what requests itself costs the suite. The
    environment does not change during a run, so what it gives a request is kept for requests to
    the same scheme, host and port with the same settings: the same proxies, the same CA bundle. A
    session given settings of its own (proxies, a certificate...) asks requests every time.

    requests would also add the credentials ~/.netrc names for a request's host to every request
    that carries none, and to every redirect it follows, out of sight of the credential policy
    (CredentialPolicy: only over TLS, only to the issuer's origins) and over plain HTTP too. The
    suite sends only the credentials its environment file gives, so it never reads ~/.netrc.

    And for a redirect it does not follow, requests works out the request that would follow it
    (`Response.next`: its cookies, credentials and proxies, all over again), which cost the suite
    more than a tenth of its time in requests, for nothing: the suite follows redirects itself
    (suite.wire.login) and never reads it. To work it out, requests also reads the redirect's whole
    body outside the suite's limits (MAX_BODY_BYTES: a 302 with a compression bomb filled the
    memory; a body that never ended made it raise RuntimeError once the deadline cut it). So a
    response's `next` is None here; a request made with allow_redirects=True is followed as
    requests follows it."""

    _environment_settings: ClassVar[dict] = {}  # shared on purpose: one lookup per host for every session

    def prepare_request(self, request):
        if request.auth is None and self.auth is None:
            request.auth = _no_credentials  # given credentials, requests looks for none in ~/.netrc
        return super().prepare_request(request)

    def rebuild_auth(self, prepared_request, response) -> None:
        """What requests does to a redirect it follows, less the credentials of ~/.netrc: the
        Authorization header goes when the redirect leaves the host (or downgrades to HTTP)."""
        if "Authorization" in prepared_request.headers and self.should_strip_auth(
            response.request.url, prepared_request.url
        ):
            del prepared_request.headers["Authorization"]

    # requests' own arguments, passed on as they come; only yield_requests is read here
    def resolve_redirects(self, response, request, *args, yield_requests: bool = False, **kwargs):  # type: ignore[override]
        if yield_requests:  # asked by Session.send only, for Response.next
            return iter(())
        return super().resolve_redirects(response, request, *args, **kwargs)

    def merge_environment_settings(self, url, proxies, stream, verify, cert):
        if proxies or not self.trust_env or self.proxies or self.stream or self.cert or self.verify is not True:
            return super().merge_environment_settings(url, proxies, stream, verify, cert)
        key = (urlsplit(url)[:2], proxies is None, stream, repr(verify), repr(cert))  # proxy bypass: host and port
        settings = self._environment_settings.get(key)
        if settings is None:
            settings = self._environment_settings[key] = super().merge_environment_settings(
                url, None if proxies is None else {}, stream, verify, cert
            )
        return {**settings, "proxies": dict(settings["proxies"])}


class _Deadline:
    """Shuts the exchange's connection down when the exchange outlives `seconds` in all.

    It keeps its own duplicate of the socket's descriptor: TLS replaces the socket object during
    the handshake, and http.client lets go of it (connection.sock = None) while a body that ends
    with the connection is still being read; a duplicate reaches the same connection throughout,
    and shutting it down ends every read on it."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.expired, self.done, self.handle = seconds, False, False, None
        self._lock = threading.Lock()
        _WATCHDOG.add(self)

    def watch(self, sock) -> None:
        with self._lock:
            if self.handle is None and not self.done:
                try:
                    self.handle = sock.dup()
                except OSError:
                    return
            if self.expired:
                self._shut()

    def describe(self) -> str:
        return f"the exchange took longer than {self.seconds:g} s in all (http.exchange_timeout)"

    def cancel(self) -> None:
        with self._lock:
            self.done = True
            if self.handle is not None:
                self.handle.close()

    def expire(self) -> None:
        with self._lock:
            if not self.done:
                self.expired = True
                self._shut()

    def _shut(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(OSError):
                self.handle.shutdown(socket.SHUT_RDWR)


class _Watchdog:
    """One thread for every exchange's deadline (a thread per exchange would cost more than
    many exchanges): it sleeps until the earliest one and shuts what is still running then."""

    def __init__(self) -> None:
        self._due: list = []
        self._condition = threading.Condition()
        self._thread: threading.Thread | None = None

    def add(self, deadline: _Deadline) -> None:
        with self._condition:
            at = time.monotonic() + deadline.seconds
            heapq.heappush(self._due, (at, id(deadline), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="exchange-deadlines", daemon=True)
                self._thread.start()
            if self._due[0][2] is deadline:
                self._condition.notify()

    def _run(self) -> None:
        with self._condition:
            while True:
                while self._due and self._due[0][2].done:
                    heapq.heappop(self._due)
                if not self._due:
                    self._condition.wait()
                    continue
                at, _, deadline = self._due[0]
                if at <= time.monotonic():
                    heapq.heappop(self._due)
                    deadline.expire()
                else:
                    self._condition.wait(at - time.monotonic())


_WATCHDOG = _Watchdog()
_WATCHED = threading.local()  # the deadline of the exchange this thread is making


class _Watched(HTTPConnection):
    """A urllib3 connection that puts its socket under the current exchange's deadline: a new
    socket as soon as it exists (before any TLS handshake), a kept-alive one as it is reused."""

    def _new_conn(self):
        sock = super()._new_conn()
        deadline = getattr(_WATCHED, "deadline", None)
        if deadline is not None:
            deadline.watch(sock)
        return sock

    def request(self, *args, **kwargs):
        deadline = getattr(_WATCHED, "deadline", None)
        if deadline is not None and self.sock is not None:
            deadline.watch(self.sock)
        return super().request(*args, **kwargs)


class _WatchedHTTPConnection(_Watched, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_Watched, HTTPSConnection):
    pass


class _DeadlineAdapter(HTTPAdapter):
    def get_connection_with_tls_context(self, *args, **kwargs):
        pool = cast(HTTPConnectionPool, super().get_connection_with_tls_context(*args, **kwargs))
        pool.ConnectionCls = _WatchedHTTPSConnection if pool.scheme == "https" else _WatchedHTTPConnection
        return pool


def _read_body(response: requests.Response, deadline: _Deadline, answer: str = "") -> None:
    """Read and decompress the body, at most MAX_BODY_BYTES of it (urllib3 inflates chunk by
    chunk, so a compression bomb stops at the limit too)."""
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(CHUNK_BYTES):
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                response.close()
                raise _TransportFailure(
                    f"the response body is larger than {MAX_BODY_BYTES // 2**20} MiB "
                    f"(decompressed); no {answer or ANSWER} is that big",
                    "too_big",
                    repeatable=False,
                )
            chunks.append(chunk)
    except (
        requests.exceptions.ChunkedEncodingError,
        requests.exceptions.ContentDecodingError,
        requests.exceptions.ConnectionError,
    ) as error:
        if deadline.expired:
            raise _TransportFailure(deadline.describe(), "deadline", repeatable=False) from None
        if isinstance(error, requests.exceptions.ContentDecodingError):
            raise _TransportFailure(
                "the response's compression is broken (Content-Encoding "
                f"{_cut(response.headers.get('Content-Encoding', ''))})",
                "damaged",
            ) from None
        raise _TransportFailure(
            "the response was cut short: the connection ended before the whole body arrived", "damaged"
        ) from None
    if deadline.expired:  # a body that ends with the connection: shutting it looks like its end
        raise _TransportFailure(deadline.describe(), "deadline", repeatable=False)
    response._content, response._content_consumed = b"".join(chunks), True  # type: ignore[attr-defined]  # requests' own


def credentials_in(kwargs: dict) -> set[str]:
    """The names of the credentials a request would carry: secret form, JSON and query fields,
    HTTP authentication, secret headers."""
    names = set()
    for key in ("data", "json", "params"):
        fields = kwargs.get(key)
        pairs = fields.items() if isinstance(fields, dict) else fields if isinstance(fields, (list, tuple)) else ()
        names |= {str(k) for k, v in pairs if v and REDACTOR.is_secret_field(str(k))}
    if kwargs.get("auth"):
        names.add("HTTP authentication")
    names |= {k for k in (kwargs.get("headers") or {}) if REDACTOR.is_secret_field(k)}
    return names


def _cut(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


def _endpoint(url: str) -> str:
    """The endpoint a request goes to: its address without query or fragment."""
    return url.split("#", 1)[0].split("?", 1)[0]


def origin_of(url: str) -> str:
    """`scheme://host:port` as the HTTP client connects to it: read by urllib3, which requests
    parses every URL with, not by urllib.parse, which reads `http://a\\@b/` as host b where urllib3
    (and a browser) connect to a. What cannot be read is UNREADABLE, nobody's origin."""
    try:
        parts = parse_url(url)
    except LocationParseError:
        return UNREADABLE
    scheme = (parts.scheme or "").lower()
    port = parts.port or {"https": 443, "http": 80}.get(scheme)
    return f"{scheme}://{(parts.host or '').lower()}:{port}"


UNREADABLE = "unreadable://:0"
AMBIGUOUS = "URL parsers read different hosts in such an address (urllib.parse one, urllib3 and browsers another)"
# What a refusal of such an address, or of one that is no URL, says: RFC 3986 lets a URL hold user information
# and a percent-encoded host, and RFC 6749 section 3.1 leaves the login pages' addresses to the server, so no
# sentence forbids what the server (or the application) gave: it is the address that must change
UNPLAIN_ADVICE = (
    "Nothing was sent. No sentence binds a server to addresses every parser reads alike, so this is no failure: "
    "where that address is the operator's own, have the server give it plainly (a host of ASCII letters, digits, "
    "dots and hyphens, no user@, backslash, percent sign or white space before its path)."
)
# A host and port as every parser reads them alike: a name or an IPv4 address of ASCII letters, digits,
# dots and hyphens, or an IPv6 address in brackets, and a port of digits.
_PLAIN_AUTHORITY = re.compile(r"(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


def ambiguity(url: str) -> str | None:
    """What in `url`, an address a server gave, parsers could read differently, or None for a plain one:
    whitespace or a control character anywhere (stripped by some, kept by others), a scheme without
    `//`, and in the host part a backslash, user information before an `@`, a percent sign or any
    character but ASCII letters, digits, dots, hyphens, brackets and a port's colon."""
    if any(c.isspace() or c < " " or "\x7f" <= c <= "\x9f" for c in url):
        return "it contains whitespace or a control character"
    scheme, separator, rest = url.partition("://")
    if not separator or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", scheme):
        return "it does not begin with scheme://host"
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    if "\\" in authority:
        return "a backslash before its path, which urllib3 and browsers read as the path's start"
    if "@" in authority:
        return "user information before an '@' in its host part"
    if not _PLAIN_AUTHORITY.fullmatch(authority):
        return "its host part is not plain ASCII letters, digits, dots and hyphens with a port"
    return None


REPRODUCE = "# reproduce: paste into a shell after exporting the variables it names"


def attach_reproduction(client) -> None:
    """To a failing step, the reproduction of the last request of its scenario, the one it checked:
    that request was made, and its exchange attached, by an earlier step."""
    if client.exchanges and allure_results_written():
        exchange = client.exchanges[-1]
        allure.attach(
            f"{REPRODUCE}\n{exchange.curl()}",
            name=f"reproduce: {exchange.method} {urlsplit(exchange.url).path}",
            attachment_type=allure.attachment_type.TEXT,
        )


def allure_results_written() -> bool:
    """Whether this run writes Allure results: attachments, and the scrubbing they take, are built only then."""
    return any(isinstance(p, AllureFileLogger) for p in allure_commons.plugin_manager.get_plugins())


def _diagnose(error: Exception, settings: HttpSettings | None = None) -> tuple[str, str]:
    """The cause in words (DNS failure, refused or reset connection, timeout, untrusted
    certificate) and its kind, a key of FIXES."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return f"connection timed out{f' after {settings.connect_timeout:g} s' if settings else ''}", "connect_timeout"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return f"no answer{f' within {settings.read_timeout:g} s' if settings else ''}", "read_timeout"
    cause: BaseException = error
    for _ in range(10):  # requests -> urllib3 -> socket or ssl: find the innermost cause
        inner = cause.__cause__ or getattr(cause, "reason", None) or cause.__context__
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    text = str(cause)
    if isinstance(cause, socket.gaierror) or "Name or service not known" in text or "name resolution" in text:
        return "the host name does not resolve (DNS failure)", "dns"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {cause.verify_message}", "certificate"
    if isinstance(cause, ssl.SSLError):
        return _cut(said(text), 200), "tls"
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in text:
        return "connection refused", "refused"
    if isinstance(cause, ConnectionResetError) or "Connection reset" in text:
        return "connection reset by the server", "reset"
    if "RemoteDisconnected" in text or "without response" in text:
        return "the server closed the connection without answering", "reset"
    if isinstance(cause, http.client.LineTooLong) or "got more than" in text:  # http.client's own limits
        return f"the answer is not usable HTTP ({_cut(said(text), 200)})", "not_http"
    if isinstance(cause, http.client.HTTPException):  # a status line or header block HTTP does not allow
        return f"the answer is not valid HTTP ({type(cause).__name__}: {_cut(said(text), 200)})", "not_http"
    return _cut(said(text), 200), "reset"


def _never_reached_the_server(error: Exception) -> bool:
    """Refused, or cut before any answer: the server cannot have acted on the request."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    text = str(error)
    return isinstance(error, requests.exceptions.ConnectionError) and (
        "Connection refused" in text or "NewConnectionError" in text
    )


def _attach_failed_attempt(method: str, url: str, attempt: int, error: Exception) -> None:
    if not allure_results_written():
        return
    allure.attach(
        f"{method} {redact_url(url)}\n\nno answer: {type(error).__name__}: {said(str(error))}",
        name=f"{method} {urlsplit(url).path} -> no answer (attempt {attempt})",
        attachment_type=allure.attachment_type.TEXT,
    )


def _learn_secrets(response: requests.Response) -> None:
    """Register the tokens and codes a response carries, whatever its content type says, so they
    are masked from now on: fields of a JSON or form body, of the Location header's query or
    fragment, `name=value` or `"name": "value"` in any other text, and anything shaped like a JWT."""
    location = urlsplit(response.headers.get("Location", ""))
    text = response.text
    for fields in (_parsed(text), dict(parse_qsl(location.query)), dict(parse_qsl(location.fragment))):
        for name in LEARNED_FIELDS:
            if isinstance(fields.get(name), str):
                REDACTOR.register(fields[name], LEARNED_FIELDS[name])
    for match in _NAMED_VALUE.finditer(text):
        if _looks_generated(match.group(2)):
            REDACTOR.register(match.group(2), LEARNED_FIELDS[match.group(1)])
    for match in _JWT.finditer(text):
        REDACTOR.register(match.group(0), "token")


LEARNED_FIELDS = {
    "access_token": "access_token",
    "refresh_token": "refresh_token",
    "id_token": "id_token",
    "code": "authorization code",
}
# A secret field's value in text that is no JSON or form: `code=...`, `"access_token": "..."`.
# Every pattern here runs over bodies a hostile server writes, up to MAX_BODY_BYTES: each
# must take linear time (a JWT is only looked for where a word starts, else "eyJeyJeyJ..."
# would be scanned again from every "eyJ" in it).
_NAMED_VALUE = re.compile(
    r"\b(access_token|refresh_token|id_token|code)[\"']?\s*[=:]\s*[\"']?"
    r"([^\s\"'&,;<>]{8,})"
)
_DIGIT = re.compile(r"\d")
_JWT = re.compile(r"(?<![\w-])eyJ[\w-]{4,}\.eyJ[\w-]{4,}\.[\w-]*")


def _looks_generated(value: str) -> bool:
    """At least 8 characters with a digit, or upper and lower case letters mixed (an opaque
    token may have no digit), so that "code: invalid_grant" teaches nothing."""
    return bool(_DIGIT.search(value)) or (value.lower() != value and value.upper() != value)


def parse_json(text: str | bytes) -> Any:
    """JSON from a server. Nesting deeper than MAX_JSON_DEPTH is no JSON (ValueError), as any
    other unparseable body: a hostile server would otherwise exhaust the stack of the parser, or
    of whatever walks the result, and crash the run."""
    try:
        value = json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply for any parser") from None
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise ValueError(f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def _deeper_than(value, limit: int) -> bool:
    """Level by level, without recursion."""
    level = [value]
    for _ in range(limit):
        level = [
            child
            for node in level
            if isinstance(node, (dict, list))
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return False
    return any(isinstance(node, (dict, list)) for node in level)


def _parsed(body: str) -> dict:
    """A body's fields if it parses as a JSON object or a form, whatever it claims to be."""
    text = body.strip()
    if text.startswith("{"):
        try:
            data = parse_json(text)
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}
    if "=" in text and "\n" not in text and len(text) < 65536:
        return dict(parse_qsl(text, keep_blank_values=True))
    return {}


def _where(method: str, url: str) -> str:
    """The request, as an error message names it. Built only when a message is: scrubbing the URL
    of every request was a quarter of the scrubber's time in the detection matrix."""
    return f"{method} {redact_url(url)}"


def redact_url(url: str) -> str:
    """The URL with secret parameters masked, in the query and in a #fragment of parameters."""
    try:
        parts = urlsplit(url)
    except ValueError:  # a host urllib.parse will not read ("[name]"), in an address a server gave
        address, question, rest = url.partition("?")
        return REDACTOR.scrub(address + question + _mask_pairs(rest))
    fragment = _mask_pairs(parts.fragment) if "=" in parts.fragment else parts.fragment
    return REDACTOR.scrub(urlunsplit(parts._replace(query=_mask_pairs(parts.query), fragment=fragment)))


def _redact_body(body: str) -> str:
    """The body with secret fields masked, if it parses as JSON or a form whatever its content
    type says; every text is scrubbed of known secrets afterwards anyway."""
    text = body.strip()
    if text.startswith(("{", "[")):
        try:
            data = parse_json(text)
        except ValueError:
            return body
        return json.dumps(REDACTOR.masked(data), indent=2)
    if "=" in text and "\n" not in text:
        return _mask_pairs(body)
    return body


def _mask_pairs(text: str) -> str:
    """`name=value&...` with the values of secret names masked and everything else left exactly
    as it was written: re-encoding would make new encodings of the secrets inside."""
    pairs = []
    for pair in text.split("&"):
        name, equals, _ = pair.partition("=")
        pairs.append(
            f"{name}={REDACTOR.mask(unquote_plus(name))}"
            if equals and REDACTOR.is_secret_field(unquote_plus(name))
            else pair
        )
    return "&".join(pairs)


def header_shown(response: requests.Response, name: str) -> str:
    """A response header for a message: `Name: value`, or that there is none (never "None" or '')."""
    value = response.headers.get(name)
    return f"no {name} header" if value is None else f"{name}: {value}" if value.strip() else f"an empty {name} header"
