"""Sign-ins at once: the normal sign-ins, the refused sign-ins and the waits for an access token
to expire that the selected scenarios need are made together, each in a browser context of its own and as a test
user of its own (appside.stand_in.CONCURRENT_USERS), against the one stand-in, as any web
application serves users at once. The stand-in's faults are armed for one user each, and its log
is sorted afterwards into each sign-in's requests (appside.observed.of_one_sign_in); each
scenario then judges its own sign-in's evidence. Their waits (a refusal's watch, a token's
lifetime) overlap instead of adding up.

Done on the first step that needs one of them, for what the selected scenarios (`--rule`) name
and nothing else; a refused sign-in starts once the two normal sign-ins ended, whose follow-up
times bound its watch."""

import contextlib
import re
import time
from collections.abc import Callable, Generator
from typing import Any

import pytest

from appside import effort
from appside.observed import Observed, of_one_sign_in
from sandbox.app import PATHS
from sandbox.faults import PAST_EXPIRY

FAULT_STEP = re.compile(r'the stand-in answers a sign-in with the fault "(?P<fault>[^"]+)"')
EXPIRY_STEP = "the stand-in issues a short-lived access token and the application uses the API after it expired"
RENEWAL_STEP = "the application renews an expired access token, where the suite can make it"  # EXPIRY_STEP's
TWO_EXPIRIES_STEP = "the access token expires twice and the application uses the API after each expiry"
EXPIRY = "short-lived access token, API used after expiry"
TWO_EXPIRIES = "two expiries, API used after each"

USED_STEP = "the application has been used as a user would"  # an application with a client secret's (APPC-11)
USED_AND_KEPT_STEP = "the application has been used as a user would, and what it showed and sent was kept"
NORMAL_STEPS = (
    "a normal sign-in of the application redeems its code",
    "the application has signed in twice through the stand-in",
    USED_AND_KEPT_STEP,
)
NORMAL = ("normal sign-in 1", "normal sign-in 2")
# APPC-23's step: the second normal sign-in's callback is loaded again once it finished, as a user pressing reload
# does, and a second redemption of its code is a use of it more than once (RFC 6749 section 4.1.2)
REDEEMED_ONCE_STEP = "every authorization code is redeemed at most once"
RELOAD_QUIET = 1.0  # seconds the application and the stand-in are quiet after that load before it is judged
# the sign-in after which the application uses the Visma API (drive.use_api_url), read with the
# normal sign-ins by the steps above (appside.steps.leaks.use_as_a_user_would)
USED_THEN_API = "normal use, then the Visma API used (drive.use_api_url)"

# (session, progress) -> its sign-ins; progress.normal_sign_ins() is None until both normal ones ended
Flow = Callable[..., Generator[None, None, list]]


SIGN_IN_STEPS = (*NORMAL_STEPS, USED_STEP, EXPIRY_STEP, RENEWAL_STEP, TWO_EXPIRIES_STEP)


def needs_browser(steps: list[str]) -> bool:
    """Whether these steps sign in through the application (a browser driven by the suite)."""
    return any(step in SIGN_IN_STEPS or FAULT_STEP.fullmatch(step) for step in steps)


def fault_title(fault: str) -> str:
    return f"sign-in with {fault}"


def planned_steps(items: list[pytest.Item]) -> list[str]:
    """The step texts of the selected scenarios, as pytest-bdd renders them (an outline's example filled in)."""
    from pytest_bdd.scenario import scenario_wrapper_template_registry

    steps: list[str] = []
    for item in items:
        function = getattr(item, "function", None)
        template = scenario_wrapper_template_registry.get(function) if function else None
        if template is None:
            continue
        example = getattr(getattr(item, "callspec", None), "params", {}).get("_pytest_bdd_example", {})
        steps += [step.name for step in template.render(example).steps]
    return steps


