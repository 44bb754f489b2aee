"""Sign-ins through the application: the two normal ones every request rule reads, and the ones
where the stand-in injects a fault. Each scenario's requests are read from the stand-in's log."""

import contextlib
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import TYPE_CHECKING, NoReturn
from urllib.parse import urlsplit

import allure
import pytest
from pytest_bdd import given, parsers, when

from appside import effort
from appside.application import Application
from appside.browser_driver import machine_load, machine_loaded
from appside.concurrent import (
    EXPIRY,
    OTHER_BROWSER,
    OTHER_BROWSER_DESCRIPTION,
    TWO_EXPIRIES,
    USED_THEN_API,
    NoPendingSignIn,
    fault_title,
)
from appside.launcher import APACHE_ERROR, STATED_ERROR
from appside.observed import REQUEST_KINDS, ClientAuthentication, Observed, described_by_kind
from appside.record import APPLIES_TO, UNCHECKED
from appside.steps.unread_answers import answer_unread, id_token_as_bearer
from sandbox import SandboxServer
from sandbox.app import PATHS
from sandbox.faults import FAULTS
from suite.secrets.redaction import REDACTOR, said
from suite.verdict.checks import NothingToCheck, require, skip_for_missing_application_data, skip_for_missing_data
from suite.wire.http import redact_url
from suite.wire.redirect_variations import registered_match

if TYPE_CHECKING:  # imported when a driver is first needed: Chromium's library loads slowly
    from appside.browser_driver import BrowserDriver
    from appside.manual_driver import ManualDriver
    from appside.service_driver import ServiceDriver

# An application's file without drive.use_api_url: the rules that need the application to use its token
# (a skip for missing data, suite.verdict.checks.skip_for_missing_application_data: a critical rule so is incomplete)
USE_API_URL_MISSING = (
    "the suite cannot make the application use its access token: set drive.use_api_url to the application's "
    "address that makes it call the Visma API with its token (in manual mode the suite shows it to the person, "
    "who makes the application use the API)"
)

_driver: "BrowserDriver | ManualDriver | ServiceDriver | None" = None
_baseline: dict = {}


def driver(config):
    """One driver (one Chromium) for the run, started on first use."""
    global _driver
    if _driver is None:
        from appside.browser_driver import BrowserDriver
        from appside.manual_driver import ManualDriver
        from appside.service_driver import ServiceDriver

        application = config.application
        kinds: dict[str, type[BrowserDriver | ManualDriver | ServiceDriver]] = {
            "browser": BrowserDriver,
            "manual": ManualDriver,
        }
        kind = kinds.get(application.drive.mode, ServiceDriver)
        _driver = kind(application, config.stand_in.issuer, config.test_user, tls=config.stand_in_tls)
    return _driver


def close_driver() -> None:
    global _driver
    if _driver is not None:
        _driver.close()
    _driver = None
    _baseline.clear()


@dataclass
class AppRun:
    """What one scenario did with the application and what the stand-in saw."""

    sign_ins: list = field(default_factory=list)  # appside.browser_driver.SignIn
    observed: list[Observed] = field(default_factory=list)  # one per sign-in or run
    fault: str | None = None
    baseline: tuple | None = None  # (SignIn, Observed) of a normal sign-in, for a refusal's evidence
    mode: str = "browser"  # drive.mode: who signs in, the suite's browser or a person (manual)
    # (time.time(), alert) of the TLS handshakes the application broke off while the stand-in presented a
    # certificate nobody trusts (APPC-33)
    refused_handshakes: list[tuple[float, str]] = field(default_factory=list)
    untrusted_since: float | None = None  # when the stand-in began to present that certificate (APPC-33)
    # what may protect the callback besides the state, which the run could not show does or does not (APPC-03 to
    # APPC-05 judge the state then, and one that falls short could not be checked: requests_sent.unshown_protection)
    unshown_protection: str | None = None

    @property
    def last(self) -> Observed:
        return self.observed[-1]


@pytest.fixture
def app_run(application: Application):
    return AppRun(mode=application.drive.mode)


def record_fault(request: pytest.FixtureRequest, fault: str) -> None:
    """Name the injected fault in the report and in the certification record."""
    request.node.user_properties.append(("fault", fault))
    allure.dynamic.parameter("injected fault", fault)
    description = OTHER_BROWSER_DESCRIPTION if fault == OTHER_BROWSER else FAULTS[fault]
    allure.attach(f"{fault}: {description}", name="injected fault", attachment_type=allure.attachment_type.TEXT)


# each kind of token request -> the methods it authenticated with, for one scenario
CLIENT_AUTHENTICATIONS = pytest.StashKey[dict[str, list[str]]]()


def note_client_authentication(
    request: pytest.FixtureRequest, token_request, authentication: ClientAuthentication
) -> None:
    """How the application authenticated (and wrote its HTTP Basic credentials), in the report and
    the certification record: each kind of token request's method (code redemption, refresh, service
    token) where they differ, as the scenario's requests are noted one by one."""
    grant_type = token_request.param("grant_type") or "no grant_type"
    kind = REQUEST_KINDS.get(grant_type, f"grant_type {grant_type}")
    methods = request.node.stash.setdefault(CLIENT_AUTHENTICATIONS, {})
    if authentication.describe() not in methods.setdefault(kind, []):
        methods[kind].append(authentication.describe())
    request.node.user_properties.append(("client_authentication", described_by_kind(methods)))
    allure.attach(
        f"{kind}: {authentication.describe()}",
        name="client authentication",
        attachment_type=allure.attachment_type.TEXT,
    )


def observe(stand_in: SandboxServer, action, title: str | None = None):
    """Run `action` with a fresh request log and return its result and what the stand-in saw
    (attached to the report under `title`)."""
    stand_in.recording.clear()
    result = action()
    effort.sleep(0.05)  # the last request's log entry is written after its answer went out
    observed = Observed(stand_in.recording.entries(), stand_in.issuer)
    if title:
        observed.attach(title)
    return result, observed


