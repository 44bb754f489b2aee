"""The sandbox's mock Visma API accepts only the access tokens the sandbox issued: an ID token, which the
sandbox signs with the same key, is for the client (OpenID Connect Core 1.0 section 2), and a bearer token
is an access token (RFC 6750 section 1.2), so either is answered 401 invalid_token (section 3.1), as the
docs promise for "another token". An outside application that sent its ID token as the bearer token was
answered 200 with {"client_id": null, "scope": null}."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from joserfc import jwt
from sandbox_sign_in import consent_answer

from sandbox import SandboxServer, default_registry
from sandbox.tokens import signing_keys

REDIRECT_URI = "https://spa.app.local/callback"


@pytest.fixture(scope="module")
def sandbox():
    server = SandboxServer(default_registry()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tokens(sandbox) -> dict:
    """The SPA's token response to the test user's sign-in with openid."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": "sandbox-spa",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid profile",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    code = dict(parse_qsl(urlsplit(consent_answer(sandbox.url, query).headers["Location"]).query))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    answer = requests.post(
        sandbox.url + "/connect/token", data={**form, "client_id": "sandbox-spa", "code_verifier": verifier}
    )
    assert answer.status_code == 200, answer.text
    return answer.json()


def _api(sandbox: SandboxServer, token: str) -> requests.Response:
    return requests.get(sandbox.url + "/api/invoices", headers={"Authorization": f"Bearer {token}"})


def test_the_access_token_is_answered_with_its_client(sandbox, tokens):
    answer = _api(sandbox, tokens["access_token"])
    assert answer.status_code == 200 and answer.json()["client_id"] == "sandbox-spa", answer.text


def test_the_id_token_as_the_bearer_token_is_refused_as_invalid_token(sandbox, tokens):
    answer = _api(sandbox, tokens["id_token"])
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_token"
    assert 'error="invalid_token"' in answer.headers["WWW-Authenticate"]
    logged = [e for e in sandbox.recording.entries() if e.path == "/api/invoices" and e.status == 401]
    assert logged and logged[-1].notes.get("bearer") == "invalid", logged


def test_a_jwt_the_sandbox_signed_but_never_issued_is_refused(sandbox, tokens):
    """Signed with the sandbox's own key and shaped like its access tokens: not one it issued."""
    issued = jwt.decode(tokens["access_token"], signing_keys())
    claims = {**issued.claims, "jti": secrets.token_hex(8)}
    forged = jwt.encode(dict(issued.header), claims, signing_keys())
    assert _api(sandbox, forged).status_code == 401
