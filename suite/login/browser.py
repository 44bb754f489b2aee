"""The `browser` login method: Debian's Chromium, driven by Playwright, fills the login and consent
pages as the environment file describes them, in the manner of the OpenID Foundation suite's
browser configuration: for a URL pattern (and, optionally, an element the page must show), a
list of actions.

The navigation to the redirect URI is caught from the browser's own request events, the
moment the browser starts it; Chromium is launched resolving the redirect URIs' hosts to
nothing, so that navigation goes nowhere: no listener runs, no name is looked up. A navigation
to any other site than the issuer is recorded as a redirect away."""

import re
import time
from urllib.parse import urljoin, urlsplit

import allure

from ..browser import launch_chromium
from ..http import redact_url
from ..redaction import REDACTOR
from . import Outcome, is_redirect_to

_playwright = None
_browser = None


def shared_browser(environment):
    """One Chromium for the whole run; each authorization gets a fresh context (no cookies)."""
    global _playwright, _browser
    if _browser is None:
        from playwright.sync_api import sync_playwright
        _playwright = sync_playwright().start()
        _browser = launch_chromium(_playwright, [f"--host-resolver-rules={_resolver_rules(environment)}"])
    return _browser


def _resolver_rules(environment) -> str:
    """Redirect URIs' hosts resolve to nothing; with a loopback issuer, so does every other host."""
    rules = sorted({f"MAP {urlsplit(c.redirect_uri).hostname} ~NOTFOUND"
                    for c in environment.clients.values() if c.redirect_uri})
    if urlsplit(environment.issuer).hostname in ("127.0.0.1", "localhost", "::1"):
        rules = ["MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1", "EXCLUDE localhost"]
    return ", ".join(rules)


def close_browser() -> None:
    global _playwright, _browser
    if _browser is not None:
        _browser.close()
        _playwright.stop()
    _playwright = _browser = None


class BrowserLogin:
    def __init__(self, environment, http):
        self.environment, self.login, self.settings = environment, environment.login, environment.http
        self.issuer_origin = _origin(environment.issuer)

    def authorize(self, authorization_url: str, redirect_uri: str) -> Outcome:
        from playwright.sync_api import Error as PlaywrightError
        context = shared_browser(self.environment).new_context(ignore_https_errors=not self.settings.verify_tls)
        stop: dict = {}
        redirects: list[str] = []  # Location headers: the browser's own request drops a #fragment
        context.on("request", lambda request: self._watch(request, redirect_uri, stop))
        context.on("response", lambda r: redirects.append(urljoin(r.url, r.headers["location"]))
                   if 300 <= r.status < 400 and "location" in r.headers else None)
        page = context.new_page()
        statuses = {}
        page.on("response", lambda r: statuses.__setitem__(r.url, r.status) if r.request.is_navigation_request() else None)
        page.on("framenavigated", lambda frame: statuses.__setitem__("navigations", statuses.get("navigations", 0) + 1)
                if frame == page.main_frame else None)
        try:
            outcome = self._drive(page, authorization_url, stop, statuses)
        except PlaywrightError as error:
            if not stop:
                self._attach_page(page, "browser login failed")
                raise AssertionError(f"the browser login stopped on {redact_url(page.url)}: "
                                     f"{REDACTOR.scrub(str(error).splitlines()[0])}") from None
            outcome = Outcome(stop["kind"], stop["url"])  # caught; that it then went nowhere is the point
        finally:
            context.close()
        return _with_fragment(outcome, redirects)

    def _drive(self, page, authorization_url, stop, statuses) -> Outcome:
        timeout_ms = self.login.browser_timeout * 1000
        page.goto(authorization_url, timeout=timeout_ms, wait_until="commit")
        page.wait_for_load_state("load", timeout=timeout_ms)
        previous = None
        for _ in range(self.login.max_pages):
            if stop:
                return Outcome(stop["kind"], stop["url"])
            rule = self._rule_for(page)
            if rule is None:
                outcome = Outcome("page", page.url, statuses.get(page.url))
                self._attach_page(page, "the flow stopped here")
                return outcome
            if previous == (rule, page.url):  # the same page again: the actions got nowhere
                stuck = "login_failed" if rule.fills else "loop"
                self._attach_page(page, "signing in failed" if rule.fills else "the flow went in circles")
                return Outcome(stuck, page.url, statuses.get(page.url))
            previous = (rule, page.url)
            navigations = statuses.get("navigations", 0)
            self._run(page, rule, timeout_ms)
            self._settle(page, stop, statuses, navigations, timeout_ms)
        return Outcome(stop["kind"], stop["url"]) if stop else Outcome("loop", page.url)

    def _watch(self, request, redirect_uri, stop):
        if not request.is_navigation_request() or stop:
            return
        if is_redirect_to(request.url, redirect_uri):
            stop.update(kind="callback", url=request.url)
        elif _origin(request.url) != self.issuer_origin:
            stop.update(kind="left", url=request.url)

    def _rule_for(self, page):
        for rule in self.login.browser_pages:
            if re.search(rule.url, page.url) and (not rule.when or page.locator(rule.when).count() > 0):
                return rule
        return None

    def _run(self, page, rule, timeout_ms):
        values = {"username": self.login.username, "password": self.login.password}
        for action in rule.actions:
            if action.kind == "fill":
                page.fill(action.selector, action.value.format(**values), timeout=timeout_ms)
            elif action.kind == "click":
                page.click(action.selector, timeout=timeout_ms)
            elif action.kind == "wait":
                page.wait_for_selector(action.selector, timeout=timeout_ms)

    @staticmethod
    def _settle(page, stop, statuses, navigations: int, timeout_ms):
        """Wait until the actions have led somewhere: a caught redirect or a newly loaded page.
        Short waits, because Playwright hands over browser events only while it is being waited on."""
        deadline = time.monotonic() + timeout_ms / 1000
        while time.monotonic() < deadline:
            page.wait_for_timeout(40)
            if stop:
                return
            if statuses.get("navigations", 0) > navigations:
                page.wait_for_load_state("load", timeout=timeout_ms)
                page.wait_for_timeout(40)
                return

    @staticmethod
    def _attach_page(page, title):
        """A screenshot (password fields masked) and the URL, attached to the current Allure step."""
        try:
            png = page.screenshot(mask=[page.locator("input[type=password]")], full_page=True, timeout=5000)
        except Exception:  # the page is gone: the URL still tells where
            png = None
        allure.attach(redact_url(page.url), name=f"{title}: page URL", attachment_type=allure.attachment_type.URI_LIST)
        if png:
            allure.attach(png, name=f"{title}: screenshot", attachment_type=allure.attachment_type.PNG)


def _with_fragment(outcome: Outcome, redirects: list[str]) -> Outcome:
    """The caught URL as the server sent it, with the #fragment the browser kept to itself."""
    for location in redirects:
        if outcome.url and "#" in location and location.split("#")[0] == outcome.url:
            return Outcome(outcome.kind, location, outcome.status)
    return outcome


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


