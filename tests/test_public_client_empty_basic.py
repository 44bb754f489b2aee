"""requests-oauthlib sends a public client's token request with HTTP Basic "client_id:" (an empty
password) unless told to put the client_id in the body, and google-auth-oauthlib's InstalledAppFlow
does not tell it: an outsider's clean native app got 401 invalid_client from the stand-in at every
redemption. Visma Connect runs IdentityServer, whose BasicAuthenticationSecretParser reads an empty
password as no secret, and whose ClientSecretValidator asks a public client for none: it takes it. A
confidential client still needs its secret."""

import base64

import pytest
import requests
from sandbox_sign_in import SPA_REDIRECT_URI, spa_code

VERIFIER = "v" * 43


def _redeem(sandbox, basic: str) -> requests.Response:
    form = {
        "grant_type": "authorization_code",
        "code": spa_code(sandbox.url, VERIFIER),
        "redirect_uri": SPA_REDIRECT_URI,
        "code_verifier": VERIFIER,
    }
    header = {"Authorization": "Basic " + base64.b64encode(basic.encode()).decode()}
    return requests.post(sandbox.url + "/connect/token", data=form, headers=header, timeout=10)


def test_a_public_clients_basic_header_with_an_empty_password_is_no_secret(sandbox):
    answer = _redeem(sandbox, "sandbox-spa:")
    assert answer.status_code == 200, answer.text
    assert answer.json()["access_token"]


@pytest.mark.parametrize("basic", ["sandbox-spa:wrong", "sandbox-web:", "no-such-client:", ":"])
def test_a_secret_the_client_does_not_have_or_another_clients_empty_password_is_refused(sandbox, basic):
    answer = _redeem(sandbox, basic)
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client", answer.text


def test_the_pkce_verifier_is_still_required(sandbox):
    """The empty password is method "none": the code's challenge must be met (RFC 7636 section 4.5)."""
    form = {
        "grant_type": "authorization_code",
        "code": spa_code(sandbox.url, VERIFIER),
        "redirect_uri": SPA_REDIRECT_URI,
    }
    header = {"Authorization": "Basic " + base64.b64encode(b"sandbox-spa:").decode()}
    answer = requests.post(sandbox.url + "/connect/token", data=form, headers=header, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"] in ("invalid_request", "invalid_grant"), answer.text
