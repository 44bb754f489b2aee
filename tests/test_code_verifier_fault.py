"""The sandbox's fault code-verifier-compared (sandbox/faults.py): under the defect pkce-not-compared,
which the application side's stand-in keeps on so that APPC-08 judges a wrong verifier, the code issued
next for the faulted user is still redeemed only with its own verifier (RFC 7636 section 4.6), as
APPC-31 needs: another browser's code, redeemed with this browser's verifier, is refused as Visma
Connect refuses it."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from sandbox_sign_in import consent_answer

from sandbox import SandboxServer, default_registry

REDIRECT_URI = "https://spa.app.local/callback"


def _challenge(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _code(sandbox: SandboxServer, verifier: str) -> str:
    """A code the test user's sign-in got for the SPA, issued for `verifier`'s S256 challenge."""
    query = {
        "response_type": "code",
        "client_id": "sandbox-spa",
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": secrets.token_urlsafe(16),
        "code_challenge": _challenge(verifier),
        "code_challenge_method": "S256",
    }
    callback = consent_answer(sandbox.url, query)
    return dict(parse_qsl(urlsplit(callback.headers["Location"]).query))["code"]


def _redeem(sandbox: SandboxServer, code: str, verifier: str) -> requests.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI}
    return requests.post(
        sandbox.url + "/connect/token", data={**form, "client_id": "sandbox-spa", "code_verifier": verifier}
    )


@pytest.fixture(scope="module")
def lenient():
    server = SandboxServer(default_registry(), defects=("pkce-not-compared",)).start()
    yield server
    server.stop()


def test_without_the_fault_the_defect_lets_a_code_go_with_any_verifier(lenient):
    code = _code(lenient, "a" * 43)
    assert _redeem(lenient, code, "b" * 43).status_code == 200


def test_the_faulted_users_next_code_is_redeemed_only_with_its_own_verifier(lenient):
    lenient.faults.inject("code-verifier-compared", user="test.user")
    code = _code(lenient, "a" * 43)
    refused = _redeem(lenient, code, "b" * 43)
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant", refused.text
    # the log ties the refused redemption to the code's user: an SPA's token request carries nothing else
    # that tells whose sign-in it was, and sign-ins going on at once would each count it (APPC-23's twice)
    logged = [e for e in lenient.recording.entries() if e.path == "/connect/token" and e.param("code") == code]
    assert [e.notes.get("user") for e in logged] == ["test.user"], logged
    assert _redeem(lenient, code, "a" * 43).status_code == 200  # its own verifier, still


def test_the_fault_is_for_the_next_code_of_its_user_alone(lenient):
    lenient.faults.inject("code-verifier-compared", user="someone.else")
    code = _code(lenient, "a" * 43)
    assert _redeem(lenient, code, "b" * 43).status_code == 200
    lenient.faults.clear()
    lenient.faults.inject("code-verifier-compared", user="test.user")
    _code(lenient, "c" * 43)  # takes the fault
    assert _redeem(lenient, _code(lenient, "a" * 43), "b" * 43).status_code == 200
