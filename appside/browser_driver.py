"""Drives an interactive application's sign-in in Debian's Chromium: opens the application's
sign-in URL, fills the stand-in's login and consent pages (with the suite's browser login
method, suite.wire.login.browser, and the sandbox's page description) and watches for the
application's signed-in marker.

Service workers are allowed, as in the user's browser: an SPA may keep its tokens in one (as
@axa-fr/oidc-client recommends), and the suite drives the application's own pages, not a login page
it distrusts. What a service worker sends passes the same context route and OriginFence as the
page's requests, and Playwright reports its requests to the context (request.service_worker), so
the URLs the rules read (`SignIn.urls`) have them too. The server side's browser login blocks them
(suite.wire.login.browser): there the suite types a password into a page it does not trust.

Chromium resolves every host but loopback to nothing: nothing leaves the machine. Once the
password is typed into the stand-in's login page, its context reaches only the stand-in and the
application's own origins (suite.wire.login.browser.Guard, with an OriginFence on every
connection); a refusal then ends the sign-in with the origin named. A request of the application's
own pages elsewhere that carries no credential (an image, a font, a script from a CDN) is aborted
quietly and noted: nothing was typed into those pages, and no network serves it."""

import contextlib
import json
import re
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from appside.effort import EFFORT
from sandbox.app import PATHS
from suite.configuration.environment import BrowserAction, BrowserPage, HttpSettings, Login
from suite.secrets.redaction import REDACTOR
from suite.wire.browser import OriginFence, launch_chromium
from suite.wire.http import CredentialPolicy
from suite.wire.login.browser import BrowserLogin, Guard

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
MAX_CONTENT_KEPT = 5_000_000  # bytes of one response the leak rules read
PAGE_ERRORS_KEPT, PAGE_ERROR_LENGTH = 20, 300  # a session's first errors, each cut: enough to name a cause
# what APPC-28 reads of the browser console, the SPA's log: a session's first messages, each bounded
CONSOLE_MESSAGES_KEPT, CONSOLE_MESSAGE_LENGTH = 500, 200_000
LOOPBACK_ONLY = "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"


@dataclass
class SignIn:
    """What one sign-in through the application showed."""

    finished: bool  # the application showed its signed-in marker
    callback_status: int | None = None  # the HTTP status of the application's callback page
    final_url: str = field(default="", repr=False)
    seconds: float = 0.0
    # What the browser saw, for the rules on where tokens and the secret go (appside/steps/leaks.py);
    # None where the suite does not drive the browser (manual mode).
    urls: list[str] | None = field(default=None, repr=False)  # every request the browser made, its workers' too
    # every address its pages' frames showed, #fragment included, history.pushState/replaceState too
    page_urls: list[str] | None = field(default=None, repr=False)
    # (url, text, part) the application served: part says where the text was ("page", "script", "response", "dom")
    contents: list[tuple[str, str, str]] | None = field(default=None, repr=False)
    # (cookie name, value) the application set in the browser: its Set-Cookie headers, and the
    # browser's cookies for its origins once the sign-in ended (a session cookie is readable)
    cookies: list[tuple[str, str]] | None = field(default=None, repr=False)
    callback_to_finish: float | None = None  # from the callback's answer to the signed-in marker
    watch: str = ""  # how a refused sign-in's watch after the callback ended
    # a refused sign-in: the application sent the browser to the stand-in's authorization endpoint again
    # after the faulty callback (a new sign-in, as passport's failureRedirect to its login does)
    restarted: bool = False
    page_errors: list[str] = field(default_factory=list, repr=False)  # uncaught exceptions and console errors
    # the fault callback-state-other-browser: the state the application sent for the sign-in left pending in
    # another browser, which the stand-in's callback to this one carried
    other_browser_state: str = field(default="", repr=False)
    # every message its pages wrote to the browser console, unmasked (APPC-28 looks for credentials in it)
    console: list[str] | None = field(default=None, repr=False)
    # the HTTP status of the last page the browser loaded (the application's error page where its
    # sign-in page broke before sending the browser to the stand-in)
    page_status: int | None = None


