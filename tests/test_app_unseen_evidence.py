"""What the suite did not see is no pass and no failure. A critical rule skipped for want of a key the
application file could give (drive.use_api_url for APPC-20 and APPC-15, drive.output_file for APPC-28,
drive.mode for APPC-27) leaves the certification incomplete and names the key; a rule that compares the
two normal sign-ins, when fewer than two reached the stand-in (a person in manual mode answered without
signing in), could not be checked; and in manual mode APPC-19 reads the person's answer, for the suite
sees no browser. visma-whoami (openid-client 6.9.1, manual mode) was conformant with APPC-20 and APPC-28
skipped, failed APPC-05 when its person skipped a sign-in, and was warned by APPC-19 for a callback page
the suite could not have seen."""

import base64
import hashlib
import secrets
from types import SimpleNamespace
from typing import Any

import pytest
from _pytest.outcomes import Skipped
from app_runs import one_redemption

from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.record import UNCHECKED
from appside.steps import requests_sent
from appside.steps.leaks import nothing_secret_in_output, nothing_secret_in_pages
from appside.steps.refusals import error_page, expired_access_token
from appside.steps.requests_sent import (
    callback_protection_shown,
    challenges_differ,
    relies_on_state,
    states_differ,
    two_expiries,
)
from appside.steps.sign_ins import AppRun
from sandbox.app import PATHS
from sandbox.recording import RecordedRequest
from suite.reports.record_markdown import verdict_lines
from suite.reports.results import _missing_data
from suite.verdict.checks import MISSING_APPLICATION_DATA, MISSING_KEY, NonConformance

NO_RUN: Any = SimpleNamespace(config=None)  # the pytest request the state steps read the run's evidence through
NO_STAND_IN: Any = None


@pytest.fixture(autouse=True)
def _nonce_checked(monkeypatch):
    """The run saw the application refuse APPC-21's nonce faults, unless a test says otherwise."""
    monkeypatch.setattr(requests_sent, "nonce_checked", lambda config, stand_in: True)


def _application(app_type="native", mode="manual", scope="openid profile email", **drive):
    fields = dict(use_api_url=None, output_file=None, command=None, url=None, signed_in=None)
    fields.update(drive, mode=mode)
    return SimpleNamespace(
        client_id="visma-whoami",
        app_type=app_type,
        is_interactive=app_type != "service",
        scope=scope,
        client_secret="web-secret-value" if app_type == "web" else None,
        uses_pkce=True,
        drive=SimpleNamespace(**fields, shows_signed_in=lambda: "that the user is signed in"),
    )


UNUSED: Any = None  # a fixture the step does not reach before it skips


def _missing(key: str) -> str:
    """The skip's reason, as the record, the HTML report and Allure show it: it names the application
    file (it said "missing environment data", the server side's words, though the key is the application file's)."""
    return rf"^missing application file data \({key}\): "


def test_appc20_and_appc15_without_use_api_url_are_missing_data_not_inapplicable():
    with pytest.raises(Skipped, match=_missing("drive.use_api_url")):
        expired_access_token(UNUSED, _application(), UNUSED, AppRun())
    web = _application("web", "browser", scope="openid offline_access")
    with pytest.raises(Skipped, match=_missing("drive.use_api_url")):
        two_expiries(UNUSED, web, UNUSED, AppRun())
    # an application that asks for no refresh token has none to rotate: that skip is no gap
    with pytest.raises(Skipped, match=r"does not ask for offline_access") as skipped:
        two_expiries(UNUSED, _application("web", "browser", scope="openid"), UNUSED, AppRun())
    assert not MISSING_KEY.search(str(skipped.value))


def test_appc28_reads_drive_output_file_and_without_it_names_the_key(tmp_path):
    token = secrets.token_urlsafe(32)
    run = one_redemption(token)
    config = SimpleNamespace(launched=None, output_file_start=0)
    request = SimpleNamespace(config=config)
    with pytest.raises(Skipped, match=_missing("drive.output_file")):
        nothing_secret_in_output(request, _application(), run)
    output = tmp_path / "whoami.log"
    output.write_text(f"[visma-whoami] token {token}\n")  # written before the run: not this run's output
    config.output_file_start = output.stat().st_size
    with pytest.raises(Skipped, match=rf"^{UNCHECKED}: the application wrote nothing to drive.output_file"):
        nothing_secret_in_output(request, _application(output_file=str(output)), run)
    with output.open("a") as file:
        file.write("Signed in as test.user\n")
    nothing_secret_in_output(request, _application(output_file=str(output)), run)
    with output.open("a") as file:
        file.write(f"debug: access_token={token}\n")
    with pytest.raises(NonConformance, match=r"wrote its access token to drive.output_file .*line 2"):
        nothing_secret_in_output(request, _application(output_file=str(output)), run)