def flows(config, stand_in, quiet_from: Callable[[list], Any]) -> dict[str, Flow]:
    """What the selected scenarios need done at once, by the title their evidence is kept under.
    A refused sign-in starts once the normal sign-ins ended: `quiet_from` makes its watch's bound
    (appside.browser_driver.QuietWatch) of them."""
    application = config.application
    steps = getattr(config, "planned_steps", [])
    use_api = application.drive.use_api_url
    faults = list(dict.fromkeys(m.group("fault") for m in map(FAULT_STEP.fullmatch, steps) if m))
    wanted: dict[str, Flow] = {}  # the longest waits first: the others go on meanwhile
    if use_api and TWO_EXPIRIES_STEP in steps and "offline_access" in application.scope.split():
        wanted[TWO_EXPIRIES] = _expiring(stand_in, use_api, 2, quiet_from)
    if use_api and (EXPIRY_STEP in steps or RENEWAL_STEP in steps):
        wanted[EXPIRY] = _expiring(stand_in, use_api, 1, quiet_from)
    used = USED_AND_KEPT_STEP in steps or (USED_STEP in steps and application.client_secret)
    if faults or used or any(step in NORMAL_STEPS for step in steps):
        wanted.update(dict.fromkeys(NORMAL, _normal))
        if REDEEMED_ONCE_STEP in steps:
            wanted[NORMAL[1]] = _reloaded(stand_in, application.drive.settle)
    if use_api and used:
        wanted[USED_THEN_API] = _used_then_api(use_api, quiet_from)
    # one sign-in at a time (a fixed loopback port): the other browser's sign-in, held before its callback, may hold
    # the application's port for good, so it goes last, and the sign-ins before it still find the port free
    one_at_a_time = application.sign_ins_at_once == 1
    for fault in sorted(faults, key=lambda fault: one_at_a_time and fault == OTHER_BROWSER):
        wanted[fault_title(fault)] = _refused(stand_in, fault, quiet_from)
    return wanted


def _normal(session, progress):
    return [(yield from session.sign_in_steps())]


def _reloaded(stand_in, settle: float) -> Flow:
    """A normal sign-in whose callback URL is loaded again once it finished (BrowserSession.reload_callback_steps),
    watched until the application and the stand-in are quiet for RELOAD_QUIET seconds, at most drive.settle."""
    from appside.browser_driver import QuietWatch

    quiet = QuietWatch(
        min(RELOAD_QUIET, settle), stand_in.recording.activity, f"{RELOAD_QUIET:g} s, at most drive.settle {settle:g} s"
    )

    def flow(session, progress):
        signed_in = yield from session.sign_in_steps()
        if signed_in.finished:
            yield from session.reload_callback_steps(signed_in, quiet)
        return [signed_in]

    return flow


def _used_then_api(use_api_url: str, quiet_from) -> Flow:
    def flow(session, progress):
        signed_in = yield from session.sign_in_steps()
        return [signed_in, (yield from session.open_steps(use_api_url, quiet=_page_watch(progress, quiet_from)))]

    return flow


def _page_watch(progress, quiet_from):
    """The evidence that ends the watch of a page opened after a sign-in (drive.use_api_url) once the application
    answered it and went quiet (appside.browser_driver.QuietWatch), from the normal sign-ins where they have
    ended: never waited for (without them, drive.timeout as before). An application that showed the API's
    refusal instead of the signed-in marker kept each such page waiting the whole drive.timeout."""
    normal = progress.normal_sign_ins()
    return quiet_from(normal) if normal is not None else None