def observe_session(config, stand_in: SandboxServer, app_run: AppRun, action, title: str) -> None:
    """Run `action(session)` in a fresh session of the application and keep the sign-ins it returns
    (a list) and what the stand-in saw in `app_run`; the session is closed and every injected
    fault cleared whatever happened, so the next scenario meets a clean stand-in."""
    session = driver(config).session()
    try:
        results, observed = observe(stand_in, lambda: action(session), title)
    finally:
        session.close()
        stand_in.faults.clear()
    app_run.sign_ins += results
    app_run.observed.append(observed)


def _made_at_once(config, stand_in: SandboxServer) -> dict:
    """The sign-ins made at once (appside.concurrent) for every selected scenario, on the first
    one's need: by title, (sign-ins, Observed) or the exception that flow raised. Nothing where
    they are not made so (a service or manual application)."""
    if config.application.drive.mode != "browser":
        return {}
    if "at once" not in _baseline:
        from appside.concurrent import flows, run_at_once

        settle, activity = config.application.drive.settle, stand_in.recording.activity
        wanted = flows(config, stand_in, lambda normal: quiet_watch(normal, settle, activity))
        _baseline["at once"] = (
            run_at_once(driver(config), stand_in, wanted, config.application.sign_ins_at_once) if wanted else {}
        )
    made: dict = _baseline["at once"]
    return made


def every_flow_made() -> list[tuple[str, list, Observed]]:
    """(title, sign-ins, Observed) of every flow this run made so far: the sign-ins made at once, the refused
    and faulty ones too, and those made one at a time for a step (observe_session_once); a flow that broke
    is left out."""
    made = [(title, *found) for title, found in (_baseline.get("at once") or {}).items() if isinstance(found, tuple)]
    made += [(key.removeprefix("session: "), *found) for key, found in _baseline.items() if key.startswith("session: ")]
    return made


def evidence_at_once(config, stand_in: SandboxServer, title: str) -> tuple | None:
    """The sign-ins and what the stand-in saw of them for `title`, from the sign-ins made at once;
    None where they are not made so (a service or manual application, a step no selected scenario names)."""
    found = _made_at_once(config, stand_in).get(title)
    if isinstance(found, Exception):
        raise found
    return tuple(found) if found else None


def keep_evidence_at_once(config, stand_in: SandboxServer, app_run: AppRun, title: str) -> bool:
    """evidence_at_once kept in `app_run` and attached under `title`; False where there is none."""
    found = evidence_at_once(config, stand_in, title)
    if found is None:
        return False
    from appside.browser_driver import attach_where_ended

    sign_ins, observed = found
    observed.attach(title)
    attach_where_ended(sign_ins)  # made at once for every scenario: each picture in its own
    if title in (EXPIRY, TWO_EXPIRIES, USED_THEN_API):  # a page opened after a sign-in (appside.concurrent._page_watch)
        watches = [f"{number}: {s.watch}" for number, s in enumerate(sign_ins, 1) if getattr(s, "watch", "")]
        if watches:
            allure.attach(
                "\n".join(watches), name="how long its pages were watched", attachment_type=allure.attachment_type.TEXT
            )
    app_run.sign_ins += sign_ins
    app_run.observed.append(observed)
    return True


def observe_session_once(config, stand_in, app_run, action, title: str) -> None:
    """observe_session, done once per run for each `title`: scenarios whose step does the same
    thing (APPC-10 and APPC-20 both let a short-lived access token expire) read the same evidence,
    attached to each."""
    if keep_evidence_at_once(config, stand_in, app_run, title):
        return
    key = f"session: {title}"
    if key in _baseline:
        sign_ins, observed = _baseline[key]
        observed.attach(title)
    else:
        run = AppRun()
        observe_session(config, stand_in, run, action, title)
        sign_ins, observed = _baseline[key] = (run.sign_ins, run.last)
    app_run.sign_ins += sign_ins
    app_run.observed.append(observed)


def skip_unless_type(application: Application, *types: str) -> None:
    if application.app_type not in types:
        pytest.skip(
            f"{APPLIES_TO}{' and '.join(types)} applications; {application.client_id} is a "
            f"{application.app_type} application"
        )


@given(parsers.parse('the application is a "{types}" application'))
def application_of_type(application: Application, types) -> None:
    skip_unless_type(application, *[t.strip() for t in types.replace(" or ", ",").split(",")])


def normal_sign_ins(config, stand_in: SandboxServer) -> list:
    """Two sign-ins as a user makes them, done once per run and read by every request rule."""
    from appside.concurrent import NORMAL

    first = "sign_ins" not in _baseline
    made = _made_at_once(config, stand_in) if first else {}
    if all(title in made for title in NORMAL):
        for title in NORMAL:
            if isinstance(made[title], Exception):
                raise made[title]
        _baseline["sign_ins"] = [(made[title][0][0], made[title][1]) for title in NORMAL]
    if "sign_ins" not in _baseline:
        signed = []
        for _ in range(2):
            session = driver(config).session()
            try:
                sign_in, observed = observe(stand_in, session.sign_in)
            finally:
                session.close()
            signed.append((sign_in, observed))
        _baseline["sign_ins"] = signed
    sign_ins: list = _baseline["sign_ins"]
    if first:
        _note_application_error(config, sign_ins)
        _say_if_none_finished(config, sign_ins)
    return sign_ins


def _note_application_error(config, sign_ins: list) -> None:
    """Where no normal sign-in reached the stand-in because the application's own page answered an HTTP
    5xx, or the first one's callback did (requests-oauthlib's InsecureTransportError on an http callback), the
    error the launched application printed (as a launch that failed is quoted), kept on the first sign-in for
    the run's NOTE and every reason that names how it ended (sign_in_never_started, unfinished)."""
    launched = getattr(config, "launched", None)
    first = sign_ins[0][0] if sign_ins else None
    if launched is None or first is None:
        return
    page_broke = (getattr(first, "page_status", None) or 0) >= 500 and not any(
        observed.authorization_requests for _, observed in sign_ins
    )
    if not page_broke and (getattr(first, "callback_status", None) or 0) < 500:
        return
    with contextlib.suppress(OSError):
        output = launched.output()
        error = application_error_line(output)
        # sign-ins made at the same time (a fault's callback the application refuses) print errors of their own: a
        # callback's error is told apart from theirs only where the application printed one error, however often
        if error and (page_broke or len(set(_stated_errors(output))) == 1):
            first.application_error = error


ERROR_LINE_SHOWN = 300  # characters of the application's error line quoted in a message


