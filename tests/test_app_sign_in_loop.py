"""An application whose page after the callback starts a new sign-in, every time: mozilla-django-oidc's SessionRefresh
with OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS=0 sent the browser from /oidc/callback/ to /home and from there to a new
authorization request, which the stand-in answered with a callback again, until drive.timeout. The NOTE said only
"the application never showed an element '#user' ... check drive.signed_in and where the sign-in ended", though the
stand-in had recorded every round: the note names the new authorization requests, as it names an HTTP 5xx."""

import os
import re
import secrets
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from faulty_servers import Answer, HostileServer, browser_driven_spa, registered_stand_in

from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.steps.sign_ins import _say_if_none_finished, observe, unfinished
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.wire.browser import chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"  # RFC 7636 appendix B's S256 challenge


def _looping_application(stand_in_issuer: str, app: HostileServer) -> None:
    """/ and /home begin an authorization request with a new state; /callback sends the browser to /home."""
    redirect_uri = app.url + "/callback"

    def authorize(_body: str) -> Answer:
        query = {
            "response_type": "code",
            "client_id": "reference-spa",
            "redirect_uri": redirect_uri,
            "scope": "openid",
            "state": secrets.token_urlsafe(16),
            "code_challenge": CHALLENGE,
            "code_challenge_method": "S256",
        }
        return Answer(302, {"Location": f"{stand_in_issuer}{PATHS['authorization_endpoint']}?{urlencode(query)}"})

    app.routes.update({"/": authorize, "/home": authorize, "/callback": Answer(302, {"Location": app.url + "/home"})})


def test_a_sign_in_that_goes_round_after_each_callback_is_named_in_the_note():
    from appside.browser_driver import BrowserDriver

    app = HostileServer({})
    application = browser_driven_spa(app.url, timeout=6.0)
    stand_in, user = registered_stand_in("reference-spa", "spa", application.redirect_uris)
    _looping_application(stand_in.issuer, app)
    driver = BrowserDriver(application, stand_in.issuer, user)
    try:
        session = driver.session()
        sign_in, observed = observe(stand_in, session.sign_in)
        session.close()
    finally:
        driver.close()
        stand_in.stop()
        app.close()
    assert not sign_in.finished
    homes = sum(path == "/home" for _, path, _, _ in app.requests)  # each began a new authorization request
    assert homes >= 2, app.requests

    recorder = SimpleNamespace(notices=[])
    application.client_id, application.is_interactive = "reference-spa", True
    application.drive.shows_signed_in = lambda: "the text 'signed in'"
    config = SimpleNamespace(application=application, pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder))
    _say_if_none_finished(config, [(sign_in, observed), (sign_in, observed)])
    (notice,) = recorder.notices
    said = re.search(
        r"no normal sign-in finished: the application began a new authorization request after each of its own "
        r"callbacks \((\d+) times in normal sign-in 1, \1 times in normal sign-in 2; the stand-in records them\)",
        notice,
    )
    assert said and homes - 1 <= int(said[1]) <= homes, (homes, notice)  # the last may not have reached the stand-in
    assert "check drive.signed_in" not in notice
    assert f"after each of its own callbacks ({said[1]} times; " in unfinished(application, sign_in, 1, observed)


def _at_authorization_endpoint(at: float, browser: str, code: str = "") -> RecordedRequest:
    """A request to the stand-in's authorization endpoint from `browser` (its session, as the log notes it): its login
    page, or with `code` the callback it answered with."""
    location = f"http://127.0.0.1:9302/callback?code={code}&state=s{at}" if code else ""
    return RecordedRequest(
        at, "GET", PATHS["authorization_endpoint"], (("state", f"s{at}"),), (), {}, "", 302 if code else 200, location,
        notes={"browser": browser},
    )  # fmt: skip


# three ordinary sign-ins, each a request and its callback in a browser of its own, nothing after the last
ORDINARY = [
    request
    for n in range(3)
    for request in (_at_authorization_endpoint(2 * n, f"b{n}"), _at_authorization_endpoint(2 * n + 1, f"b{n}", f"c{n}"))
]
# one browser sent back to the authorization endpoint after each callback, the stand-in answering at once
LOOP = [_at_authorization_endpoint(0, "b"), *(_at_authorization_endpoint(at, "b", f"c{at}") for at in (1, 2, 3))]


def test_only_new_requests_of_the_callbacks_own_browser_make_a_sign_in_go_round():
    assert Observed(ORDINARY).restarts_after_each_callback == 0
    assert Observed(LOOP).restarts_after_each_callback == 2  # the last one's next request may have been cut short


def test_sign_ins_that_did_not_go_round_keep_the_drive_signed_in_and_late_marker_notes():
    application = SimpleNamespace(
        client_id="reference-web", app_type="web", is_interactive=True, redirect_uris=("http://127.0.0.1:9302/callback",),
        drive=SimpleNamespace(shows_signed_in=lambda: "the text 'Welcome'", signed_in=SimpleNamespace(text="Welcome"),
                              timeout=20.0, sign_in_url="http://127.0.0.1:9302/login"),
    )  # fmt: skip

    def notice(sign_in: SignIn, observed: Observed) -> str:
        recorder = SimpleNamespace(notices=[])
        config = SimpleNamespace(application=application, pluginmanager=SimpleNamespace(get_plugin=lambda _: recorder))
        _say_if_none_finished(config, [(sign_in, observed), (sign_in, observed)])
        (said,) = recorder.notices
        return said

    unmarked = SignIn(False, 302, seconds=21.0, urls=[], page_urls=[], contents=[])
    assert "check drive.signed_in" in notice(unmarked, Observed(ORDINARY))
    page = "<html><body><p>Welcome test.user.1</p></body></html>"
    late = SignIn(False, 302, seconds=21.0, urls=[], page_urls=[], contents=[("http://x/home", page, "dom")])
    said = notice(late, Observed(LOOP))  # the marker came late, the sign-in going round meanwhile: both are said
    assert said.startswith("no normal sign-in finished in time: normal sign-in 1 showed the text 'Welcome' only after")
    assert "; the application began a new authorization request after each of its own callbacks (2 times" in said