def bounded_console_message(text: str) -> str:
    """A console message cut at CONSOLE_MESSAGE_LENGTH, without the word the cut went through: the part of a
    token before the cut no longer matches the token, so the scrubber would keep it as it was."""
    if len(text) <= CONSOLE_MESSAGE_LENGTH:
        return text
    return re.sub(r"[^\s\"',;:(){}\[\]<>]+$", "", text[:CONSOLE_MESSAGE_LENGTH]) + " [cut]"


@dataclass(frozen=True)
class QuietWatch:
    """Positive evidence that lets a refused sign-in's watch end before `drive.settle`: the
    application answered its callback, no request of it is being answered, and none arrived for
    `seconds`, a bound derived from how fast the same application made its follow-up requests in
    its normal sign-ins (appside.steps.sign_ins.refusal_watch)."""

    seconds: float
    activity: Callable[[], tuple[int, float]]  # the stand-in's sandbox.recording.RequestLog.activity
    basis: str  # where `seconds` comes from, for the report


# What a refusal of the browser's fence says to do, and cites: the application file's keys, which name the
# application's own origins (an environment's http.trusted_origins means nothing here)
OWN_ORIGINS = (
    "The browser reaches only the stand-in and the application's own origins, those of drive.sign_in_url, "
    "drive.use_api_url and application.redirect_uris: if that origin serves the application's pages, name it in "
    "one of those keys."
)
POLICY_CITED = (
    "Credentials go only to the stand-in and the application: the suite's security policy, not a sentence of an "
    'RFC or of Visma\'s pages (docs/certify-application.md, "Runs that end clean, pages that stay home")'
)

RESTARTED = (
    "the application answered the callback by starting a new sign-in (a new authorization request to the "
    "stand-in): the watch ended there, and the new sign-in was not gone through"
)


class BrowserDriver:
    def __init__(self, application, issuer: str, user, tls=None) -> None:
        from playwright.sync_api import sync_playwright

        self.application = application
        self._playwright = sync_playwright().start()
        drive = application.drive
        own = (drive.sign_in_url, getattr(drive, "use_api_url", None), *application.redirect_uris)
        self.own_origins = list(dict.fromkeys(_origin(u) for u in own if u))  # whose cookies APPC-27 reads
        self.policy = CredentialPolicy(
            issuer, HttpSettings(trusted_origins=tuple(u for u in own if u)), advice=OWN_ORIGINS, cited=POLICY_CITED
        )
        self.guards: list[Guard] = []  # the open sessions' (several sign-ins may go on at once)
        self._fence = OriginFence(
            lambda host, port: bool(self.guards) and all(guard.allows(host, port) for guard in list(self.guards)),
            self._connection_refused,
        )
        flags = [f"--host-resolver-rules={LOOPBACK_ONLY}", *self._fence.flags]
        if tls:  # the stand-in's certificate, and no other, is accepted although its authority is not Chromium's
            flags.append(f"--ignore-certificate-errors-spki-list={tls.spki_sha256}")
        self._browser = launch_chromium(self._playwright, flags)
        EFFORT.browser_launches += 1
        self.user, self.issuer = user, issuer

    def login_pages(self, username: str) -> BrowserLogin:
        """The stand-in's pages, filled as the test user `username` (the run's password)."""
        login = Login("browser", username, self.user.password, browser_pages=STAND_IN_PAGES)
        return BrowserLogin(SimpleNamespace(login=login, http=HttpSettings(), issuer=self.issuer), None)

    def session(self, username: str | None = None) -> "BrowserSession":
        """A fresh browser profile: no cookies of the application nor of the stand-in; its sign-ins
        are made as the test user `username` (the run's first test user by default)."""
        return BrowserSession(self, self._browser.new_context(service_workers="allow"), username or self.user.username)

    def _connection_refused(self, host: str, port: int) -> None:
        for guard in list(self.guards):
            if not guard.allows(host, port):
                guard.connection_refused(host, port)

    def close(self) -> None:
        self._browser.close()
        self._playwright.stop()
        self._fence.close()


