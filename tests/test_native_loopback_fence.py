"""A native application on RFC 8252's loopback redirect (google-auth-oauthlib's
InstalledAppFlow.run_local_server, openid-client's CLI examples) registers http://127.0.0.1/ and listens
on a port the operating system gives it at each sign-in; the stand-in takes any port (RFC 8252 section
7.3). The browser's fence must reach that loopback host on any port too: an outsider's clean native app
had every sign-in end on Chromium's error page ("a connection to 127.0.0.1:48015" refused). Only that
host, only plain HTTP, only for a native application."""

from types import SimpleNamespace

import pytest

from appside.browser_driver import loopback_any_port
from suite.configuration.environment import HttpSettings
from suite.wire.http import CredentialPolicy
from suite.wire.login.browser import Guard

ISSUER = "https://localhost:13820"


def _policy(app_type: str, *redirect_uris: str) -> CredentialPolicy:
    application = SimpleNamespace(app_type=app_type, redirect_uris=redirect_uris)
    own = ("http://127.0.0.1:13821/login", *redirect_uris)
    return CredentialPolicy(ISSUER, HttpSettings(trusted_origins=own), any_port=loopback_any_port(application))


@pytest.mark.parametrize("registered", ["http://127.0.0.1/", "http://127.0.0.1:7441/callback"])
def test_a_native_applications_loopback_callback_is_reached_on_any_port(registered):
    policy = _policy("native", registered)
    assert policy.refusal("http://127.0.0.1:48015/?code=c&state=s") is None
    assert Guard(policy).allows("127.0.0.1", 48015)


def test_a_native_applications_localhost_callback_is_reached_on_any_port():
    """RFC 9700 section 2.1 exempts the port of "localhost redirection URIs of native apps" (APPC-35 warns of
    localhost itself, RFC 8252 section 8.3): @openid/appauth registered http://localhost/callback."""
    policy = _policy("native", "http://localhost/callback")
    assert policy.refusal("http://localhost:48015/callback?code=c") is None
    assert Guard(policy).allows("localhost", 48015)
    assert not Guard(policy).allows("127.0.0.2", 48015)


def test_an_ipv6_loopback_callback_is_reached_on_any_port():
    policy = _policy("native", "http://[::1]/callback")
    assert policy.refusal("http://[::1]:48015/callback?code=c") is None
    assert Guard(policy).allows("::1", 48015)
    assert not Guard(policy).allows("127.0.0.1", 48015)


@pytest.mark.parametrize(
    ("app_type", "registered", "url"),
    [
        ("web", "http://127.0.0.1:5000/callback", "http://127.0.0.1:48015/callback"),  # a web app's matches exactly
        ("spa", "http://127.0.0.1:5000/callback", "http://127.0.0.1:48015/callback"),
        ("native", "http://127.0.0.1/", "http://127.0.0.2:48015/"),  # another loopback host
        ("native", "com.example.app:/callback", "http://127.0.0.1:48015/"),
    ],
)
def test_no_other_host_or_type_is_reached_on_another_port(app_type, registered, url):
    policy = _policy(app_type, registered)
    assert policy.refusal(url) is not None
    host, port = url.split("/")[2].rsplit(":", 1)
    assert not Guard(policy).allows(host, int(port))


def test_only_plain_http_goes_there():
    """The fence sees a connection, not its scheme: the request's route refuses https on that port."""
    assert _policy("native", "http://127.0.0.1/").refusal("https://127.0.0.1:48015/") is not None


def test_the_issuer_and_the_applications_own_origins_are_still_reached():
    policy = _policy("native", "http://127.0.0.1/")
    guard = Guard(policy)
    assert guard.allows("localhost", 13820) and guard.allows("127.0.0.1", 13821)
    assert not guard.allows("localhost", 13999)


def _fenced_sign_in(callback: str, elsewhere: str, final_url: str = "chrome-error://chromewebdata/"):
    from appside.observed import Observed
    from sandbox.recording import RecordedRequest

    authorize = RecordedRequest(0.0, "GET", "/connect/authorize", (), (), {}, "", 302, location=callback)
    return SimpleNamespace(final_url=final_url, elsewhere=elsewhere), Observed([authorize])