def _refused(stand_in, fault: str, quiet_from) -> Flow:
    def flow(session, progress):
        while (normal := progress.normal_sign_ins()) is None:
            yield
        if progress.none_reached_the_stand_in():  # nothing to weigh a refusal against: not driven
            raise NoPendingSignIn(NOT_DRIVEN)
        quiet = quiet_from(normal)
        if fault == OTHER_BROWSER:
            # the other browser's code is redeemed only with its own verifier, as Visma Connect redeems every
            # code (RFC 7636 section 4.6): the stand-in's leniency (appside.stand_in.LENIENT) is there for
            # APPC-08 to judge a wrong verifier, and would let through a code PKCE protects from this browser
            stand_in.faults.inject("code-verifier-compared", user=session.username)
            return [(yield from _with_other_browsers_callback(session, quiet))]
        stand_in.faults.inject(fault, user=session.username)
        # A refusal judges what the application does with the stand-in's faulty answer, not the login before it:
        # the user signed in at the stand-in earlier, so the authorization request is answered at once, as Visma
        # Connect answers it then. Each of these sign-ins went through the login page (a page load, two fields and a
        # click) for nothing the rule reads: measured on six web certifications side by side, in alternation, 110
        # -> 94 CPU-seconds. The normal sign-ins still log in. Not for an application that asks how the user signs
        # in (_asks_for_a_login): that one could tell the difference.
        if not _asks_for_a_login(normal):
            session.signed_in_before(stand_in.signed_in_session(session.username))
        return [(yield from session.sign_in_steps(refused=True, quiet=quiet))]

    return flow


# What an authorization request asks of the user's login (OpenID Connect Core 3.1.2.1): a silent request (prompt=none,
# an SPA's check in a hidden frame before it redirects), a fresh login (prompt=login, max_age). The stand-in answers
# neither as Visma Connect would for a user who signed in earlier (it shows no login page for prompt=login, and its
# consent page, or its answer, in the hidden frame for prompt=none), so such an application's refused sign-ins log in.
LOGIN_PARAMETERS = ("prompt", "max_age")


def _asks_for_a_login(normal: list) -> bool:
    """Whether a normal sign-in's authorization request (or the requests of its hidden frames) said how the user
    must sign in (LOGIN_PARAMETERS)."""
    return any(
        request.params(name)
        for _, observed in normal
        for request in observed.entries
        if request.path == PATHS["authorization_endpoint"]
        for name in LOGIN_PARAMETERS
    )


# The fault the suite makes of the stand-in's answers: the callback of a sign-in in another browser (its code,
# issued for that browser's code_challenge and nonce, and its state), delivered to this one
OTHER_BROWSER = "callback-of-other-browser"
OTHER_BROWSER_DESCRIPTION = (
    "another browser's callback (the code the stand-in issued for that browser's authorization request, with its "
    "state) is delivered to this browser, whose own sign-in is pending: login CSRF"
)


ONE_AT_A_TIME = (
    "; the application takes one sign-in at a time (its redirect URIs name a fixed port, or drive.sign_ins_at_once "
    "is 1), and the other browser's sign-in, held before its callback, may still hold its port: see application.log"
)
NOT_DRIVEN = (
    "no normal sign-in reached the stand-in, so this sign-in was not driven: a refusal counts only against "
    "a normal sign-in of the same application"
)


class NoPendingSignIn(Exception):
    """The sign-in in another browser never reached its callback, or this browser's never sent the stand-in an
    authorization request: there is no other browser's callback to deliver, or no sign-in of this one's."""


def _with_other_browsers_callback(session, quiet):
    """Another browser (a context of its own, no cookie of this one), the attacker's, signs in through the
    application and the stand-in; its callback is held, never delivered. This browser, the victim's, starts
    its own sign-in and is left at the stand-in's login page; then the held callback is delivered to it, as a
    link the attacker gave. The application must refuse it: the state, the PKCE verifier or the nonce it
    checks is bound to this browser's own sign-in (RFC 9700 section 2.1.1). Both browsers sign in as the
    same test user, so the stand-in's log gives the other browser's sign-in to this one's evidence."""
    other = session.driver.session(session.username)
    try:
        held = yield from other.held_callback_steps()
        if held is None:
            raise NoPendingSignIn(
                "the sign-in in another browser did not reach the application's callback within drive.timeout "
                "(or the stand-in refused its authorization request), "
                f"so there was no other browser's callback to deliver (the fault {OTHER_BROWSER})"
            )
    finally:
        other.close()
    own = yield from session.pending_sign_in_steps()
    if not own:
        one_at_a_time = session.driver.application.sign_ins_at_once == 1
        raise NoPendingSignIn(
            "the sign-in started in this browser sent the stand-in no authorization request within drive.timeout, "
            f"so it had no sign-in of its own for the fault {OTHER_BROWSER}" + (ONE_AT_A_TIME if one_at_a_time else "")
        )
    sign_in = yield from session.deliver_steps(held, own, quiet=quiet)
    sign_in.own_request, sign_in.other_browser_callback = own, held
    return sign_in


