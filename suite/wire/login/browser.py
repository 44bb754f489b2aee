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

Every request of the page, and of every page, frame and worker it starts, is held before it is
sent (Guard): it reaches only the origins the suite's HTTP client would send a credential to
(suite.wire.http.CredentialPolicy), and Chromium's every connection passes an OriginFence that
opens nothing else, so what no request interception sees (a shared worker, a worker's WebSocket,
a redirect's next hop, a preconnect) is held too. Once the test user's password is typed, any
refusal fails the sign-in naming the origin, whatever the request carried: a login page's form,
script, popup or worker cannot take the password anywhere else, however it encodes it."""

import contextlib
import re
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, urljoin, urlsplit

import allure

from suite.secrets.redaction import REDACTOR, said
from suite.wire.browser import MemoryBound, OriginFence, launch_chromium, person_user_agent, stop_chromium
from suite.wire.http import (
    FIXES,
    CredentialPolicy,
    EnvironmentProblem,
    PolicyRefusal,
    UntrustedEndpoint,
    UntrustedOrigin,
    allure_results_written,
    credentials_in,
    redact_url,
)
from suite.wire.login import CONSENT_DENIED, CONSENT_GRANTED, LoginConfigurationProblem, Outcome, is_redirect_to
from suite.wire.login.html_forms import POST_BUTTON, post_form_page, refresh_of, sends_on
from suite.wire.login.screenshots import picture_without_secrets

_playwright = None
_browser = _fence = None
_memory: MemoryBound | None = None  # the run's Chromium's, kept with its fence
_signing_in: threading.Event | None = None  # the deadline event of the sign-in going on, if one is
_memory_exceeded = ""  # why Chromium was last stopped for its memory, until a sign-in reports it
_page = _devtools = None  # the run's one page, and its Chrome DevTools Protocol session
# What a sign-in never needs, not loaded: images, fonts and media cost a login page's load time and
# decide nothing (stylesheets stay: they decide what is visible, and so what a click can reach).
_NOT_NEEDED = {"image", "font", "media"}
# A sign-in that has not ended this many times login.browser.timeout after it began is ended: a login
# page can keep Chromium too busy for any of its calls' own timeouts to come (a page re-sending
# everything every 150 ms held a run for more than 10 minutes), so Chromium is stopped.
SIGN_IN_SPAN = 4
BLOCKED_SHOWN = 200  # lines of the report's list of refused requests; a page re-sending them all makes more
# What each page's scripts meet before the page's own, in every frame of the login browser: WebRTC,
# whose packets go over UDP where no request interception and no proxy sees them (Chromium's policy
# sends none: suite.wire.browser.OriginFence), is refused and reported to the guard by name; so is
# window.open, as Chromium opens no popup (--block-new-web-contents): where it would have gone is
# judged as a request. The binding is taken before any script of the page runs.
PAGE_SCRIPT_GUARD = """(() => {
  const report = globalThis.__suiteGuard;
  if (typeof report !== "function") return;
  const said = (what, name, where) => { try { report(what, name, String(where).slice(0, 2000)); } catch (e) {} };
  const servers = config => {
    try {
      return [].concat(...((config && config.iceServers) || []).map(s => [].concat(s.urls || s.url || []))).join(" ");
    } catch (e) { return ""; }
  };
  for (const name of ["RTCPeerConnection", "webkitRTCPeerConnection"]) {
    if (!(name in globalThis)) continue;
    const refused = function (config) {
      said("webrtc", name, servers(config));
      throw new DOMException("WebRTC is turned off by the conformance suite", "NotSupportedError");
    };
    try {
      Object.defineProperty(globalThis, name, {value: refused, writable: false, configurable: false});
    } catch (e) {}
  }
  const open = function (url) {
    let where = "";
    try {
      where = new URL(String(url === undefined ? "" : url), location.href).href;
    } catch (e) { where = String(url); }
    said("popup", "window.open", where);
    return null;
  };
  try { Object.defineProperty(globalThis, "open", {value: open, writable: false, configurable: false}); } catch (e) {}
  // A form whose target names a new window opens a popup as window.open does, with no call to it: its
  // submission (by a button, which fires "submit", or by form.submit(), which does not) is said as one.
  if (typeof HTMLFormElement !== "function") return;
  const formPopup = (form, submitter) => {
    try {
      const target = ((submitter && submitter.getAttribute("formtarget")) || form.getAttribute("target") || "").trim();
      const lower = target.toLowerCase();
      if (!target || ["_self", "_parent", "_top"].includes(lower)) return;
      const frames = [...document.querySelectorAll("iframe, frame")];
      if (lower !== "_blank" && frames.some(frame => frame.name === target)) return;
      const action = (submitter && submitter.getAttribute("formaction")) || form.getAttribute("action") || "";
      said("popup", "a form's target", new URL(action, location.href).href);
    } catch (e) {}
  };
  // said once every listener had its turn: a submission the page's own listener cancelled opens nothing
  addEventListener("submit", event => {
    setTimeout(() => { if (!event.defaultPrevented) formPopup(event.target, event.submitter); }, 0);
  }, true);
  const submit = HTMLFormElement.prototype.submit;
  const submitted = function () { formPopup(this, null); return submit.call(this); };
  try {
    const fixed = {value: submitted, writable: false, configurable: false};
    Object.defineProperty(HTMLFormElement.prototype, "submit", fixed);
  } catch (e) {}
})();"""


# What a refusal of a login page's WebRTC says to do: no sentence binds what a login page's scripts connect to
# (RFC 6749 section 3.1 leaves the login to the server), so it is no failure of the server's
WEBRTC_ADVICE = (
    "Nothing was sent. No sentence binds what a login page's scripts connect to (RFC 6749 section 3.1: the "
    "login is beyond its scope), so this is no failure of the server's; the browser method cannot sign in on "
    "such a page: sign in with login.method: manual, or with a test user whose login page makes no peer connection."
)


class Guard:
    """What a browser context's requests are held against. Every request of every page in it
    (popups and frames too) and of their dedicated workers is held before it is sent (a context
    route), every WebSocket before it opens, and every connection the browser makes passes the
    OriginFence: only the origins the credential policy allows are reached. Anything else is
    refused whatever it carries, and recorded (`blocked`, for the report). Once the suite has typed
    the password into a page of the context (`typed`), a refusal is also a failure (`refused`,
    raised by the sign-in): what the page tried to send is out of the suite's sight, so where it
    tried to send it is the evidence. A request carrying a credential is one before that too."""

    def __init__(
        self, policy: CredentialPolicy, redirect_uri: str = "", page=None, expected_elsewhere=(), quiet_from=()
    ):
        self.policy, self.redirect_uri, self.page = policy, redirect_uri, page  # redirect_uri: caught, never sent
        # origins whose own pages may ask other origins for what carries no credential (the application
        # side: an application's page loading an image, a font or a script from a CDN, which no network
        # here serves): aborted and noted, no refusal, though the password was typed in the same context
        self.quiet_from = {_origin(o) for o in quiet_from}
        # origins the environment says the login pages ask for (login.browser.expected_elsewhere):
        # still refused, and reported, but no failure (a real server's consent page loading fonts)
        self.expected_elsewhere = {_origin(o) for o in expected_elsewhere}
        self.typed = False  # the password was typed into a page of this context: it stays so
        self.password = ""  # what was typed, to name it in a request that carries it under another field's name
        self.caught: dict | None = None  # the sign-in's record of where the flow ended, filled by a caught redirect
        self.refused: list[UntrustedEndpoint] = []  # each refusal that ends the sign-in
        self.blocked: list[str] = []  # each request refused, said for the report
        self.fenced: list[tuple[str, int, bool]] = []  # host, port, and whether the password was typed by then
        self.scripted = {"webrtc": 0, "popup": 0}  # WebRTC connections and popups the page's scripts tried
        self._lock = threading.Lock()

    def attach(self, context) -> None:
        context.route(re.compile(".*"), self._hold)
        context.route_web_socket(re.compile(".*"), self._hold_web_socket)

    def watch_scripts(self, context) -> None:
        """Every frame of the context meets PAGE_SCRIPT_GUARD before its own scripts run."""
        context.expose_binding("__suiteGuard", self._scripted)
        context.add_init_script(PAGE_SCRIPT_GUARD)

    def _scripted(self, source, what: str, name: str, where: str) -> None:
        """What a page's script tried that the browser does not do: a WebRTC connection (refused by
        name once the password was typed, listed before) or a popup (judged as a request to where it
        would have gone)."""
        with self._lock:
            if what in self.scripted:
                self.scripted[what] += 1
        if what == "webrtc":
            described = f"WebRTC ({name}{', ICE servers ' + REDACTOR.scrub(where)[:300] if where else ''})"
            if not self.typed:
                with self._lock:
                    self.blocked.append(described)
                return
            with self._lock:
                self.refused.append(
                    PolicyRefusal(
                        f"refused to send anything over {described} from the page the password was typed into: a "
                        "peer connection's packets (a STUN or TURN server's username, a data channel) go over UDP, "
                        f"where no origin is checked, so the suite's Chromium sends none. {WEBRTC_ADVICE} "
                        + self.policy.cited
                    )
                )
        elif what == "popup" and self._decide(where, "GET", "popup", b"", False) is None:
            with self._lock:
                self.blocked.append(f"popup {redact_url(where)} (the suite's browser opens none)")

    def allows(self, host: str, port: int) -> bool:
        """Whether the browser may connect to host:port at all (the OriginFence asks)."""
        return self.policy.reaches(host, port)

    def _hold(self, route) -> None:
        """Every request of a page in the context (a route), before it is sent."""
        request = route.request
        try:
            body = request.post_data_buffer or b""
        except Exception:  # a body Playwright cannot give
            body = b"?"
        verdict = self._decide(
            request.url, request.method, request.resource_type, body, self.is_page_load(request), _source(request)
        )
        if verdict:
            route.abort(verdict)
        else:
            route.continue_()

    def hold_paused(self, devtools, paused: dict, main_frame: str) -> None:
        """The same for a request the DevTools Fetch domain holds: the run's page's, each hop of a
        redirect too, which no route sees (the fence would refuse its connection, and Chromium's
        error page for that would load a moment later and cut into the next navigation)."""
        request = paused["request"]
        navigation = paused.get("resourceType") == "Document" and paused.get("frameId") == main_frame
        if "responseStatusCode" in paused or "responseErrorReason" in paused:
            self._hold_answer(devtools, paused, navigation)
            return
        body = request.get("postData", "").encode() or (b"?" if request.get("hasPostData") else b"")
        verdict = self._decide(
            request["url"], request["method"], paused.get("resourceType", "other").lower(), body, navigation
        )
        try:
            if verdict:
                reason = {"aborted": "Aborted", "blockedbyclient": "BlockedByClient"}[verdict]
                devtools.send("Fetch.failRequest", {"requestId": paused["requestId"], "errorReason": reason})
            else:
                devtools.send("Fetch.continueRequest", {"requestId": paused["requestId"]})
        except Exception:  # the page went meanwhile
            pass

    def _hold_answer(self, devtools, paused: dict, navigation: bool) -> None:
        """A page load's answer, held as its headers come: a redirect of the run's page to the redirect
        URI is the end of the flow, whatever its scheme, caught here and aborted. A private-use scheme
        (RFC 8252 section 7.1: `com.example.app:/callback`) is no request of Chromium's: it hands it to
        an application, with no request event, and the page stays where it was."""
        status = paused.get("responseStatusCode") or 0
        location = next(
            (h["value"] for h in paused.get("responseHeaders", []) if h.get("name", "").lower() == "location"), ""
        )
        target = urljoin(paused["request"]["url"], location) if location else ""
        caught = navigation and 300 <= status < 400 and target and is_redirect_to(target, self.redirect_uri)
        try:
            if caught:
                if self.caught is not None and not self.caught:
                    self.caught.update(kind="callback", url=target)
                devtools.send("Fetch.failRequest", {"requestId": paused["requestId"], "errorReason": "Aborted"})
            else:
                devtools.send("Fetch.continueRequest", {"requestId": paused["requestId"]})
        except Exception:  # the page went meanwhile
            pass

    def _decide(self, url: str, method: str, kind: str, body: bytes, navigation: bool, source: str = "") -> str | None:
        """None to let a request go, or how to fail it. A page load of the run's page that leaves the
        allowed origins (the redirect URI above all) is aborted: Chromium then shows no error page,
        which would load a moment later and interrupt the next navigation; the `request` event has
        already recorded where it went. Any other request to an origin not allowed is failed as
        blocked, recorded, and a refusal once the password was typed or when it carries a credential."""
        if not url.startswith(("http:", "https:")):
            return None  # data:, blob: and the like stay inside the browser
        if is_redirect_to(url, self.redirect_uri):
            return "aborted"
        if self.policy.refusal(url) is None:
            # after the origin check: an image's URL carrying the password elsewhere is refused as such
            return "blockedbyclient" if kind in _NOT_NEEDED else None
        carried = _credentials_carried(url, body, navigation, self.password)
        quiet = source in self.quiet_from  # from a page of one of those origins: nothing typed there
        if carried or (self.typed and not navigation and not quiet and _origin(url) not in self.expected_elsewhere):
            what = carried or f"anything from the page the password was typed into ({kind})"
            self._refuse(f"{what} in {method} {redact_url(url)}", url)
        elif not navigation:
            with self._lock:
                self.blocked.append(f"{kind} {method} {redact_url(url)}")
        return "aborted" if navigation and not carried else "blockedbyclient"

    def is_page_load(self, request) -> bool:
        """A load of the run's page itself (not a popup's, not a frame's): one that leaves is judged
        as where the server sent the browser ("left"). A frame's load is a request like any other."""
        try:
            return request.is_navigation_request() and self.page is not None and request.frame == self.page.main_frame
        except Exception:  # a request of a worker has no frame
            return False

    def _hold_web_socket(self, socket) -> None:
        """A WebSocket a page opens (request interception never sees one) reaches its server only
        where a credential may go, since each message it would carry is out of the suite's sight.
        Elsewhere it stays open to nobody, recorded; a failure once the password was typed, or
        when its address carries a secret."""
        target = "http" + socket.url[2:]  # ws: and wss: reach the origins of http: and https:
        if self.policy.refusal(target) is None:
            socket.connect_to_server()
        elif self.typed or REDACTOR.scrub(socket.url) != socket.url:
            what = "a secret in the address of" if REDACTOR.scrub(socket.url) != socket.url else "anything over"
            self._refuse(f"{what} a WebSocket, {redact_url(socket.url)}", target)
        else:
            with self._lock:
                self.blocked.append(f"WebSocket {redact_url(socket.url)}")

    def connection_refused(self, host: str, port: int) -> None:
        """The OriginFence refused a connection: one request interception did not see (a shared
        worker's, a worker's WebSocket, a preconnect, a redirect's next hop). Judged by `settle`,
        when the page's own navigations are known."""
        with self._lock:
            self.fenced.append((host, port, self.typed))

    def settle(self, navigated_to: list[str]) -> None:
        """Each connection the fence refused becomes a refusal when the password had been typed,
        unless it was where a load of the run's page went (`navigated_to`: the redirect URI, caught,
        or a site the server sent the browser to, judged as "left")."""
        excused = {
            (urlsplit(u).hostname, urlsplit(u).port or _PORTS.get(urlsplit(u).scheme))
            for u in (*navigated_to, *self.expected_elsewhere)
        }
        with self._lock:
            fenced, self.fenced = self.fenced, []
        for host, port, typed in fenced:
            shown = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            if not typed:
                self.blocked.append(f"connection to {shown}")
            elif (host, port) not in excused:
                self.refused.append(
                    UntrustedOrigin(
                        f"refused a connection from the browser the password was typed into, to {shown}: not an "
                        f"origin credentials may go to ({', '.join(sorted(self.policy.origins))}). "
                        + self.policy.advice
                    )
                )

    def _refuse(self, what: str, url: str) -> None:
        try:
            self.policy.refuse(what, url)
        except UntrustedEndpoint as refusal:
            with self._lock:
                self.refused.append(refusal)

    def report_blocked(self) -> None:
        """What the pages wanted from elsewhere and did not get, attached to the current Allure step."""
        with self._lock:
            blocked, self.blocked = self.blocked, []
        blocked = list(dict.fromkeys(blocked))
        if len(blocked) > BLOCKED_SHOWN:
            blocked = [*blocked[:BLOCKED_SHOWN], f"... and {len(blocked) - BLOCKED_SHOWN} more"]
        if blocked:
            allure.attach(
                "\n".join(blocked),
                name="requests refused: not to an origin credentials may go to",
                attachment_type=allure.attachment_type.TEXT,
            )


