"""The sandbox's own sign-in, as a browser goes through it with plain HTTP: an authorization request,
the test user's login, the consent granted."""

from urllib.parse import parse_qsl, urlsplit

import requests


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
