"""The sandbox's ID token faults (sandbox/faults.py) that APPC-21 injects: each changes one claim of the ID token
of a real code redemption, signed again with the sandbox's key, so that only the check of that claim can tell: an
aud that contains the client's id without being it, another client's aud with this client's azp, and an exp beyond
any small leeway (OpenID Connect Core 1.0 sections 2 and 3.1.3.7)."""

import base64
import hashlib
import secrets
import time
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from sandbox_sign_in import consent_answer

from sandbox import SandboxServer, default_registry
from sandbox.faults import RECENT_EXPIRY

REDIRECT_URI = "https://spa.app.local/callback"
VERIFIER = "v" * 43
CHALLENGE = base64.urlsafe_b64encode(hashlib.sha256(VERIFIER.encode()).digest()).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def sandbox():
    server = SandboxServer(default_registry()).start()
    yield server
    server.stop()


def _id_token_claims(sandbox: SandboxServer) -> dict:
    """The claims of the ID token a sign-in of the SPA got, its signature verified with the sandbox's keys."""
    query = {
        "response_type": "code",
        "client_id": "sandbox-spa",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": secrets.token_urlsafe(16),
        "nonce": secrets.token_urlsafe(16),
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    callback = consent_answer(sandbox.url, query)
    code = dict(parse_qsl(urlsplit(callback.headers["Location"]).query))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    answer = requests.post(
        sandbox.url + "/connect/token", data={**form, "client_id": "sandbox-spa", "code_verifier": VERIFIER}, timeout=10
    )
    assert answer.status_code == 200, answer.text
    keys = KeySet.import_key_set(
        requests.get(sandbox.url + "/.well-known/openid-configuration/jwks", timeout=10).json()
    )
    return dict(jwt.decode(answer.json()["id_token"], keys).claims)


@pytest.mark.parametrize(
    ("fault", "aud", "azp"),
    [
        ("id-token-aud-suffixed", "sandbox-spa-evil", None),
        ("id-token-aud-prefixed", "xsandbox-spa", None),
        ("id-token-aud-other-azp", ["another-client"], "sandbox-spa"),
    ],
)
def test_an_audience_fault_names_another_audience_that_may_contain_the_clients_id(sandbox, fault, aud, azp):
    sandbox.faults.inject(fault)
    claims = _id_token_claims(sandbox)
    assert claims["aud"] == aud and claims.get("azp") == azp, claims
    assert _id_token_claims(sandbox)["aud"] in (["sandbox-spa"], "sandbox-spa")  # one occasion only


def test_an_id_token_expired_recently_is_past_any_small_leeway_and_nothing_else_is_wrong(sandbox):
    sandbox.faults.inject("id-token-expired-recently")
    claims = _id_token_claims(sandbox)
    assert claims["exp"] <= time.time() - RECENT_EXPIRY + 2 and RECENT_EXPIRY > 600
    assert claims["iat"] < claims["exp"] and claims["aud"] in (["sandbox-spa"], "sandbox-spa")
