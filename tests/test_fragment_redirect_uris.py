"""RFC 6749 section 3.1.2: "The endpoint URI MUST NOT include a fragment component." @axa-fr/oidc-client's demo
registers http://host/#/callback (a hash-routed SPA's callback), and partners copy it: the suite certified an
oauth4webapi SPA registered and sending http://127.0.0.1:14581/#/callback (an outsider's report), the stand-in
redirecting to http://127.0.0.1:14581/?code=...#/callback. An authorization server keeping RFC 6749 takes no such
redirect_uri, registered or not (section 4.1.2.1: an invalid redirection URI gets an error shown to the user, no
redirect), and APPC-02 fails it quoting section 3.1.2, whether the application file registers it or not."""

from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import pytest
from faulty_servers import registered_stand_in

from appside.observed import Observed
from appside.steps.requests_sent import registered_redirect_uri
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from sandbox.registry import Application
from suite.verdict.checks import NonConformance

HASH_ROUTED = "http://127.0.0.1:14581/#/callback"
NO_FRAGMENT = r'RFC 6749 section 3\.1\.2: "The endpoint URI MUST NOT include a fragment component\."'


@pytest.mark.parametrize("app_type", ["web", "spa", "native"])
@pytest.mark.parametrize("uri", [HASH_ROUTED, "http://127.0.0.1:14581/callback#", "https://app.example/cb#x"])
def test_the_sandbox_takes_no_redirect_uri_with_a_fragment_even_registered(app_type, uri):
    assert not Application(client_id="app", app_type=app_type, redirect_uris=(uri,)).check_redirect_uri(uri)


def _authorization_request(redirect_uri: str) -> RecordedRequest:
    query = (("response_type", "code"), ("client_id", "o4w-spa"), ("redirect_uri", redirect_uri))
    return RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], query, (), {}, "", 400)


@pytest.mark.parametrize("registered", [HASH_ROUTED, "http://127.0.0.1:14581/"])
def test_appc02_fails_a_redirect_uri_with_a_fragment_quoting_section_3_1_2(registered):
    application = SimpleNamespace(client_id="o4w-spa", app_type="spa", redirect_uris=(registered,), is_interactive=True)
    run = AppRun(observed=[Observed([_authorization_request(HASH_ROUTED)])])
    with pytest.raises(NonConformance, match=rf"'{HASH_ROUTED}' has a fragment.*{NO_FRAGMENT}"):
        registered_redirect_uri(application, run)


def test_the_stand_in_shows_an_error_page_and_redirects_nowhere_for_a_registered_fragment_redirect_uri():
    stand_in, _ = registered_stand_in("o4w-spa", "spa", (HASH_ROUTED,))
    try:
        query = {
            "response_type": "code",
            "client_id": "o4w-spa",
            "redirect_uri": HASH_ROUTED,
            "scope": "openid",
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "state": "s" * 43,
        }
        answer = httpx.get(f"{stand_in.issuer}{PATHS['authorization_endpoint']}?{urlencode(query)}")
        assert answer.status_code == 400, answer.text
        assert "location" not in answer.headers and "fragment" in answer.text
    finally:
        stand_in.stop()
