"""HTTP with a record: every exchange is kept for the scenario and attached, redacted, to the
Allure step that made it, with a curl command that reproduces it.

Real servers are slow, rate-limited and sometimes down, so a request is retried a bounded
number of times with backoff, honouring Retry-After, and each attempt is recorded:
- when the server never saw it (connection refused or reset before an answer) or said 429:
  any request;
- after a 5xx or a read timeout: only requests whose repetition cannot change the outcome
  (`idempotent`: GETs, client_credentials). A code redemption is single use, so it is never
  retried blindly.
What still fails after that is an `EnvironmentProblem`, not a non-conformance."""

import json
import shlex
import socket
import ssl
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import allure
import requests

from .environment import HttpSettings
from .redaction import REDACTOR, SECRET_FIELDS


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

    def report(self) -> str:
        """The exchange as a reviewer reads it; every secret masked."""
        lines = [f"{self.method} {redact_url(self.url)}"]
        lines += [f"{k}: {v}" for k, v in REDACTOR.fields(self.request_headers).items()]
        if self.request_body:
            lines += ["", _redact_body(self.request_body, self.request_headers.get("Content-Type", ""))]
        lines += ["", f"HTTP {self.status} ({self.seconds * 1000:.0f} ms)"]
        lines += [f"{k}: {v}" for k, v in REDACTOR.fields(self.response_headers).items()]
        if self.response_body:
            lines += ["", _redact_body(self.response_body, self.response_headers.get("Content-Type", ""))]
        lines += ["", "# reproduce (put the secrets back from your environment):", self.curl()]
        return REDACTOR.scrub("\n".join(lines))

    def curl(self) -> str:
        parts = ["curl", "-i", "-X", self.method, shlex.quote(redact_url(self.url))]
        for name, value in REDACTOR.fields(self.request_headers).items():
            if name.lower() not in ("user-agent", "accept-encoding", "connection", "content-length"):
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body:
            body = _redact_body(self.request_body, self.request_headers.get("Content-Type", ""))
            parts += ["--data-raw", shlex.quote(body)]
        return REDACTOR.scrub(" ".join(parts))


RETRIED_STATUSES = {429, 500, 502, 503, 504}


class EnvironmentProblem(Exception):
    """The server could not be reached or kept failing: no verdict on any rule is possible."""


class HttpClient:
    """One per scenario: its own cookies, its own record of exchanges."""

    def __init__(self, settings: HttpSettings):
        self.settings = settings
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "visma-connect-conformance"
        self.exchanges: list[Exchange] = []

    def send(self, method: str, url: str, idempotent: bool | None = None, **kwargs) -> requests.Response:
        """One request, retried as the module says. `idempotent` defaults to True for GET."""
        idempotent = method == "GET" if idempotent is None else idempotent
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", (self.settings.connect_timeout, self.settings.read_timeout))
        kwargs.setdefault("verify", self.settings.ca_bundle or self.settings.verify_tls)
        attempts = self.settings.retries + 1
        for attempt in range(1, attempts + 1):
            started = time.monotonic()
            try:
                response = self.session.request(method, url, **kwargs)
            except requests.exceptions.SSLError:
                raise  # a certificate does not get better by asking again
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
                unseen = _never_reached_the_server(error)
                _attach_failed_attempt(method, url, attempt, error)
                if attempt < attempts and (unseen or idempotent):
                    time.sleep(self._backoff(attempt))
                    continue
                raise EnvironmentProblem(f"{describe_network_error(error, self.settings)} "
                                         f"({method} {redact_url(url)}, {attempt} attempt(s))") from None
            self._record(response, time.monotonic() - started, attempt)
            if response.status_code not in RETRIED_STATUSES:
                return response
            if attempt < attempts and (response.status_code == 429 or idempotent):
                time.sleep(self._wait(response, attempt))
                continue
            raise EnvironmentProblem(f"HTTP {response.status_code} ({method} {redact_url(url)}, {attempt} attempt(s)"
                                     f"{'' if idempotent or response.status_code == 429 else ', not repeatable'})")
        raise AssertionError("unreachable")

    def _backoff(self, attempt: int) -> float:
        return min(self.settings.backoff * 2 ** (attempt - 1), self.settings.max_retry_wait)

    def _wait(self, response: requests.Response, attempt: int) -> float:
        retry_after = response.headers.get("Retry-After", "")
        if retry_after.isdigit():
            return min(float(retry_after), self.settings.max_retry_wait)
        return self._backoff(attempt)

    def _record(self, response: requests.Response, seconds: float, attempt: int) -> None:
        _learn_secrets(response)
        request = response.request
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        exchange = Exchange(request.method, request.url, dict(request.headers), body,
                            response.status_code, dict(response.headers), response.text, seconds)
        self.exchanges.append(exchange)
        name = f"{exchange.method} {urlsplit(exchange.url).path} -> {exchange.status}"
        if attempt > 1:
            name += f" (attempt {attempt})"
        allure.attach(exchange.report(), name=name, attachment_type=allure.attachment_type.TEXT)