def application_error_line(output: str) -> str:
    """The last line of an application's output that states an error, as a runtime prints it
    (appside.launcher.STATED_ERROR: "httpx.ConnectError: All connection attempts failed"), masked and bounded; of
    an Apache error log, the first error of the last request that logged one, its level and message."""
    stated = _stated_errors(output)
    if not stated:
        return ""
    line = stated[-1]
    apache = APACHE_ERROR.match(line)
    if apache:  # the first error of that request (Apache logs the cause, then what failed because of it)
        request = [APACHE_ERROR.match(other) for other in stated]
        first = len(stated) - 1
        while first and (found := request[first - 1]) and found["pid"] == apache["pid"]:
            first -= 1
        cause = request[first] or apache
        line = f"[{cause['level']}] {cause['message']}"  # its date, process and client say nothing of the cause
    return REDACTOR.scrub(line)[:ERROR_LINE_SHOWN]


def _stated_errors(output: str) -> list[str]:
    return [line.strip() for line in output.splitlines() if STATED_ERROR.search(line)]


def _application_said(sign_in) -> str:
    error = getattr(sign_in, "application_error", "")
    return f"; the application printed {error!r}" if error else ""


def _say_if_none_finished(config, sign_ins: list) -> None:
    """A run whose normal sign-ins never showed the signed-in marker judged every rule on sign-ins
    that did not finish (a sign-up page, an error page, a marker that does not match): said once,
    in the terminal summary and the record, not only in the rules it blocks."""
    if sign_ins and not any(getattr(sign_in, "finished", True) for sign_in, _ in sign_ins):
        recorder = config.pluginmanager.get_plugin("application-results")
        if recorder is not None:
            never = sign_in_never_started(config.application, [s for s, _ in sign_ins], [o for _, o in sign_ins])
            if never:  # the cause is before the stand-in, not the signed-in marker
                elsewhere = getattr(sign_ins[0][0], "elsewhere", "")
                recorder.notices.append(
                    f"no normal sign-in reached the stand-in: no authorization request arrived from "
                    f"{config.application.drive.sign_in_url}{_where_it_ended(sign_ins[0][0])}"
                    f"{_application_said(sign_ins[0][0])}, so every rule that "
                    "needs the application's requests could not be checked "
                    + (
                        f"({elsewhere})"
                        if elsewhere
                        else "(check the application's log and drive.sign_in_url, not drive.signed_in)"
                    )
                )
                return
            stopped = getattr(sign_ins[0][0], "stopped", "")
            if stopped:  # the browser did not finish them, whatever the application did
                recorder.notices.append(
                    f"no normal sign-in finished: {stopped}; every rule that needs a finished sign-in could not be "
                    "checked, and the others were judged on what reached the stand-in and the application's output"
                )
                return
            marker = config.application.drive.shows_signed_in()
            # a sign-in for another client, or to an unregistered redirect_uri, never could: that is the
            # cause (APPC-01, APPC-02: the stand-in refused the request, as Visma Connect does), not the marker
            refused = (
                _other_client_id(config.application, sign_ins[0][1])
                or _unregistered_redirect_uri(config.application, sign_ins[0][1])
                or refused_by_stand_in(sign_ins[0][1])
            )
            if refused.startswith(STAND_IN_REFUSED):
                recorder.notices.append(
                    f"no normal sign-in finished: {refused.removeprefix('; ')}, so no code was issued and every "
                    "rule that needs a sign-in was blocked or could not be checked (the cause is the authorization "
                    "request the application sent, not drive.signed_in)"
                )
                return
            fenced = callback_fenced(*sign_ins[0])
            if fenced:
                recorder.notices.append(
                    f"no normal sign-in finished: {fenced}, so every rule that needs a finished sign-in was blocked "
                    "or could not be checked (the cause is where the callback went, not drive.signed_in)"
                )
                return
            unread = answer_unread(*sign_ins[0])
            if unread:  # the page never got its tokens, or the API's data: the marker could not show
                cause = (
                    "the bearer token it sends the Visma API"
                    if unread == id_token_as_bearer(sign_ins[0][1])
                    else "the application's token request"
                )
                recorder.notices.append(
                    f"no normal sign-in finished: {unread}; so every rule that needs a finished sign-in was blocked "
                    f"or could not be checked (the cause is {cause}, not drive.signed_in)"
                )
                return
            restarted = went_round([(f" in normal sign-in {n}", o) for n, (_, o) in enumerate(sign_ins, 1)])
            late = [(n, when) for n, (s, _) in enumerate(sign_ins, 1) if (when := _shown_late(config.application, s))]
            if late:  # the marker came, after the watch: the cause is the time allowed, not drive.signed_in
                number, when = late[0]
                recorder.notices.append(
                    f"no normal sign-in finished in time: normal sign-in {number} showed {marker} {when}"
                    f"{'; ' + restarted if restarted else ''}, so every rule that needs a finished sign-in was "
                    "blocked or could not be checked"
                )
                return
            if restarted:  # the page its callback leads to starts another sign-in: the marker never had a page
                recorder.notices.append(
                    f"no normal sign-in finished: {restarted}, so the browser went between the application and the "
                    f"stand-in until drive.timeout and never stayed on a page that could show {marker}; every rule "
                    "that needs a finished sign-in was blocked or could not be checked (the cause is what the "
                    "application does after its callback, such as a session check that renews the sign-in at once, "
                    "not drive.signed_in)"
                )
                return
            said = (
                f"no normal sign-in finished: the application never showed {marker} "
                f"in either of the two normal sign-ins{_application_said(sign_ins[0][0])}, so every rule was judged "
                "on sign-ins that did not finish "
                "(see 'the sign-in did not finish' in the report; "
            )
            if not refused:  # a rule that broke the sign-in may name the cause once every rule is judged
                recorder.unfinished_sign_ins = (len(recorder.notices), said)
            recorder.notices.append(
                f"{said}{refused.removeprefix('; ') or 'check drive.signed_in and where the sign-in ended'})"
            )


