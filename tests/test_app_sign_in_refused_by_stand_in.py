"""A sign-in the stand-in refused with its error page (an unknown client_id, an unregistered redirect_uri: no
redirect back, RFC 6749 section 4.1.2.1) ends there, on that evidence: the page sends the browser nowhere and
the application's page is gone from the tab. Each such sign-in waited out drive.timeout (20 s), and a run
whose every sign-in was refused took 88 s instead of 13. An error page of anyone else is still watched to
drive.timeout."""

import os
import time
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from faulty_servers import Answer, HostileServer, browser_driven_spa, registered_stand_in

from sandbox.app import PATHS
from suite.wire.browser import chromium_path

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
TIMEOUT = 20.0  # drive.timeout's default


def _sign_in(application, issuer: str, user):
    from appside.browser_driver import BrowserDriver

    driver = BrowserDriver(application, issuer, user)
    try:
        session = driver.session()
        started = time.monotonic()
        sign_in = session.sign_in()
        seconds = time.monotonic() - started
        session.close()
    finally:
        driver.close()
    return sign_in, seconds, session.urls


def test_a_sign_in_the_stand_in_refused_with_its_error_page_ends_there():
    app = HostileServer({})
    application = browser_driven_spa(app.url, timeout=TIMEOUT)
    stand_in, user = registered_stand_in("reference-spa", "spa", application.redirect_uris)
    query = {"response_type": "code", "client_id": "reference-spa-typo", "redirect_uri": app.url + "/callback"}
    app.routes["/"] = Answer(
        302, {"Location": f"{stand_in.issuer}{PATHS['authorization_endpoint']}?{urlencode(query)}"}
    )
    try:
        sign_in, seconds, urls = _sign_in(application, stand_in.issuer, user)
    finally:
        stand_in.stop()
        app.close()
    assert not sign_in.finished and sign_in.callback_status is None
    assert (
        sign_in.watch == "the stand-in refused the authorization request with its error page (HTTP 400): the "
        "sign-in ended there"
    )
    assert any(PATHS["authorization_endpoint"] in url for url in urls)
    assert seconds < TIMEOUT / 2, f"the refused sign-in took {seconds:.1f} s"


def test_an_error_page_of_the_application_at_the_same_path_is_watched_until_drive_timeout():
    """Only the stand-in's own page is evidence that nothing more comes: the application's may go on."""
    app = HostileServer({})
    page = b'<!doctype html><p class="error" id="error">unknown client</p>'
    app.routes.update(
        {
            "/": Answer(302, {"Location": app.url + PATHS["authorization_endpoint"]}),
            PATHS["authorization_endpoint"]: Answer(400, {"Content-Type": "text/html"}, page),
        }
    )
    application = browser_driven_spa(app.url, timeout=3.0)
    stand_in = HostileServer({})
    try:
        sign_in, seconds, _ = _sign_in(application, stand_in.url, SimpleNamespace(username="u", password="pw-7Q!x"))
    finally:
        stand_in.close()
        app.close()
    assert not sign_in.finished and sign_in.watch == ""
    assert seconds >= 3.0