def test_appc27_in_manual_mode_names_the_mode_the_suite_can_see_pages_in():
    run = AppRun(sign_ins=[SignIn(finished=True)], observed=[Observed([])])
    with pytest.raises(Skipped, match=_missing("drive.mode")):
        nothing_secret_in_pages(_application("web"), run)


def test_the_terminal_names_the_application_files_keys():
    record = {
        "verdict": "incomplete: 2 blocker or critical rules did not run",
        "rules": [],
        "application": {"client_id": "visma-whoami"},
        "not_run_rules": ["APPC-20", "APPC-28"],
        "missing_data": {"APPC-20": ["drive.use_api_url"], "APPC-28": ["drive.output_file"]},
    }
    lines = verdict_lines(record, "record.json")
    assert "add to the application file to run them: drive.output_file (APPC-28), drive.use_api_url (APPC-20)" in (
        lines
    )


def test_the_record_names_the_application_files_keys_the_skips_name():
    skipped = {"status": "skipped", "reason": "missing application file data (drive.use_api_url): no API URL"}
    rules = [{"rule_id": "APPC-20", "severity": "critical", "scenarios": [skipped]}]
    assert _missing_data(rules) == {"APPC-20": ["drive.use_api_url"]}


def _authorize(pkce=True, nonce=True, state=True) -> RecordedRequest:
    query = [("response_type", "code"), ("scope", "openid profile email")]
    if state:
        query.append(("state", secrets.token_urlsafe(32)))
    if pkce:
        challenge = base64.urlsafe_b64encode(hashlib.sha256(secrets.token_bytes(32)).digest()).rstrip(b"=")
        query += [("code_challenge", challenge.decode()), ("code_challenge_method", "S256")]
    if nonce:
        query.append(("nonce", secrets.token_urlsafe(16)))
    return RecordedRequest(0.0, "GET", PATHS["authorization_endpoint"], tuple(query), (), {}, "", 302)


def _one_sign_in_reached(**request) -> AppRun:
    """Two normal sign-ins, the second of which sent the stand-in nothing (the person answered n)."""
    return AppRun(
        sign_ins=[SignIn(finished=True), SignIn(finished=False)],
        observed=[Observed([_authorize(**request)]), Observed([])],
    )


def test_with_one_sign_in_reaching_the_stand_in_the_rules_that_compare_two_could_not_be_checked():
    run = _one_sign_in_reached()
    unchecked = rf"^{UNCHECKED}: only 1 of the 2 normal sign-ins reached the stand-in"
    with pytest.raises(Skipped, match=unchecked):
        relies_on_state(
            NO_RUN, NO_STAND_IN, run
        )  # APPC-03 to APPC-05: whether PKCE or the nonce is new each time is unknown
    with pytest.raises(Skipped, match=unchecked):
        callback_protection_shown(NO_RUN, NO_STAND_IN, _application(), run)  # APPC-29
    with pytest.raises(Skipped, match=unchecked):
        states_differ(_application(), run)  # APPC-05: "expected a state in each of the two sign-ins, saw 1" before
    with pytest.raises(Skipped, match=unchecked):
        challenges_differ(_application(), run)  # APPC-22
    # the suite drove both sign-ins in browser mode: nobody is asked to sign in again
    with pytest.raises(Skipped) as browser:
        challenges_differ(_application(app_type="spa", mode="browser"), run)
    assert "sign in each time the suite asks" not in str(browser.value)
    assert "the suite drove both from drive.sign_in_url" in str(browser.value)
    manual = _one_sign_in_reached()
    manual.mode = "manual"
    with pytest.raises(Skipped, match="run again and sign in each time the suite asks"):
        challenges_differ(_application(), manual)


def test_with_one_sign_in_and_no_pkce_or_nonce_the_state_is_judged_and_the_comparison_is_not():
    run = _one_sign_in_reached(pkce=False, nonce=False)
    relies_on_state(
        NO_RUN, NO_STAND_IN, run
    )  # nothing else could protect the callback: APPC-03 and APPC-04 judge the state
    callback_protection_shown(NO_RUN, NO_STAND_IN, _application(), run)  # APPC-29 judges the state too
    with pytest.raises(Skipped, match=rf"^{UNCHECKED}: only 1 of the 2"):
        states_differ(_application(), run)