class BrowserSession:
    def __init__(self, driver: BrowserDriver, context, username: str) -> None:
        self.driver, self.context, self.username = driver, context, username
        self.drive = driver.application.drive
        self.login = driver.login_pages(username)
        self.page = context.new_page()
        # the application's own pages may ask for an image, a font or a script elsewhere (Auth.js's sign-in
        # error page shows a logo from https://authjs.dev): aborted, as there is no network, and noted
        self.guard = Guard(driver.policy, page=self.page, quiet_from=driver.own_origins)
        driver.guards.append(self.guard)
        self.guard.attach(context)
        self.callback_statuses: list[int] = []
        self.urls: list[str] = []
        self.contents: list[tuple[str, str, str]] = []
        self.cookies_set: list[tuple[str, str]] = []  # from the application's Set-Cookie headers
        self.page_urls: list[str] = []
        self.page_errors: list[str] = []
        self.console: list[str] = []
        stand_in = urlsplit(driver.issuer).netloc
        context.on("request", lambda r: self.urls.append(r.url))  # a service worker's requests too
        # a request's URL never has the #fragment, and history.replaceState makes no request: where the
        # page's address went is what its frames navigated to
        context.on("page", lambda page: page.on("framenavigated", lambda frame: self.page_urls.append(frame.url)))
        self.page.on("framenavigated", self._navigated)
        context.on("console", self._console_message)
        self.page.on("pageerror", self._uncaught)
        if driver.application.app_type == "web":  # APPC-27: what a confidential client sends the browser
            # once its body is all there: a stream that never ends is never waited for
            context.on(
                "requestfinished", lambda r: self._keep_content(r) if urlsplit(r.url).netloc != stand_in else None
            )
        self._callback_paths = {(urlsplit(u).netloc, urlsplit(u).path) for u in driver.application.redirect_uris}
        self._authorization_endpoint = (stand_in, PATHS["authorization_endpoint"])
        self._served_by_worker: int | None = None  # the status of a page load a service worker answered
        self._page_status: int | None = None  # the status of the main frame's last page load
        # the main frame's document whose body is still coming (an answer that streams for ever): its loading
        # is stopped when the sign-in is judged, or the renderer parses it for the rest of the run
        self._document_coming = None
        self.page.on("response", self._navigation_answered)
        self.page.on("requestfinished", self._document_came)
        self.page.on("requestfailed", self._document_came)

    def sign_in(self, refused: bool = False, quiet: QuietWatch | None = None) -> SignIn:
        """Start the application's sign-in and go through the stand-in's pages. A sign-in the
        stand-in answers wrongly on purpose (`refused`) is watched for `drive.settle` seconds
        after the application's callback, long enough for it to redeem a code it should not, or
        less where `quiet` gives the evidence that it made no further request."""
        sign_in: SignIn = run_together(self.page, [self.sign_in_steps(refused, quiet)])[0]
        return sign_in

    def open(self, url: str, refused: bool = False, quiet: QuietWatch | None = None) -> SignIn:
        sign_in: SignIn = run_together(self.page, [self.open_steps(url, refused, quiet)])[0]
        return sign_in

    def sign_in_steps(self, refused: bool = False, quiet: QuietWatch | None = None) -> Generator[None, None, SignIn]:
        """sign_in, a step at a time (run_together), so that other sign-ins go on meanwhile."""
        EFFORT.sign_ins += 1
        return (yield from self.open_steps(self.drive.sign_in_url, refused, quiet))

    def pending_sign_in_steps(self) -> Generator[None, None, str | None]:
        """Start the application's sign-in in this browser and leave it pending at the stand-in (its
        login page): the state the application's authorization request carried, or None where none with
        a state reached the stand-in within drive.timeout. Another browser's faulty callback carries
        that state (the fault callback-state-other-browser)."""
        from playwright.sync_api import Error as PlaywrightError

        with contextlib.suppress(PlaywrightError):
            self.page.goto(self.drive.sign_in_url, wait_until="commit", timeout=self.drive.timeout * 1000)
        deadline = time.monotonic() + self.drive.timeout
        while time.monotonic() < deadline:
            for parts in map(urlsplit, list(self.urls)):
                state = dict(parse_qsl(parts.query)).get("state")
                if (parts.netloc, parts.path) == self._authorization_endpoint and state:
                    return state
            yield
        return None

    def wait_steps(self, seconds: float) -> Generator[None, None, None]:
        """A wait the evidence needs (an access token expiring), counted, while other sign-ins go on."""
        EFFORT.waited(seconds)
        yield from _pause(seconds)

    def open_steps(
        self, url: str, refused: bool = False, quiet: QuietWatch | None = None
    ) -> Generator[None, None, SignIn]:
        from playwright.sync_api import Error as PlaywrightError

        started = time.monotonic()
        seen = len(self.callback_statuses)
        marks = (
            len(self.urls),
            len(self.contents),
            len(self.cookies_set),
            len(self.page_urls),
            len(self.page_errors),
            len(self.console),
        )
        deadline = started + self.drive.timeout
        callback_at, callback_wall, watch = None, 0.0, ""
        # the page may navigate on at once; the loop below looks at where it ended
        with contextlib.suppress(PlaywrightError):
            self.page.goto(url, wait_until="commit", timeout=self.drive.timeout * 1000)
        # a refused sign-in whose callback came late in drive.timeout is still watched for drive.settle after it
        while time.monotonic() < (
            max(deadline, callback_at + self.drive.settle) if refused and callback_at else deadline
        ):
            yield  # run_together waits a little for every page at once
            if len(self.callback_statuses) > seen and callback_at is None:
                callback_at, callback_wall = time.monotonic(), time.time()
            if refused and self._restarted(marks[0]):
                # the refusal itself: what the new sign-in leads to is not what it did with the faulty response
                break
            try:
                if self._signed_in():
                    if refused:  # it went on where it should have stopped: let its requests arrive
                        yield from _pause(0.3)
                        EFFORT.waited(0.3)
                    return self._result(True, seen, started, marks, callback_at)
                rule = self.login._rule_for(self.page)
                if rule is not None:
                    self.login._run(self.page, rule, 5000, self.guard)
                    yield from _pause(0.1)
            except PlaywrightError:
                continue  # navigating: look again
            watched = self.drive.settle if refused else max(self.drive.settle, 5.0)
            if callback_at and time.monotonic() - callback_at > watched:
                watch = f"watched {watched:g} s after the callback (drive.settle)"
                break  # back at the application for a while, and it still does not say it signed in
            if refused and quiet and callback_at:
                in_flight, last_request = quiet.activity()
                silent = time.time() - max(last_request, callback_wall)
                if not in_flight and silent >= quiet.seconds:
                    watch = (
                        f"the application answered its callback and made no request for {silent:.2f} s "
                        f"({quiet.basis}); watched {time.monotonic() - callback_at:.2f} s after the callback"
                    )
                    break
        if refused and callback_at:
            EFFORT.waited(time.monotonic() - callback_at)  # watched for a follow-up request
        self._stop_loading()  # its deadline: the picture and the verdict are of what arrived by now
        BrowserLogin._attach_page(self.page, "where the sign-in ended")
        result = self._result(False, seen, started, marks)
        result.restarted = refused and self._restarted(marks[0])
        result.watch = RESTARTED if result.restarted else watch
        return result

    def _restarted(self, since: int) -> bool:
        """Whether the browser, since its request number `since`, went to the stand-in's authorization
        endpoint, then to the application's callback, then to the authorization endpoint again: the
        application started a new sign-in after the callback. (Its first page may be the callback's
        own path, as a single-page application's may be: only a callback after an authorization
        request counts.)"""
        urls = [(parts.netloc, parts.path) for parts in map(urlsplit, self.urls[since:])]
        first = next((i for i, url in enumerate(urls) if url == self._authorization_endpoint), None)
        if first is None:
            return False
        callback = next((i for i in range(first + 1, len(urls)) if urls[i] in self._callback_paths), None)
        return callback is not None and self._authorization_endpoint in urls[callback + 1 :]

    def _signed_in(self) -> bool:
        marker = self.drive.signed_in
        if marker.selector:
            return bool(self.page.locator(marker.selector).count() > 0)
        return bool(self.page.get_by_text(marker.text).count() > 0)

    def _is_callback(self, url: str) -> bool:
        return (urlsplit(url).netloc, urlsplit(url).path) in self._callback_paths

    def _navigation_answered(self, response) -> None:
        """The callback's HTTP status, from the answer to the page load. Where the application's
        service worker answered a load that a redirect brought to the callback, Playwright gives that
        answer the URL the redirect started from (the stand-in's): its status counts once the page
        shows the callback's address (_navigated)."""
        if not response.request.is_navigation_request():
            return
        main_frame = response.frame == self.page.main_frame
        if main_frame:
            self._served_by_worker = None
            self._page_status = response.status
            self._document_coming = response.request
        if self._is_callback(response.url):  # a frame's too (a silent renewal's)
            self.callback_statuses.append(response.status)
        elif main_frame and response.from_service_worker:
            self._served_by_worker = response.status

    def _document_came(self, request) -> None:
        if request == self._document_coming:
            self._document_coming = None

    def _stop_loading(self) -> None:
        """Stops the page's loading where its document's body is still coming: an application whose callback
        page says "Signed in." and then streams on for ever kept two renderers parsing it (0.8 to 2.4 GB each)
        for the rest of the run, every later look at a page slowed down, and the end of the run waited minutes
        for them. Stopped as the browser's Stop button does (in the browser process, whatever the renderer is
        busy with); the sign-in is judged on what arrived."""
        from playwright.sync_api import Error as PlaywrightError

        if self._document_coming is None:
            return
        self._document_coming = None
        with contextlib.suppress(PlaywrightError):
            session = self.context.new_cdp_session(self.page)
            try:
                session.send("Page.stopLoading")
            finally:
                session.detach()

    def _navigated(self, frame) -> None:
        self.page_urls.append(frame.url)
        if frame == self.page.main_frame:
            if self._served_by_worker is not None and self._is_callback(frame.url):
                self.callback_statuses.append(self._served_by_worker)
            self._served_by_worker = None

    def _console_message(self, message) -> None:
        """A message the application's pages wrote to the console, as the console shows it and, where it
        logged an object, the object's JSON too: the console's preview cuts long strings and nested
        objects ("{access_token: eyJ…, raw: Object}")."""
        from playwright.sync_api import Error as PlaywrightError

        if message.type == "error":
            self._page_error(f"console error: {message.text}")
        if len(self.console) >= CONSOLE_MESSAGES_KEPT:
            return
        text = f"console.{message.type}: {message.text}"
        values = []
        with contextlib.suppress(PlaywrightError):  # the page went on, or a value JSON cannot carry (a DOM node)
            values = [argument.json_value() for argument in message.args[:10]]
        if any(isinstance(value, dict | list) for value in values):
            with contextlib.suppress(TypeError, ValueError):
                text += "\n" + json.dumps(values, ensure_ascii=False, default=str)
        self.console.append(bounded_console_message(text))

    def _uncaught(self, error) -> None:
        text = f"uncaught {error.name}: {error.message}"
        self._page_error(text)
        if len(self.console) < CONSOLE_MESSAGES_KEPT:
            self.console.append(bounded_console_message(text))

    def _page_error(self, text: str) -> None:
        # masked before it is cut: a token cut in two would no longer match, and its first part would show
        text = REDACTOR.scrub(text)
        if len(self.page_errors) < PAGE_ERRORS_KEPT:
            self.page_errors.append(text if len(text) <= PAGE_ERROR_LENGTH else text[:PAGE_ERROR_LENGTH] + "...")

    def _keep_content(self, request) -> None:
        """What the application (any origin but the stand-in's) sent the browser to show or to run:
        documents, scripts and what its pages fetch. Redirects have no body."""
        from playwright.sync_api import Error as PlaywrightError

        if request.resource_type not in ("document", "script", "xhr", "fetch"):
            return
        with contextlib.suppress(PlaywrightError, UnicodeDecodeError):  # navigated on: the browser dropped the body
            response = request.response()
            if response is not None and request.resource_type != "script":  # a redirect sets cookies too
                self.cookies_set += [
                    _cookie(header["value"])
                    for header in response.headers_array()
                    if header["name"].lower() == "set-cookie"
                ]
            if response is None or 300 <= response.status < 400:
                return
            if request.sizes()["responseBodySize"] <= MAX_CONTENT_KEPT:  # not a bundle or a download
                part = {"document": "page", "script": "script"}.get(request.resource_type, "response")
                self.contents.append((response.url, response.text(), part))

    def _result(
        self,
        finished: bool,
        seen: int,
        started: float,
        marks: tuple[int, int, int, int, int, int],
        callback_at: float | None = None,
    ) -> SignIn:
        from playwright.sync_api import Error as PlaywrightError

        self._stop_loading()  # before anything reads the page: what arrived by now is what is judged
        self.guard.settle([])  # the application's own origins are allowed: no navigation is excused
        self.guard.report_blocked()
        if self.guard.refused:
            BrowserLogin._attach_page(self.page, "a credential was refused")
            raise self.guard.refused[0]
        statuses = self.callback_statuses[seen:]
        now = time.monotonic()
        contents = self.contents[marks[1] :]
        with contextlib.suppress(PlaywrightError):  # the page as it shows now, after its scripts ran
            contents.append((self.page.url, self.page.content(), "dom"))
        cookies = list(self.cookies_set[marks[2] :])
        if self.driver.application.app_type == "web":
            with contextlib.suppress(PlaywrightError):
                cookies += [(c["name"], c["value"]) for c in self.context.cookies(self.driver.own_origins)]
        return SignIn(
            finished,
            statuses[-1] if statuses else None,
            self.page.url,
            now - started,
            urls=self.urls[marks[0] :],
            page_urls=self.page_urls[marks[3] :],
            contents=contents,
            cookies=cookies,
            callback_to_finish=now - callback_at if finished and callback_at else None,
            page_errors=self.page_errors[marks[4] :],
            console=self.console[marks[5] :],
            page_status=self._page_status,
        )

    def close(self) -> None:
        self.driver.guards.remove(self.guard)
        self.context.close()


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _cookie(header: str) -> tuple[str, str]:
    """(name, value) of a Set-Cookie header's value; its attributes (Path, HttpOnly) left out."""
    name, _, value = header.split(";", 1)[0].partition("=")
    return name.strip(), value.strip()


