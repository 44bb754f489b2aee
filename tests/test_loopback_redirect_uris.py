"""RFC 8252 section 7.3: "The authorization server MUST allow any port to be specified at the time of the
request for loopback IP redirect URIs, to accommodate clients that obtain an available ephemeral port
from the operating system at the time of the request." RFC 9700 section 2.1 keeps exact matching "except
for port numbers in localhost redirection URIs of native apps". A native application registered as
http://127.0.0.1/callback that listens on a port the system gives it (openid-client's CLI examples,
RFC 8252's own) is taken by the stand-in and passes APPC-02; a web application's or a SPA's loopback
URI, and any other URI, still match exactly, on the sandbox and in the suite's AUTH-05 variations."""

from types import SimpleNamespace
from urllib.parse import urlencode

import httpx
import pytest
from faulty_servers import registered_stand_in

from appside.observed import Observed
from appside.steps.requests_sent import redirect_uri_not_localhost, registered_redirect_uri
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from sandbox.registry import Application
from suite.verdict.checks import NonConformance, NothingToCheck
from suite.wire.redirect_variations import registered_match, varied

# (registered, sent, taken from a native application)
NATIVE_CASES = [
    ("http://127.0.0.1/callback", "http://127.0.0.1:7441/callback", True),
    ("http://127.0.0.1:7441/callback", "http://127.0.0.1:50123/callback", True),
    ("http://127.0.0.1/callback", "http://127.0.0.1/callback", True),
    ("http://[::1]/callback", "http://[::1]:7441/callback", True),
    ("http://127.0.0.1/", "http://127.0.0.1:7441/", True),
    ("http://127.0.0.1/callback?app=cli", "http://127.0.0.1:7441/callback?app=cli", True),
    # the port alone may vary: path, query, scheme and host are matched character for character
    ("http://127.0.0.1/callback", "http://127.0.0.1:7441/callback/", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:7441/Callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:7441/callback?x=1", False),
    ("http://127.0.0.1/callback", "https://127.0.0.1:7441/callback", False),
    ("http://127.0.0.1/callback", "http://[::1]:7441/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.2:7441/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1.attacker.invalid:7441/callback", False),
    ("http://127.0.0.1/callback", "http://user@127.0.0.1:7441/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:/callback", False),
    ("http://127.0.0.1/callback", "http://127.0.0.1:\uff17\uff14\uff14\uff11/callback", False),  # full-width digits
    # localhost: RFC 9700 section 2.1 exempts the port of "localhost redirection URIs of native apps" (APPC-35
    # warns of localhost itself, RFC 8252 section 8.3); its host is matched exactly
    ("http://localhost/callback", "http://localhost:38391/callback", True),
    ("http://localhost:14505/", "http://localhost:14506/", True),
    ("http://127.0.0.1/callback", "http://localhost:33225/callback", False),
    ("http://localhost/callback", "http://127.0.0.1:33225/callback", False),
    ("https://native.app.local/callback", "https://native.app.local:444/callback", False),
]


@pytest.mark.parametrize(("registered", "sent", "taken"), NATIVE_CASES)
def test_the_sandbox_and_the_suite_take_any_port_of_a_native_loopback_ip_redirect_uri(registered, sent, taken):
    native = Application(client_id="cli", app_type="native", redirect_uris=(registered,))
    assert native.check_redirect_uri(sent) is taken
    assert registered_match(sent, (registered,), native=True) is taken


@pytest.mark.parametrize("app_type", ["web", "spa"])
def test_a_web_or_spa_loopback_redirect_uri_still_matches_exactly(app_type):
    other = Application(client_id="app", app_type=app_type, redirect_uris=("http://127.0.0.1:5000/callback",))
    assert other.check_redirect_uri("http://127.0.0.1:5000/callback")
    assert not other.check_redirect_uri("http://127.0.0.1:5001/callback")
    assert not registered_match("http://127.0.0.1:5001/callback", ("http://127.0.0.1:5000/callback",), native=False)


def test_auth05_varies_the_port_of_every_loopback_uri_but_a_native_applications():
    assert varied("http://127.0.0.1:5000/callback", "on another port") == "http://127.0.0.1:5001/callback"
    assert varied("http://127.0.0.1/callback", "on another port", native=False) == "http://127.0.0.1:81/callback"
    for uri in ("http://127.0.0.1:5000/callback", "http://[::1]/callback", "http://localhost:5000/callback"):
        assert varied(uri, "on another port", native=True) is None
    # elsewhere a native application's URI is varied as any other
    assert varied("https://native.app.local/callback", "on another port", native=True) == (
        "https://native.app.local:444/callback"
    )
    assert varied("http://127.0.0.1/callback", "with a sub-path", native=True) == "http://127.0.0.1/callback/more"


def _authorization_request(redirect_uri: str) -> RecordedRequest:
    query = (("response_type", "code"), ("client_id", "visma-whoami"), ("redirect_uri", redirect_uri))
    return RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], query, (), {}, "", 302)