_PORTS = {"http": 80, "https": 443}
_guard: Guard | None = None  # the run's page's


def shared_browser(environment):
    """One Chromium for the whole run, its every connection through an OriginFence."""
    global _playwright, _browser, _fence, _memory
    if _browser is not None and not _browser.is_connected():  # stopped at a sign-in's deadline
        _browser = None
    if _browser is None:
        from playwright.sync_api import sync_playwright

        if _playwright is None:
            _playwright = sync_playwright().start()
        if _fence is None:
            _fence = OriginFence(_fence_allows, _fence_refused)
            _memory = MemoryBound(_fence.flags[0], _stop_for_memory)
        # --block-new-web-contents: no popup opens (window.open answers null), as no sign-in needs one
        # and a login page opening them every 150 ms took the CPU the sign-in needed (PAGE_SCRIPT_GUARD
        # reports where they would have gone)
        flags = [f"--host-resolver-rules={_resolver_rules(environment)}", *_fence.flags, "--block-new-web-contents"]
        _browser = launch_chromium(_playwright, flags)
    return _browser


def _stop_at_deadline(expired: threading.Event) -> None:
    """A sign-in's deadline passed: Chromium is stopped, and every call the sign-in is waiting in
    fails (Playwright's calls cannot be cancelled from another thread)."""
    expired.set()
    if _fence is not None:
        stop_chromium(_fence.flags[0])


