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

Chromium resolves every host but loopback to nothing: nothing leaves the machine. Its contexts
reach only the stand-in and the application's own origins (appside.browser_guard.ApplicationGuard,
with an OriginFence on every connection): a request elsewhere (an image, a font or a script from a
CDN, an analytics beacon, a call to a partner's API) is aborted and kept, its URL, headers and body,
for APPC-32, which looks in it for the application's credentials; the sign-in goes on."""

import contextlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field, replace
from types import SimpleNamespace
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from appside.application_schema import MOST_AT_ONCE
from appside.browser_guard import ApplicationGuard, SentElsewhere
from appside.effort import EFFORT
from sandbox.app import PATHS
from suite.configuration.environment import BrowserAction, BrowserPage, HttpSettings, Login
from suite.secrets.redaction import REDACTOR
from suite.verdict.checks import NothingToCheck
from suite.wire.browser import MemoryBound, OriginFence, launch_chromium, person_user_agent, stop_chromium
from suite.wire.http import CredentialPolicy, redact_url
from suite.wire.login.browser import BrowserLogin, PagePicture, attach_picture, page_picture
from suite.wire.redirect_variations import LOOPBACK_HOSTS, without_loopback_port

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
# a form POSTed from the page the browser is on: [action, [[name, value], ...]]
SUBMIT_FORM = """([action, fields]) => {
  const form = document.createElement("form");
  form.method = "POST";
  form.action = action;
  for (const [name, value] of fields) {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = name;
    input.value = value;
    form.append(input);
  }
  document.body.append(form);
  form.submit();
}"""
MAX_CONTENT_KEPT = 5_000_000  # bytes of one response the leak rules read
PAGE_ERRORS_KEPT, PAGE_ERROR_LENGTH = 20, 300  # a session's first errors, each cut: enough to name a cause
# what APPC-28 reads of the browser console, the SPA's log: a session's first messages, each bounded
CONSOLE_MESSAGES_KEPT, CONSOLE_MESSAGE_LENGTH = 500, 200_000
# ...and the messages the suite listens to of one page (a document of the tab): each costs a round trip to the
# page for its values, and a page that wrote 20,000 console errors held one sign-in 74 s and a run 790 s at a load of
# 32; past this the suite stops listening until the tab shows its next page
CONSOLE_MESSAGES_HEARD = 100
CLOSE_BOUND = 10.0  # seconds a browser has to close before it is killed (it closes in well under 1 s)
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
    # how a refused sign-in's watch after the callback ended, or where a sign-in ended before drive.timeout
    watch: str = ""
    # a refused sign-in: the application sent the browser to the stand-in's authorization endpoint again
    # after the faulty callback (a new sign-in, as passport's failureRedirect to its login does)
    restarted: bool = False
    page_errors: list[str] = field(default_factory=list, repr=False)  # uncaught exceptions and console errors
    # the fault callback-of-other-browser: the authorization request this browser's own sign-in sent the
    # stand-in (left pending at its login page), and the callback of another browser's sign-in delivered here
    own_request: str = field(default="", repr=False)
    other_browser_callback: "HeldCallback | None" = field(default=None, repr=False)
    # every message its pages wrote to the browser console, unmasked (APPC-28 looks for credentials in it)
    console: list[str] | None = field(default=None, repr=False)
    # the HTTP status of the last page the browser loaded (the application's error page where its
    # sign-in page broke before sending the browser to the stand-in)
    page_status: int | None = None
    # why the browser could not load the page it was sent to ("too many redirects"): its error page's status
    # and address (HTTP 302 at chrome-error://chromewebdata/) say nothing of it
    load_error: str = ""
    # what the browser refused to fetch for its pages from origins it does not reach, and, where that was
    # Visma Connect's discovery or endpoints, which issuer the application looked for (refused_elsewhere)
    elsewhere: str = ""
    # what its pages and workers sent to origins the browser does not reach (aborted, never sent): APPC-32 reads
    # them for the application's credentials
    sent_elsewhere: list[SentElsewhere] | None = field(default=None, repr=False)
    # when (time.time()) the suite loaded this sign-in's callback URL again once it had finished, as a user pressing
    # reload does (APPC-23), and how that load went; None where it did not
    callback_reloaded_at: float | None = None
    callback_reload: str = ""
    # why the suite stopped the browser while this sign-in went on (BrowserDidNotAnswer): it holds what the browser
    # reported until then, and did not finish for that reason, not one of the application's
    stopped: str = ""
    # the page a sign-in that did not finish ended on, pictured then; attached in the scenario that reads the sign-in
    # (sign-ins made at once for every scenario were all attached to the first scenario's step)
    ended_page: PagePicture | None = field(default=None, repr=False)
    # a sign-in that did not finish: its signed-in marker was there at the suite's last look, once the watch had ended
    # (it came late); the page text alone cannot show an element marker (drive.signed_in.selector)
    marker_at_last_look: bool = False


def bounded_console_message(text: str) -> str:
    """A console message cut at CONSOLE_MESSAGE_LENGTH, without the word the cut went through: the part of a
    token before the cut no longer matches the token, so the scrubber would keep it as it was."""
    if len(text) <= CONSOLE_MESSAGE_LENGTH:
        return text
    return re.sub(r"[^\s\"',;:(){}\[\]<>]+$", "", text[:CONSOLE_MESSAGE_LENGTH]) + " [cut]"


@dataclass(frozen=True)
class HeldCallback:
    """The stand-in's answer to a sign-in, held on its way to the application's callback (the browser never
    delivered it): what the browser would have sent, a GET of `url` or (form_post) a POST of `form`."""

    method: str
    url: str
    form: tuple[tuple[str, str], ...] = ()

    @property
    def params(self) -> dict[str, str]:
        return dict(self.form) if self.method == "POST" else response_parameters(self.url)

    def to_own_listener(self, own_request: str, any_port: tuple[str, ...]) -> "HeldCallback":
        """This callback addressed to the loopback listener of the sign-in whose authorization request is
        `own_request`, where it went to another loopback port of a native application (`any_port`, its hosts). Each
        of its sign-ins listens on its own port, taken by the stand-in from that request's redirect_uri (RFC 8252
        section 7.3), and stops listening once its one redirect came: another browser's callback left on that
        browser's port reaches that browser's sign-in, never this one's. So it goes to this sign-in's port, as an
        attacker who learnt it would send it; the code, the state and the path stay the other browser's."""
        held, own = urlsplit(self.url), urlsplit(dict(parse_qsl(urlsplit(own_request).query)).get("redirect_uri", ""))
        same_host = own.scheme == held.scheme == "http" and own.hostname == held.hostname
        if not (same_host and held.hostname in any_port and own.port and own.netloc != held.netloc):
            return self
        return replace(self, url=held._replace(netloc=own.netloc).geturl())


# what makes a load of the redirect URI an authorization response (RFC 6749 sections 4.1.2 and 4.1.2.1): a code,
# or an error; the state comes with them where the request sent one (a callback without it is a fault the suite
# makes), so it is not asked for
RESPONSE_PARAMETERS = ("code", "error")


def _origin_and_path(url: str) -> tuple[str, str, int | None, str]:
    parts = urlsplit(url)
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:  # not a port
        port = None
    return parts.scheme.lower(), (parts.hostname or "").lower(), port, parts.path or "/"


def at_redirect_uri(url: str, redirect_uris, any_port: tuple[str, ...] = ()) -> bool:
    """`url` is one of the registered redirect URIs: the same scheme, host, port and path, exactly (not a path
    under it: an application whose redirect URI is its root serves its sign-in page there too); on a host of
    `any_port` (a native application's loopback IP redirect URI, loopback_any_port) any port."""
    scheme, host, _, path = _origin_and_path(url)
    if scheme == "http" and host in any_port:
        return (scheme, host, path) in {(s, h, p) for s, h, _, p in map(_origin_and_path, redirect_uris)}
    return _origin_and_path(url) in {_origin_and_path(uri) for uri in redirect_uris}


def response_parameters(url: str, form: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """The parameters a load of `url` carries, in its query, its fragment (response_mode=fragment) or,
    for a POST, its form (form_post)."""
    parts = urlsplit(url)
    return {
        **dict(parse_qsl(parts.query, keep_blank_values=True)),
        **dict(parse_qsl(parts.fragment, keep_blank_values=True)),
        **dict(form),
    }


# What Chromium's network errors mean, as a message says it (net::ERR_... in Playwright's error)
NETWORK_ERRORS = {
    "ERR_CONNECTION_REFUSED": "connection refused (nothing listens on its host and port)",
    "ERR_NAME_NOT_RESOLVED": "its host name does not resolve",
    "ERR_CONNECTION_RESET": "the connection was reset",
    "ERR_EMPTY_RESPONSE": "the server closed the connection without an answer",
    "ERR_ADDRESS_UNREACHABLE": "its address is unreachable",
}


def network_error(message: str, url: str) -> str:
    """A page load the browser could not make at all (a net::ERR_... error), said with its URL; "" for another
    error (a timeout, a navigation that went on elsewhere), where the page is looked at as it is."""
    found = re.search(r"net::(ERR_[A-Z_]+)", message)
    if not found:
        return ""
    meaning = NETWORK_ERRORS.get(found[1], found[1])
    return f"the browser could not load {redact_url(url)}: {meaning} (net::{found[1]})"


def is_callback(
    url: str, redirect_uris, form: tuple[tuple[str, str], ...] = (), any_port: tuple[str, ...] = ()
) -> bool:
    """A load of `url` (a POST of `form`) is the application's callback: a registered redirect URI exactly, with
    an authorization response's parameters. The application's root, or its sign-in page under a redirect URI
    that is its root, loaded without them is one of its pages, not a callback."""
    params = response_parameters(url, form)
    return at_redirect_uri(url, redirect_uris, any_port) and any(params.get(name) for name in RESPONSE_PARAMETERS)


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
    "Nothing was sent there. The browser reaches only the stand-in and the application's own origins, those of "
    "drive.sign_in_url, drive.use_api_url and application.redirect_uris: if that origin serves the application's "
    "pages, name it in one of those keys."
)
POLICY_CITED = (
    "Credentials go only to the stand-in and the application: the suite's security policy, not a sentence of an "
    'RFC or of Visma\'s pages (docs/certify-application.md, "Runs that end clean, pages that stay home")'
)

RESTARTED = (
    "the application answered the callback by starting a new sign-in (a new authorization request to the "
    "stand-in): the watch ended there, and the new sign-in was not gone through"
)
# The stand-in refused the authorization request with its error page (an unknown client_id, an unregistered
# redirect_uri: RFC 6749 section 4.1.2.1 forbids redirecting those back): a page of its own, with no script, link or
# form, that sends the browser nowhere; the application's page is gone from the tab, so nothing more can come of
# the sign-in, and waiting out drive.timeout there showed nothing (a run of 15 such sign-ins waited 80 s)
STAND_IN_REFUSED = (
    "the stand-in refused the authorization request with its error page (HTTP {status}): the sign-in ended there"
)
STAND_IN_ERROR = "#error"  # the element of the stand-in's error page (sandbox/templates/error.html)


# How long the browser may take to answer one step of a sign-in (a page load, the login page's actions, a
# picture of the page, its cookies), in multiples of drive.timeout: every wait of a step is bounded by
# drive.timeout or less, but some Playwright calls have no timeout of their own (a DevTools session, a page's
# content, its cookies), and one the browser never answered held a certification for 10 minutes at a load of 45.
ANSWER_SPAN = 3
# ...and never less than this: a picture of the page alone may take 5 s (suite.wire.login.screenshots), more on a
# loaded machine, where a short drive.timeout would have the browser stopped in the middle of a slow but sound step
LEAST_ANSWER_SECONDS = 30.0


class BrowserDidNotAnswer(NothingToCheck):
    """The browser did not answer a call within the watchdog's bound, and was stopped: what the call was
    for could not be checked (no evidence either way about the application)."""

    flow: int | None = None  # the flow of run_together whose step it was, where it was one


class Watchdog:
    """Playwright's synchronous calls cannot be cancelled from another thread: a call the browser has not
    answered `seconds` after the step it belongs to began has Chromium stopped (`stop`), which fails the
    call and every other one waiting; the step then raises BrowserDidNotAnswer. One thread per driver,
    looking a few times a second."""

    LOOK = 0.25  # seconds between two looks

    def __init__(self, seconds: float, stop: Callable[[], Any], basis: str = "") -> None:
        self.seconds, self._stop, self.basis = seconds, stop, basis
        self._lock = threading.Lock()
        self._deadline: float | None = None
        self._what = ""
        self._depth = 0
        self.expired = ""  # what the browser did not answer, once it was stopped for it
        self.memory = ""  # why the browser was stopped for its memory, where it was
        self._closed = threading.Event()
        threading.Thread(target=self._watch, daemon=True, name="browser watchdog").start()

    def message(self, page: str = "", sign_in: str = "") -> str:
        """Why the browser was stopped; `page`: the address of the page the step that waited looked at, in the
        sign-in (appside.concurrent's title) `sign_in`."""
        what = self._what or "driving the application"
        if self.memory:
            return (
                f"the browser was stopped while {what}: {self.memory} (a page that big, or that keeps growing), so "
                "this could not be checked"
            )
        waited = f"the browser did not answer within {self.seconds:g} s{f' ({self.basis})' if self.basis else ''}"
        if page:
            return (
                f"{waited} while the suite was {what} on the page {redact_url(page)}"
                f"{f' of the sign-in {sign_in!r}' if sign_in else ''}: a script on that page kept it "
                "from answering (a loop that never yields, such as while(true)), or the application did not answer "
                "the page's next load (a meta refresh, a redirect or a link it followed, its request left waiting), "
                f"so the suite stopped the browser and this could not be checked; {_load()}"
            )
        return (
            f"{waited} while the suite was {what}, so it stopped the browser and this could not be checked (a page "
            f"that keeps the browser busy, or a machine too loaded to run Chromium; {_load()})"
        )

    def bound(self, what: str) -> "_Bound":
        """The calls in the block answered within `seconds` (an outer bound holds where blocks nest)."""
        return _Bound(self, what)

    def _enter(self, what: str) -> None:
        if self.expired:
            raise BrowserDidNotAnswer(self.message())
        with self._lock:
            if not self._depth:
                self._deadline, self._what = time.monotonic() + self.seconds, what
            self._depth += 1

    def _exit(self, error: BaseException | None) -> None:
        with self._lock:
            self._depth -= 1
            if not self._depth:
                self._deadline = None
        # whatever the block raised (Playwright's "browser has been closed") was the stopping; a flow that ended
        # (StopIteration, with its result) or was closed (GeneratorExit) ended on its own
        if self.expired and not isinstance(error, BrowserDidNotAnswer | GeneratorExit | StopIteration):
            raise BrowserDidNotAnswer(self.message()) from error

    def _watch(self) -> None:
        while not self._closed.wait(self.LOOK):
            with self._lock:
                late = self._deadline is not None and time.monotonic() > self._deadline and not self.expired
                if late:
                    self.expired = self._what or "driving the application"
            if late:
                self._stop()

    def stop_for_memory(self, why: str) -> None:
        """The browser's processes held more memory than the bound (`why` says how much): it is stopped, and
        the step going on (or the next) raises BrowserDidNotAnswer saying so."""
        with self._lock:
            self.memory = why
            self.expired = self._what or "driving the application"
        self._stop()

    def close(self) -> None:
        self._closed.set()


def machine_load() -> str:
    """The machine's load average over the last minute, as the messages that name load as a cause say it."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    return f"the machine's load was {load:.1f} on {cores} cores"


def machine_loaded() -> bool:
    """Whether more was waiting to run over the last minute than the machine has cores to run it."""
    return os.getloadavg()[0] > (os.cpu_count() or 1)


def _load() -> str:
    """The machine's load, for a message that says the browser did not answer: a page's endless script stops it
    answering on a quiet machine too; a loaded machine is run on again, or given a longer drive.timeout."""
    return (
        f"{machine_load()}: where the page has no such script, run again on a quieter machine, or raise drive.timeout"
    )


class _Bound:
    def __init__(self, watchdog: Watchdog, what: str) -> None:
        self.watchdog, self.what = watchdog, what

    def __enter__(self) -> None:
        self.watchdog._enter(self.what)

    def __exit__(self, kind, error, trace) -> None:
        self.watchdog._exit(error)


def milliseconds_left(deadline: float) -> float | None:
    """A Playwright timeout for what is left until `deadline` (time.monotonic()), or None once it passed:
    Playwright reads 0 as no timeout at all, and Node warns of a negative one and waits 1 ms
    (TimeoutNegativeWarning)."""
    left = deadline - time.monotonic()
    return left * 1000 if left > 0 else None


def loopback_any_port(application) -> tuple[str, ...]:
    """The hosts of a native application's localhost redirection URIs (loopback IP literals, or localhost): its
    callback listens on the port the operating system gives it at each sign-in, which the stand-in takes (RFC
    8252 section 7.3: "The authorization server MUST allow any port to be specified at the time of the request
    for loopback IP redirect URIs"; RFC 9700 section 2.1 exempts the port of "localhost redirection URIs of
    native apps"), so the browser reaches that host on any port. No other host, nor another type's."""
    if application.app_type != "native":
        return ()
    return tuple(
        dict.fromkeys(
            urlsplit(u).hostname or "" for u in application.redirect_uris if without_loopback_port(u, LOOPBACK_HOSTS)
        )
    )


class BrowserDriver:
    def __init__(self, application, issuer: str, user, tls=None) -> None:
        from playwright.sync_api import sync_playwright

        self.application = application
        self._playwright = sync_playwright().start()
        drive = application.drive
        own = (drive.sign_in_url, getattr(drive, "use_api_url", None), *application.redirect_uris)
        self.own_origins = list(dict.fromkeys(_origin(u) for u in own if u))  # whose cookies APPC-27 reads
        # a refusal (the test user's password elsewhere: appside.browser_guard) is the suite's policy, no sentence
        # binds the application there: a configuration problem naming the origin and these keys, as on the server side
        self.policy = CredentialPolicy(
            issuer,
            HttpSettings(trusted_origins=tuple(u for u in own if u)),
            advice=OWN_ORIGINS,
            cited=POLICY_CITED,
            any_port=loopback_any_port(application),
        )
        self.guards: list[ApplicationGuard] = []  # the open sessions' (several sign-ins may go on at once)
        self._fence = OriginFence(
            lambda host, port: bool(self.guards) and all(guard.allows(host, port) for guard in list(self.guards)),
            self._connection_refused,
        )
        self._flags = [f"--host-resolver-rules={LOOPBACK_ONLY}", *self._fence.flags]
        if tls:  # the stand-in's certificate, and no other, is accepted although its authority is not Chromium's
            self._flags.append(f"--ignore-certificate-errors-spki-list={tls.spki_sha256}")
        self._browser = launch_chromium(self._playwright, self._flags)
        EFFORT.browser_launches += 1
        self.user, self.issuer = user, issuer
        # its flags name the fence's own port, which no other Chromium has
        self.watchdog = Watchdog(
            max(LEAST_ANSWER_SECONDS, ANSWER_SPAN * drive.timeout),
            lambda: stop_chromium(self._fence.flags[0]),
            f"{ANSWER_SPAN} x drive.timeout, at least {LEAST_ANSWER_SECONDS:g} s",
        )
        self.memory = MemoryBound(
            self._fence.flags[0], lambda held: self.watchdog.stop_for_memory(self.memory.said(held))
        )

    def login_pages(self, username: str) -> BrowserLogin:
        """The stand-in's pages, filled as the test user `username` (the run's password)."""
        login = Login("browser", username, self.user.password, browser_pages=STAND_IN_PAGES)
        return BrowserLogin(SimpleNamespace(login=login, http=HttpSettings(), issuer=self.issuer), None)

    def session(self, username: str | None = None) -> "BrowserSession":
        """A fresh browser profile: no cookies of the application nor of the stand-in; its sign-ins
        are made as the test user `username` (the run's first test user by default). A browser the
        watchdog stopped is launched again first."""
        if self.watchdog.expired:
            with contextlib.suppress(Exception):
                self._browser.close()
            self._browser = launch_chromium(self._playwright, self._flags)
            EFFORT.browser_launches += 1
            self.watchdog.expired = self.watchdog.memory = ""
        with self.watchdog.bound("opening a browser context"):
            return BrowserSession(
                self,
                self._browser.new_context(service_workers="allow", user_agent=person_user_agent(self._browser)),
                username or self.user.username,
            )

    def opened(self, address: tuple) -> bool:
        """A connection from `address` (its client's, as the server sees it) is this browser's: every one
        it makes goes through its fence."""
        return self._fence.carries(address)

    def _connection_refused(self, host: str, port: int) -> None:
        for guard in list(self.guards):
            if not guard.allows(host, port):
                guard.connection_refused(host, port)

    def close(self) -> None:
        """Closes the browser, within CLOSE_BOUND seconds: a browser that does not answer its close (one
        that hung after a configuration problem kept a run waiting at its end until SIGTERM at 600 s) is
        killed with its processes, and the close waiting for it then fails, which is what was asked."""
        from playwright.sync_api import Error as PlaywrightError

        killer = threading.Timer(CLOSE_BOUND, stop_chromium, (self._fence.flags[0],))
        killer.daemon = True
        killer.start()
        try:
            with (
                contextlib.suppress(PlaywrightError, BrowserDidNotAnswer),
                self.watchdog.bound("closing the browser"),
            ):
                self._browser.close()
            self.watchdog.close()
            self.memory.close()
            self._playwright.stop()
        finally:
            killer.cancel()
            self._fence.close()


# how many of a session's urls, contents, cookies set, page urls, page errors, console messages and requests sent
# elsewhere there were when a sign-in began: what it holds of each comes after
Marks = tuple[int, int, int, int, int, int, int]


class BrowserSession:
    def __init__(self, driver: BrowserDriver, context, username: str) -> None:
        self.driver, self.context, self.username = driver, context, username
        self.drive = driver.application.drive
        self.login = driver.login_pages(username)
        self.page = context.new_page()
        # the application's pages may ask for an image, a font or a script elsewhere (Auth.js's sign-in error
        # page shows a logo from https://authjs.dev), or send a beacon: aborted, as there is no network, and kept
        self.guard = ApplicationGuard(driver.policy, driver.user.password, page=self.page)
        driver.guards.append(self.guard)
        self.guard.attach(context)
        self.callback_statuses: list[int] = []
        self.urls: list[str] = []
        self.contents: list[tuple[str, str, str]] = []
        self.cookies_set: list[tuple[str, str]] = []  # from the application's Set-Cookie headers
        self.page_urls: list[str] = []
        self.page_errors: list[str] = []
        self.console: list[str] = []
        self._console_heard = 0  # of the page the tab shows (CONSOLE_MESSAGES_HEARD)
        stand_in = urlsplit(driver.issuer).netloc
        context.on("request", lambda r: self.urls.append(r.url))  # a service worker's requests too
        # the browser's requests not yet answered, and when the last one began or ended (time.time()): an opened
        # page whose scripts still fetch is not quiet (_quiet_after_page)
        self._in_flight: set = set()
        self._last_request = 0.0
        context.on("request", self._request_began)
        context.on("requestfinished", self._request_ended)
        context.on("requestfailed", self._request_ended)
        # a request's URL never has the #fragment, and history.replaceState makes no request: where the
        # page's address went is what its frames navigated to
        context.on("page", lambda page: page.on("framenavigated", lambda frame: self.page_urls.append(frame.url)))
        self._documents = 0  # how many times the page's main frame navigated (_navigated)
        self.page.on("framenavigated", self._navigated)
        context.on("console", self._console_message)
        self.page.on("pageerror", self._uncaught)
        if driver.application.app_type == "web":  # APPC-27: what a confidential client sends the browser
            # once its body is all there: a stream that never ends is never waited for
            context.on(
                "requestfinished", lambda r: self._keep_content(r) if urlsplit(r.url).netloc != stand_in else None
            )
        self._callback_uris = list(driver.application.redirect_uris)
        self._any_port = loopback_any_port(driver.application)  # a native app's loopback callback: any port
        self._authorization_endpoint = (stand_in, PATHS["authorization_endpoint"])
        # frame -> the status of its page load whose address alone does not show a callback: a load a service
        # worker answered (reported under the stand-in's URL), or one of the redirect URI without the response's
        # parameters in its request (response_mode=fragment): its status counts once the frame shows a callback
        self._unconfirmed: dict[Any, int] = {}
        self._page_status: int | None = None  # the status of the main frame's last page load
        self._load_error = ""  # why the last page opened could not be loaded (SignIn.load_error)
        self._page_answered = ""  # ... and the address that answered it
        self._page_answered_at = 0.0  # ... and when (time.time())
        # the main frame's document whose body is still coming (an answer that streams for ever): its loading
        # is stopped when the sign-in is judged, or the renderer parses it for the rest of the run
        self._document_coming = None
        self.page.on("response", self._navigation_answered)
        self.page.on("requestfinished", self._document_came)
        self.page.on("requestfailed", self._document_came)
        self.page.on("request", self._document_asked)
        # the last sign-in judged, and how many requests elsewhere it has: what its page sends after it was judged
        # (a beacon once the signed-in page shows) is its own too, handed over when the next one starts or at close
        self._last_sign_in: SignIn | None = None
        self._sent_judged = 0
        self._opened = time.monotonic()  # when the session began (BrowserSession.stopped)

    def signed_in_before(self, cookie: tuple[str, str]) -> None:
        """This browser signed in at the stand-in earlier: it holds the stand-in's session `cookie` (name, value),
        so the stand-in answers its authorization requests at once, without its login page, as Visma Connect
        answers a user who signed in earlier (single sign-on)."""
        name, value = cookie
        # HttpOnly, as the stand-in sets it: an application served on the stand-in's host reads no more of it
        self.context.add_cookies([{"name": name, "value": value, "url": self.driver.issuer + "/", "httpOnly": True}])

    def sign_in(self, refused: bool = False, quiet: QuietWatch | None = None) -> SignIn:
        """Start the application's sign-in and go through the stand-in's pages. A sign-in the
        stand-in answers wrongly on purpose (`refused`) is watched for `drive.settle` seconds
        after the application's callback, long enough for it to redeem a code it should not, or
        less where `quiet` gives the evidence that it made no further request."""
        sign_in: SignIn = run_together(self.page, [self.sign_in_steps(refused, quiet)], self.driver.watchdog)[0]
        attach_where_ended([sign_in])
        return sign_in

    def open(self, url: str, refused: bool = False, quiet: QuietWatch | None = None) -> SignIn:
        sign_in: SignIn = run_together(self.page, [self.open_steps(url, refused, quiet)], self.driver.watchdog)[0]
        attach_where_ended([sign_in])
        return sign_in

    def sign_in_steps(self, refused: bool = False, quiet: QuietWatch | None = None) -> Generator[None, None, SignIn]:
        """sign_in, a step at a time (run_together), so that other sign-ins go on meanwhile."""
        EFFORT.sign_ins += 1
        return (yield from self.open_steps(self.drive.sign_in_url, refused, quiet))

    def pending_sign_in_steps(self) -> Generator[None, None, str | None]:
        """Start the application's sign-in in this browser and leave it pending at the stand-in (its
        login page): the authorization request's URL, or None where none reached the stand-in within
        drive.timeout (the fault callback-of-other-browser)."""
        from playwright.sync_api import Error as PlaywrightError

        seen = len(self.urls)
        with contextlib.suppress(PlaywrightError):
            self.page.goto(self.drive.sign_in_url, wait_until="commit", timeout=self.drive.timeout * 1000)
        deadline = time.monotonic() + self.drive.timeout
        while time.monotonic() < deadline:
            for url in list(self.urls[seen:]):
                if (urlsplit(url).netloc, urlsplit(url).path) == self._authorization_endpoint:
                    return url
            yield
        return None

    def held_callback_steps(self) -> Generator[None, None, HeldCallback | None]:
        """Sign in through the stand-in as this session's test user, and hold the stand-in's answer on its
        way to the application's callback: the browser never delivers it (Chromium's DevTools Fetch domain
        sees each hop of a redirect, which no route does; the request is aborted, so no error page loads).
        None where no callback came within drive.timeout."""
        EFFORT.sign_ins += 1
        devtools = self.context.new_cdp_session(self.page)
        held: list[HeldCallback] = []

        callbacks = [uri.split("?")[0].split("#")[0] for uri in self._callback_uris]

        def go_on(paused: dict) -> None:
            with contextlib.suppress(Exception):  # the page went meanwhile
                devtools.send("Fetch.continueRequest", {"requestId": paused["requestId"]})

        def hold(paused: dict) -> None:
            request = paused["request"]
            if "responseStatusCode" in paused:  # the stand-in's own answer: a redirect to the callback is held
                headers = {h["name"].lower(): h["value"] for h in paused.get("responseHeaders") or []}
                location = headers.get("location", "")
                if not (300 <= paused["responseStatusCode"] < 400 and self._is_callback(location)):
                    return go_on(paused)
                held.append(HeldCallback("GET", location))
            else:
                # a page of the application under (or at) the redirect URI that is no callback (its sign-in page,
                # its root loaded without a code) goes on: only the authorization response is held
                method = request["method"]
                form = tuple(parse_qsl(request.get("postData", ""), keep_blank_values=True)) if method == "POST" else ()
                url = request["url"] + request.get("urlFragment", "")
                if not self._is_callback(url, form):
                    return go_on(paused)
                held.append(HeldCallback(method, url, form))
            with contextlib.suppress(Exception):  # the page went meanwhile
                devtools.send("Fetch.failRequest", {"requestId": paused["requestId"], "errorReason": "Aborted"})

        devtools.on("Fetch.requestPaused", hold)
        # the callback's request (a form_post's POST too); and the stand-in's redirects to it, held as they are
        # answered, before the browser follows one: an application's service worker answers navigations to its
        # own origin itself, and DevTools Fetch on the page then never sees the callback's request. Page loads
        # only (a frame's too): an application whose redirect URI is its root has every request under it
        # (a native app's loopback callback on any port: its host's every port, _is_callback judging each)
        callbacks += [f"http://{f'[{host}]' if ':' in host else host}:*/" for host in self._any_port]
        patterns = [
            {"urlPattern": f"{uri}*", "resourceType": "Document", "requestStage": "Request"} for uri in callbacks
        ]
        patterns.append({"urlPattern": f"{self.driver.issuer.rstrip('/')}/*", "requestStage": "Response"})
        devtools.send("Fetch.enable", {"patterns": patterns})
        steps = self.open_steps(self.drive.sign_in_url, until=lambda: bool(held))
        with contextlib.suppress(StopIteration):
            while True:
                next(steps)
                yield
        return held[0] if held else None

    def deliver_steps(
        self, callback: HeldCallback, own_request: str, quiet: QuietWatch | None = None
    ) -> Generator[None, None, SignIn]:
        """Deliver another browser's held callback to the application in this browser, as a link (or, for
        form_post, a form) an attacker gives his victim, and watch as a refused sign-in's (open_steps). A native
        application's goes to the loopback port of this browser's own sign-in, `own_request`
        (HeldCallback.to_own_listener)."""
        callback = callback.to_own_listener(own_request, self._any_port)
        return (yield from self.open_steps(callback.url, refused=True, quiet=quiet, form=callback.form, delivered=True))

    def reload_callback_steps(self, sign_in: SignIn, quiet: QuietWatch) -> Generator[None, None, None]:
        """Load `sign_in`'s callback URL (its authorization response in the query) again in this tab once the sign-in
        has finished, as a user pressing reload on it (or going back to it) does, and watch until the application
        and the stand-in have been quiet for `quiet.seconds`, at most drive.settle: a second redemption of its code
        is APPC-23's. Whatever the application answers (an error page, a redirect home) is its own. Noted on
        `sign_in`; a callback that came as a form post or in the fragment is not loaded again (a form post is no
        reload without the browser asking, and a fragment never reaches the server)."""
        from playwright.sync_api import Error as PlaywrightError

        callback = next(
            (
                url
                for url in reversed(sign_in.urls or [])
                if at_redirect_uri(url, self._callback_uris, self._any_port)
                and any(dict(parse_qsl(urlsplit(url).query)).get(name) for name in RESPONSE_PARAMETERS)
            ),
            None,
        )
        if callback is None:
            sign_in.callback_reload = "not loaded again: its callback carried no authorization response in its query"
            return
        sign_in.callback_reloaded_at = at = time.time()
        with contextlib.suppress(PlaywrightError):
            self.page.goto(callback, wait_until="commit", timeout=self.drive.timeout * 1000)
        deadline = time.monotonic() + self.drive.settle
        while time.monotonic() < deadline:
            yield
            in_flight, last_request = quiet.activity()
            silent = time.time() - max(last_request, self._last_request, at)
            if not in_flight and not self._in_flight and silent >= quiet.seconds:
                break
        self._stop_loading()
        status = f"HTTP {self._page_status}" if self._page_status is not None else "no answer"
        sign_in.callback_reload = (
            f"its callback URL loaded again {time.time() - at:.2f} s, answered {status}, ended at "
            f"{redact_url(self.page.url)}"
        )

    def wait_steps(self, seconds: float) -> Generator[None, None, None]:
        """A wait the evidence needs (an access token expiring), counted, while other sign-ins go on."""
        EFFORT.waited(seconds)
        yield from _pause(seconds)

    def open_steps(
        self,
        url: str,
        refused: bool = False,
        quiet: QuietWatch | None = None,
        form: tuple[tuple[str, str], ...] = (),
        until: Callable[[], bool] | None = None,
        delivered: bool = False,
    ) -> Generator[None, None, SignIn]:
        """Open `url` (POST `form` to it, where given) and go through the stand-in's pages until the
        application shows its signed-in marker, or `until` says to stop. A `delivered` callback (another
        browser's) is watched without going through the stand-in's pages: a new sign-in the application
        starts after it is its refusal (the browser's own sign-in is left pending)."""
        from playwright.sync_api import Error as PlaywrightError

        started = time.monotonic()
        seen = len(self.callback_statuses)
        self._hand_over_sent()
        marks = (
            len(self.urls),
            len(self.contents),
            len(self.cookies_set),
            len(self.page_urls),
            len(self.page_errors),
            len(self.console),
            len(self.guard.sent),
        )
        deadline = started + self.drive.timeout
        callback_at, callback_wall, watch = None, 0.0, ""
        ran: _ActionsRan | None = None
        logged_in = False  # the test user's password typed into the stand-in's login page (appside.effort)
        answered_before = self._page_answered_at
        # the page may navigate on at once; the loop below looks at where it ended
        load_error = self._load_error = ""
        try:
            if form:  # as the stand-in's own form_post page sends it: a form the page submits
                # from a blank page, as from an attacker's: submitted from the stand-in's login page the tab was left
                # on, the POST never reached a native app's loopback listener in 3 of 4 runs (APPC-31 could not be
                # checked), in 0 of 6 from a blank page
                self.page.goto("about:blank", wait_until="commit", timeout=self.drive.timeout * 1000)
                with self.page.expect_navigation(wait_until="commit", timeout=self.drive.timeout * 1000):
                    self.page.evaluate(SUBMIT_FORM, [url, list(form)])
            else:
                self.page.goto(url, wait_until="commit", timeout=self.drive.timeout * 1000)
        except PlaywrightError as error:
            load_error = self._load_error = network_error(str(error), url)
            if "ERR_TOO_MANY_REDIRECTS" in str(error):  # Chromium's error page then says "HTTP 302" at chrome-error:
                self._load_error = (
                    f"too many redirects: {redact_url(url)} redirects in a loop, and the browser gave up "
                    "(net::ERR_TOO_MANY_REDIRECTS)"
                )
        # a refused sign-in whose callback came late in drive.timeout is still watched for drive.settle after it
        while time.monotonic() < (
            max(deadline, callback_at + self.drive.settle) if refused and callback_at else deadline
        ):
            yield  # run_together waits a little for every page at once
            if until is not None and until():
                break
            if load_error and self.page.url.startswith("chrome-error://"):  # nothing will come: said at once
                watch = load_error
                break
            if len(self.callback_statuses) > seen and callback_at is None:
                callback_at, callback_wall = time.monotonic(), time.time()
            if refused and self._restarted(marks[0], delivered):
                # the refusal itself: what the new sign-in leads to is not what it did with the faulty response
                break
            # the stand-in's page the actions were run on, its next page still coming: a look at the page would wait
            # for that page (Playwright's), holding the other sign-ins, and could show no more than the click did
            awaited = ran is not None and ran.awaited(self._documents)
            try:
                if not awaited and self._signed_in():
                    if refused:  # it went on where it should have stopped: let its requests arrive
                        yield from _pause(0.3)
                        EFFORT.waited(0.3)
                    return self._result(True, seen, started, marks, callback_at)
                refusal = self._stand_in_refused()
                if refusal:
                    watch = refusal
                    break
                if (
                    quiet
                    and not (refused or form or until)
                    and (ended := self._quiet_after_page(quiet, answered_before))
                ):
                    watch = ended
                    break
                rule = None if delivered or awaited else self.login._rule_for(self.page)
                left = milliseconds_left(deadline)
                if rule is not None and left is not None:  # none once drive.timeout passed: the loop ends
                    # the click does not wait for the page load it starts: the other sign-ins go on meanwhile
                    self.login._run(self.page, rule, min(ACTION_BOUND, left), self.guard, settled=True)
                    if not logged_in and any("{password}" in action.value for action in rule.actions):
                        EFFORT.logins, logged_in = EFFORT.logins + 1, True
                    ran = _ActionsRan(self._documents, time.monotonic() + min(ACTION_BOUND, left) / 1000)
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
        ended_page = page_picture(self.page)  # attached in the scenario that reads the sign-in (attach_where_ended)
        result = self._result(False, seen, started, marks)
        result.ended_page = ended_page
        with contextlib.suppress(PlaywrightError):
            result.marker_at_last_look = self._signed_in()
        result.restarted = refused and self._restarted(marks[0], delivered)
        result.watch = RESTARTED if result.restarted else watch
        return result

    def _restarted(self, since: int, delivered: bool = False) -> bool:
        """Whether the browser, since its request number `since`, went to the stand-in's authorization
        endpoint, then to the application's callback, then to the authorization endpoint again: the
        application started a new sign-in after the callback. (Its first page may be the callback's
        own path, as a single-page application's may be: only a callback after an authorization
        request counts.) A `delivered` callback is the first request: any authorization request after it."""
        # a request's URL has no #fragment, nor a POST its form: the redirect URI's address is the callback here
        kinds = [
            "authorize"
            if (urlsplit(url).netloc, urlsplit(url).path) == self._authorization_endpoint
            else "callback"
            if at_redirect_uri(url, self._callback_uris, self._any_port)
            else ""
            for url in self.urls[since:]
        ]
        first = -1 if delivered else next((i for i, kind in enumerate(kinds) if kind == "authorize"), None)
        if first is None:
            return False
        callback = next((i for i in range(first + 1, len(kinds)) if kinds[i] == "callback"), None)
        return callback is not None and "authorize" in kinds[callback + 1 :]

    def _stand_in_refused(self) -> str:
        """STAND_IN_REFUSED where the page shows the stand-in's error page for an authorization request (the main
        frame's last answer, a 4xx or 5xx of the stand-in's authorization endpoint), else ""."""
        status = self._page_status
        if status is None or status < 400:
            return ""
        answered, shown = urlsplit(self._page_answered), urlsplit(self.page.url)
        if not (answered.netloc, answered.path) == (shown.netloc, shown.path) == self._authorization_endpoint:
            return ""
        if not self.page.locator(STAND_IN_ERROR).count():
            return ""
        return STAND_IN_REFUSED.format(status=status)

    def _quiet_after_page(self, quiet: QuietWatch, since: float) -> str:
        """Positive evidence that a page of the application opened after `since` (time.time()) shows all it will:
        its answer (no redirect) came whole from the application's own origin, no request of the browser nor at
        the stand-in is being answered, and none began or ended for `quiet.seconds`, a bound derived from how
        fast the same application followed its normal sign-ins up; then what it says, "" where that is not so."""
        answered, status = self._page_answered_at, self._page_status
        if answered <= since or status is None or 300 <= status < 400 or self._document_coming or self._in_flight:
            return ""
        if _origin(self.page.url) not in self.driver.own_origins:
            return ""
        in_flight, last_request = quiet.activity()
        silent = time.time() - max(last_request, answered, self._last_request)
        if in_flight or silent < quiet.seconds:
            return ""
        return (
            f"the application answered {urlsplit(self.page.url).path} (HTTP {status}) without showing "
            f"{self.drive.shows_signed_in()}, and made no request for {silent:.2f} s ({quiet.basis})"
        )

    def _request_began(self, request) -> None:
        self._in_flight.add(request)
        self._last_request = time.time()

    def _request_ended(self, request) -> None:
        self._in_flight.discard(request)
        self._last_request = time.time()

    def _signed_in(self) -> bool:
        marker = self.drive.signed_in
        if marker.selector:
            return bool(self.page.locator(marker.selector).count() > 0)
        return bool(self.page.get_by_text(marker.text).count() > 0)

    def _is_callback(self, url: str, form: tuple[tuple[str, str], ...] = ()) -> bool:
        return is_callback(url, self._callback_uris, form, self._any_port)

    def _navigation_answered(self, response) -> None:
        """The callback's HTTP status, from the answer to the page load. Where the application's
        service worker answered a load that a redirect brought to the callback, Playwright gives that
        answer the URL the redirect started from (the stand-in's): its status counts once the page
        shows the callback's address (_navigated)."""
        if not response.request.is_navigation_request():
            return
        from playwright.sync_api import Error as PlaywrightError

        main_frame = response.frame == self.page.main_frame
        self._unconfirmed.pop(response.frame, None)
        if main_frame:
            self._page_status, self._page_answered, self._page_answered_at = response.status, response.url, time.time()
            self._document_coming = response.request
        form: tuple[tuple[str, str], ...] = ()
        if response.request.method == "POST":  # form_post: the response's parameters are the form's
            with contextlib.suppress(PlaywrightError, UnicodeDecodeError):
                form = tuple(parse_qsl(response.request.post_data or "", keep_blank_values=True))
        if self._is_callback(response.url, form):  # a frame's too (a silent renewal's)
            self.callback_statuses.append(response.status)
        elif (main_frame and response.from_service_worker) or at_redirect_uri(
            response.url, self._callback_uris, self._any_port
        ):
            self._unconfirmed[response.frame] = response.status

    def _document_asked(self, request) -> None:
        """The tab asks for its next page: its console is listened to again (CONSOLE_MESSAGES_HEARD), from
        before the page's scripts run, which they do as it arrives."""
        if not (request.is_navigation_request() and request.frame == self.page.main_frame):
            return
        if self._console_heard >= CONSOLE_MESSAGES_HEARD:
            self.context.on("console", self._console_message)
        self._console_heard = 0

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
            self._documents += 1
        status = self._unconfirmed.pop(frame, None)
        if status is not None and self._is_callback(frame.url):
            self.callback_statuses.append(status)

    def _console_message(self, message) -> None:
        """A message the application's pages wrote to the console, as the console shows it and, where it
        logged an object, the object's JSON too: the console's preview cuts long strings and nested
        objects ("{access_token: eyJ…, raw: Object}"). Its slot is taken before the values are fetched: the
        messages that arrive meanwhile are handled meanwhile, and would all pass a bound checked later."""
        from playwright.sync_api import Error as PlaywrightError

        if self._console_heard >= CONSOLE_MESSAGES_HEARD:  # on its way when the listening stopped
            return
        self._console_heard += 1
        if self._console_heard == CONSOLE_MESSAGES_HEARD:
            self.context.remove_listener("console", self._console_message)
        if message.type == "error":
            self._page_error(f"console error: {message.text}")
        if len(self.console) >= CONSOLE_MESSAGES_KEPT:
            return
        text = f"console.{message.type}: {message.text}"
        slot = len(self.console)
        self.console.append(bounded_console_message(text))
        values = []
        with contextlib.suppress(PlaywrightError):  # the page went on, or a value JSON cannot carry (a DOM node)
            values = [argument.json_value() for argument in message.args[:10]]
        if any(isinstance(value, dict | list) for value in values):
            with contextlib.suppress(TypeError, ValueError):
                text += "\n" + json.dumps(values, ensure_ascii=False, default=str)
                self.console[slot] = bounded_console_message(text)

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

    def _result(self, finished: bool, seen: int, started: float, marks: Marks, at: float | None = None) -> SignIn:
        from playwright.sync_api import Error as PlaywrightError

        self._stop_loading()  # before anything reads the page: what arrived by now is what is judged
        self.guard.settle([])  # the application's own origins are allowed: no navigation is excused
        elsewhere = refused_elsewhere(self.guard.blocked, self.driver.issuer)
        self.guard.report_blocked()
        if self.guard.refused:
            BrowserLogin._attach_page(self.page, "a credential was refused")
            raise self.guard.refused[0]
        result = self._recorded(finished, seen, started, marks, at)
        result.elsewhere = elsewhere
        with contextlib.suppress(PlaywrightError):  # the page as it shows now, after its scripts ran
            result.contents = [*(result.contents or []), (self.page.url, self.page.content(), "dom")]
        if self.driver.application.app_type == "web":
            with contextlib.suppress(PlaywrightError):
                result.cookies = [
                    *(result.cookies or []),
                    *((c["name"], c["value"]) for c in self.context.cookies(self.driver.own_origins)),
                ]
        self._last_sign_in, self._sent_judged = result, len(self.guard.sent)
        return result

    def _recorded(self, finished: bool, seen: int, started: float, marks: Marks, at: float | None = None) -> SignIn:
        """A sign-in of what the browser reported since `marks` (its callback came `at`), asking it nothing."""
        statuses = self.callback_statuses[seen:]
        now = time.monotonic()
        return SignIn(
            finished,
            statuses[-1] if statuses else None,
            self.page.url,
            now - started,
            urls=self.urls[marks[0] :],
            page_urls=self.page_urls[marks[3] :],
            contents=self.contents[marks[1] :],
            cookies=list(self.cookies_set[marks[2] :]),
            callback_to_finish=now - at if finished and at else None,
            page_errors=self.page_errors[marks[4] :],
            console=self.console[marks[5] :],
            page_status=self._page_status,
            load_error=self._load_error,
            sent_elsewhere=self.guard.sent[marks[6] :],
        )

    def stopped(self, why: str) -> SignIn:
        """What this session's browser reported before the suite stopped it (`why`), as one sign-in that did not
        finish: the requests the stand-in recorded of it are judged on it, and the application's output, as
        those of any sign-in that did not finish; the browser is not asked anything (it is gone)."""
        result = self._recorded(False, 0, self._opened, (0,) * 7)
        result.stopped = why
        return result

    def _hand_over_sent(self) -> None:
        """What the page sent elsewhere since the last sign-in was judged, that sign-in's."""
        sent = self.guard.sent[self._sent_judged :]
        if self._last_sign_in is not None and self._last_sign_in.sent_elsewhere is not None and sent:
            self._last_sign_in.sent_elsewhere.extend(sent)
        self._sent_judged = len(self.guard.sent)

    def close(self) -> None:
        self._hand_over_sent()
        self.driver.guards.remove(self.guard)
        if not self.driver.watchdog.expired:  # a stopped browser's contexts went with it
            with self.driver.watchdog.bound("closing a browser context"):
                self.context.close()


ELSEWHERE_SHOWN = 3  # refused requests named in a sign-in's message; the report's attachment has them all
# where a client looks for its OpenID provider: a request of the application's page to one of these paths
# of an origin the browser does not reach is the application looking for Visma Connect elsewhere
PROVIDER_PATHS = ("/.well-known/", *PATHS.values())


def refused_elsewhere(blocked: list[str], issuer: str) -> str:
    """What the browser refused the application's pages (Guard.blocked: "fetch GET https://..."), and, where one
    was a request for an OpenID provider's discovery or endpoints, the issuer the application was configured
    with, the stand-in's, and the fix: MSAL.js pointed at another issuer only said endpoints_resolution_error
    (net::ERR_BLOCKED_BY_CLIENT), and the request it had made was only in an attachment."""
    blocked = list(dict.fromkeys(blocked))
    if not blocked:
        return ""
    more = f" and {len(blocked) - ELSEWHERE_SHOWN} more" if len(blocked) > ELSEWHERE_SHOWN else ""
    said = (
        f"the browser refused what its page asked of origins it does not reach ({'; '.join(blocked[:ELSEWHERE_SHOWN])}"
        f"{more}): it reaches only the stand-in ({issuer}) and the application's own origins"
    )
    urls = [match.group(0) for entry in blocked for match in [re.search(r"https?://[^\s]+", entry)] if match]
    provider = next((url for url in urls if any(p in urlsplit(url).path for p in PROVIDER_PATHS)), None)
    if provider is None:
        return said
    return (
        f"{said}. The application looks for Visma Connect at {_origin(provider)}, not at the stand-in: configure "
        f"its issuer (authority) as the stand-in's, {issuer} (discovery {issuer}/.well-known/openid-configuration), "
        "and run again"
    )


def attach_where_ended(sign_ins: list) -> None:
    """The pictures of the pages the sign-ins that did not finish ended on, attached to the current Allure step."""
    for sign_in in sign_ins:
        attach_picture(getattr(sign_in, "ended_page", None), "where the sign-in ended")


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _cookie(header: str) -> tuple[str, str]:
    """(name, value) of a Set-Cookie header's value; its attributes (Path, HttpOnly) left out."""
    name, _, value = header.split(";", 1)[0].partition("=")
    return name.strip(), value.strip()


@dataclass(frozen=True)
class _ActionsRan:
    """The stand-in's page a rule's actions (suite.wire.login.browser.BrowserLogin._run) last ran on: their click
    returns as soon as it is made, not once the page load it starts has come (Playwright's wait after a click held
    every other sign-in going on for 150 to 240 ms a click), so the page still shows the same page for a while.
    The actions are not run again on it until the main frame navigated or the click's own bound passed, as
    Playwright's click waited for that navigation, and failed after that bound, before."""

    documents: int  # BrowserSession._documents when they ran
    until: float  # time.monotonic() when their click's bound ends

    def awaited(self, documents: int) -> bool:
        """Whether the page load their click started is still awaited: the same document, within the bound."""
        return documents == self.documents and time.monotonic() < self.until


ACTION_BOUND = 5000.0  # milliseconds each action on the stand-in's pages has, and the page load its click starts
POLL = 50  # milliseconds between two looks at the pages


# what the watchdog says the suite was doing when a step of a flow waited for the browser
STEP = "going through a step of a sign-in (loading a page, acting on the login page, picturing the page)"


def _pause(seconds: float) -> Iterator[None]:
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        yield


def run_together(
    page, flows: list[Generator[None, None, Any]], watchdog: Watchdog | None = None, at_once: int = MOST_AT_ONCE
) -> list:
    """Runs each flow (a generator of steps, such as BrowserSession.sign_in_steps) to its end, a step of each in
    turn with one short wait for every page in between: Playwright's synchronous API serves one thread, and the
    browser loads all the pages meanwhile. At most `at_once` flows go on at once (Application.sign_ins_at_once);
    the next one starts when one ends. Returns each flow's result in order; a flow that raised raises once every
    flow has ended. Each step and each wait is bounded by `watchdog`: where the browser did not answer one, it
    was stopped, and BrowserDidNotAnswer is raised at once (every flow going on used that browser)."""
    bound = watchdog.bound if watchdog else lambda what: contextlib.nullcontext()
    results: list = [None] * len(flows)
    errors: dict[int, BaseException] = {}
    waiting = list(enumerate(flows))
    running: dict[int, Generator[None, None, Any]] = {}
    while waiting or running:
        while waiting and len(running) < at_once:
            number, flow = waiting.pop(0)
            running[number] = flow
        EFFORT.most_at_once = max(EFFORT.most_at_once, len(running))
        with bound("waiting for the pages"):
            page.wait_for_timeout(POLL)
        for number, flow in list(running.items()):
            try:
                with bound(
                    "going through a step of a sign-in (loading a page, acting on the login page, picturing the page)"
                ):
                    next(flow)
            except BrowserDidNotAnswer as stopped:
                for going_on in (*running.values(), *(flow for _, flow in waiting)):
                    going_on.close()
                stopped.flow = number
                raise
            except StopIteration as end:
                results[number] = end.value
                del running[number]
            except Exception as error:
                errors[number] = error
                del running[number]
    if errors:
        raise next(iter(errors.values()))
    return results