@given("the application has signed in twice through the stand-in")
def signed_in_twice(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun
) -> None:
    """The request rules judge what the application sent, whether or not its sign-in finished: a
    sign-in broken by what it sent is that request's rule's failure, and the rules that need a
    finished sign-in are blocked by it (`needs` in appside/features/rules.yaml)."""
    skip_unless_type(application, "web", "spa", "native")
    for sign_in, observed in normal_sign_ins(request.config, stand_in):
        app_run.sign_ins.append(sign_in)
        app_run.observed.append(observed)
        observed.attach(f"normal sign-in {len(app_run.observed)}")
        if not sign_in.finished:
            allure.attach(
                unfinished(application, sign_in, len(app_run.observed), observed),
                name="the sign-in did not finish",
                attachment_type=allure.attachment_type.TEXT,
            )


def unfinished(application: Application, sign_in, number: int, observed: Observed, faulted: bool = False) -> str:
    """How a sign-in that did not finish ended; `faulted`: the stand-in answered it with an injected fault,
    so an error it sent is no refusal of what the application asked."""
    callback = (
        "the browser never reached its callback"
        if sign_in.callback_status is None
        else f"its callback answered HTTP {sign_in.callback_status}{_application_said(sign_in)}"
    )
    if getattr(sign_in, "watch", ""):  # where it ended before drive.timeout (the stand-in's error page)
        callback += f": {sign_in.watch}"
    if getattr(sign_in, "stopped", ""):  # the suite stopped the browser in the middle of it
        callback += f"; {sign_in.stopped}"
    return (
        f"normal sign-in {number}: {_not_shown(application, sign_in)} "
        f"({_watched(application, sign_in)}; {callback}){_page_shown(sign_in)}{_page_errors(sign_in)}"
        f"{_other_client_id(application, observed) or _unregistered_redirect_uri(application, observed)}"
        f"{'' if faulted else refused_by_stand_in(observed)}{_unread(sign_in, observed)}"
        f"{_went_round(observed)}; its requests are attached"
    )


def went_round(observed: list[tuple[str, Observed]]) -> str:
    """That the application began a new authorization request after each of its own callbacks, how many times in
    each sign-in (named by `observed`'s labels, as " in normal sign-in 1") that did
    (Observed.restarts_after_each_callback), else ""."""
    counts = [
        f"{restarts} times{label}"
        for label, requests in observed
        if (restarts := requests.restarts_after_each_callback)
    ]
    if not counts:
        return ""
    return (
        f"the application began a new authorization request after each of its own callbacks ({', '.join(counts)}; "
        "the stand-in records them)"
    )


def _watched(application: Application, sign_in) -> str:
    """How long a sign-in was watched. The watch ends at drive.timeout, but its last looks at the page (the one that
    finds the deadline passed, stopping the page's loading, its picture) wait for a browser that six sign-ins share:
    on a loaded machine they took 8 s more (28 s with a 20 s drive.timeout), and the text says so rather than
    contradict the bound the documentation gives (_not_shown says where the marker came late)."""
    timeout = application.drive.timeout
    late = sign_in.seconds - timeout
    if late < 1:
        return f"watched {sign_in.seconds:.0f} s"
    return (
        f"watched {sign_in.seconds:.0f} s: until the {timeout:g} s drive.timeout, then {late:.0f} s more for the "
        "browser to answer the last looks at its page"
    )


def _not_shown(application: Application, sign_in) -> str:
    """That the application did not show its signed-in marker while the suite watched, or when it came."""
    late = _shown_late(application, sign_in)
    if late:
        return f"the application showed {application.drive.shows_signed_in()} {late}"
    return f"the application did not show {application.drive.shows_signed_in()}"


def _shown_late(application: Application, sign_in) -> str:
    """ "only after ..." where the page of a sign-in that did not finish holds the marker all the same, else "".
    The page text quoted (_page_shown) is the suite's last look, taken once the watch had ended (its picture
    first, a few seconds under load): saying "did not show" beside a quote that shows the marker contradicts
    itself (an okta-auth-js SPA at load 34 whose token request came at +19.8 s of a 20 s drive.timeout)."""
    marker = application.drive.signed_in
    shown = _visible_text(_last_dom(sign_in)).casefold()
    # an element marker (drive.signed_in.selector) the page text cannot show: the browser said so at that last look
    # (an Auth.js app's '#user' at load 20, its page quoted with the user's name)
    came = getattr(sign_in, "marker_at_last_look", False)
    if not (came or (marker and marker.text and " ".join(marker.text.split()).casefold() in shown)):
        return ""
    watch = getattr(sign_in, "watch", "")
    if watch:
        return f"only after the suite stopped watching ({watch}): the machine may be loaded"
    return f"only after the {application.drive.timeout:g} s drive.timeout: {drive_timeout_ran_out()}"


def drive_timeout_ran_out() -> str:
    """What every message about a sign-in that ran out of drive.timeout says of it, in the same words (a marker
    shown late, a sign-in left on the stand-in's page, a faulty ID token that never reached the application): on a
    loaded machine that is no fault of the application's (an @axa-fr/oidc-client SPA at load 29 left the consent
    page unclicked after 22 s, and four rules' messages said only "drive.timeout bounds it")."""
    if machine_loaded():
        return f"{machine_load()}, the machine may be loaded; raise drive.timeout"
    # not on a quiet machine (an oidc-agent sign-in at load 1.2 on 2 cores was told "the machine may be loaded")
    return f"{machine_load()}, not loaded: the application or its page was that slow; raise drive.timeout if it must be"


def _went_round(observed: Observed) -> str:
    restarted = went_round([("", observed)])
    return f"; {restarted}" if restarted else ""


def _unread(sign_in, observed: Observed) -> str:
    unread = answer_unread(sign_in, observed, quoted=False)  # _page_errors quotes the console
    return f"; {unread}" if unread else ""


STAND_IN_REFUSED = "; the stand-in refused the authorization request"
REFUSAL_SHOWN = 200  # characters of the stand-in's error_description and of the scope sent, in a message


