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
        ("native", "http://localhost/", "http://localhost:48015/"),  # localhost is no loopback IP (RFC 8252 8.3)
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