def _stop_for_memory(held: int) -> None:
    """Chromium's processes held more than the bound: it is stopped as at a sign-in's deadline, and the
    sign-in going on fails saying so."""
    global _memory_exceeded
    _memory_exceeded = _memory.said(held) if _memory is not None else ""
    if _signing_in is not None:
        _stop_at_deadline(_signing_in)
    elif _fence is not None:
        stop_chromium(_fence.flags[0])


def _fence_allows(host: str, port: int) -> bool:
    return _guard is not None and _guard.allows(host, port)


def _fence_refused(host: str, port: int) -> None:
    if _guard is not None:
        _guard.connection_refused(host, port)


def fresh_page(environment, policy: CredentialPolicy):
    """The run's page, emptied for a new sign-in (_emptied_page). Where Chromium's process ended since the
    last sign-in without the suite stopping it (it crashed: seen on a loaded machine), a new one."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        return _emptied_page(environment, policy)
    except PlaywrightError:
        if _browser is None or _browser.is_connected():
            raise
        discard_page()
        return _emptied_page(environment, policy)


def _emptied_page(environment, policy: CredentialPolicy):
    """One page for the whole run (a new context and page cost more than the sign-in itself),
    emptied before each authorization as a new browser profile would be: no cookies, nothing
    stored for the issuer (local storage, IndexedDB, caches), no HTTP cache, no popup it opened.
    Only the tab's sessionStorage lives on, which login pages do not keep a sign-in in. The page the
    last sign-in typed the password into is unloaded first, so the guard judges this sign-in's
    requests by this sign-in's typing."""
    global _page, _devtools, _guard
    if _page is None or _page.is_closed() or _browser is None or not _browser.is_connected():
        _guard = Guard(policy)  # the fence asks it from the browser's start
        browser = shared_browser(environment)
        context = browser.new_context(
            ignore_https_errors=not environment.http.verify_tls,
            service_workers="block",
            user_agent=person_user_agent(browser),
        )
        _page = context.new_page()
        _guard = Guard(policy, page=_page, expected_elsewhere=environment.login.browser_expected_elsewhere)
        _guard.watch_scripts(context)
        # The run's page is held through DevTools (each hop of a redirect too); what it starts in
        # other targets (popups, workers) meets the OriginFence; its WebSockets, the guard's handler.
        context.route_web_socket(re.compile(".*"), _guard._hold_web_socket)
        _devtools = context.new_cdp_session(_page)
        devtools, guard = _devtools, _guard
        main_frame = devtools.send("Page.getFrameTree")["frameTree"]["frame"]["id"]
        devtools.on("Fetch.requestPaused", lambda paused: guard.hold_paused(devtools, paused, main_frame))
        # each request before it is sent, and each page load's answer as its headers come (a redirect to a
        # redirect URI of a scheme that is no request of Chromium's is caught there: Guard._hold_answer)
        patterns = [{"urlPattern": "*"}, {"urlPattern": "*", "resourceType": "Document", "requestStage": "Response"}]
        devtools.send("Fetch.enable", {"patterns": patterns})
    for page in _page.context.pages:
        if page != _page:
            page.close()
    if _guard is not None and _guard.typed:
        # The last sign-in's page, where the password was typed (its redirect to the callback was caught,
        # so it is still loaded), goes with its workers, before this sign-in begins; what it sends as it
        # goes is judged as sent after the typing. From then on, until this sign-in types the password,
        # requests elsewhere are refused and listed, not held against the server.
        _page.goto("about:blank")
        _guard.typed = False
    _devtools.send("Network.clearBrowserCookies")
    _devtools.send("Network.clearBrowserCache")
    _devtools.send("Storage.clearDataForOrigin", {"origin": _origin(environment.issuer), "storageTypes": "all"})
    return _page


