"""The `browser` login method: Debian's Chromium, driven by Playwright, fills the login and consent
pages as the environment file describes them, in the manner of the OpenID Foundation suite's
browser configuration: for a URL pattern (and, optionally, an element the page must show), a
list of actions.

The navigation to the redirect URI is caught from the browser's own request events, the
moment the browser starts it, and aborted there (as every page load that leaves the issuer's
origin is), so it goes nowhere: no listener runs, no name is looked up, and no error page loads
later to cut into the next authorization's navigation. Chromium also resolves the redirect
URIs' hosts to nothing, in case a navigation slips past. A navigation to any other site than
the issuer (or an origin listed in http.trusted_origins) is recorded as a redirect away.

Every request the page makes, each hop of a redirect too, is held before it is sent: one that
carries a credential (any body, such as the login form's POST, or a secret in its URL) goes only
where the suite's HTTP client would send one (suite.wire.http.CredentialPolicy), or the sign-in ends
as the same non-conformance, saying why. A login page's form, script or redirect cannot take
the test user's password anywhere else."""

import re
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urljoin, urlsplit

import allure

from suite.secrets.redaction import REDACTOR
from suite.wire.browser import launch_chromium
from suite.wire.http import CredentialPolicy, UntrustedEndpoint, credentials_in, redact_url
from suite.wire.login import LoginConfigurationProblem, Outcome, is_redirect_to

_playwright = None
_browser = None
_page = _devtools = None  # the run's one page, and its Chrome DevTools Protocol session


@dataclass
class _Guard:
    """What the page's requests are held against during one authorization."""

    policy: CredentialPolicy | None = None  # where credentials, and page loads, may go
    redirect_uri: str = ""  # caught, never sent
    refused: list = field(default_factory=list)  # UntrustedEndpoint for each request refused


_guard = _Guard()
# What a sign-in never needs, not loaded: images, fonts and media cost a login page's load time and
# decide nothing (stylesheets stay: they decide what is visible, and so what a click can reach).
_NOT_NEEDED = {"Image", "Font", "Media"}


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
    global _page, _devtools
    if _page is None or _page.is_closed():
        context = shared_browser(environment).new_context(ignore_https_errors=not environment.http.verify_tls)
        _page = context.new_page()
        _devtools = context.new_cdp_session(_page)
        devtools = _devtools
        devtools.on("Fetch.requestPaused", lambda paused: _hold(devtools, paused))
        _devtools.send("Fetch.enable", {"patterns": [{"urlPattern": "*"}]})
        _page.route_web_socket(re.compile(".*"), _hold_web_socket)
    _devtools.send("Network.clearBrowserCookies")
    _devtools.send("Network.clearBrowserCache")
    _devtools.send("Storage.clearDataForOrigin", {"origin": _origin(environment.issuer), "storageTypes": "all"})
    return _page


def _hold(devtools, paused) -> None:
    """Every request, before it is sent. A page load that leaves the issuer's origin (the redirect
    URI above all) is aborted: Chromium then shows no error page, which would load a moment later
    and interrupt the next navigation; the `request` event has already recorded where it went.
    A request carrying a credential where the policy forbids it is refused: failed as blocked
    (a page load then ends on Chromium's error page at once, and the page is discarded anyway)
    and kept for `authorize` to raise."""
    request, url = paused["request"], paused["request"]["url"]
    navigation = paused.get("resourceType") == "Document"
    carried = _credentials_carried(request, navigation)
    policy = _guard.policy
    assert policy is not None, "BrowserLogin.authorize sets the policy before the page loads"
    reason = "Aborted" if is_redirect_to(url, _guard.redirect_uri) else None
    if reason is None and carried and policy.refusal(url):  # the message is scrubbed only for a refusal
        try:
            policy.refuse(f"{carried} in {request['method']} {redact_url(url)}", url)
        except UntrustedEndpoint as refusal:
            _guard.refused.append(refusal)
            reason = "BlockedByClient"
    if reason is None and navigation and policy.refusal(url):
        reason = "Aborted"
    if reason is None and paused.get("resourceType") in _NOT_NEEDED:  # after the credential check:
        reason = "BlockedByClient"  # an image's URL carrying the password is still refused as such
    if reason:
        devtools.send("Fetch.failRequest", {"requestId": paused["requestId"], "errorReason": reason})
    else:
        devtools.send("Fetch.continueRequest", {"requestId": paused["requestId"]})