POLL = 50  # milliseconds between two looks at the pages
# Flows stepped at once: more pages loading at once than this only share the same two cores slower.
AT_ONCE = 6


def _pause(seconds: float) -> Iterator[None]:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        yield


def run_together(page, flows: list[Generator[None, None, Any]]) -> list:
    """Runs each flow (a generator of steps, such as BrowserSession.sign_in_steps) to its end, a
    step of each in turn with one short wait for every page in between: Playwright's synchronous
    API serves one thread, and the browser loads all the pages meanwhile. At most AT_ONCE flows
    go on at once; the next one starts when one ends. Returns each flow's result in order; a flow
    that raised raises once every flow has ended."""
    results: list = [None] * len(flows)
    errors: dict[int, BaseException] = {}
    waiting = list(enumerate(flows))
    running: dict[int, Generator[None, None, Any]] = {}
    while waiting or running:
        while waiting and len(running) < AT_ONCE:
            number, flow = waiting.pop(0)
            running[number] = flow
        page.wait_for_timeout(POLL)
        for number, flow in list(running.items()):
            try:
                next(flow)
            except StopIteration as end:
                results[number] = end.value
                del running[number]
            except Exception as error:
                errors[number] = error
                del running[number]
    if errors:
        raise next(iter(errors.values()))
    return results