def _source(request) -> str:
    """The origin of the document whose frame made `request` ("" for a worker's, which has no frame)."""
    try:
        return _origin(request.frame.url)
    except Exception:  # a service worker's request, or a frame gone meanwhile
        return ""


def _credentials_carried(url: str, body: bytes, navigation: bool, password: str = "") -> str:
    """What credentials a request of the page would carry, named as the HTTP client names them
    (suite.wire.http.credentials_in), or "" for none; "password" too where a field of any name holds
    the typed `password` (a form a script filled, posted into a frame). Any body counts: the page's own
    form or script chose what is in it. Without a body, a page load carries nothing that matters (one
    that leaves is aborted whatever its URL holds, and an authorization code the server sends to the
    wrong place is AUTH-05's to judge, as "left"); any other request carries the secrets in its URL."""
    if navigation and not body:
        return ""
    query = parse_qsl(urlsplit(url).query)
    form = parse_qsl(body.decode(errors="replace")) if body else []
    names = credentials_in({"data": form, "params": query})
    if password and _holds(password, urlsplit(url).query, body.decode("latin-1")):
        names.add("password")
    if names:
        return ", ".join(sorted(names))
    return "a request body" if body else "a secret in the URL" if REDACTOR.scrub(url) != url else ""


def _holds(password: str, *encoded: str) -> bool:
    """Whether a value of the form-encoded fields `encoded` holds `password`, read in the charsets a page
    form-encodes a value in (its own: UTF-8, or windows-1252 where it names none)."""
    return any(
        password in value
        for text in encoded
        for charset in ("utf-8", "cp1252")
        for _, value in parse_qsl(text, encoding=charset, errors="replace")
    )