def callback_fenced(sign_in, observed: Observed) -> str:
    """Where the browser's fence refused the connection to the application's callback the stand-in sent it to,
    so that the sign-in ended on the browser's error page: that, naming the callback's origin. "" otherwise."""
    if not getattr(sign_in, "final_url", "").startswith("chrome-error:") or not observed.callbacks:
        return ""
    callback = urlsplit(observed.callbacks[-1].delivered_to)
    try:
        port = callback.port or {"http": 80, "https": 443}.get(callback.scheme)
    except ValueError:
        return ""
    shown = f"{callback.hostname}:{port}"  # as the browser's guard lists a refused connection
    if f"a connection to {shown}" not in getattr(sign_in, "elsewhere", ""):
        return ""
    return (
        f"the browser's fence refused the connection to the application's callback ({shown}) the stand-in sent it "
        "to, and the sign-in ended on the browser's error page: the browser reaches only the stand-in and the "
        "origins of drive.sign_in_url, drive.use_api_url and application.redirect_uris (and, for a native "
        "application, its loopback IP redirect URI's host on any port)"
    )


def refused_by_stand_in(observed: Observed) -> str:
    """The stand-in's error answer to the application's authorization request (any error: invalid_scope,
    unsupported_response_type, ...), with what the application sent, as "; the stand-in refused ...": the
    cause of a sign-in that did not finish, not the signed-in marker. "" where it issued a code."""
    for callback in observed.callbacks:
        params = callback.location_params
        if "error" not in params:
            continue
        described = REDACTOR.scrub(params.get("error_description", "")).rstrip(".")[:REFUSAL_SHOWN]
        scope = callback.param("scope")
        response_type = callback.param("response_type")
        if params["error"] == "unsupported_response_type" and response_type is not None:
            # the stand-in's description names the response_type as its library parsed it (as a set: "token
            # id_token" came back "id_token token"): what the application sent is what the fix is about
            described = f"response_type sent: {REDACTOR.scrub(response_type)[:REFUSAL_SHOWN]!r}"
        return (
            f"{STAND_IN_REFUSED}: {params['error'] or '(an empty error code)'}"
            + (f" \u2014 {described}" if described else "")
            + (f"; scope sent: {REDACTOR.scrub(scope)[:REFUSAL_SHOWN]!r}" if scope is not None else "")
        )
    return ""


PAGE_TEXT_SHOWN = 200  # characters of the page a sign-in ended on, in the run's notice


def _not_loaded(sign_in) -> str:
    """Why the browser showed no page of the application at all (appside.browser_driver.network_error)."""
    watch = getattr(sign_in, "watch", "")
    return f": {watch}" if watch.startswith("the browser could not load") else ""


# The stand-in's pages a sign-in goes through (the sandbox's login form, then its consent form at the authorization
# endpoint), by path, as a reader knows them from the screenshot
STAND_IN_PAGE_NAMES = {
    "/account/login": "the stand-in's login page",
    PATHS["authorization_endpoint"]: "the stand-in's consent page",
}


def where_it_stopped(sign_in) -> str:
    """Where a sign-in that never reached the application's callback stopped, to follow "the sign-in never reached
    the application's callback": a stand-in's page by name (its address is in the attached page URL), and after
    how long (a consent page left unclicked when drive.timeout ran out, as an application that took most of it to
    send the browser there leaves it), else the application's page as _where_it_ended says it."""
    if sign_in is None:
        return ""
    url = getattr(sign_in, "final_url", "")
    stand_in = {
        urlsplit(u).netloc
        for u in getattr(sign_in, "urls", None) or []
        if urlsplit(u).path == PATHS["authorization_endpoint"]
    }
    page = STAND_IN_PAGE_NAMES.get(urlsplit(url).path, "") if urlsplit(url).netloc in stand_in else ""
    if not page:
        return _where_it_ended(sign_in)
    seconds = getattr(sign_in, "seconds", 0.0)
    # a watch that ended early says why (the stand-in's error page); none: drive.timeout ran out
    ran_out = "" if getattr(sign_in, "watch", "") else f", when drive.timeout ran out: {drive_timeout_ran_out()}"
    return f" (it stopped at {page}, {seconds:.0f} s after the sign-in began{ran_out})"


def _where_it_ended(sign_in) -> str:
    """The page a sign-in that never reached the stand-in ended on: its status, address and the
    start of its text (tags dropped, secrets masked, bounded); why the browser could not load it, where it
    could not (its error page's status and address say nothing of it)."""
    if getattr(sign_in, "load_error", ""):
        return f" ({sign_in.load_error}{_page_errors(sign_in)})"
    if _not_loaded(sign_in):
        return f" ({_not_loaded(sign_in)[2:]})"
    parts = []
    if getattr(sign_in, "page_status", None) is not None:
        parts.append(f"answered HTTP {sign_in.page_status}")
    if getattr(sign_in, "final_url", ""):
        parts.append(f"at {redact_url(sign_in.final_url)}")
    dom = [text for _, text, part in (getattr(sign_in, "contents", None) or []) if part == "dom"]
    if dom:
        text = _visible_text(dom[-1])
        if text:
            text = REDACTOR.scrub(text)
            more = "..." if len(text) > PAGE_TEXT_SHOWN else ""
            parts.append(f"showing {text[:PAGE_TEXT_SHOWN]!r}{more}")
    shown = " ".join(parts[:2]) + "".join(f", {part}" for part in parts[2:])
    return f" (its page {shown}{_page_errors(sign_in)})" if shown else _page_errors(sign_in)


def _refused_elsewhere(sign_in) -> str:
    """What the browser refused the page from origins it does not reach, and the issuer the application looked
    for where that was an OpenID provider's (appside.browser_driver.refused_elsewhere)."""
    elsewhere = getattr(sign_in, "elsewhere", "")
    return f"; {elsewhere}" if elsewhere else ""


PAGE_TEXT_KEPT = 200  # characters of the page a sign-in ended on, quoted where it did not finish


class _VisibleText(HTMLParser):
    """A page's text as a reader sees it: no markup, no script or style."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs) -> None:
        self._hidden += tag in ("script", "style", "template")

    def handle_endtag(self, tag) -> None:
        self._hidden -= tag in ("script", "style", "template") and self._hidden > 0

    def handle_data(self, data) -> None:
        if not self._hidden:
            self.parts.append(data)


def _visible_text(page: str) -> str:
    """A page's visible text on one line (its first 256 KiB read)."""
    parser = _VisibleText()
    parser.feed(page[: 256 * 1024])
    return " ".join(" ".join(parser.parts).split())


