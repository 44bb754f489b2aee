"""The sandbox's ID token faults (sandbox/faults.py) that APPC-21 injects: each changes one claim of the ID token
of a real code redemption, signed again with the sandbox's key, so that only the check of that claim can tell: an
aud that contains the client's id without being it, another client's aud with this client's azp, and an exp beyond
any small leeway (OpenID Connect Core 1.0 sections 2 and 3.1.3.7)."""

import secrets
import time
from urllib.parse import urlsplit

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from sandbox_sign_in import redeem_spa_code, spa_callback, spa_code

from sandbox import SandboxServer
from sandbox.faults import RECENT_EXPIRY

VERIFIER = "v" * 43


def _id_token_claims(sandbox: SandboxServer) -> dict:
    """The claims of the ID token a sign-in of the SPA got, its signature verified with the sandbox's keys."""
    code = spa_code(sandbox.url, VERIFIER, nonce=secrets.token_urlsafe(16))
    answer = redeem_spa_code(sandbox.url, code, VERIFIER)
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


def test_the_wrong_issuer_faults_name_an_issuer_that_begins_with_the_sandboxs(sandbox):
    """The breaker app compared the ID token's iss with iss.startswith(issuer) and passed APPC-21: the faults named
    an unrelated issuer, which a comparison by prefix, host or containment refuses too. Theirs is this issuer with a
    path segment after it, which only the exact comparison (OpenID Connect Core 3.1.3.7 step 2, RFC 9207 section 2.4)
    refuses, in the ID token and in the callback alike."""
    sandbox.faults.inject("id-token-iss-wrong")
    iss = _id_token_claims(sandbox)["iss"]
    assert iss.startswith(sandbox.issuer) and urlsplit(iss).netloc == urlsplit(sandbox.issuer).netloc, iss
    assert iss != sandbox.issuer and _id_token_claims(sandbox)["iss"] == sandbox.issuer  # one occasion only
    sandbox.faults.inject("callback-iss-wrong")
    assert spa_callback(sandbox.url, VERIFIER)["iss"] == iss
