"""What the stand-in saw of the application: its requests, read from the sandbox's request log
and sorted into authorization requests, callbacks, token requests and API calls."""

import base64
import contextlib
import hashlib
import json
import math
import string
from dataclasses import dataclass
from urllib.parse import urlencode

import allure

from sandbox.app import PATHS
from sandbox.mock_api import API_PREFIX
from suite.secrets.redaction import REDACTOR
from suite.wire.http import Exchange

BASE64URL = set(string.ascii_letters + string.digits + "-_")


@dataclass
class Observed:
    entries: list

    @property
    def authorization_requests(self) -> list:
        """The application's authorization requests (the browser repeats each one after the login
        page; those repeats carry the same query and are left out)."""
        seen, requests = set(), []
        for entry in self.entries:
            if entry.path == PATHS["authorization_endpoint"] and entry.method == "GET" and entry.query not in seen:
                seen.add(entry.query)
                requests.append(entry)
        return requests

    @property
    def callbacks(self) -> list:
        """The stand-in's redirects back to the application, with their parameters."""
        return [
            e
            for e in self.entries
            if e.path == PATHS["authorization_endpoint"]
            and e.status in (302, 303)
            and ("code" in e.location_params or "error" in e.location_params)
        ]

    @property
    def token_requests(self) -> list:
        return [e for e in self.entries if e.path == PATHS["token_endpoint"] and e.method == "POST"]

    def grants(self, grant_type: str) -> list:
        return [e for e in self.token_requests if e.param("grant_type") == grant_type]

    @property
    def api_calls(self) -> list:
        return [e for e in self.entries if e.path.startswith(API_PREFIX + "/")]

    @property
    def userinfo_calls(self) -> list:
        return [e for e in self.entries if e.path == PATHS["userinfo_endpoint"]]

    def redemptions_of(self, code: str) -> list:
        return [e for e in self.grants("authorization_code") if e.param("code") == code]

    def attach(self, title: str) -> None:
        """Every recorded request, redacted, as one Allure attachment."""
        learn_secrets(self.entries)
        text = (
            "\n\n".join(
                f"#{n} at +{e.at - self.entries[0].at:.2f} s\n{_exchange(e).report()}"
                for n, e in enumerate(self.entries, 1)
            )
            or "(no request reached the stand-in)"
        )
        allure.attach(
            REDACTOR.scrub(text),
            name=f"{title}: {len(self.entries)} requests the stand-in received",
            attachment_type=allure.attachment_type.TEXT,
        )


def learn_secrets(entries) -> None:
    """Codes, tokens, verifiers and secrets in the log are masked from every output from now on."""
    for entry in entries:
        for name in ("code", "code_verifier", "client_secret", "refresh_token"):
            for value in entry.params(name):
                REDACTOR.register(value, name)
        REDACTOR.register(entry.location_params.get("code"), "authorization code")
        for name in ("access_token", "refresh_token", "id_token"):
            REDACTOR.register((entry.response_json or {}).get(name), name)
        authorization = entry.headers.get("Authorization", "")
        REDACTOR.register(authorization.partition(" ")[2], "Authorization credentials")
        if authorization.lower().startswith("basic "):
            with contextlib.suppress(ValueError):
                REDACTOR.register(base64.b64decode(authorization[6:]).decode().partition(":")[2], "client_secret")


def _exchange(entry) -> Exchange:
    url = entry.path + (f"?{urlencode(entry.query)}" if entry.query else "")
    response_headers = {"Location": entry.location} if entry.location else {}
    body = json.dumps(entry.response_json) if entry.response_json is not None else ""
    if body:
        response_headers["Content-Type"] = "application/json"
    return Exchange(entry.method, url, dict(entry.headers), entry.body, entry.status, response_headers, body, 0.0)


def form_value(request, name: str) -> str | None:
    """From the form body only: a credential in the URL does not authenticate (RFC 6749 section 2.3.1)."""
    return next((v for k, v in request.form if k == name), None)


def basic_password(request) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return ""
    try:
        return base64.b64decode(credentials).decode().partition(":")[2]
    except ValueError:
        return ""


def unverified_claims(jwt: str) -> dict:
    """A JWT's claims as they are written, whether or not its signature holds."""
    payload = jwt.split(".")[1]
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return {}
    return claims if isinstance(claims, dict) else {}


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def estimated_entropy_bits(value: str) -> float:
    """An upper bound from one value: its length times the bits of the smallest usual alphabet
    its characters come from (hex, base64url, printable ASCII). A short or narrow value is
    certainly weak; a long one may still be predictable, which no single sample can show."""
    characters = set(value)
    if characters <= set(string.hexdigits.lower()) or characters <= set(string.hexdigits.upper()):
        alphabet = 16
    elif characters <= BASE64URL:
        alphabet = 64
    else:
        alphabet = 94
    return len(value) * math.log2(alphabet)