def _last_dom(sign_in) -> str:
    """The page the sign-in ended on, as the suite's last look at it found it (its scripts run), "" where none."""
    shown = [text for _url, text, part in getattr(sign_in, "contents", None) or () if part == "dom"]
    return shown[-1] if shown else ""


def _page_shown(sign_in) -> str:
    """What the page the sign-in ended on said (its callback's answer, an error page): its visible
    text, masked and cut at PAGE_TEXT_KEPT characters; "" where the suite saw no page or it was empty."""
    return "" if sign_in.callback_status is None else _quoted_page(sign_in)


def _quoted_page(sign_in) -> str:
    """'; the page showed "..."': the visible text of the suite's last look at the sign-in's page, masked and cut at
    PAGE_TEXT_KEPT characters; "" where it had none."""
    text = _visible_text(_last_dom(sign_in))
    if not text:
        return ""
    text = REDACTOR.scrub(text)
    cut = text if len(text) <= PAGE_TEXT_KEPT else text[: PAGE_TEXT_KEPT - 3] + "..."
    return f'; the page showed "{cut}"'


def _page_errors(sign_in) -> str:
    """What the application's pages reported (an uncaught exception, a console error), the first two."""
    errors = getattr(sign_in, "page_errors", None) or []
    if not errors:
        return ""
    more = f" and {len(errors) - 2} more" if len(errors) > 2 else ""
    return f"; its page reported {'; '.join(REDACTOR.scrub(e) for e in errors[:2])}{more}"


def sign_in_never_started(application: Application, sign_ins: list, observed: list[Observed]) -> str:
    """Why these sign-ins leave nothing to judge, where not one of them sent the stand-in an
    authorization request (the application's page broke before it, or sent the browser elsewhere);
    "" where one did. One cause for every rule that needs a request (docs/certify-application.md,
    One cause, one failure): no request is no evidence against the application, nor for it. A service
    likewise, where none of its runs sent a token request or an API call (service_never_sent)."""
    if not application.is_interactive:
        return service_never_sent(application, sign_ins, observed)
    if not observed or any(o.authorization_requests for o in observed):
        return ""
    ends = []
    for number, sign_in in enumerate(sign_ins[:2], 1):
        if getattr(sign_in, "final_url", ""):
            ends.append(
                f"sign-in {number} ended on {redact_url(sign_in.final_url)}{_not_loaded(sign_in)}"
                f"{_page_errors(sign_in)}{_application_said(sign_in)}"
                f"{_refused_elsewhere(sign_in) if number == 1 else ''}"
            )
    return (
        f"no sign-in through the application (from {application.drive.sign_in_url}) sent the stand-in an "
        "authorization request, so no request of the application could be judged"
        + (f" ({'; '.join(ends)})" if ends else "")
        + "; the screenshot 'where the sign-in ended' and the requests the stand-in received are attached"
    )


# What a service's command printed that names why it reached no stand-in, and what to do about it
_SERVICE_CAUSES = (
    (
        ("InsecureTransportError",),
        "requests-oauthlib refuses an issuer on plain http: give the stand-in HTTPS (issuer.tls: true) or, for the "
        "stand-in only, set OAUTHLIB_INSECURE_TRANSPORT=1 in drive.command",
    ),
    (
        ("Connection refused", "ECONNREFUSED", "Failed to connect", "Couldn't connect"),
        "it connected to an address the stand-in is not at: take the issuer and the API from "
        "VISMA_CONNECT_ISSUER and VISMA_API_BASE_URL, which the suite sets for the command, not from a fixed address",
    ),
)


def service_never_sent(application: Application, runs: list, observed: list[Observed]) -> str:
    """Why a service's runs leave nothing to judge, where not one of them sent the stand-in a token
    request or an API call (its command failed before, or sent them elsewhere): its runs' outcomes
    quoted, and the fix; "" where one did."""
    if not observed or any(o.token_requests or o.api_calls for o in observed):
        return ""
    outcomes = "; ".join(dict.fromkeys(getattr(run, "detail", "") for run in runs[:2] if getattr(run, "detail", "")))
    printed = "\n".join(getattr(run, "output", "") for run in runs)
    fixes = [fix for marks, fix in _SERVICE_CAUSES if any(mark in printed for mark in marks)]
    return (
        f"the service ({application.drive.command or application.drive.url}) sent the stand-in no token request "
        "and no API call, so no request of it could be judged"
        + (f" ({outcomes})" if outcomes else "")
        + ": "
        + (
            "; ".join(fixes)
            or "run it yourself with VISMA_CONNECT_ISSUER and VISMA_API_BASE_URL set to the stand-in's addresses "
            "(printed at the start of this run), and make it fetch its token there and call the API"
        )
        + "; the requests the stand-in received are attached"
    )


def skip_unless_a_sign_in_started(application: Application, sign_ins: list, observed: list[Observed]) -> None:
    """A rule that judges the application's requests could not be checked where it sent none."""
    why = sign_in_never_started(application, sign_ins, observed)
    if why:
        pytest.skip(f"{UNCHECKED}: {why}")


def why_none_was_redeemed(application: Application, app_run: AppRun) -> str:
    """For a rule that found no code redemption to judge: how this scenario's sign-ins ended, where
    one did not finish (the application's callback broke, or it named another client), so that the
    cause is named where the rule reports it, not only in the attachments."""
    stalls = [
        unfinished(
            application,
            sign_in,
            number,
            app_run.observed[min(number, len(app_run.observed)) - 1],
            faulted=app_run.fault is not None,
        )
        for number, sign_in in enumerate(app_run.sign_ins, 1)
        if getattr(sign_in, "finished", True) is False and app_run.observed
    ]
    more = f"; {len(stalls) - 2} more sign-ins did not finish" if len(stalls) > 2 else ""
    return f" ({'; '.join(stalls[:2])}{more})" if stalls else ""


def nothing_to_judge(application: Application, app_run: AppRun, why: str) -> NoReturn:
    """A rule that finds no code redemption or no token to judge. Where a normal sign-in broke (it
    did not finish), that is the cause, as "One cause, one failure" has it: the rule is blocked by the
    rule that broke it (require; `needs` in appside/features/rules.yaml), or fails naming how the
    sign-in ended where none of those failed. A service's failed run is its broken sign-in (a refused
    token request: blocked by APPC-12 or APPC-13). Where the sign-ins finished, nothing was there to
    judge, and the rule is skipped saying so."""
    if application.is_interactive and any(getattr(s, "finished", True) is False for s in app_run.sign_ins[:2]):
        require(False, lambda: why + why_none_was_redeemed(application, app_run))
    if ended := failed_service_runs(application, app_run):
        require(False, f"{why}: {ended}")
    pytest.skip(why)