def discard_page() -> None:
    """After a sign-in that went wrong, the next one starts in a new context and page."""
    global _page, _devtools
    if _page is not None:
        with contextlib.suppress(Exception):  # Chromium stopped at a sign-in's deadline
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
    global _playwright, _browser, _page, _devtools, _fence, _memory
    if _memory is not None:
        _memory.close()
    if _browser is not None:
        with contextlib.suppress(Exception):  # Chromium stopped at a sign-in's deadline
            _browser.close()
    if _playwright is not None:
        _playwright.stop()
        if _fence is not None:
            _fence.close()
    _playwright = _browser = _page = _devtools = _fence = _memory = None


class BrowserLogin:
    def __init__(self, environment, http) -> None:
        self.environment, self.login, self.settings = environment, environment.login, environment.http
        self.policy = CredentialPolicy(environment.issuer, environment.http)
        self.requested_at: float | None = None  # time.monotonic() when the last authorization request went

    def authorize(self, authorization_url: str, redirect_uri: str, form: dict | None = None) -> Outcome:
        """form: the request's parameters, POSTed to authorization_url (the endpoint) by a form the
        browser submits, instead of sent in its query (OpenID Connect Core section 3.1.2.1)."""
        global _signing_in, _memory_exceeded
        span = SIGN_IN_SPAN * self.login.browser_timeout
        expired = threading.Event()
        deadline = threading.Timer(span, _stop_at_deadline, args=(expired,))
        deadline.daemon = True
        _signing_in, _memory_exceeded = expired, ""
        deadline.start()
        try:
            return self._authorize(authorization_url, redirect_uri, form, expired, span)
        finally:
            deadline.cancel()
            _signing_in = None

    def _authorize(
        self, authorization_url: str, redirect_uri: str, form: dict | None, expired: threading.Event, span: float
    ) -> Outcome:
        from playwright.sync_api import Error as PlaywrightError

        page = fresh_page(self.environment, self.policy)
        self.requested_at = time.monotonic()  # Chromium is ready: the authorization request goes now
        assert _guard is not None  # fresh_page made it
        self.guard = _guard
        self.guard.redirect_uri = redirect_uri  # a refusal left from before is still raised below
        self.guard.password = self.login.password
        stop: dict = {}
        self.guard.caught = stop
        self.consent = ""  # CONSENT_DENIED once a login.browser.deny_consent entry's actions ran
        self.signed_in = False
        self.filled_without_password: str | None = None  # for AUTH-01's account of a code without a sign-in
        redirects: list[str] = []  # Location headers: the browser's own request drops a #fragment
        statuses: dict[str, int] = {}

        def on_request(request) -> None:
            self._watch(request, redirect_uri, stop)
            if self.guard.is_page_load(request):  # until its answer comes (or it fails)
                self.unanswered[request] = (request.method, request.url, time.monotonic())

        def on_response(r) -> None:
            self.unanswered.pop(r.request, None)
            if 300 <= r.status < 400 and "location" in r.headers:
                redirects.append(urljoin(r.url, r.headers["location"]))
            if r.request.is_navigation_request():
                statuses[r.url] = r.status
                with contextlib.suppress(Exception):  # a worker's response has no frame
                    if r.frame == page.main_frame and not 300 <= r.status < 400:
                        statuses["document"] = r.status  # the page's own, whatever its URL became
                        self.document_refresh = r.headers.get("refresh", "")

        def on_dom_content_loaded(_) -> None:  # a new document of the page's own (no #fragment, no pushState)
            statuses["documents"] = statuses.get("documents", 0) + 1

        def on_request_failed(request) -> None:
            self.unanswered.pop(request, None)
            with contextlib.suppress(Exception):  # a worker's request has no frame
                if request.is_navigation_request() and request.frame == page.main_frame:
                    self.failed_loads.append(f"{redact_url(request.url)} ({request.failure})")
                    if "ERR_TOO_MANY_REDIRECTS" in (request.failure or ""):
                        self.redirect_loop = request.url

        self.failed_loads: list[str] = []  # the page's loads that stopped in the browser: the page stays as it was
        self.unanswered: dict = {}  # the page's loads awaiting their answer: (method, URL, since when)
        self.redirect_loop = ""  # the last address of a load Chromium gave up for its redirects
        self.document_refresh = ""  # the Refresh header of the page's document
        listeners = {
            "request": on_request,
            "response": on_response,
            "domcontentloaded": on_dom_content_loaded,
            "requestfailed": on_request_failed,
        }
        for event, listener in listeners.items():
            page.on(event, listener)
        try:
            outcome = self._drive(page, authorization_url, stop, statuses, form, redirects)
        except PlaywrightError as error:
            self._raise_refusal(page, stop)
            if not stop:
                self._attach_page(page, "browser login failed")  # in time, or Chromium is stopped meanwhile
                discard_page()
                if expired.is_set():
                    raise self._too_long(page, span) from None
                if _browser is not None and not _browser.is_connected():  # and the suite did not stop it
                    raise EnvironmentProblem(
                        f"Chromium's process ended during the sign-in, on {redact_url(page.url)}, without the suite "
                        "stopping it (it crashed): the machine's problem, not the server's doing. Run again; if it "
                        "keeps crashing, check the machine's free memory or set CHROMIUM to another build"
                    ) from None
                unreachable = network_failure(str(error), self.failed_loads[-1:] or [page.url])
                if unreachable is not None:
                    raise unreachable from None
                raise AssertionError(
                    f"the browser login stopped on {redact_url(page.url)}: {said(str(error)).splitlines()[0]}"
                ) from None
            outcome = Outcome(stop["kind"], stop["url"])  # caught; that it then went nowhere is the point
        finally:
            if not page.is_closed():
                for event, listener in listeners.items():
                    page.remove_listener(event, listener)
        self._raise_refusal(page, stop)
        if expired.is_set() and outcome.kind != "callback":  # what the page came to is Chromium's stopping
            discard_page()
            raise self._too_long(page, span)
        outcome.signed_in = self.signed_in
        outcome = _with_fragment(outcome, redirects)
        outcome.consent = self.consent
        outcome.filled_without_password = self.filled_without_password
        return outcome

    def _too_long(self, page, span: float) -> AssertionError:
        """The failure of a sign-in that its deadline ended: the login page kept Chromium busy."""
        tried = ", ".join(
            f"{count} {'WebRTC connections' if what == 'webrtc' else 'popups'}"
            for what, count in self.guard.scripted.items()
            if count
        )
        if _memory_exceeded:
            return AssertionError(
                f"the browser sign-in was stopped on {redact_url(page.url)}: {_memory_exceeded} (a page that big, or "
                "that keeps growing, is no login page), so the suite stopped Chromium. A login page must let its "
                "user sign in"
            )
        return AssertionError(
            f"the browser sign-in did not end within {span:.0f} s ({SIGN_IN_SPAN} x login.browser.timeout): it was on "
            f"{redact_url(page.url)}, which kept Chromium too busy to go on (a page that never finished loading, "
            "or its scripts)"
            + (f" (they tried {tried}, which the suite's browser does not make)" if tried else "")
            + ", so the suite stopped Chromium. A login page must let its user sign in"
        )

    def _drive(self, page, authorization_url, stop, statuses, form, redirects) -> Outcome:
        timeout_ms = self.login.browser_timeout * 1000
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        try:
            # as long as the server may take to answer (http.read_timeout), if longer than a page's load
            answered_ms = max(timeout_ms, self.settings.read_timeout * 1000)
            if form is None:
                page.goto(authorization_url, timeout=answered_ms, wait_until="commit")
            else:
                _post_by_form(page, authorization_url, form, answered_ms)
        except PlaywrightError as error:
            # Chromium fails the navigation when an HTTP error status comes with an empty body
            # (glewlwyd's answer to an unregistered redirect_uri): that is the server's error page.
            if "ERR_HTTP_RESPONSE_CODE_FAILURE" in str(error) and authorization_url in statuses:
                return Outcome("page", authorization_url, statuses[authorization_url])
            if "ERR_TOO_MANY_REDIRECTS" in str(error):  # not Chromium's error page, with its status of 200
                return Outcome("redirect_loop", self.redirect_loop or authorization_url)
            self._check_answered()
            raise
        with contextlib.suppress(PlaywrightTimeout):  # a page that never finishes loading: what it shows is used
            page.wait_for_load_state("load", timeout=timeout_ms)
        previous = refreshing = None  # refreshing: the page whose refresh was waited for
        signing_in = None  # while the page shown is the answer to the credentials: where they were typed, and before
        for _ in range(self.login.max_pages):
            if stop:
                return Outcome(stop["kind"], stop["url"])
            if self.guard.refused:  # authorize raises it
                return Outcome("page", page.url)
            if page.url.startswith("chrome-error:"):  # a load that failed in the network: Chromium's error page
                unreachable = network_failure(" ".join(self.failed_loads), self.failed_loads[-1:])
                if unreachable is not None:
                    discard_page()
                    raise unreachable
                if self.redirect_loop:  # its error page says "HTTP 200" at chrome-error:, which no server said
                    return Outcome("redirect_loop", self.redirect_loop)
            rule = self._rule_for(page)
            if rule is None and page.url != refreshing and refresh_of(page.content(), self.document_refresh):
                # a page that asks to be refreshed (a meta refresh, a Refresh header): where the browser goes
                # then is the outcome, within login.browser.timeout
                refreshing = page.url
                self._settle(page, stop, statuses, statuses.get("documents", 0), timeout_ms, (None, page.url))
                continue
            if rule is None:
                self._attach_page(page, "the flow stopped here")
                self._check_page_fits_settings(page)
                body = page.content()
                status = statuses.get(page.url, statuses.get("document"))
                if signing_in and signing_in[1:] == (len(redirects), _cookies(page)) and not sends_on(body):
                    # the credentials' answer goes nowhere and begins no session: as the form method judges it
                    return Outcome(
                        "sign_in_stalled", page.url, status, signed_in=True, body=body, login_page=signing_in[0]
                    )
                return Outcome("page", page.url, status, body=body)
            if previous == (rule, page.url):  # the same page again: the actions got nowhere
                if self.failed_loads:  # not the page's answer to them: its load stopped in the browser
                    self._attach_page(page, "the page's next load stopped")
                    return Outcome("load_stopped", self.failed_loads[-1])
                stuck = "login_failed" if rule.fills else "loop"
                self._attach_page(page, "signing in failed" if rule.fills else "the flow went in circles")
                return Outcome(stuck, page.url, statuses.get(page.url, statuses.get("document")))
            previous = (rule, page.url)
            documents = statuses.get("documents", 0)
            signing_in = (page.url, len(redirects), _cookies(page)) if rule.signs_in else None
            if self.login.denying_consent and rule in self.login.browser_deny_pages:
                self.consent = CONSENT_DENIED  # the refusing actions ran: a consent decision was made
            elif any(_describes(deny, page) for deny in self.login.browser_deny_pages):
                self.consent = CONSENT_GRANTED  # the consent page, answered by a login.browser.pages entry
            self.failed_loads.clear()
            filled_at = page.url
            self._run(page, rule, timeout_ms, self.guard, settled=True)
            self.signed_in = self.signed_in or rule.signs_in
            if rule.fills and not rule.signs_in and self.filled_without_password is None:
                self.filled_without_password = filled_at
            if self.guard.refused:  # the page sent the password away as it was typed: nothing to wait for
                return Outcome("page", page.url)
            self._settle(page, stop, statuses, documents, timeout_ms, (rule, previous[1]))
        return Outcome(stop["kind"], stop["url"]) if stop else Outcome("loop", page.url)

    def _watch(self, request, redirect_uri, stop) -> None:
        """Where a load of the run's page went: the redirect URI, or another origin (the browser sent away).
        A frame's load (a reCAPTCHA-style <iframe>, a form posted into one) is no such thing: the guard
        judges it as any request of the page, listed before the password is typed, refused after it."""
        if not request.is_navigation_request() or stop or not self.guard.is_page_load(request):
            return
        if is_redirect_to(request.url, redirect_uri):
            stop.update(kind="callback", url=request.url)
        elif self.policy.refusal(request.url):
            stop.update(kind="left", url=request.url)
            carried = _credentials_carried(
                request.url, request.post_data_buffer or b"", True, self.guard.password
            )  # a redirect's next hop, which no route sees
            if carried:  # (the fence refuses its connection)
                self.guard._refuse(f"{carried} in {request.method} {redact_url(request.url)}", request.url)

    def _raise_refusal(self, page, stop: dict) -> None:
        """A credential the page was about to send elsewhere ends the sign-in, whatever the page
        did next, as it does for the form method; its context goes with it."""
        self.guard.settle([self.guard.redirect_uri, *([stop["url"]] if stop else [])])
        self.guard.report_blocked()
        if self.guard.refused:
            self._attach_page(page, "a credential was refused")
            discard_page()
            raise self.guard.refused[0] from None

    def _rule_for(self, page):
        # CONS-01's sign-in: the refusing entries first (login.browser.deny_consent)
        rules = (*self.login.browser_deny_pages, *self.login.browser_pages) if self.login.denying_consent else ()
        return next((rule for rule in rules or self.login.browser_pages if _describes(rule, page)), None)

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

    def _run(self, page, rule, timeout_ms, guard: Guard, settled: bool = False) -> None:
        """The rule's actions on the page. `settled`: the caller waits for what a click leads to
        (_settle, on evidence, up to http.read_timeout for an answer), not Playwright's click, which
        waits for the navigation it started for login.browser.timeout and then fails."""
        values = {"username": self.login.username, "password": self.login.password}
        for action in rule.actions:
            if guard.refused:  # the sign-in ends with the refusal
                return
            if action.kind == "fill":
                guard.typed = guard.typed or "{password}" in action.value  # from its first keystroke on
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
                page.click(action.selector, timeout=timeout_ms, force=True, no_wait_after=settled)
            elif action.kind == "wait":
                page.wait_for_selector(action.selector, timeout=timeout_ms)

    def _settle(self, page, stop, statuses, documents: int, timeout_ms, ran: tuple) -> None:
        """Wait until the actions have led somewhere, on positive evidence: a caught redirect (the callback,
        another origin), a new document of the page's own, a load that stopped in the browser, a refusal,
        or a new address within the page that another entry of login.browser.pages (or none) describes (a
        single-page login's next step). Not a change of address within the page that the entry `ran`
        (the rule, at its address) still describes: a page may history.pushState, then submit its form a
        second later, from a script. Without evidence the wait ends after login.browser.timeout, or once a
        load the page started has had no answer for http.read_timeout, which is the environment's
        problem as it is for the form method."""
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        deadline = time.monotonic() + timeout_ms / 1000
        while not (
            stop
            or self.guard.refused
            or self.failed_loads
            or statuses.get("documents", 0) > documents
            or self._moved_on(page, ran)
        ):
            self._check_answered()
            since = min((at for _, _, at in self.unanswered.values()), default=None)
            end = deadline if since is None else max(deadline, since + self.settings.read_timeout)
            left = end - time.monotonic()
            if left <= 0:
                return  # nothing happened: the caller sees the same page again and stops
            with contextlib.suppress(PlaywrightTimeout):  # events are handled meanwhile
                page.wait_for_event("domcontentloaded", timeout=min(100, left * 1000))
        if not (stop or self.guard.refused or self.failed_loads):
            # A new document, or a new address within the page, is acted on once it has loaded, as the first page
            # is: a page ended by its new address alone may be a document just committed, whose content is still
            # coming, and a click on it then may lead nowhere (seen under load: "the flow went in circles" on a
            # consent page). Within the same document the load has long happened, and the wait costs nothing.
            with contextlib.suppress(PlaywrightTimeout):  # a page that never finishes loading: what it shows is used
                page.wait_for_load_state("load", timeout=timeout_ms)

    def _moved_on(self, page, ran: tuple) -> bool:
        """Whether the page, at a new address within itself, is no longer what the entry that ran describes."""
        from playwright.sync_api import Error as PlaywrightError

        rule, address = ran
        try:
            return page.url != address and self._rule_for(page) is not rule
        except PlaywrightError:  # navigating: the document's own evidence comes
            return False

    def _check_answered(self) -> None:
        """A load of the page's that has waited http.read_timeout for its answer is the environment's
        problem (exit code 3), as a request of the form method's is: the server did not answer."""
        for method, url, since in list(self.unanswered.values()):
            if time.monotonic() - since >= self.settings.read_timeout:
                discard_page()
                raise EnvironmentProblem(
                    f"no answer within {self.settings.read_timeout:g} s (the browser's {method} {redact_url(url)}, "
                    f"a load of the login page's). {FIXES['read_timeout']}"
                )

    @staticmethod
    def _attach_page(page, title) -> None:
        """A screenshot (text only, every element holding a known secret masked; none for a page showing
        a secret spread over several elements, with a note saying so; a note saying what it hid) and the
        URL, attached to the current Allure step (page_picture, attach_picture)."""
        attach_picture(page_picture(page), title)