def test_two_sign_ins_are_compared_as_before():
    run = AppRun(observed=[Observed([_authorize()]), Observed([_authorize()])])
    with pytest.raises(Skipped, match="not applicable: a new"):
        relies_on_state(NO_RUN, NO_STAND_IN, run)
    callback_protection_shown(NO_RUN, NO_STAND_IN, _application(), run)
    states_differ(_application(), run)
    challenges_differ(_application(), run)


def test_appc19_in_manual_mode_reads_the_persons_answer():
    """The person saw the application refuse (an error page, exit 1) and answered n: the suite, which
    sees no browser in manual mode, warned "the application's callback page never loaded"."""
    run = AppRun(sign_ins=[SignIn(finished=False)], baseline=(SignIn(finished=True), Observed([])))
    error_page(NO_RUN, _application(), run)
    run.sign_ins = [SignIn(finished=True)]
    with pytest.raises(NonConformance, match="the person answered that the application showed that they are signed"):
        error_page(NO_RUN, _application(), run)
    # where the suite drives the browser, the callback page is its evidence, as before
    run.sign_ins = [SignIn(finished=False)]
    with pytest.raises(NonConformance, match="callback page never loaded"):
        error_page(NO_RUN, _application(mode="browser"), run)


APACHE_DENIED = (
    '127.0.0.1 - - [07/Dec/2026:00:01:19 +0000] "GET /app/redirect_uri?error=access_denied&error_description=The+'
    "resource+owner+or+authorization+server+denied+the+request&state=YeOjop6aqQkGpsa3aSjZj0X-O_g&iss=https%3A%2F%2F"
    'localhost%3A12800 HTTP/1.1" {status} 1017'
)


@pytest.mark.parametrize("status", ["500", "200", None])
def test_appc19_reads_the_callbacks_status_in_the_applications_own_access_log(status):
    """Apache mod_auth_openidc 2.4 answered error=access_denied with HTTP 200 and its error page, then its handler
    returned 500: Apache logged 500 and wrote its own 500 page after the first (the browser read HTTP 200). The
    application's own log is the evidence of the server error; an access log that says 200, or none, passes."""
    callback = RecordedRequest(
        1.0,
        "POST",
        PATHS["authorization_endpoint"],
        (("state", "YeOjop6aqQkGpsa3aSjZj0X-O_g"),),
        (),
        {},
        location="http://127.0.0.1:12801/app/redirect_uri?error=access_denied&error_description=The+resource+owner+"
        "or+authorization+server+denied+the+request&state=YeOjop6aqQkGpsa3aSjZj0X-O_g&iss=https%3A%2F%2F"
        "localhost%3A12800",
        status=302,
    )
    other = APACHE_DENIED.replace("YeOjop6aqQkGpsa3aSjZj0X", "another-sign-ins-state")
    log = "\n".join(["[auth_openidc:error] ...", other.format(status=500), APACHE_DENIED.format(status=status)])
    launched = SimpleNamespace(output=lambda: log if status else other.format(status=500))
    request: Any = SimpleNamespace(config=SimpleNamespace(launched=launched))  # a FixtureRequest as the step reads it
    run = AppRun(
        sign_ins=[SignIn(finished=False, callback_status=200)],
        observed=[Observed([callback])],
        baseline=(SignIn(finished=True), Observed([])),
    )
    if status == "500":
        with pytest.raises(NonConformance, match=r"own access log has its callback answered HTTP 500 \('127.0.0.1 - -"):
            error_page(request, _application("web", "browser"), run)
    else:
        error_page(request, _application("web", "browser"), run)


def test_the_verdict_counts_the_rules_that_did_not_run_and_those_that_could_not_be_checked():
    """visma-whoami's run said "incomplete: 2 blocker or critical rules did not run" above a list of six."""
    from appside.record import _unchecked_is_incomplete

    def rule(rule_id, reason):
        return {"rule_id": rule_id, "severity": "critical", "status": "skipped", "scenarios": [{"reason": reason}]}

    record = {
        "verdict": "incomplete: 1 blocker or critical rules did not run",
        "not_run_rules": ["APPC-20"],
        "rules": [
            rule("APPC-20", f"{MISSING_APPLICATION_DATA} (drive.use_api_url): ..."),
            rule("APPC-05", f"{UNCHECKED}: only 1 of the 2 normal sign-ins reached the stand-in"),
        ],
    }
    _unchecked_is_incomplete(record)
    assert record["verdict"] == (
        f"incomplete: 1 blocker or critical rules did not run, 1 blocker or critical rules {UNCHECKED} (APPC-05)"
    )
    assert record["not_run_rules"] == ["APPC-20"] and record["unchecked_rules"] == ["APPC-05"]


