"""The sandbox's own sign-in, as a browser goes through it with plain HTTP: an authorization request,
the test user's login, the consent granted."""

import base64
import hashlib
import secrets
from urllib.parse import parse_qsl, urlsplit

import requests

SPA_REDIRECT_URI = "https://spa.app.local/callback"


def consent_answer(sandbox_url: str, query: dict) -> requests.Response:
    """The consent's answer (the redirect to the client, not followed) to the test user's sign-in for
    the authorization request `query`."""
    browser = requests.Session()
    login = browser.get(sandbox_url + "/connect/authorize", params=query, allow_redirects=False)
    return_url = dict(parse_qsl(urlsplit(login.headers["Location"]).query))["returnUrl"]
    browser.post(
        sandbox_url + "/account/login",
        data={"username": "test.user", "password": "sandbox-password", "returnUrl": return_url},
        allow_redirects=False,
    )
    return browser.post(sandbox_url + return_url, data={"decision": "allow"}, allow_redirects=False)


def spa_callback(sandbox_url: str, verifier: str, **more: str) -> dict[str, str]:
    """The parameters of the callback the test user's sign-in got for the sandbox's SPA, its code issued for
    `verifier`'s S256 challenge (`more`: further parameters of the authorization request, a nonce)."""
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = {
        "response_type": "code",
        "client_id": "sandbox-spa",
        "redirect_uri": SPA_REDIRECT_URI,
        "scope": "openid",
        "state": secrets.token_urlsafe(16),
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **more,
    }
    callback = consent_answer(sandbox_url, query)
    return dict(parse_qsl(urlsplit(callback.headers["Location"]).query))


def spa_code(sandbox_url: str, verifier: str, **more: str) -> str:
    """The code of spa_callback's callback."""
    return spa_callback(sandbox_url, verifier, **more)["code"]


def redeem_spa_code(sandbox_url: str, code: str, verifier: str) -> requests.Response:
    """The SPA's token request for `code`, with `verifier`."""
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": SPA_REDIRECT_URI}
    return requests.post(
        sandbox_url + "/connect/token", data={**form, "client_id": "sandbox-spa", "code_verifier": verifier}, timeout=10
    )