@dataclass(frozen=True)
class PagePicture:
    """What a page showed, taken when it did and attached when its scenario reads it (attach_picture): its URL
    (redacted), the PNG (None where a secret could not be masked) and a note on what the picture leaves out."""

    url: str
    png: bytes | None
    note: str


def page_picture(page) -> PagePicture | None:
    """The page's picture, or None where the run writes no Allure results: a picture costs the browser a tenth of
    a second of CPU, and a run without them (the detection matrices) would throw it away."""
    if not allure_results_written():
        return None
    png, note = picture_without_secrets(page)  # the URL still tells where, whatever the picture
    return PagePicture(redact_url(page.url), png, note)


def attach_picture(picture: PagePicture | None, title: str) -> None:
    """`picture` attached to the current Allure step under `title`."""
    if picture is None:
        return
    allure.attach(picture.url, name=f"{title}: page URL", attachment_type=allure.attachment_type.URI_LIST)
    if picture.png:
        allure.attach(picture.png, name=f"{title}: screenshot", attachment_type=allure.attachment_type.PNG)
        if picture.note:  # what the picture leaves out: images, canvases, generated content
            allure.attach(picture.note, name=f"{title}: screenshot note", attachment_type=allure.attachment_type.TEXT)
    else:
        allure.attach(picture.note, name=f"{title}: no screenshot", attachment_type=allure.attachment_type.TEXT)