def _hold_web_socket(socket) -> None:
    """A WebSocket the page opens (the Fetch domain that holds its requests never sees one): it
    reaches its server only where a credential may go (CredentialPolicy: the issuer's origins over
    TLS, or this machine's), since each message it would carry is out of the suite's sight. Elsewhere
    it stays open to nobody, and one whose address carries a secret is refused as a request is."""
    target = "http" + socket.url[2:]  # ws: and wss: reach the origins of http: and https:
    policy = _guard.policy
    assert policy is not None, "BrowserLogin.authorize sets the policy before the page loads"
    if policy.refusal(target) is None:
        socket.connect_to_server()
    elif REDACTOR.scrub(socket.url) != socket.url:
        try:
            policy.refuse(f"a secret in the address of a WebSocket, {redact_url(socket.url)}", target)
        except UntrustedEndpoint as refusal:
            _guard.refused.append(refusal)


def _credentials_carried(request: dict, navigation: bool) -> str:
    """What credentials a request of the page would carry, named as the HTTP client names them
    (suite.wire.http.credentials_in), or "" for none. Any body counts: the page's own form or script
    chose what is in it. Without a body, a page load carries nothing that matters (one that leaves
    is aborted whatever its URL holds, and an authorization code the server sends to the wrong
    place is AUTH-05's to judge, as "left"); any other request carries the secrets in its URL."""
    url, body = request["url"], request.get("postData", "")
    query = parse_qsl(urlsplit(url).query)
    if body or request.get("hasPostData"):
        return ", ".join(sorted(credentials_in({"data": parse_qsl(body), "params": query}))) or "a request body"
    if navigation:
        return ""
    names = ", ".join(sorted(credentials_in({"params": query})))
    return names or ("a secret in the URL" if REDACTOR.scrub(url) != url else "")


def discard_page() -> None:
    """After a sign-in that went wrong, the next one starts in a new context and page."""
    global _page, _devtools
    if _page is not None:
        _page.context.close()
    _page = _devtools = None


def _resolver_rules(environment) -> str:
    """Redirect URIs' hosts resolve to nothing; with a loopback issuer, so does every other host."""
    rules = sorted(
        {f"MAP {urlsplit(c.redirect_uri).hostname} ~NOTFOUND" for c in environment.clients.values() if c.redirect_uri}
    )
    if urlsplit(environment.issuer).hostname in ("127.0.0.1", "localhost", "::1"):
        rules = ["MAP * ~NOTFOUND", "EXCLUDE 127.0.0.1", "EXCLUDE localhost"]
    return ", ".join(rules)


def close_browser() -> None:
    global _playwright, _browser, _page, _devtools
    if _browser is not None:
        _browser.close()
    if _playwright is not None:
        _playwright.stop()
    _playwright = _browser = _page = _devtools = None