def describe_network_error(error: Exception, settings: HttpSettings | None = None) -> str:
    """The cause in words: DNS failure, refused or reset connection, timeout, untrusted certificate."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return f"connection timed out{f' after {settings.connect_timeout:g} s' if settings else ''}"
    if isinstance(error, requests.exceptions.ReadTimeout):
        return f"no answer{f' within {settings.read_timeout:g} s' if settings else ''}"
    cause = error
    for _ in range(10):  # requests -> urllib3 -> socket or ssl: find the innermost cause
        inner = cause.__cause__ or getattr(cause, "reason", None) or cause.__context__
        if not isinstance(inner, BaseException) or inner is cause:
            break
        cause = inner
    text = str(cause)
    if isinstance(cause, socket.gaierror) or "Name or service not known" in text or "name resolution" in text:
        return "the host name does not resolve (DNS failure)"
    if isinstance(cause, ssl.SSLCertVerificationError):
        return f"certificate not trusted: {cause.verify_message}"
    if isinstance(cause, ConnectionRefusedError) or "Connection refused" in text:
        return "connection refused"
    if isinstance(cause, ConnectionResetError) or "Connection reset" in text:
        return "connection reset by the server"
    if "RemoteDisconnected" in text or "without response" in text:
        return "the server closed the connection without answering"
    return text


def _never_reached_the_server(error: Exception) -> bool:
    """Refused, or cut before any answer: the server cannot have acted on the request."""
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return True
    text = str(error)
    return isinstance(error, requests.exceptions.ConnectionError) and (
        "Connection refused" in text or "NewConnectionError" in text)


def _attach_failed_attempt(method: str, url: str, attempt: int, error: Exception) -> None:
    allure.attach(f"{method} {redact_url(url)}\n\nno answer: {type(error).__name__}: {REDACTOR.scrub(str(error))}",
                  name=f"{method} {urlsplit(url).path} -> no answer (attempt {attempt})",
                  attachment_type=allure.attachment_type.TEXT)


def _learn_secrets(response: requests.Response) -> None:
    """Register the tokens and codes a response carries, so they are masked from now on."""
    try:
        body = response.json() if "json" in response.headers.get("Content-Type", "") else {}
    except ValueError:
        body = {}
    if isinstance(body, dict):
        for name in ("access_token", "refresh_token", "id_token"):
            REDACTOR.register(body.get(name), name)
    location = response.headers.get("Location", "")
    for name, value in parse_qsl(urlsplit(location).query):
        if name == "code":
            REDACTOR.register(value, "authorization code")


def redact_url(url: str) -> str:
    """The URL with secret parameters masked, in the query and in a #fragment of parameters."""
    parts = urlsplit(url)

    def masked(params: str) -> str:
        pairs = parse_qsl(params, keep_blank_values=True)
        return urlencode([(k, REDACTOR.mask(k) if k in SECRET_FIELDS else v) for k, v in pairs], safe="[] ")

    fragment = masked(parts.fragment) if "=" in parts.fragment else parts.fragment
    return REDACTOR.scrub(urlunsplit(parts._replace(query=masked(parts.query), fragment=fragment)))


def _redact_body(body: str, content_type: str) -> str:
    if "json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            return body
        if isinstance(data, dict):
            return json.dumps(REDACTOR.fields(data), indent=2)
        return body
    if "x-www-form-urlencoded" in content_type:
        return urlencode(list(REDACTOR.fields(dict(parse_qsl(body, keep_blank_values=True))).items()), safe="[] ")
    return body
