"""A callback page that says it signed in and then streams on for ever: the sign-in is judged on what arrived
and the page's loading stopped, where the renderer went on parsing it for the rest of the run (two renderers
grew from 0.8 to 2.4 GB, the run was killed at 600 s and took 390 s to end after SIGTERM)."""

import os
import time
from types import SimpleNamespace

import pytest
from faulty_servers import Answer, HostileServer, browser_driven_spa

from suite.wire.browser import chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
LOGIN = b"""<!doctype html><form method="post" action="/account/login"><input id="username" name="username">
<input id="password" name="password" type="password"><button id="sign-in" type="submit">Sign in</button></form>"""


def _endless(handler) -> None:
    handler.send_header("Content-Type", "text/html")
    handler.end_headers()
    handler.wfile.write(b"<html><body><p>signed in</p>")
    while True:
        handler.wfile.write(b"<p>x</p>" * 1000)
        handler.wfile.flush()
        time.sleep(0.05)


def test_a_callback_page_that_never_ends_is_judged_on_what_arrived_and_stopped():
    from appside.browser_driver import BrowserDriver

    stand_in, app = HostileServer({}), HostileServer({})
    stand_in.routes["/account/login"] = lambda body: (
        Answer(302, {"Location": app.url + "/callback"}) if body else Answer(200, {"Content-Type": "text/html"}, LOGIN)
    )
    app.routes.update(
        {"/": Answer(302, {"Location": stand_in.url + "/account/login"}), "/callback": Answer(200, {}, _endless)}
    )
    application = browser_driven_spa(app.url)
    driver = BrowserDriver(application, stand_in.url, SimpleNamespace(username="test.user", password="pw-7Q!x"))
    try:
        session = driver.session()
        started = time.monotonic()
        assert session.sign_in().finished
        assert time.monotonic() - started < 10
        count = "document.querySelectorAll('p').length"
        before = session.page.evaluate(count)
        time.sleep(1.5)
        assert session.page.evaluate(count) == before, "the page went on loading after the sign-in was judged"
        session.close()
    finally:
        driver.close()
        stand_in.close()
        app.close()
