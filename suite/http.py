"""HTTP with a record: every exchange is kept for the scenario and attached, redacted, to the
Allure step that made it, with a curl command that reproduces it."""

import json
import shlex
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
        lines = [f"{self.method} {_redact_url(self.url)}"]
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
        parts = ["curl", "-i", "-X", self.method, shlex.quote(_redact_url(self.url))]
        for name, value in REDACTOR.fields(self.request_headers).items():
            if name.lower() not in ("user-agent", "accept-encoding", "connection", "content-length"):
                parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body:
            body = _redact_body(self.request_body, self.request_headers.get("Content-Type", ""))
            parts += ["--data-raw", shlex.quote(body)]
        return REDACTOR.scrub(" ".join(parts))


class HttpClient:
    """One per scenario: its own cookies, its own record of exchanges."""

    def __init__(self, settings: HttpSettings):
        self.settings = settings
        self.session = requests.Session()
        self.session.headers["User-Agent"] = "visma-connect-conformance"
        self.exchanges: list[Exchange] = []

    def send(self, method: str, url: str, **kwargs) -> requests.Response:
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", (self.settings.connect_timeout, self.settings.read_timeout))
        kwargs.setdefault("verify", self.settings.ca_bundle or self.settings.verify_tls)
        started = time.monotonic()
        response = self.session.request(method, url, **kwargs)
        self._record(response, time.monotonic() - started)
        return response

    def _record(self, response: requests.Response, seconds: float) -> None:
        _learn_secrets(response)
        request = response.request
        body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
        exchange = Exchange(request.method, request.url, dict(request.headers), body,
                            response.status_code, dict(response.headers), response.text, seconds)
        self.exchanges.append(exchange)
        name = f"{exchange.method} {urlsplit(exchange.url).path} -> {exchange.status}"
        allure.attach(exchange.report(), name=name, attachment_type=allure.attachment_type.TEXT)


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


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    query = [(k, REDACTOR.mask(k) if k in SECRET_FIELDS else v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    return urlunsplit(parts._replace(query=urlencode(query, safe="[] ")))


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
