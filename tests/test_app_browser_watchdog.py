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
