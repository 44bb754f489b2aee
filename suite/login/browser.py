"""The `browser` login method: Debian's Chromium, driven by Playwright, fills the login and consent
pages as the environment file describes them, in the manner of the OpenID Foundation suite's
browser configuration: for a URL pattern (and, optionally, an element the page must show), a
list of actions.

The navigation to the redirect URI is caught from the browser's own request events, the
moment the browser starts it, and aborted there (as every page load that leaves the issuer's
origin is), so it goes nowhere: no listener runs, no name is looked up, and no error page loads
later to cut into the next authorization's navigation. Chromium also resolves the redirect
URIs' hosts to nothing, in case a navigation slips past. A navigation to any other site than
the issuer is recorded as a redirect away."""

import re
from urllib.parse import urljoin, urlsplit

import allure

from ..browser import launch_chromium
from ..http import redact_url
from ..redaction import REDACTOR
from . import LoginConfigurationProblem, Outcome, is_redirect_to

_playwright = None
_browser = None
_page = _devtools = None  # the run's one page, and its Chrome DevTools Protocol session
_issuer_origin = None  # page loads to any other origin are aborted


def shared_browser(environment):
    """One Chromium for the whole run."""
    global _playwright, _browser
    if _browser is None:
        from playwright.sync_api import sync_playwright
        _playwright = sync_playwright().start()
        _browser = launch_chromium(_playwright, [f"--host-resolver-rules={_resolver_rules(environment)}"])
    return _browser


def fresh_page(environment):
    """One page for the whole run (a new context and page cost more than the sign-in itself),
    emptied before each authorization as a new browser profile would be: no cookies, nothing
    stored for the issuer (local storage, IndexedDB, caches, service workers), no HTTP cache.
    Only the tab's sessionStorage lives on, which login pages do not keep a sign-in in."""
    global _page, _devtools, _issuer_origin
    _issuer_origin = _origin(environment.issuer)
    if _page is None or _page.is_closed():
        context = shared_browser(environment).new_context(ignore_https_errors=not environment.http.verify_tls)
        _page = context.new_page()
        _devtools = context.new_cdp_session(_page)
        devtools = _devtools
        devtools.on("Fetch.requestPaused", lambda paused: _abort_if_leaving(devtools, paused))
        _devtools.send("Fetch.enable", {"patterns": [{"urlPattern": "*", "resourceType": "Document"}]})
    _devtools.send("Network.clearBrowserCookies")
    _devtools.send("Network.clearBrowserCache")
    _devtools.send("Storage.clearDataForOrigin", {"origin": _origin(environment.issuer), "storageTypes": "all"})
    return _page


def _abort_if_leaving(devtools, paused) -> None:
    """A page load that leaves the issuer's origin (the redirect URI above all) is aborted before
    it is sent: Chromium then shows no error page, which would load a moment later and interrupt
    the next navigation. The `request` event has already recorded where it went."""
    leaving = _origin(paused["request"]["url"]) != _issuer_origin
    if leaving:
        devtools.send("Fetch.failRequest", {"requestId": paused["requestId"], "errorReason": "Aborted"})
    else:
        devtools.send("Fetch.continueRequest", {"requestId": paused["requestId"]})


def discard_page() -> None:
    """After a sign-in that went wrong, the next one starts in a new context and page."""
    global _page, _devtools
    if _page is not None:
        _page.context.close()
    _page = _devtools = None


def _resolver_rules(environment) -> str:
    """Redirect URIs' hosts resolve to nothing; with a loopback issuer, so does every other host."""
    rules = sorted({f"MAP {urlsplit(c.redirect_uri).hostname} ~NOTFOUND"
                    for c in environment.clients.values() if c.redirect_uri})
    if urlsplit(environment.issuer).hostname in ("127.0.0.1", "localhost", "::1"):
        rules = ["MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1", "EXCLUDE localhost"]
    return ", ".join(rules)


def close_browser() -> None:
    global _playwright, _browser, _page, _devtools
    if _browser is not None:
        _browser.close()
        _playwright.stop()
    _playwright = _browser = _page = _devtools = None