# Chromium's network errors (net/base/net_error_list.h) that say the server was not reached or cut the
# connection before answering: the environment's problem, as the HTTP client's connection failures are
# (suite.wire.http.FIXES names the fix), never the server's behaviour. ERR_SOCKS_CONNECTION_FAILED: the
# suite's connection fence (suite.wire.browser.OriginFence, a SOCKS proxy) could not connect to the server.
_NETWORK_ERRORS = {
    "ERR_CONNECTION_REFUSED": ("connection refused", "refused"),
    "ERR_SOCKS_CONNECTION_FAILED": ("connection refused or failed", "refused"),
    "ERR_CONNECTION_FAILED": ("connection failed", "refused"),
    "ERR_CONNECTION_RESET": ("connection reset by the server", "reset"),
    "ERR_CONNECTION_CLOSED": ("the server closed the connection", "reset"),
    "ERR_EMPTY_RESPONSE": ("the server closed the connection without answering", "reset"),
    "ERR_CONNECTION_TIMED_OUT": ("no connection within the timeout", "connect_timeout"),
    "ERR_TIMED_OUT": ("no answer within the timeout", "read_timeout"),
    "ERR_ADDRESS_UNREACHABLE": ("the address is unreachable", "connect_timeout"),
    "ERR_NAME_NOT_RESOLVED": ("the host name does not resolve (DNS failure)", "dns"),
    "ERR_INTERNET_DISCONNECTED": ("this machine has no network", "connect_timeout"),
}


