"""An SPA whose sign-in never finished because it never read the stand-in's answer to its token request: an
outside partner's keycloak-js 26 sends that request with credentials: 'include', which a browser allows only
with Access-Control-Allow-Credentials: true, and Visma Connect (Duende IdentityServer) never sends that header,
so the browser kept the answer from the page; auth0-spa-js posts its redemption to <domain>/oauth/token, where
the stand-in, as Visma Connect, answers 404. The run's NOTE said "check drive.signed_in" for both, and APPC-08
"no code redemption with a code_verifier was seen": each now names what the evidence shows, and the fix."""

from types import SimpleNamespace

import pytest
import requests
from _pytest.outcomes import Skipped

from appside.application import Marker
from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.record import UNCHECKED
from appside.steps.refusals import acceptance_visible
from appside.steps.requests_sent import verifier_matches
from appside.steps.sign_ins import AppRun, _say_if_none_finished, unfinished
from sandbox import SandboxServer, default_registry
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.verdict.checks import NothingToCheck

ISSUER = "http://localhost:12880"
APP = "http://127.0.0.1:12881"
SPA = SimpleNamespace(
    client_id="acme-invoices-spa",
    app_type="spa",
    is_interactive=True,
    uses_pkce=True,
    drive=SimpleNamespace(
        mode="browser",
        timeout=20,
        sign_in_url=APP + "/login",
        shows_signed_in=lambda: "an element '#user'",
        use_api_url=None,
        signed_in=Marker(selector="#user"),
    ),
)
# Chromium's words, as the partner's run printed them
CREDENTIALS_ERROR = (
    f"console error: Access to fetch at '{ISSUER}/connect/token' from origin '{APP}' has been blocked by CORS "
    "policy: The value of the 'Access-Control-Allow-Credentials' header in the response is '' which must be "
    "'true' when the request's credentials mode is 'include'."
)
NO_ORIGIN_ERROR = (
    f"console error: Access to fetch at '{ISSUER}/connect/oauth/token' from origin '{APP}' has been blocked by "
    "CORS policy: No 'Access-Control-Allow-Origin' header is present on the requested resource."
)


def _entry(path, method="GET", query=(), form=(), status=200, location="") -> RecordedRequest:
    return RecordedRequest(0.0, method, path, tuple(query), tuple(form), {}, "", status, location=location)


def _sign_in_with(*errors: str) -> SignIn:
    sign_in = SignIn(False, 200, APP + "/callback", 7.0, urls=[], page_urls=[], contents=[])
    sign_in.page_errors = list(errors)
    return sign_in


def _observed(token_path: str, status: int) -> Observed:
    redemption = [("grant_type", "authorization_code"), ("code", "c1"), ("code_verifier", "v" * 43)]
    authorize = _entry(PATHS["authorization_endpoint"], query=[("code_challenge", "x" * 43)], status=200)
    callback = _entry(PATHS["authorization_endpoint"], status=302, location=APP + "/callback?code=c1&state=s")
    return Observed([authorize, callback, _entry(token_path, "POST", form=redemption, status=status)], ISSUER)


def _notice(sign_in, observed) -> str:
    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(application=SPA, pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder))
    _say_if_none_finished(config, [(sign_in, observed), (sign_in, observed)])
    (notice,) = recorder.notices
    return notice


def test_a_token_answer_blocked_for_credentials_include_is_named_with_the_console_error_and_the_fix():
    sign_in, observed = _sign_in_with(CREDENTIALS_ERROR), _observed(PATHS["token_endpoint"], 200)
    notice = _notice(sign_in, observed)
    assert "check drive.signed_in" not in notice, notice
    assert "kept the stand-in's answer to its token request (http://localhost:12880/connect/token)" in notice
    assert "credentials mode 'include'" in notice and "Access-Control-Allow-Credentials: true" in notice
    assert "Duende IdentityServer" in notice and "credentials: 'omit'" in notice
    assert "which must be 'true' when the request's credentials mode is 'include'" in notice  # quoted
    # the same cause in what every rule blocked by the unfinished sign-in says of it
    assert "credentials: 'omit'" in unfinished(SPA, sign_in, 1, observed)


def test_the_refusal_rules_that_could_not_be_checked_name_the_blocked_answer():
    """APPC-21 and APPC-31 said only that the normal sign-in neither showed the marker nor called the API."""
    sign_in, observed = _sign_in_with(CREDENTIALS_ERROR), _observed(PATHS["token_endpoint"], 200)
    run = AppRun(sign_ins=[sign_in], observed=[observed], fault="callback-state-wrong", baseline=(sign_in, observed))
    with pytest.raises(Skipped, match=f"^{UNCHECKED}: its normal sign-in neither showed") as skipped:
        acceptance_visible(SPA, run)
    assert "Access-Control-Allow-Credentials: true" in str(skipped.value)


def test_a_redemption_posted_to_another_path_is_named_with_the_token_endpoint():
    sign_in, observed = _sign_in_with(NO_ORIGIN_ERROR), _observed("/connect/oauth/token", 404)
    said = (
        "its token request (grant_type authorization_code) went to POST http://localhost:12880/connect/oauth/token, "
        "which is not the token endpoint, and the stand-in answered HTTP 404 there"
    )
    notice = _notice(sign_in, observed)
    assert said in notice and "check drive.signed_in" not in notice, notice
    assert "names token_endpoint http://localhost:12880/connect/token" in notice
    run = AppRun(sign_ins=[sign_in, sign_in], observed=[observed, observed])
    with pytest.raises(NothingToCheck, match=r"^no code redemption reached the token endpoint: its token request"):
        verifier_matches(SPA, run)


def test_a_sign_in_with_neither_still_points_at_the_marker():
    notice = _notice(_sign_in_with(), _observed(PATHS["token_endpoint"], 200))
    assert "check drive.signed_in" in notice


@pytest.fixture(scope="module")
def sandbox():
    server = SandboxServer(default_registry()).start()
    yield server
    server.stop()


def test_the_stand_in_answers_cors_as_duende_does_any_header_any_method_never_credentials(sandbox):
    """Duende IdentityServer's CorsPolicyProvider: WithOrigins(origin).AllowAnyHeader().AllowAnyMethod(), no
    AllowCredentials(): a preflight gets what it asked for (auth0-spa-js's Auth0-Client, DPoP), no answer
    Access-Control-Allow-Credentials."""
    asked = {
        "Origin": APP,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "auth0-client,content-type,dpop",
    }
    preflight = requests.options(sandbox.url + PATHS["token_endpoint"], headers=asked, timeout=10)
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == APP
    assert preflight.headers["Access-Control-Allow-Headers"] == "auth0-client,content-type,dpop"
    assert preflight.headers["Access-Control-Allow-Methods"] == "POST"
    answer = requests.post(
        sandbox.url + PATHS["token_endpoint"], data={"grant_type": "x"}, headers={"Origin": APP}, timeout=10
    )
    assert answer.headers["Access-Control-Allow-Origin"] == APP and "Origin" in answer.headers["Vary"]
    assert "Access-Control-Allow-Credentials" not in answer.headers
    assert "Access-Control-Allow-Credentials" not in preflight.headers