def test_a_callback_the_fence_refused_is_named_as_the_cause_not_the_signed_in_marker():
    """The outsider's run said "check drive.signed_in" where every sign-in ended on Chromium's error page because
    the fence refused the callback's origin."""
    from appside.steps.sign_ins import callback_fenced

    refused = "the browser refused ... (a connection to 127.0.0.1:48015 (what it carried is out of sight))"
    said = callback_fenced(*_fenced_sign_in("http://127.0.0.1:48015/?code=c&state=s", refused))
    assert "refused the connection to the application's callback (127.0.0.1:48015)" in said
    assert "error page" in said
    # another page it ended on, or another connection refused, is not that cause
    assert not callback_fenced(*_fenced_sign_in("http://127.0.0.1:48015/?code=c", refused, "http://127.0.0.1:1/"))
    assert not callback_fenced(*_fenced_sign_in("http://127.0.0.1:48016/?code=c", refused))


def test_a_callback_on_the_loopback_host_is_the_applications_on_any_port_for_a_native_app_only():
    """APPC-31 could not hold another browser's callback on 127.0.0.1:48015 (nor tell it a callback): the browser
    session compared the callback's port with the registered http://127.0.0.1/ one."""
    from appside.browser_driver import is_callback

    native = loopback_any_port(SimpleNamespace(app_type="native", redirect_uris=("http://127.0.0.1/cb",)))
    assert is_callback("http://127.0.0.1:48015/cb?code=c&state=s", ["http://127.0.0.1/cb"], any_port=native)
    assert not is_callback("http://127.0.0.1:48015/other?code=c", ["http://127.0.0.1/cb"], any_port=native)
    assert not is_callback("http://127.0.0.1:48015/cb?code=c", ["http://127.0.0.1/cb"])  # a web app's: exactly


def test_another_browsers_loopback_callback_goes_to_this_sign_ins_own_port():
    """APPC-31 delivered the other browser's callback to the port it was addressed to, the other sign-in's listener
    (RFC 8252 section 7.3: each sign-in listens on its own port): that completed the other browser's flow, and the
    rule read its API call as this browser's. It goes to the port of this browser's own authorization request."""
    from appside.browser_driver import HeldCallback

    native = loopback_any_port(SimpleNamespace(app_type="native", redirect_uris=("http://127.0.0.1/",)))
    held = HeldCallback("GET", "http://127.0.0.1:48015/?code=c&state=s")
    own = "https://localhost:13820/connect/authorize?state=t&redirect_uri=http%3A%2F%2F127.0.0.1%3A48016%2F"
    assert held.to_own_listener(own, native).url == "http://127.0.0.1:48016/?code=c&state=s"
    # a web application's callback, or one to another host than the sign-in's, stays where it was addressed
    assert held.to_own_listener(own, ()) == held
    other_host = own.replace("127.0.0.1", "127.0.0.2")
    assert held.to_own_listener(other_host, native) == held


def test_another_browsers_loopback_form_post_goes_to_this_sign_ins_own_port_as_a_form():
    """A native app's response by response_mode=form_post: the POST the stand-in's page sends is held on the other
    sign-in's port and posted, its form as it was, to this sign-in's own listener (examples/native_app's form-post
    switch proves it end to end)."""
    from appside.browser_driver import HeldCallback

    native = loopback_any_port(SimpleNamespace(app_type="native", redirect_uris=("http://127.0.0.1/callback",)))
    held = HeldCallback("POST", "http://127.0.0.1:48015/callback", (("code", "c"), ("state", "s")))
    own = "https://localhost:13820/connect/authorize?response_mode=form_post&redirect_uri=http%3A%2F%2F127.0.0.1%3A48016%2Fcallback"
    delivered = held.to_own_listener(own, native)
    assert delivered == HeldCallback("POST", "http://127.0.0.1:48016/callback", held.form)
    assert delivered.params == {"code": "c", "state": "s"}
