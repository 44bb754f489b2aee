"""A Playwright call the browser never answers (one with no timeout of its own: a DevTools session, a
page's content, an evaluation whose promise never settles) once held an application-side certification
for 10 minutes. Each step of a sign-in is bounded by the driver's watchdog (ANSWER_SPAN x drive.timeout, at least
LEAST_ANSWER_SECONDS):
past it the suite stops Chromium, the step raises BrowserDidNotAnswer (could not be checked, with the
bound named), and the next session gets a new browser."""

import os
import time
from types import SimpleNamespace

import pytest
from faulty_servers import Answer, HostileServer, browser_driven_spa

from suite.wire.browser import chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)


def test_a_call_the_browser_never_answers_ends_at_the_watchdogs_bound_and_the_next_session_has_a_browser(
    monkeypatch,
):
    from appside import browser_driver
    from appside.browser_driver import BrowserDidNotAnswer, BrowserDriver, run_together
    from suite.verdict.checks import NothingToCheck

    monkeypatch.setattr(browser_driver, "LEAST_ANSWER_SECONDS", 0.0)  # the bound is 3 x drive.timeout, 3 s

    app = HostileServer({"/": Answer(200, {"Content-Type": "text/html"}, b"<p>a page</p>")})
    stand_in = HostileServer({})
    driver = BrowserDriver(
        browser_driven_spa(app.url, timeout=1), stand_in.url, SimpleNamespace(username="test.user", password="pw-7Q!x")
    )
    try:
        session = driver.session()
        session.page.goto(app.url + "/")

        def never_answered():
            yield
            session.page.evaluate("new Promise(() => {})")  # no timeout of its own: it waits forever
            return "answered"

        started = time.monotonic()
        with pytest.raises(BrowserDidNotAnswer) as stopped:
            run_together(session.page, [never_answered()], driver.watchdog)
        took = time.monotonic() - started
        assert isinstance(stopped.value, NothingToCheck)  # could not be checked, never a failure of the application
        assert "the browser did not answer within 3 s (3 x drive.timeout, at least 0 s) while" in str(stopped.value)
        assert took < 3 + 10, took
        session.close()  # its browser is gone: nothing to wait for

        again = driver.session()  # a new browser
        again.page.goto(app.url + "/")
        assert "a page" in again.page.content()
        again.close()
    finally:
        driver.close()


def test_an_elapsed_deadline_gives_no_timeout_to_playwright():
    """Playwright reads a timeout of 0 as none at all, and Node waits 1 ms for a negative one with a
    TimeoutNegativeWarning (seen as "-11458.47 is a negative number" at a load of 45): a deadline that
    passed is said as such, and the caller does not make the call."""
    from appside.browser_driver import milliseconds_left

    assert milliseconds_left(time.monotonic() - 11.458) is None
    assert milliseconds_left(time.monotonic()) is None
    left = milliseconds_left(time.monotonic() + 2)
    assert left is not None and 1500 < left <= 2000


def test_a_flow_that_ended_while_the_watchdog_stopped_the_browser_keeps_its_result():
    """A hostile callback page that streams forever kept the browser busy past the bound; the sign-in's flow then
    ended with its result (StopIteration) inside the bounded step, and that ending became a "could not be
    checked: StopIteration: [SignIn(...)]" for 23 rules. A flow's own end is no browser failure; anything else
    raised while the browser was stopped is one."""
    from appside.browser_driver import BrowserDidNotAnswer, Watchdog

    watchdog = Watchdog(0.1, lambda: None)
    try:
        with pytest.raises(StopIteration), watchdog.bound("a step of a sign-in"):
            watchdog.expired = "a step of a sign-in"
            raise StopIteration("the sign-in's result")
        with pytest.raises(BrowserDidNotAnswer), watchdog.bound("a step of a sign-in"):
            raise RuntimeError("Target page, context or browser has been closed")
    finally:
        watchdog.close()


BUSY = b"<p>working</p><script>setTimeout(function () { while (true) {} }, 0)</script>"


def test_a_page_whose_script_never_yields_is_named_and_the_sign_ins_going_on_keep_what_they_reported(monkeypatch):
    """A hostile application's signed-in page ran while(true){}: the browser stopped answering, the suite stopped
    it, and every sign-in going on became "could not be checked", its evidence gone, the application's secret in its
    own log (APPC-28) and the authorization requests the stand-in recorded (APPC-01 to 08) unjudged, under a message
    that blamed a loaded machine and had no verb. The sign-ins going on end unfinished with what their browser
    reported, the message names the busy page; a refused sign-in stopped so shows no refusal, and is left unchecked."""
    from appside import browser_driver
    from appside.application_schema import MOST_AT_ONCE
    from appside.browser_driver import BrowserDidNotAnswer, BrowserDriver
    from appside.concurrent import NORMAL, _normal, fault_title, run_at_once

    monkeypatch.setattr(browser_driver, "LEAST_ANSWER_SECONDS", 0.0)  # the bound is 3 x drive.timeout, 3 s
    app = HostileServer({"/": Answer(200, {"Content-Type": "text/html"}, BUSY)})
    driver = BrowserDriver(
        browser_driven_spa(app.url, timeout=1), "http://127.0.0.1:9", SimpleNamespace(username="t", password="pw-7Q!x")
    )

    def refused(session, progress):
        while True:  # waits for the normal sign-ins, as a refused sign-in does
            yield

    log = SimpleNamespace(clear=lambda: None, listeners=[], entries=lambda: [])
    stand_in = SimpleNamespace(recording=log, faults=SimpleNamespace(clear=lambda: None), issuer=driver.issuer)
    try:
        started = time.monotonic()
        flows = {NORMAL[0]: _normal, NORMAL[1]: _normal, fault_title("f"): refused}
        evidence = run_at_once(driver, stand_in, flows, MOST_AT_ONCE)
        assert time.monotonic() - started < 3 + 15
    finally:
        driver.close()
        app.close()
    sign_ins = [evidence[title][0][0] for title in NORMAL]  # each a sign-in, none an exception
    assert not any(sign_in.finished for sign_in in sign_ins)
    assert all(app.url + "/" in sign_in.urls for sign_in in sign_ins)  # what their browser reported is kept
    (stopped,) = {sign_in.stopped for sign_in in sign_ins} - {""}  # one may have ended before the page got busy
    assert (
        "while the suite was going through a step of a sign-in (loading a page, acting on the login page, picturing "
        f"the page) on the page {app.url}/ of the sign-in 'normal sign-in "
    ) in stopped
    assert "': a script on that page kept it from answering (a loop that never yields" in stopped
    # the other cause a page that stops answering has: an outsider's page without a script whose meta refresh the
    # application never answered was blamed on a script
    assert "or the application did not answer the page's next load (a meta refresh" in stopped
    assert isinstance(evidence[fault_title("f")], BrowserDidNotAnswer)
    assert str(evidence[fault_title("f")]) == stopped