def _expiring(stand_in, use_api_url: str, times: int, quiet_from) -> Flow:
    """Sign in, then `times` over: wait until the latest access token the stand-in gave this sign-in
    is the stand-in's short lifetime (issuer.access_token_lifetime) + PAST_EXPIRY seconds old (counted from its
    answer, as a client counts expires_in), and make the application use the API (its page watched as _page_watch
    says)."""

    def flow(session, progress):
        stand_in.faults.inject("short-lived-access-token", times=times, user=session.username)
        sign_ins = [(yield from session.sign_in_steps())]
        for _ in range(times):
            if progress.none_reached_the_stand_in() and not progress.reached(session):
                return sign_ins  # nothing to let expire: its rules could not be checked, as the normal sign-ins'
            answered = progress.tokens_answered.get(session.username, time.time())
            yield from session.wait_steps(
                max(0.0, answered + stand_in.faults.short_lifetime + PAST_EXPIRY - time.time())
            )
            sign_ins.append((yield from session.open_steps(use_api_url, quiet=_page_watch(progress, quiet_from))))
        return sign_ins

    return flow


class _Progress:
    """What the flows going on may read of those that ended."""

    def __init__(self, stand_in, sessions: dict[str, Any]) -> None:
        self.stand_in = stand_in
        self.ended: dict[str, Any] = {}  # title -> its sign-ins, or the exception it raised
        self.sessions = sessions  # title -> its session, once its flow started
        self._normal: list | None = None
        self.tokens_answered: dict[str, float] = {}  # user -> when the stand-in last answered with a token for it

    def note(self, entry) -> None:
        """A listener of the stand-in's log (called as the answer leaves)."""
        if entry.path == PATHS["token_endpoint"] and entry.status == 200 and entry.notes.get("user"):
            self.tokens_answered[entry.notes["user"]] = time.time()

    def normal_sign_ins(self) -> list | None:
        """[(SignIn, Observed)] of the normal sign-ins that did not fail, once both ended; their
        requests as the log has them now (what no sign-in can be tied to left out)."""
        if self._normal is None and all(title in self.ended for title in NORMAL):
            entries = self.stand_in.recording.entries()
            self._normal = [
                (self.ended[title][0], Observed(self._own(entries, title), self.stand_in.issuer))
                for title in NORMAL
                if not isinstance(self.ended[title], Exception)
            ]
        return self._normal

    def none_reached_the_stand_in(self) -> bool:
        """Both normal sign-ins ended and not one of them sent the stand-in an authorization request (the
        application's page answered HTTP 500, or sent the browser elsewhere): every rule that needs a sign-in
        could not be checked, whatever the other sign-ins would show, so the refused ones are not driven."""
        normal = self.normal_sign_ins()
        return normal is not None and not any(observed.authorization_requests for _, observed in normal)

    def reached(self, session) -> bool:
        """Whether this session's sign-in sent the stand-in an authorization request."""
        own = of_one_sign_in(self.stand_in.recording.entries(), session.username, session.urls, self.stand_in.issuer)
        return bool(Observed(own).authorization_requests)

    def _own(self, entries: list, title: str) -> list:
        session = self.sessions.get(title)
        if session is None:  # its browser context could not be made: nothing of the log is its own
            return []
        return of_one_sign_in(entries, session.username, session.urls, self.stand_in.issuer)


