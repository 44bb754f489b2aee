"""Application side: the browser is the user's, service workers included. An SPA whose service
worker makes the token request and the API calls (as @axa-fr/oidc-client recommends) signs in and
is judged on what its worker sent; an access token in a page's #fragment is a token in a page URL
(APPC-26); and an application whose sign-in never reaches the stand-in is one cause, named once
with what its page reported, not ten failed request rules."""

import json
import secrets
import subprocess
import textwrap
from types import SimpleNamespace

import pytest
from run import certify_application

from appside.browser_driver import SignIn
from appside.observed import Observed
from appside.stand_in import free_port
from sandbox.recording import RecordedRequest

SPA = "examples/spa_app/application.yaml"
NEVER_STARTED = "could not be checked for this application: no sign-in through the application"


def _certify(application, tmp_path, variables: dict, *rules: str) -> tuple[subprocess.CompletedProcess, dict]:
    completed = certify_application(application, tmp_path, variables, *(f"--rule={rule}" for rule in rules))
    assert (tmp_path / "record.json").exists(), completed.stdout[-3000:] + completed.stderr[-3000:]
    return completed, json.loads((tmp_path / "record.json").read_text())


def _rules(record: dict) -> dict:
    return {rule["rule_id"]: rule for rule in record["rules"]}


@pytest.mark.timeout(300)
def test_an_spa_whose_service_worker_redeems_the_code_and_calls_the_api_signs_in_and_is_judged(tmp_path):
    """examples/spa_app's service-worker variant: its token-keeper.js makes the token request and the
    API calls, and answers the loads of its pages. In a browser that blocks service workers it never
    signs in (APPC-01 failed: "the stand-in received no authorization request"); in the user's browser it
    is conformant on every rule run. Its answer to the callback after the stand-in's redirect, which
    Playwright reports under the stand-in's URL, is still the callback's (APPC-19 reads its status)."""
    variables = {"SPA_APP_PORT": str(free_port()), "REFERENCE_APP_DEFECTS": "service-worker"}
    judged = ("APPC-01", "APPC-08", "APPC-19", "APPC-20", "APPC-26")
    completed, record = _certify(SPA, tmp_path, variables, *judged)
    rules = _rules(record)
    assert record["failed_rules"] == record["blocked_rules"] == record["error_rules"] == [], completed.stdout[-3000:]
    assert record["warned_rules"] == [], completed.stdout[-3000:]  # APPC-19: "the callback page never loaded"
    assert {rules[r]["status"] for r in judged} == {"passed"}


@pytest.mark.timeout(300)
def test_an_access_token_in_the_fragment_of_a_page_url_fails_appc26(tmp_path):
    """RFC 6750 section 5.3, "Bearer tokens SHOULD NOT be passed in page URLs": the SPA puts
    #access_token=... into its address with history.replaceState. No request carries it, so only
    what the page's frame navigated to shows it."""
    variables = {"SPA_APP_PORT": str(free_port()), "REFERENCE_APP_DEFECTS": "token-in-page-fragment"}
    completed, record = _certify(SPA, tmp_path, variables, "APPC-26")
    assert record["failed_rules"] == ["APPC-26"], completed.stdout[-3000:]
    reason = _rules(record)["APPC-26"]["scenarios"][0]["reason"]
    assert "access token was in the address of a page the browser showed" in reason
    assert "#access_token=[access_token]'" in reason  # named, and masked