def test_appc29_without_a_state_says_pkce_and_the_nonce_protect_the_callback_meanwhile():
    """better-auth's grant app with no state, a PKCE challenge and a nonce: APPC-29 warned with APPC-03's
    words, "neither a new PKCE code_challenge nor a new nonce ... protects the callback", though both did."""
    from appside.steps.requests_sent import state_present_besides

    run = AppRun(observed=[Observed([_authorize(state=False)]), Observed([_authorize(state=False)])])
    callback_protection_shown(NO_RUN, NO_STAND_IN, _application(), run)  # PKCE and the nonce protect it
    with pytest.raises(NonConformance) as warned:
        state_present_besides(NO_RUN, NO_STAND_IN, _application(), run)
    said = str(warned.value)
    assert "neither" not in said and "carries no state" in said, said
    # the nonce here (no redemption shows the PKCE verifier's bits): what the run saw protect the callback
    assert "Meanwhile a new, unguessable OpenID Connect nonce in each sign-in protects the callback" in said, said
    assert "128 random bits" in said


def test_appc31_says_what_bound_the_sign_in_by_what_the_application_sent():
    """fastapi's stateless-state case: APPC-31 said the code was "redeemed with that sign-in's verifier or
    nonce" of an application that sent neither."""
    from appside.steps.refusals import other_browser_bound_by

    def run(query: str) -> AppRun:
        sign_in = SignIn(finished=True)
        sign_in.own_request = f"http://localhost:1/connect/authorize?{query}"
        return AppRun(sign_ins=[sign_in])

    neither = other_browser_bound_by(run("state=s&response_type=code"))
    assert "verifier" not in neither and "sent neither a PKCE code_challenge nor a nonce" in neither, neither
    both = other_browser_bound_by(run("state=s&code_challenge=c&nonce=n"))
    assert "sent a code_challenge and a nonce, bound to this browser alone" in both, both
    pkce = other_browser_bound_by(run("code_challenge=c"))
    assert "sent a code_challenge, bound to this browser alone" in pkce and "nonce" not in pkce, pkce


def test_drive_output_file_is_read_bounded_and_a_named_pipe_made_during_the_run_is_not_waited_for(tmp_path):
    """A file that grew past twice the bound is read as a launched application's output is, its first and
    last `kept` bytes; a named pipe put in its place once the run started is named, not read (a plain
    open() waited for a writer for ever)."""
    import os
    import threading

    from appside.output_file import read_from

    output = tmp_path / "app.log"
    output.write_bytes(b"old\n" + b"a" * 5000 + b"TAIL-END")
    text, kind = read_from(output, start=4, kept=1000)
    assert kind is None and text.startswith("a" * 1000) and text.endswith("a" * 992 + "TAIL-END")
    assert "left out 3008 bytes of drive.output_file" in text and len(text) < 2200
    assert read_from(output, start=4, kept=10_000) == ("a" * 5000 + "TAIL-END", None)
    output.unlink()
    os.mkfifo(output)
    result: list = []
    reader = threading.Thread(target=lambda: result.append(read_from(output)), daemon=True)
    reader.start()
    reader.join(timeout=5)
    assert result == [("", "a named pipe")]
    config = SimpleNamespace(launched=None, output_file_start=0)
    token = secrets.token_urlsafe(32)
    run = one_redemption(token)
    with pytest.raises(Skipped, match=rf"^{UNCHECKED}: drive.output_file \({output}\) is a named pipe"):
        nothing_secret_in_output(SimpleNamespace(config=config), _application(output_file=str(output)), run)


def test_appc28_finds_a_token_a_logger_wrapped_over_two_lines(tmp_path):
    """A logger that wraps long lines at 80 characters cuts a token in two; each line alone holds none."""
    token = secrets.token_urlsafe(64)
    run = one_redemption(token)
    request = SimpleNamespace(config=SimpleNamespace(launched=None, output_file_start=0))
    output = tmp_path / "app.log"
    written = f"2026-12-07 00:00:00 DEBUG oauth: token response access_token={token} expires_in=3"
    output.write_text("\n".join(written[i : i + 80] for i in range(0, len(written), 80)) + "\n")
    with pytest.raises(NonConformance, match=r"wrote its access token to drive.output_file .*across lines 1 and 2"):
        nothing_secret_in_output(request, _application(output_file=str(output)), run)
    output.write_text("short line\n" + token[:30] + "\n" + token[30:] + "\n")  # no long line: no wrap is read
    nothing_secret_in_output(request, _application(output_file=str(output)), run)