def _after_the_stop(error, watchdog, titles: list[str], sessions: dict, ended: dict) -> list:
    """Each flow's result once the watchdog stopped the browser in the middle of them (`error`): a flow that ended
    before keeps its result; one going on ends as a sign-in that did not finish, with what its browser reported until
    then (BrowserSession.stopped), so that the requests that reached the stand-in and the application's output are
    judged all the same (a failed rule is a verdict whatever else could not be checked). A refused sign-in is not:
    one the suite stopped shows no refusal. Those not started, and those that raised, could not be checked."""
    busy = sessions.get(titles[error.flow]) if error.flow is not None else None
    if busy is not None:  # the page the step that waited looked at
        error = type(error)(watchdog.message(busy.page.url, titles[error.flow]))
    results: list = []
    for title in titles:
        result = ended.get(title, error)
        session = sessions.get(title)
        if title not in ended and session is not None and not title.startswith(fault_title("")):
            result = [session.stopped(str(error))]
        results.append(error if isinstance(result, Exception) else result)
    return results


def run_at_once(driver, stand_in, wanted: dict[str, Flow], at_once: int) -> dict[str, tuple | Exception]:
    """Each flow in its own session, `at_once` of them at a time (Application.sign_ins_at_once); by title,
    (sign-ins, Observed) or the exception it raised. A request the log cannot tie to one sign-in (a discovery
    document, an API call without a token of the stand-in) counts for every sign-in that was going on when it
    arrived."""
    from appside.browser_driver import BrowserDidNotAnswer, run_together

    titles = list(wanted)
    # each flow's browser context is made as it starts, not all before the first starts: the longest
    # waits (listed first) begin at once, and the later contexts are made while they wait
    try:
        sessions: dict[str, Any] = {titles[0]: driver.session("test.user.1")}
    except BrowserDidNotAnswer as error:
        return dict.fromkeys(titles, error)
    progress = _Progress(stand_in, sessions)
    windows: list[list[float]] = [[0.0, 0.0] for _ in titles]

    def timed(number: int) -> Generator[None, None, Any]:
        title = titles[number]
        windows[number][0] = time.time()
        result: list | Exception
        try:
            if title not in sessions:
                sessions[title] = driver.session(f"test.user.{number + 1}")
            result = yield from wanted[title](sessions[title], progress)
        except Exception as error:
            result = error
        windows[number][1] = time.time()
        progress.ended[title] = result
        return result

    stand_in.recording.clear()
    stand_in.recording.listeners.append(progress.note)
    started = time.monotonic()
    try:
        results = run_together(
            sessions[titles[0]].page, [timed(number) for number in range(len(titles))], driver.watchdog, at_once
        )
        effort.sleep(0.05)  # the last request's log entry is written after its answer went out
    except BrowserDidNotAnswer as error:  # every sign-in going on used the browser that was stopped: what
        # they raised (Playwright's "browser has been closed") is that; those that ended before keep their evidence
        results = _after_the_stop(error, driver.watchdog, titles, sessions, progress.ended)
    finally:
        effort.EFFORT.at_once += len(sessions)
        effort.EFFORT.at_once_planned += len(titles)
        effort.EFFORT.at_once_seconds += time.monotonic() - started
        for session in sessions.values():
            with contextlib.suppress(Exception):
                session.close()
        stand_in.faults.clear()
        stand_in.recording.listeners.remove(progress.note)
    entries = stand_in.recording.entries()
    owned = [progress._own(entries, title) for title in titles]
    claimed = {id(e) for own in owned for e in own}
    evidence: dict[str, tuple | Exception] = {}
    for number, title in enumerate(titles):
        start, end = windows[number]
        # a request the stand-in noted a browser for is that browser's: one no sign-in claims (another
        # browser's sign-in left pending) is no request of the sign-ins going on
        loose = [e for e in entries if id(e) not in claimed and not e.notes.get("browser") and start <= e.at <= end]
        result = results[number]
        observed = Observed(sorted(owned[number] + loose, key=lambda e: e.at), stand_in.issuer, (start, end))
        evidence[title] = result if isinstance(result, Exception) else (result, observed)
    return evidence