@pytest.mark.timeout(300)
def test_a_sign_in_that_never_reaches_the_stand_in_is_one_cause_with_the_page_error_not_ten_failures(tmp_path):
    """A page that crashes before it starts the sign-in (as @axa-fr/oidc-client's fallback did where
    service workers were blocked): the request rules have no request to judge. They could not be
    checked, each with the one cause and the page's own error; APPC-14 (offline_access) does not fail
    for a request that never came; the refusals are not failures of their own either."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "login.html").write_text(
        "<!doctype html><p>Loading</p><script>let registration;\n"
        "registration.addEventListener('updatefound', () => {});</script>"
    )
    port = free_port()
    (tmp_path / "application.yaml").write_text(
        textwrap.dedent(
            f"""\
            name: An SPA whose page crashes before its sign-in
            application:
              type: spa
              client_id: crashing-spa
              redirect_uris: ["http://127.0.0.1:{port}/callback"]
              scope: openid profile email
            issuer:
              port: 0
            drive:
              mode: browser
              launch: python3 -m http.server {port} --bind 127.0.0.1 --directory {site}
              sign_in_url: http://127.0.0.1:{port}/login.html
              signed_in: {{selector: "#user"}}
              use_api_url: http://127.0.0.1:{port}/login.html
              timeout: 4
            """
        )
    )
    rules_run = ("APPC-01", "APPC-02", "APPC-08", "APPC-09", "APPC-14", "APPC-16", "APPC-20", "APPC-26")
    completed, record = _certify(tmp_path / "application.yaml", tmp_path, {}, *rules_run)
    rules = _rules(record)
    assert record["failed_rules"] == record["blocked_rules"] == record["error_rules"] == [], completed.stdout[-3000:]
    assert completed.returncode == 5 and record["verdict"].startswith("incomplete")
    # the blocker and critical ones (APPC-20 is warning-level: skipped with the same reason, below)
    assert {"APPC-01", "APPC-02", "APPC-08", "APPC-16", "APPC-26"} <= set(record["unchecked_rules"])
    for rule_id in rules_run:
        (scenario,) = rules[rule_id]["scenarios"]
        assert scenario["status"] == "skipped", rule_id
        assert scenario["reason"].startswith(NEVER_STARTED), (rule_id, scenario["reason"])
        assert "TypeError: Cannot read properties of undefined (reading 'addEventListener')" in scenario["reason"]
        assert f"ended on http://127.0.0.1:{port}/login.html" in scenario["reason"]


def test_a_sign_in_that_never_reached_its_callback_says_so_not_http_none():
    from appside.application import load_application
    from appside.steps.sign_ins import unfinished

    application = load_application(SPA)
    sign_in = SignIn(False, None, "http://127.0.0.1:5082/login", 20.0, page_errors=["uncaught TypeError: boom"])
    said = unfinished(application, sign_in, 1, Observed([]))
    assert "the browser never reached its callback" in said and "HTTP None" not in said
    assert "its page reported uncaught TypeError: boom" in said
    answered = SignIn(False, 500, "http://127.0.0.1:5082/callback", 20.0)
    assert "its callback answered HTTP 500" in unfinished(application, answered, 1, Observed([]))


def test_one_authorization_request_in_any_sign_in_is_something_to_judge():
    from appside.application import load_application
    from appside.steps.sign_ins import sign_in_never_started

    application = load_application(SPA)
    sign_in = SignIn(False, None, "http://127.0.0.1:5082/login", 20.0)
    request = RecordedRequest(0.0, "GET", "/connect/authorize", (("response_type", "code"),), (), {})
    assert sign_in_never_started(application, [sign_in, sign_in], [Observed([]), Observed([])])
    assert sign_in_never_started(application, [sign_in, sign_in], [Observed([]), Observed([request])]) == ""


def test_a_page_error_is_masked_before_it_is_cut_so_no_part_of_a_token_is_kept():
    """A console error with a token across the 300-character cut: cut first, the token's first part no
    longer matched the token and was kept as it was."""
    from appside.browser_driver import PAGE_ERROR_LENGTH, BrowserSession
    from suite.secrets.redaction import REDACTOR

    token = "eyJ" + secrets.token_urlsafe(60)
    REDACTOR.register(token, "access_token")
    session = SimpleNamespace(page_errors=[])
    BrowserSession._page_error(session, "console error: " + "x" * (PAGE_ERROR_LENGTH - 30) + token)
    assert token[:12] not in session.page_errors[0] and "[access_token]" in session.page_errors[0]
