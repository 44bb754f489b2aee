"""A page of the application opened after its access token expired (drive.use_api_url) is watched for the
signed-in marker until drive.timeout, or less on positive evidence (appside.browser_driver.QuietWatch): the
application answered the page whole, no request of the browser nor at the stand-in is being answered, and
none came for the bound derived from its normal sign-ins. An application that showed the API's refusal of its
expired token kept each of the three pages of a certification waiting 20 s."""

import os
import time
from types import SimpleNamespace

import pytest
from faulty_servers import Answer, HostileServer, browser_driven_spa

from appside.browser_driver import QuietWatch
from suite.wire.browser import chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
QUIET = 0.5
REFUSED = b"<!doctype html><p>The Visma API refused the call: invalid_token</p>"
# a page whose script asks its application for something every 200 ms: never quiet
POLLING = b"""<!doctype html><p>Loading</p><script>setInterval(() => fetch("/ping"), 200)</script>"""
# a page whose script shows the marker after 1 s, asking nothing meanwhile: the bound, not the silence, decides
LATE_MARKER = b"""<!doctype html><p id="p">Loading</p><script>
setTimeout(() => { document.getElementById("p").textContent = "signed in"; }, 1000)</script>"""


def _open(page: Answer, timeout: float, quiet: QuietWatch):
    from appside.browser_driver import BrowserDriver

    app, stand_in = HostileServer({"/profile": page, "/ping": Answer(200, {}, b"")}), HostileServer({})
    application = browser_driven_spa(app.url, timeout=timeout)
    application.drive.shows_signed_in = lambda: "the text 'signed in'"
    driver = BrowserDriver(application, stand_in.url, SimpleNamespace(username="test.user", password="pw-7Q!x"))
    try:
        session = driver.session()
        started = time.monotonic()
        opened = session.open(app.url + "/profile", quiet=quiet)
        seconds = time.monotonic() - started
        session.close()
    finally:
        driver.close()
        stand_in.close()
        app.close()
    return opened, seconds


def _quiet(seconds: float = QUIET, in_flight: int = 0) -> QuietWatch:
    return QuietWatch(seconds, lambda: (in_flight, 0.0 if not in_flight else time.time()), "the test's bound")


def test_a_page_answered_whole_with_nothing_more_asked_ends_its_watch_after_the_quiet_bound():
    opened, seconds = _open(Answer(502, {"Content-Type": "text/html"}, REFUSED), 20.0, _quiet())
    assert not opened.finished
    assert opened.watch.startswith("the application answered /profile (HTTP 502) without showing the text 'signed in'")
    assert "(the test's bound)" in opened.watch
    assert QUIET <= seconds < 10, seconds


@pytest.mark.parametrize(
    ("page", "quiet"),
    [
        (Answer(200, {"Content-Type": "text/html"}, POLLING), _quiet()),  # the browser keeps asking
        (Answer(502, {"Content-Type": "text/html"}, REFUSED), _quiet(in_flight=1)),  # the stand-in is answering
    ],
    ids=["browser-requests", "stand-in-answering"],
)
def test_a_page_whose_application_is_still_asking_is_watched_until_drive_timeout(page, quiet):
    opened, seconds = _open(page, 3.0, quiet)
    assert not opened.finished and opened.watch == ""
    assert seconds >= 3.0


def test_a_marker_shown_within_the_quiet_bound_finishes_the_page():
    opened, _ = _open(Answer(200, {"Content-Type": "text/html"}, LATE_MARKER), 20.0, _quiet(2.5))
    assert opened.finished
