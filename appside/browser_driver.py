"""Drives an interactive application's sign-in in Debian's Chromium: opens the application's
sign-in URL, fills the stand-in's login and consent pages (with the suite's browser login
method, suite.wire.login.browser, and the sandbox's page description) and watches for the
application's signed-in marker.

Chromium resolves every host but loopback to nothing: nothing leaves the machine."""

import contextlib
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from urllib.parse import urlsplit

from suite.configuration.environment import BrowserAction, BrowserPage, HttpSettings, Login
from suite.wire.browser import launch_chromium
from suite.wire.login.browser import BrowserLogin

# The stand-in's (the sandbox's) login and consent pages, as environments/sandbox-browser.yaml has them.
STAND_IN_PAGES = (
    BrowserPage(
        "/account/login",
        "#password",
        (
            BrowserAction("fill", "#username", "{username}"),
            BrowserAction("fill", "#password", "{password}"),
            BrowserAction("click", "#sign-in"),
        ),
    ),
    BrowserPage("/connect/authorize", "#allow", (BrowserAction("click", "#allow"),)),
)
LOOPBACK_ONLY = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


@dataclass
class SignIn:
    """What one sign-in through the application showed."""

    finished: bool  # the application showed its signed-in marker
    callback_status: int | None = None  # the HTTP status of the application's callback page
    final_url: str = field(default="", repr=False)
    seconds: float = 0.0


class BrowserDriver:
    def __init__(self, application, issuer: str, user, tls=None) -> None:
        from playwright.sync_api import sync_playwright

        self.application = application
        self._playwright = sync_playwright().start()
        flags = [f"--host-resolver-rules={LOOPBACK_ONLY}"]
        if tls:  # the stand-in's certificate, and no other, is accepted although its authority is not Chromium's
            flags.append(f"--ignore-certificate-errors-spki-list={tls.spki_sha256}")
        self._browser = launch_chromium(self._playwright, flags)
        login = Login("browser", user.username, user.password, browser_pages=STAND_IN_PAGES)
        self._pages = BrowserLogin(SimpleNamespace(login=login, http=HttpSettings(), issuer=issuer), None)

    def session(self) -> "BrowserSession":
        """A fresh browser profile: no cookies of the application nor of the stand-in."""
        return BrowserSession(self, self._browser.new_context())

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()


class BrowserSession:
    def __init__(self, driver: BrowserDriver, context) -> None:
        self.driver, self.context = driver, context
        self.drive = driver.application.drive
        self.page = context.new_page()
        self.callback_statuses: list[int] = []
        callback_paths = {(urlsplit(u).netloc, urlsplit(u).path) for u in driver.application.redirect_uris}
        self.page.on(
            "response",
            lambda r: (
                self.callback_statuses.append(r.status)
                if r.request.is_navigation_request()
                and (urlsplit(r.url).netloc, urlsplit(r.url).path) in callback_paths
                else None
            ),
        )

    def sign_in(self, refused: bool = False) -> SignIn:
        """Start the application's sign-in and go through the stand-in's pages. A sign-in the
        stand-in answers wrongly on purpose (`refused`) is watched for `drive.settle` seconds
        after the application's callback, long enough for it to redeem a code it should not."""
        return self.open(self.drive.sign_in_url, refused)

    def open(self, url: str, refused: bool = False) -> SignIn:
        from playwright.sync_api import Error as PlaywrightError

        started = time.monotonic()
        seen = len(self.callback_statuses)
        deadline = started + self.drive.timeout
        callback_at = None
        # the page may navigate on at once; the loop below looks at where it ended
        with contextlib.suppress(PlaywrightError):
            self.page.goto(url, wait_until="commit", timeout=self.drive.timeout * 1000)
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(50)
            if len(self.callback_statuses) > seen and callback_at is None:
                callback_at = time.monotonic()
            try:
                if self._signed_in():
                    if refused:  # it went on where it should have stopped: let its requests arrive
                        self.page.wait_for_timeout(300)
                    return self._result(True, seen, started)
                rule = self.driver._pages._rule_for(self.page)
                if rule is not None:
                    self.driver._pages._run(self.page, rule, 5000)
                    self.page.wait_for_timeout(100)
            except PlaywrightError:
                continue  # navigating: look again
            watched = self.drive.settle if refused else max(self.drive.settle, 5.0)
            if callback_at and time.monotonic() - callback_at > watched:
                break  # back at the application for a while, and it still does not say it signed in
        BrowserLogin._attach_page(self.page, "where the sign-in ended")
        return self._result(False, seen, started)

    def _signed_in(self) -> bool:
        marker = self.drive.signed_in
        if marker.selector:
            return bool(self.page.locator(marker.selector).count() > 0)
        return bool(self.page.get_by_text(marker.text).count() > 0)

    def _result(self, finished: bool, seen: int, started: float) -> SignIn:
        statuses = self.callback_statuses[seen:]
        return SignIn(finished, statuses[-1] if statuses else None, self.page.url, time.monotonic() - started)

    def close(self) -> None:
        self.context.close()