def failed_service_runs(application: Application, app_run: AppRun) -> str:
    """How a service's runs in `app_run` that failed ended (appside.steps.service.failed_runs); "" for an
    interactive application, or where every run succeeded."""
    if application.is_interactive:
        return ""
    from appside.steps.service import failed_runs  # service.py builds on this module

    return failed_runs(app_run, application.access_token_lifetime)


def resource_server_calls(observed: list[Observed]) -> list:
    """Every request the stand-in's resource servers (the Visma API, the userinfo endpoint) received in
    `observed`: where the application used an access token, a refused use included."""
    return [call for o in observed for call in o.api_calls + o.userinfo_calls]


def use_api_url_error(application: Application, sign_ins: list) -> int | None:
    """The HTTP error status drive.use_api_url answered when the suite opened it (the application broke on the
    page that uses the API, as an auto-refresh that raised does), or None where it answered none."""
    wanted = urlsplit(application.drive.use_api_url or "")
    for sign_in in sign_ins:
        shown, status = urlsplit(getattr(sign_in, "final_url", "") or ""), getattr(sign_in, "page_status", None)
        if status is not None and status >= 400 and (shown.netloc, shown.path) == (wanted.netloc, wanted.path):
            return int(status)
    return None


def skip_unless_the_api_was_called(
    application: Application,
    app_run: AppRun,
    observed: list[Observed],
    what: str,
    sign_ins: list | None = None,
    opened: str = "after a sign-in",
    expiring: bool = False,
) -> None:
    """A rule judged on how the application uses its tokens on its calls to the Visma API (or userinfo), where
    `observed` (the runs it judges) holds no such call: nothing tells `what`, and a pass would certify a use
    never seen. Where one of `sign_ins` (the two normal ones by default) broke, that is the one cause (blocked by
    the rule that broke it, as nothing_to_judge has it); else the rule is skipped for missing application file
    data, naming the key that makes the application call the API (a blocker or critical rule so leaves the run
    incomplete, exit 5), unless drive.use_api_url answered an error when opened `opened`: the address is right and
    the application broke there, so the rule could not be checked, saying so. The skip quotes what the page
    showed; `expiring`: opened once a short-lived access token expired, where a client library's early expiry
    (issuer.access_token_lifetime below its margin) leaves a right address calling nothing."""
    if resource_server_calls(observed):
        return
    skip_unless_a_sign_in_started(application, app_run.sign_ins, observed)
    sign_ins = app_run.sign_ins[:2] if sign_ins is None else sign_ins
    why = (
        "the application called neither the Visma API nor userinfo in the runs this rule judges, so nothing "
        f"tells {what}"
    )
    if application.is_interactive and any(getattr(s, "finished", True) is False for s in sign_ins):
        require(False, lambda: why + why_none_was_redeemed(application, app_run))
    if not application.is_interactive:
        # a run that failed is the one cause: it shows nothing of what the service does once it works, so the
        # rule could not be checked (as every rule judged on a failed run), not missing application file data
        if ended := failed_service_runs(application, app_run):
            raise NothingToCheck(said(ended))
        key = "drive.command" if application.drive.command else "drive.url"
        skip_for_missing_application_data(
            key,
            f"{why}: the service ({application.drive.command or application.drive.url}) fetched its token and "
            f"ended without using it; make {key} run the service as it runs in production, calling the Visma API "
            "(VISMA_API_BASE_URL, which the suite sets) with its access token",
        )
    if not application.drive.use_api_url:
        skip_for_missing_application_data("drive.use_api_url", f"{why}; {USE_API_URL_MISSING}")
    if status := use_api_url_error(application, app_run.sign_ins):
        # the address is right and the application broke there: an error page is no gap in the application file
        pytest.skip(
            f"{UNCHECKED}: drive.use_api_url answered HTTP {status} {opened} "
            f"({'see application.log' if application.drive.launch else 'see the application log'}), so nothing "
            f"tells {what}"
        )
    if application.drive.mode == "manual":
        skip_for_missing_application_data(
            "drive.use_api_url",
            f"{why}: drive.use_api_url ({application.drive.use_api_url}) was shown to the person, who did not make "
            "the application use the API; run again and open it",
        )
    skip_for_missing_application_data(
        "drive.use_api_url",
        f"{why}: drive.use_api_url ({application.drive.use_api_url}) was opened {opened} and the application "
        f"called nothing{_use_api_page_shown(application, app_run.sign_ins)}; "
        + (
            "if that address is the one that calls the Visma API, the application may have held its access token "
            f"as expired already: issuer.access_token_lifetime is {application.access_token_lifetime} s, and a "
            "client library that treats a token as expired some seconds before expires_in (okta-auth-js's "
            "expireEarlySeconds, 30 s) calls nothing with it: set issuer.access_token_lifetime above that margin "
            "(docs/reference-application-keys.md); else "
            if expiring
            else "if it is not the address that makes the application call the Visma API, "
        )
        + "name the application's address that makes it call the Visma API with its access token",
    )


def _use_api_page_shown(application: Application, sign_ins: list) -> str:
    """What the page drive.use_api_url led to showed when the suite last looked at it (masked, bounded), as
    '; the page showed "..."'; "" where no sign-in ended there or it showed no text."""
    wanted = urlsplit(application.drive.use_api_url or "")
    for sign_in in reversed(sign_ins):
        ended = urlsplit(getattr(sign_in, "final_url", "") or "")
        if (ended.netloc, ended.path) == (wanted.netloc, wanted.path) and (shown := _quoted_page(sign_in)):
            return shown
    return ""


