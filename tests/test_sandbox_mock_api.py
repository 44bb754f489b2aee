"""The sandbox's mock Visma API accepts only the access tokens the sandbox issued: an ID token, which the
sandbox signs with the same key, is for the client (OpenID Connect Core 1.0 section 2), and a bearer token
is an access token (RFC 6750 section 1.2), so either is answered 401 invalid_token (section 3.1), as the
docs promise for "another token". An outside application that sent its ID token as the bearer token was
answered 200 with {"client_id": null, "scope": null}."""

import secrets

import pytest
import requests
from joserfc import jwt
from sandbox_sign_in import redeem_spa_code, spa_code

from sandbox import SandboxServer, default_registry
from sandbox.tokens import signing_keys


@pytest.fixture(scope="module")
def sandbox():
    server = SandboxServer(default_registry()).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def tokens(sandbox) -> dict:
    """The SPA's token response to the test user's sign-in with openid."""
    verifier = secrets.token_urlsafe(48)
    code = spa_code(sandbox.url, verifier, scope="openid profile", nonce=secrets.token_urlsafe(16))
    answer = redeem_spa_code(sandbox.url, code, verifier)
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
