"""Sign-ins made at once are stepped from one thread (appside.browser_driver.run_together): a click on the
stand-in's login page does not hold the other sign-ins until the page it leads to has come (Playwright's wait
after a click held every other sign-in going on 150 to 240 ms a click), and the login page is not filled and
sent again while that page is still coming."""

import os
import time
from types import SimpleNamespace

import pytest
from faulty_servers import Answer, HostileServer, browser_driven_spa

from suite.wire.browser import chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
SLOW_LOGIN = 4.0  # seconds the stand-in takes to answer the login form
HTML = {"Content-Type": "text/html"}
LOGIN_PAGE = b"""<!doctype html><form method="post" action="/account/login">
<input id="username" name="username"><input id="password" name="password" type="password">
<button id="sign-in">Sign in</button></form>"""
CONSENT_PAGE = b"""<!doctype html><form method="post" action="/connect/authorize">
<button id="allow" name="decision" value="allow">Allow</button></form>"""


def _stand_in_and_application():
    app = HostileServer({"/callback": Answer(200, HTML, b"<!doctype html><p>signed in</p>")})
    logins = []

    def login(body: str) -> Answer:
        if not body:
            return Answer(200, HTML, LOGIN_PAGE)
        logins.append(body)
        time.sleep(SLOW_LOGIN)
        return Answer(302, {"Location": "/connect/authorize", "Content-Length": "0"})

    def consent(body: str) -> Answer:
        if not body:
            return Answer(200, HTML, CONSENT_PAGE)
        return Answer(302, {"Location": f"{app.url}/callback?code=c&state=s", "Content-Length": "0"})

    stand_in = HostileServer({"/account/login": login, "/connect/authorize": consent})
    app.routes["/"] = Answer(302, {"Location": f"{stand_in.url}/account/login", "Content-Length": "0"})
    return stand_in, app, logins


def _timed(flow, steps: list[float]):
    """The flow, with the seconds each of its steps held the thread."""
    while True:
        started = time.monotonic()
        try:
            next(flow)
        except StopIteration as end:
            steps.append(time.monotonic() - started)
            return end.value
        steps.append(time.monotonic() - started)
        yield


def test_a_click_whose_page_is_slow_to_come_holds_no_other_sign_in_and_is_not_made_twice():
    from appside.browser_driver import BrowserDriver, run_together

    stand_in, app, logins = _stand_in_and_application()
    application = browser_driven_spa(app.url, timeout=20.0)
    driver = BrowserDriver(application, stand_in.url, SimpleNamespace(username="test.user", password="pw-7Q!x"))
    steps: list[float] = []
    try:
        sessions = [driver.session(f"test.user.{number}") for number in (1, 2)]
        sign_ins = run_together(
            sessions[0].page, [_timed(session.sign_in_steps(), steps) for session in sessions], driver.watchdog
        )
        for session in sessions:
            session.close()
    finally:
        driver.close()
        stand_in.close()
        app.close()
    assert all(sign_in.finished for sign_in in sign_ins), sign_ins
    assert len(logins) == 2, logins  # one login form sent per sign-in, not one per look at the page
    # each sign-in waited for its slow answer while the other went on: no step held the thread until it came
    # (a step may still take a second or two on a loaded machine: a new page's renderer starting)
    assert max(steps) < SLOW_LOGIN, sorted(steps)[-3:]