def network_failure(said: str, where: list[str]) -> EnvironmentProblem | None:
    """The environment problem a failed page load of the browser's was (Chromium's `net::ERR_...` in
    `said`), or None when it was no network failure. `where`: the load that failed, if known."""
    found = re.search(r"net::(ERR_[A-Z_]+)", said)
    if found is None:
        return None
    code = found.group(1)
    if code in _NETWORK_ERRORS:
        cause, kind = _NETWORK_ERRORS[code]
    elif code.startswith("ERR_CERT_"):
        cause, kind = "certificate not trusted", "certificate"
    elif code.startswith("ERR_SSL_"):
        cause, kind = "TLS failure", "tls"
    else:
        return None
    at = re.search(r"net::ERR_[A-Z_]+ at (\S+)", said)
    url = at.group(1) if at else where[0].split(" (")[0] if where else ""
    url = url if url.startswith(("http:", "https:")) else ""
    return EnvironmentProblem(
        f"cannot reach {_origin(url) if url else 'the server'}: {cause} (the browser's page load"
        f"{' of ' + redact_url(url) if url else ''}: net::{code}). " + FIXES[kind]
    )


def _post_by_form(page, endpoint: str, form: dict, timeout_ms: float) -> None:
    """The authorization request sent as a relying party's page sends it by POST: a page of the suite's
    own, set as the content of a blank page (no origin, nothing loaded), whose form the browser
    submits on a click, a top-level navigation POSTing the form-encoded parameters to the endpoint.
    A blank page first: content set into the page the last authorization ended on would be that
    page's origin's, perhaps the issuer's own, where a relying party's page never is."""
    page.goto("about:blank")
    page.set_content(post_form_page(endpoint, form))
    with page.expect_navigation(wait_until="commit", timeout=timeout_ms):
        page.click(f"#{POST_BUTTON}", timeout=timeout_ms)


def _cookies(page) -> list:
    """The browser's cookies with their values: one set or changed by an answer shows a session begun."""
    return sorted((c["domain"], c["path"], c["name"], c["value"]) for c in page.context.cookies())


def _with_fragment(outcome: Outcome, redirects: list[str]) -> Outcome:
    """The caught URL as the server sent it, with the #fragment the browser kept to itself."""
    for location in redirects:
        if outcome.url and "#" in location and location.split("#")[0] == outcome.url:
            return Outcome(outcome.kind, location, outcome.status, outcome.signed_in)
    return outcome


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _describes(rule, page) -> bool:
    """Whether a login.browser entry (its url pattern and `when:` selector) is for the page shown."""
    return bool(re.search(rule.url, page.url)) and (not rule.when or page.locator(rule.when).count() > 0)