class BrowserLogin:
    def __init__(self, environment, http):
        self.environment, self.login, self.settings = environment, environment.login, environment.http
        self.issuer_origin = _origin(environment.issuer)

    def authorize(self, authorization_url: str, redirect_uri: str) -> Outcome:
        from playwright.sync_api import Error as PlaywrightError
        page = fresh_page(self.environment)
        stop: dict = {}
        self.signed_in = False
        redirects: list[str] = []  # Location headers: the browser's own request drops a #fragment
        statuses = {}
        listeners = {
            "request": lambda request: self._watch(request, redirect_uri, stop),
            "response": lambda r: (redirects.append(urljoin(r.url, r.headers["location"]))
                                   if 300 <= r.status < 400 and "location" in r.headers else None,
                                   statuses.__setitem__(r.url, r.status) if r.request.is_navigation_request() else None),
            "framenavigated": lambda frame: statuses.__setitem__("navigations", statuses.get("navigations", 0) + 1)
            if frame == page.main_frame else None,
        }
        for event, listener in listeners.items():
            page.on(event, listener)
        try:
            outcome = self._drive(page, authorization_url, stop, statuses)
        except PlaywrightError as error:
            if not stop:
                self._attach_page(page, "browser login failed")
                discard_page()
                raise AssertionError(f"the browser login stopped on {redact_url(page.url)}: "
                                     f"{REDACTOR.scrub(str(error)).splitlines()[0]}") from None
            outcome = Outcome(stop["kind"], stop["url"])  # caught; that it then went nowhere is the point
        finally:
            if not page.is_closed():
                for event, listener in listeners.items():
                    page.remove_listener(event, listener)
        outcome.signed_in = self.signed_in
        return _with_fragment(outcome, redirects)

    def _drive(self, page, authorization_url, stop, statuses) -> Outcome:
        timeout_ms = self.login.browser_timeout * 1000
        from playwright.sync_api import Error as PlaywrightError
        try:
            page.goto(authorization_url, timeout=timeout_ms, wait_until="commit")
        except PlaywrightError as error:
            # Chromium fails the navigation when an HTTP error status comes with an empty body
            # (glewlwyd's answer to an unregistered redirect_uri): that is the server's error page.
            if "ERR_HTTP_RESPONSE_CODE_FAILURE" in str(error) and authorization_url in statuses:
                return Outcome("page", authorization_url, statuses[authorization_url])
            raise
        page.wait_for_load_state("load", timeout=timeout_ms)
        previous = None
        for _ in range(self.login.max_pages):
            if stop:
                return Outcome(stop["kind"], stop["url"])
            rule = self._rule_for(page)
            if rule is None:
                self._attach_page(page, "the flow stopped here")
                self._check_page_fits_settings(page)
                return Outcome("page", page.url, statuses.get(page.url), body=page.content())
            if previous == (rule, page.url):  # the same page again: the actions got nowhere
                stuck = "login_failed" if rule.fills else "loop"
                self._attach_page(page, "signing in failed" if rule.fills else "the flow went in circles")
                return Outcome(stuck, page.url, statuses.get(page.url))
            previous = (rule, page.url)
            navigations = statuses.get("navigations", 0)
            self._run(page, rule, timeout_ms)
            self.signed_in = self.signed_in or rule.signs_in
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

    def _check_page_fits_settings(self, page) -> None:
        """A login page no rule describes is a configuration problem, not the server's fault."""
        if page.locator("input[type=password]").count() == 0:
            return
        fields = page.eval_on_selector_all("input[name]", "els => els.map(e => e.name)")
        buttons = page.eval_on_selector_all("button, input[type=submit]",
                                            "els => els.map(e => (e.name ? e.name + '=' : '') + (e.value || e.textContent.trim()))")
        raise LoginConfigurationProblem(
            f"login.browser.pages: no entry matches the login page {redact_url(page.url)} (with its `when:`); the page "
            f"offers fields {', '.join(sorted(set(fields))) or '(none)'} and buttons {', '.join(buttons) or '(none)'}")

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
        Events, no fixed waits: Playwright's click already waits for the navigation it started."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout
        if not stop and statuses.get("navigations", 0) == navigations:
            try:  # a page whose script navigates a little later
                page.wait_for_event("framenavigated", predicate=lambda frame: frame == page.main_frame,
                                    timeout=timeout_ms)
            except PlaywrightTimeout:
                return  # nothing happened: the caller sees the same page again and stops
        if not stop:
            page.wait_for_load_state("load", timeout=timeout_ms)

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
            return Outcome(outcome.kind, location, outcome.status, outcome.signed_in)
    return outcome


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