def no_evidence(application: Application, app_run: AppRun, why: str) -> NoReturn:
    """A rule whose evidence never came (no token request sent, no token issued, no sign-in finished):
    passing it would certify what was never seen. Where no sign-in reached the stand-in, that is the
    one cause (could not be checked); otherwise NothingToCheck: the rule is blocked by the rule that
    broke the sign-in (`needs` in appside/features/rules.yaml), and where none failed it could not be
    checked (appside.record.ApplicationRecorder.unblocked_unchecked), never passed nor failed."""
    skip_unless_a_sign_in_started(application, app_run.sign_ins, app_run.observed)
    require(False, lambda: why + why_none_was_redeemed(application, app_run))
    raise AssertionError("unreachable")  # require(False, ...) raised


def _other_client_id(application: Application, observed: Observed) -> str:
    """A sign-in that stalls because the application and its file name different clients: the
    stand-in, as Visma Connect, knows only the file's, so say which one the application sent."""
    sent = {r.param("client_id") for r in observed.authorization_requests} - {None, application.client_id}
    if not sent:
        return ""
    return (
        f"; its authorization request named client_id {sorted(sent)[0]!r}, not the application file's "
        f"{application.client_id!r}: the stand-in, as Visma Connect, knows only the registered client, "
        "so make the two the same"
    )


def _unregistered_redirect_uri(application: Application, observed: Observed) -> str:
    """A sign-in that stalls because the application asked for a redirect_uri its file does not
    register: the stand-in, as Visma Connect, refuses the request and never redirects to it, so no
    marker could show; the fix is the redirect_uri (APPC-02), not drive.signed_in."""
    native = application.app_type == "native"
    sent = [
        uri
        for uri in (r.param("redirect_uri") for r in observed.authorization_requests)
        if uri is not None and not registered_match(uri, application.redirect_uris, native)
    ]
    if not sent:
        return ""
    return (
        f"; its authorization request named redirect_uri {redact_url(sent[0])!r}, not one the application file "
        f"registers ({', '.join(application.redirect_uris)}): the stand-in, as Visma Connect, refused it (APPC-02) "
        "and never sent the browser back, so the cause is the redirect_uri, not drive.signed_in: make the "
        "application send a registered one, or register the one it sends"
    )


@given("a normal sign-in of the application redeems its code")
def normal_sign_in_redeems(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun
) -> None:
    """The evidence of a refusal is a request that does not come, or a signed-in page that does not
    show; it counts only if the same application, unprovoked, does make that request or show that
    page. The normal sign-in is kept in `app_run.baseline` for the rule's last step to weigh."""
    skip_unless_type(application, "web", "spa", "native")
    normal = normal_sign_ins(request.config, stand_in)
    skip_unless_a_sign_in_started(application, [s for s, _ in normal], [o for _, o in normal])
    sign_in, observed = normal[0]
    app_run.baseline = (sign_in, observed)
    # no redemption to compare with is nothing to judge, not a failure of the refusal: blocked by the rule that
    # broke the sign-in (needs), or could not be checked where none failed (its callback crashed before it)
    require(
        observed.grants("authorization_code"),
        "a normal sign-in did not redeem a code, so a refusal cannot be told apart from a broken sign-in"
        + ("" if sign_in.finished else f" ({unfinished(application, sign_in, 1, observed)})")
        + "; see the normal sign-in rules",
    )


# A refused sign-in's watch may end once the application has been quiet this many times as long as
# its slowest follow-up in its normal sign-ins (and never for less than QUIET_FLOOR seconds, nor
# longer than drive.settle): the same application, on the same machine at the same load, made its
# follow-up request well within that time when it had one to make.
FOLLOW_UP_MARGIN = 3.0
QUIET_FLOOR = 0.5


def refusal_watch(config, stand_in):
    """The evidence that ends a refused sign-in's watch early, from the normal sign-ins (quiet_watch)."""
    return quiet_watch(normal_sign_ins(config, stand_in), config.application.drive.settle, stand_in.recording.activity)


def quiet_watch(normal: list, settle: float, activity):
    """The evidence that ends a refused sign-in's watch early (appside.browser_driver.QuietWatch),
    from the normal sign-ins [(SignIn, Observed)]: the slowest gap from the callback to the
    application's next request and from its callback's answer to its signed-in marker. None where
    they show no follow-up."""
    from appside.browser_driver import QuietWatch

    slowest = 0.0
    for sign_in, observed in normal:
        reloaded = getattr(sign_in, "callback_reloaded_at", None)  # what its callback loaded again led to: no follow-up
        if reloaded is not None:
            observed = Observed([e for e in observed.entries if e.at < reloaded], observed.issuer)
        slowest = max([slowest, *observed.follow_up_gaps(), sign_in.callback_to_finish or 0.0])
    if not slowest:
        return None
    seconds = min(settle, max(QUIET_FLOOR, FOLLOW_UP_MARGIN * slowest))
    basis = (
        f"{FOLLOW_UP_MARGIN:g} times {slowest:.2f} s, its slowest follow-up in its normal sign-ins, "
        f"at least {QUIET_FLOOR:g} s and at most drive.settle {settle:g} s"
    )
    return QuietWatch(seconds, activity, basis)


@when(parsers.parse('the stand-in answers a sign-in with the fault "{fault}"'))
def sign_in_with_fault(
    request: pytest.FixtureRequest, application: Application, stand_in: SandboxServer, app_run: AppRun, fault
) -> None:
    record_fault(request, fault)
    app_run.fault = fault
    try:
        if keep_evidence_at_once(request.config, stand_in, app_run, fault_title(fault)):
            _note_watch(app_run)
            return
    except NoPendingSignIn as error:
        pytest.skip(f"{UNCHECKED}: {error}")
    if fault == OTHER_BROWSER:  # the suite drives no second browser in manual mode
        skip_for_missing_data(
            "drive.mode",
            "another browser's callback delivered to this one needs a second browser, which the "
            "suite drives in drive.mode: browser only",
        )
    quiet = refusal_watch(request.config, stand_in) if application.drive.mode == "browser" else None
    stand_in.faults.inject(fault)
    observe_session(
        request.config,
        stand_in,
        app_run,
        lambda session: [session.sign_in(refused=True, quiet=quiet)] if quiet else [session.sign_in(refused=True)],
        fault_title(fault),
    )
    _note_watch(app_run)


def _note_watch(app_run: AppRun) -> None:
    watch = getattr(app_run.sign_ins[-1], "watch", "")
    if watch:
        allure.attach(watch, name="how long the refusal was watched", attachment_type=allure.attachment_type.TEXT)