def _application(app_type: str, *redirect_uris: str):
    return SimpleNamespace(
        client_id="visma-whoami", app_type=app_type, redirect_uris=redirect_uris, is_interactive=True
    )


def test_appc02_passes_a_native_application_on_a_port_of_its_choosing():
    run = AppRun(observed=[Observed([_authorization_request("http://127.0.0.1:7441/callback")])])
    registered_redirect_uri(_application("native", "http://127.0.0.1/callback"), run)


def test_appc02_fails_a_port_change_where_the_exception_does_not_apply_and_quotes_why():
    run = AppRun(observed=[Observed([_authorization_request("http://127.0.0.1:7441/callback")])])
    with pytest.raises(NonConformance, match=r"only for a native application's localhost .*RFC 8252 section 7\.3"):
        registered_redirect_uri(_application("web", "http://127.0.0.1:7000/callback"), run)
    # @openid/appauth with a localhost redirect: its host is not the registered 127.0.0.1
    run = AppRun(observed=[Observed([_authorization_request("http://localhost:33225/callback")])])
    with pytest.raises(NonConformance, match=r"only the port may vary .*localhost is not 127\.0\.0\.1"):
        registered_redirect_uri(_application("native", "http://127.0.0.1/callback"), run)


def test_appc02_passes_a_native_localhost_redirect_uri_on_any_port_and_appc35_warns_it():
    """@openid/appauth registered as http://localhost/callback, listening on a port the system gave it: APPC-02
    (blocker) failed it quoting RFC 9700 section 2.1, "except for port numbers in localhost redirection URIs of
    native apps", the sentence that exempts it. RFC 8252 section 8.3's "NOT RECOMMENDED" is a SHOULD NOT:
    APPC-35 warns of it (warning-level), and passes a loopback IP literal."""
    sent = AppRun(observed=[Observed([_authorization_request("http://localhost:38391/callback")])])
    native = _application("native", "http://localhost/callback")
    registered_redirect_uri(native, sent)
    with pytest.raises(NonConformance, match=r"names localhost.*RFC 8252 section 8\.3.*NOT RECOMMENDED") as warned:
        redirect_uri_not_localhost(native, sent)
    assert not isinstance(warned.value, NothingToCheck)
    literal = AppRun(observed=[Observed([_authorization_request("http://127.0.0.1:38391/callback")])])
    redirect_uri_not_localhost(_application("native", "http://127.0.0.1/callback"), literal)


def test_the_stand_in_serves_a_native_application_on_any_loopback_port_and_no_other_uri():
    stand_in, _ = registered_stand_in("visma-whoami", "native", ("http://127.0.0.1/callback",))
    try:

        def authorize(redirect_uri: str) -> httpx.Response:
            query = {
                "response_type": "code",
                "client_id": "visma-whoami",
                "redirect_uri": redirect_uri,
                "scope": "openid",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
                "state": "s" * 43,
            }
            return httpx.get(f"{stand_in.issuer}{PATHS['authorization_endpoint']}?{urlencode(query)}")

        taken = authorize("http://127.0.0.1:7441/callback")
        assert taken.status_code != 400, taken.text
        refused = authorize("http://127.0.0.1:7441/other")
        assert refused.status_code == 400 and "not supported by client" in refused.text
    finally:
        stand_in.stop()


def test_auth05_sends_no_port_change_of_a_native_localhost_redirect_uri_and_says_why():
    """The server side asks of a native client's localhost redirect URI what the application side allows: RFC 9700
    section 2.1 lets a server take it on any port, RFC 8252 section 8.3 lets it refuse localhost, so AUTH-05 ("on
    another port") sends it on no other port, and its skip says why, citing both: a server that takes the port
    change and one that refuses it both pass."""
    from steps.authorization import authorize_with_varied_redirect_uris

    native = SimpleNamespace(role="native", redirect_uri="http://localhost:14505/")
    environment = SimpleNamespace(clients={"native": native})
    state = SimpleNamespace(redirect_trials=[])
    with pytest.raises(pytest.skip.Exception) as skipped:
        authorize_with_varied_redirect_uris(state, environment, None, "on another port")
    assert "RFC 9700 section 2.1" in str(skipped.value) and "RFC 8252 section 8.3" in str(skipped.value)
    assert state.redirect_trials == []