class BrowserLogin:
    def __init__(self, environment, http) -> None:
        self.environment, self.login, self.settings = environment, environment.login, environment.http
        self.policy = CredentialPolicy(environment.issuer, environment.http)
        self.requested_at: float | None = None  # time.monotonic() when the last authorization request went

    def authorize(self, authorization_url: str, redirect_uri: str) -> Outcome:
        from playwright.sync_api import Error as PlaywrightError

        page = fresh_page(self.environment)
        self.requested_at = time.monotonic()  # Chromium is ready: the authorization request goes now
        _guard.policy, _guard.redirect_uri, _guard.refused = self.policy, redirect_uri, []
        stop: dict = {}
        self.signed_in = False
        redirects: list[str] = []  # Location headers: the browser's own request drops a #fragment
        statuses: dict[str, int] = {}

        def on_response(r) -> None:
            if 300 <= r.status < 400 and "location" in r.headers:
                redirects.append(urljoin(r.url, r.headers["location"]))
            if r.request.is_navigation_request():
                statuses[r.url] = r.status

        def on_frame_navigated(frame) -> None:
            if frame == page.main_frame:
                statuses["navigations"] = statuses.get("navigations", 0) + 1

        listeners = {
            "request": lambda request: self._watch(request, redirect_uri, stop),
            "response": on_response,
            "framenavigated": on_frame_navigated,
        }
        for event, listener in listeners.items():
            page.on(event, listener)
        try:
            outcome = self._drive(page, authorization_url, stop, statuses)
        except PlaywrightError as error:
            self._raise_refusal(page)
            if not stop:
                self._attach_page(page, "browser login failed")
                discard_page()
                raise AssertionError(
                    f"the browser login stopped on {redact_url(page.url)}: {REDACTOR.scrub(str(error)).splitlines()[0]}"
                ) from None
            outcome = Outcome(stop["kind"], stop["url"])  # caught; that it then went nowhere is the point
        finally:
            if not page.is_closed():
                for event, listener in listeners.items():
                    page.remove_listener(event, listener)
        self._raise_refusal(page)
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
            if _guard.refused:  # authorize raises it
                return Outcome("page", page.url)
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

    def _watch(self, request, redirect_uri, stop) -> None:
        if not request.is_navigation_request() or stop:
            return
        if is_redirect_to(request.url, redirect_uri):
            stop.update(kind="callback", url=request.url)
        elif self.policy.refusal(request.url):
            stop.update(kind="left", url=request.url)

    def _raise_refusal(self, page) -> None:
        """A credential the page was about to send elsewhere ends the sign-in, whatever the page
        did next, as it does for the form method; its context goes with it."""
        if _guard.refused:
            self._attach_page(page, "a credential was refused")
            discard_page()
            raise _guard.refused[0] from None

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
        buttons = page.eval_on_selector_all(
            "button, input[type=submit]",
            "els => els.map(e => (e.name ? e.name + '=' : '') + (e.value || e.textContent.trim()))",
        )
        raise LoginConfigurationProblem(
            f"login.browser.pages: no entry matches the login page {redact_url(page.url)} (with its `when:`); the page "
            f"offers fields {', '.join(sorted(set(fields))) or '(none)'} and buttons {', '.join(buttons) or '(none)'}"
        )

    def _run(self, page, rule, timeout_ms) -> None:
        values = {"username": self.login.username, "password": self.login.password}
        for action in rule.actions:
            if action.kind == "fill":
                page.fill(action.selector, action.value.format(**values), timeout=timeout_ms)
            elif action.kind == "click":
                # Waiting until the element is visible, then a real mouse click at its centre: Playwright's
                # own waits add animation frames until the element holds still and a probe that the
                # click would land on it, 35-50 ms a click, half of a sign-in's time on the browser's
                # side. Nothing is proven by them: a click that lands on something else, or on a
                # disabled button, leads nowhere, and the sign-in fails as "login_failed" or "loop".
                # `.first`: a locator is strict, and a login page may match twice (two submit buttons);
                # page.click takes the first match, as it did before this wait was added
                page.locator(action.selector).first.wait_for(state="visible", timeout=timeout_ms)
                page.click(action.selector, timeout=timeout_ms, force=True)
            elif action.kind == "wait":
                page.wait_for_selector(action.selector, timeout=timeout_ms)

    @staticmethod
    def _settle(page, stop, statuses, navigations: int, timeout_ms) -> None:
        """Wait until the actions have led somewhere: a caught redirect or a newly loaded page.
        Events, no fixed waits: Playwright's click already waits for the navigation it started."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        if not stop and statuses.get("navigations", 0) == navigations:
            try:  # a page whose script navigates a little later
                page.wait_for_event(
                    "framenavigated", predicate=lambda frame: frame == page.main_frame, timeout=timeout_ms
                )
            except PlaywrightTimeout:
                return  # nothing happened: the caller sees the same page again and stops
        if not stop:
            page.wait_for_load_state("load", timeout=timeout_ms)

    @staticmethod
    def _attach_page(page, title) -> None:
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
