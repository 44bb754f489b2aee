"""The application side's verdicts for any application, not only the reference ones: HTTP Basic
read as RFC 6749 section 2.3.1 has it, whatever the secret holds; every request the stand-in
receives recorded and judged (a JSON or GET token request, parameters in the URL); a broken
sign-in or token request failing its own rule and blocking the rest; a refusal without evidence
"could not be checked", which is no pass; a relative command path one line and exit 4."""

import base64
import json
import subprocess
import textwrap
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import parse_qsl, quote, quote_plus

import pytest
import requests
from reference_certifications import is_matrix_switch, reference_certification
from run import ROOT, certify_application

from appside.matrix import (
    LEAKS_NEEDED,
    NO_CODE,
    SECRET_NEEDED,
    SIGN_IN_NEEDED,
    TOKEN_NEEDED,
    AppRow,
    render,
    special_secret,
)
from appside.observed import Observed, client_authentication
from appside.stand_in import free_port
from sandbox.recording import RecordedRequest
from suite.reports.record_markdown import reason_of

CLIENT_ID = "reference-service"
EVERY_CLASS = special_secret()  # letters, digits, + / = % : ; & ? # space ~ " \ ' , non-ASCII, long


def _token_request(user_id: str, password: str, form=(("grant_type", "client_credentials"),)) -> RecordedRequest:
    header = "Basic " + base64.b64encode(f"{user_id}:{password}".encode()).decode()
    return RecordedRequest(
        0.0, "POST", "/connect/token", (), tuple(form), {"Authorization": header, "Content-Type": "x"}
    )


@pytest.mark.parametrize("encode", [quote_plus, quote], ids=["quote_plus", "quote"])
def test_a_secret_of_every_character_class_form_urlencoded_into_basic_authenticates(encode):
    authentication = client_authentication(
        _token_request(encode(CLIENT_ID), encode(EVERY_CLASS, safe="")), CLIENT_ID, EVERY_CLASS
    )
    assert authentication.problem == ""
    assert authentication.describe() == "HTTP Basic, form-urlencoded (RFC 6749 section 2.3.1)"


def test_a_raw_secret_the_decoding_leaves_alone_authenticates_and_the_record_says_it_was_raw():
    secret = "abc/def=ghi:jkl;~mno&pqr?é"  # nothing in it that form decoding changes
    authentication = client_authentication(_token_request(CLIENT_ID, secret), CLIENT_ID, secret)
    assert authentication.problem == ""
    assert "sent as they are, not form-urlencoded" in authentication.encoding


@pytest.mark.parametrize(
    "secret", ["abc%41def-ghijkl", "abc+def-ghijkl", EVERY_CLASS], ids=["percent-41", "plus", "every-class"]
)
def test_a_raw_secret_the_decoding_changes_is_the_wrong_secret_and_the_message_cites_the_rfc(secret):
    """A raw "%41" decodes to "A", a raw "+" to a space: Visma Connect reads another secret."""
    authentication = client_authentication(_token_request(CLIENT_ID, secret), CLIENT_ID, secret)
    assert "without the application/x-www-form-urlencoded encoding" in authentication.problem
    assert "RFC 6749 section 2.3.1" in authentication.problem
    assert authentication.encoding == "sent as they are, not form-urlencoded"
    assert "Fix: form-urlencode the client id and the secret" in authentication.problem
    assert "client_id and client_secret in the form body" in authentication.problem


def test_a_raw_basic_failure_names_the_library_its_user_agent_names():
    """arctic 3 writes the secret into Basic as it is and says "arctic" in its User-Agent."""
    request = _token_request(CLIENT_ID, "abc+def-ghijkl")
    request.headers["User-Agent"] = "arctic"
    problem = client_authentication(request, CLIENT_ID, "abc+def-ghijkl").problem
    assert "Fix: form-urlencode" in problem and "the request's User-Agent, 'arctic', may name the library" in problem


@pytest.mark.parametrize(
    ("user_agent", "named", "not_named"),
    [
        ("python-httpx/0.28.1", "urllib.parse.quote_plus", "encodeURIComponent"),
        ("python-requests/2.34.2", "urllib.parse.quote_plus", "encodeURIComponent"),
        ("libwww-perl/6.77", "uri_escape_utf8", "encodeURIComponent"),
        ("Faraday v2.12.2", "URI.encode_www_form_component", "encodeURIComponent"),
        ("node", "encodeURIComponent", "quote_plus"),
        ("arctic", "encodeURIComponent", "uri_escape"),  # no language shows: JavaScript's and Python's
        ("", "urllib.parse.quote_plus", "uri_escape"),
    ],
)
def test_a_raw_basic_fix_names_the_encoding_function_of_the_language_its_user_agent_shows(user_agent, named, not_named):
    """httpx-auth and requests-auth write the secret into Basic as it is: the fix named JavaScript's
    encodeURIComponent to a Python service."""
    request = _token_request(CLIENT_ID, "abc+def-ghijkl")
    if user_agent:
        request.headers["User-Agent"] = user_agent
    problem = client_authentication(request, CLIENT_ID, "abc+def-ghijkl").problem
    assert named in problem and not_named not in problem, problem


@pytest.mark.parametrize(
    "secret", ["abc%41def-ghijkl", "abc+def-ghijkl", EVERY_CLASS], ids=["percent-41", "plus", "every"]
)
def test_a_secret_written_into_the_form_body_as_it_is_is_named_not_form_urlencoded_with_the_fix(secret):
    """curl --data "client_secret=$S": the body holds the secret as it is, which the server reads as
    another ("+" a space, "%41" "A", "&" the end of the value); the message said only "not the
    application's secret", without cause or fix."""
    body = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={secret}"
    form = tuple(parse_qsl(body, keep_blank_values=True))
    request = RecordedRequest(0.0, "POST", "/connect/token", (), form, {"Content-Type": "x"}, body=body)
    problem = client_authentication(request, CLIENT_ID, secret).problem
    assert "not form-urlencoded" in problem and "Appendix B" in problem and "--data-urlencode" in problem, problem
    assert '"+" reads as a space' in problem if "+" in secret else '"+"' not in problem
    other = f"grant_type=client_credentials&client_id={CLIENT_ID}&client_secret={quote_plus(secret + 'x')}"
    another = RecordedRequest(0.0, "POST", "/connect/token", (), tuple(parse_qsl(other)), {}, body=other)
    assert client_authentication(another, CLIENT_ID, secret).problem.startswith(
        "the client_secret in its form body is not the application's secret: it"
    )


def test_another_secret_fails_whichever_way_it_is_read():
    authentication = client_authentication(_token_request(CLIENT_ID, "not-the-secret"), CLIENT_ID, EVERY_CLASS)
    assert "another secret than the application's" in authentication.problem


@pytest.mark.parametrize("way", ["HTTP Basic", "form body"])
def test_another_client_id_at_the_token_endpoint_names_both_ids_and_the_fix(way):
    """A web application configured with another client id than its file's: the problem said only
    "another client id than the application's", naming neither."""
    if way == "HTTP Basic":
        request = _token_request("acme-invoices", EVERY_CLASS)
    else:
        form = (("grant_type", "authorization_code"), ("client_id", "acme-invoices"), ("client_secret", EVERY_CLASS))
        request = RecordedRequest(0.0, "POST", "/connect/token", (), form, {"Content-Type": "x"})
    problem = client_authentication(request, "acme-invoices-web", EVERY_CLASS).problem
    assert "client_id 'acme-invoices', not the registered 'acme-invoices-web'" in problem
    assert "application.client_id" in problem and "Make the two the same" in problem


def test_no_code_redeemed_is_never_a_failure_of_appc23():
    """APPC-23 found no code redeemed twice because none was redeemed: blocked where a rule it needs
    failed (resolved before), else not checked (incomplete), never failed ("redeemed no authorization
    code ... so none could be redeemed twice" was a false failure)."""
    from appside.record import UNCHECKED, _not_failed_for_nothing_to_judge, _unchecked_is_incomplete

    scenario = {"status": "skipped", "reason": f"{UNCHECKED}: the application redeemed no authorization code"}
    record = {
        "rules": [{"rule_id": "APPC-23", "severity": "critical", "status": "failed", "scenarios": [scenario]}],
        "failed_rules": ["APPC-23"],
        "blocked_rules": [],
        "error_rules": [],
        "not_run_rules": [],
        "counts": {"failed": 1, "skipped": 0},
        "verdict": "not conformant",
    }
    _not_failed_for_nothing_to_judge(record)
    _unchecked_is_incomplete(record)
    assert record["failed_rules"] == [] and record["rules"][0]["status"] == "skipped"
    assert record["counts"] == {"failed": 0, "skipped": 1}
    assert record["verdict"].startswith("incomplete") and "APPC-23" in record["verdict"]


def test_the_stand_in_records_json_get_and_refused_token_requests_and_reads_basic_as_visma_does():
    from sandbox import Application, Registry, SandboxServer

    registry = Registry()
    registry.add(
        Application(
            client_id=CLIENT_ID,
            client_secret=EVERY_CLASS,
            app_type="service",
            scopes=("visma_api:read",),
            approved_tenants=("tenant-1",),
        )
    )
    server = SandboxServer(registry).start()
    try:
        token = server.url + "/connect/token"
        form = {"grant_type": "client_credentials", "scope": "visma_api:read", "tenant_id": "tenant-1"}
        encoded = (quote_plus(CLIENT_ID), quote_plus(EVERY_CLASS))
        assert requests.post(token, json=form, auth=encoded, timeout=10).status_code == 400  # the guard's answer
        assert requests.get(token, params=form, auth=encoded, timeout=10).status_code == 405
        assert requests.post(token, data=form, auth=encoded, timeout=10).status_code == 200  # "+" is a space
        raw = (CLIENT_ID.encode(), EVERY_CLASS.encode())
        assert requests.post(token, data=form, auth=raw, timeout=10).status_code == 401  # "%41" is "A"
        entries = server.recording.entries()
    finally:
        server.stop()
    assert [(e.method, e.content_type, e.status) for e in entries] == [
        ("POST", "application/json", 400),
        ("GET", "", 405),
        ("POST", "application/x-www-form-urlencoded", 200),
        ("POST", "application/x-www-form-urlencoded", 401),
    ]
    assert entries[0].json_body == form and dict(entries[1].query) == form
    assert len(Observed(entries).token_requests) == 4


def test_the_attached_curl_lines_name_the_stand_in():
    from appside.observed import _exchange

    entry = RecordedRequest(0.0, "GET", "/connect/userinfo", (("a", "b"),), (), {})
    curl = _exchange(entry, "http://localhost:5999").curl()
    # the server as $SERVER, named on the snippet's first line (suite.wire.reproduction)
    assert 'SERVER="${SERVER:-http://localhost:5999}"' in curl and "\"$SERVER\"'/connect/userinfo?a=b'" in curl


def test_a_blocker_rule_that_could_not_be_checked_leaves_the_certification_incomplete():
    from appside.record import UNCHECKED, _unchecked_is_incomplete

    record = {
        "verdict": "conformant",
        "not_run_rules": [],
        "rules": [
            {
                "rule_id": "APPC-21",
                "severity": "blocker",
                "status": "skipped",
                "scenarios": [{"reason": f"{UNCHECKED}: its normal sign-in showed nothing"}],
            },
            {
                "rule_id": "APPC-09",
                "severity": "blocker",
                "status": "skipped",
                "scenarios": [{"reason": "applies to spa and native applications"}],
            },
        ],
    }
    _unchecked_is_incomplete(record)
    assert record["verdict"].startswith("incomplete") and "APPC-21" in record["verdict"]
    assert record["unchecked_rules"] == ["APPC-21"] and record["not_run_rules"] == []


def test_a_rule_that_ran_and_could_not_be_checked_is_not_summarised_as_not_run():
    """arctic's run with a wrong signed_in text: every rule ran, yet compliance.md and the terminal said
    APPC-21 "did not run" and sent the user to run every rule (no --rule, -k, -m) for a verdict."""
    from appside.record import UNCHECKED, _unchecked_is_incomplete
    from suite.reports.record_consistency import verdict_problems
    from suite.reports.record_markdown import render_markdown, verdict_lines

    why = "its normal sign-in neither showed the text 'Hello there' nor called the Visma API"
    scenario = {"id": "s", "status": "skipped", "reason": f"{UNCHECKED}: {why}"}
    record = {
        "environment": "application arctic-web (web)",
        "issuer": "http://localhost:11000",
        "verdict": "conformant",
        "not_run_rules": [],
        "failed_rules": [],
        "counts": {"passed": 0, "failed": 0, "blocked": 0, "waived": 0, "warned": 0, "error": 0, "skipped": 1},
        "rules": [
            {
                "rule_id": "APPC-21",
                "title": "t",
                "severity": "blocker",
                "status": "skipped",
                "scenarios": [scenario] * 2,
            }
        ],
    }
    _unchecked_is_incomplete(record)
    assert verdict_problems(record) == [], verdict_problems(record)
    terminal = "\n".join(verdict_lines(record, "/tmp/compliance.json"))
    assert (
        "did not run" not in terminal
        and f"could not be checked (blocker or critical): APPC-21 (blocker): {why}\n" in (terminal)
    )
    head = render_markdown(
        {
            **record,
            "client_ids": {},
            "suite_version": "",
            "started": "",
            "finished": "",
            "sandbox_defects": [],
            "tls_verification": "",
        }
    )
    head = head.split("## The run")[0]
    assert "did not run" not in head and "--rule" not in head, head
    assert head.count("- APPC-21 (blocker): its normal sign-in neither showed the text") == 1, head


def test_the_rules_a_broken_sign_in_breaks_block_the_rest():
    from appside.record import ApplicationRecorder
    from suite.verdict.blocking import resolve_blocked

    def rule(status, own_check=True):
        scenario = {"status": status, "reason": "r", "failed_step": {"step": "Given x", "own_check": own_check}}
        return {"status": status, "scenarios": [scenario]}

    rules = {"APPC-01": rule("failed"), "APPC-16": rule("failed", own_check=False), "APPC-03": rule("passed")}
    resolve_blocked(rules, lambda rule_id: ApplicationRecorder.needs(None, rule_id))
    assert rules["APPC-16"]["status"] == "blocked" and rules["APPC-16"]["blocked_by"] == "APPC-01"


def test_a_rule_kept_from_its_check_by_a_warning_level_rule_is_not_applicable_not_blocked():
    """APPC-20 (warning-level: RFC 6750 section 3.1 only permits the renewal) failed: the application never
    refreshed, so RFC 6749 section 6's "MUST discard the old refresh token" never came to bind it, and
    APPC-15 is not applicable, naming APPC-20; not blocked (a blocked critical rule is not conformant),
    not passed. A rule it needs that failed for a fault still blocks it; so does any rule on the server side."""
    from appside.record import CATALOGUE
    from suite.configuration.rule_catalogue import catalogue
    from suite.verdict.blocking import resolve_blocked

    def rule(status, own_check=True, level="failure"):
        step = {"step": "Then every refresh uses the newest refresh token", "own_check": own_check}
        scenario = {"id": "t", "status": status, "reason": "no refresh after a rotation", "failed_step": step}
        return {"status": status, "level": level, "scenarios": [scenario]}

    def needs(rule_id):
        return catalogue(CATALOGUE)[rule_id].needs

    rules = {"APPC-20": rule("failed", level="warning"), "APPC-15": rule("failed", own_check=False)}
    resolve_blocked(rules, needs)
    (scenario,) = rules["APPC-15"]["scenarios"]
    assert rules["APPC-15"]["status"] == scenario["status"] == "skipped" and "blocked_by" not in rules["APPC-15"]
    assert scenario["reason"].startswith("not applicable: nothing to judge, because APPC-20 warned")
    assert rules["APPC-15"]["not_applicable_after"] == scenario["not_applicable_after"] == "APPC-20"

    rules = {**rules, "APPC-10": rule("failed"), "APPC-15": rule("failed", own_check=False)}
    resolve_blocked(rules, needs)
    assert (rules["APPC-15"]["status"], rules["APPC-15"].get("blocked_by")) == ("blocked", "APPC-10")

    # any warning-level rule another needs, and what needs that one in turn (server-side ids, needs given)
    chain = {"UINFO-05": ("SVC-14",), "UINFO-07": ("UINFO-05",), "SVC-14": ()}
    rules = {"SVC-14": rule("failed", level="warning"), "UINFO-05": rule("failed", own_check=False)}
    rules["UINFO-07"] = rule("failed", own_check=False)
    resolve_blocked(rules, chain.__getitem__, lambda rule_id: ())
    assert [rules[r]["status"] for r in ("UINFO-05", "UINFO-07")] == ["skipped", "skipped"]
    assert "because SVC-14 warned (via UINFO-05)" in rules["UINFO-07"]["scenarios"][0]["reason"]


def test_a_blocked_rules_reason_names_its_cause_and_the_first_line_of_its_failure_at_most():
    """A wrong client id (Nimbus's outsider) failed APPC-01 and blocked 17 rules, each repeating a failed sign-in's
    account of 600 to 1,100 characters: the whole text is the cause's, once; a blocked rule says what blocked it
    (through which rule) and at most the first line of that failure, cut on a word. Both sides share it."""
    from appside.record import ApplicationRecorder
    from suite.verdict.blocking import HEADLINE, resolve_blocked

    account = (
        "the application sent no token request (normal sign-in 1: the application did not show an element '#user' "
        "(watched 20 s; the browser never reached its callback); its page reported console error: " + "x " * 300
    )
    cause = "an authorization request named client_id 'acme-nimbus', not the registered 'acme-nimbus-web' " * 3

    def rule(status, reason, own_check=True):
        scenario = {"status": status, "reason": reason, "failed_step": {"step": "Then y", "own_check": own_check}}
        return {"status": status, "scenarios": [scenario]}

    for cause_reason, shown in ((cause + "\nsecond line", cause[:HEADLINE].rsplit(" ", 1)[0]), ("short", "short")):
        rules = {
            "APPC-01": rule("failed", cause_reason),
            "APPC-10": rule("failed", account, own_check=False),
            "APPC-03": rule("passed", ""),
        }
        resolve_blocked(rules, lambda rule_id: ApplicationRecorder.needs(None, rule_id))
        reason = rules["APPC-10"]["scenarios"][0]["reason"]
        assert reason.startswith(f"blocked by APPC-01: {shown}"), reason
        assert len(reason) <= len("blocked by APPC-01: ") + HEADLINE + 2 and "console error" not in reason, reason
        assert "second line" not in reason and rules["APPC-01"]["scenarios"][0]["reason"] == cause_reason


def _public_clients_secret_failure(sent: list, finished: bool, raised: type) -> str:
    """APPC-09's failure (of type `raised`) for an SPA whose two sign-ins each sent the requests `sent`."""
    from types import SimpleNamespace

    from appside.steps.requests_sent import no_secret_from_public_app
    from appside.steps.sign_ins import AppRun

    spa = SimpleNamespace(app_type="spa", client_id="acme-invoices-spa", is_interactive=True)
    run = AppRun(sign_ins=[SimpleNamespace(finished=finished)] * 2, observed=[Observed(sent)] * 2)
    with pytest.raises(raised) as failed:
        no_secret_from_public_app(spa, run)
    return str(failed.value)


def test_a_spas_secret_names_every_request_that_carried_it_and_its_refused_redemption_blocks_the_rest():
    """@azure/msal-browser copies extraQueryParameters (client_secret) into the token request's URL too, and the
    stand-in refuses that redemption (invalid_client, 401). APPC-09 named only GET /connect/authorize, and
    APPC-21, -23, -26 and -28 said "could not be checked" where APPC-09 is their one cause."""
    from appside.record import ApplicationRecorder
    from suite.verdict.blocking import resolve_blocked
    from suite.verdict.checks import NonConformance

    secret = ("client_secret", "s3cret-from-the-web-app")
    authorize = RecordedRequest(0.0, "GET", "/connect/authorize", (("response_type", "code"), secret), (), {}, "", 302)
    form = (("grant_type", "authorization_code"),)
    refused = {"error": "invalid_client"}
    redeem = RecordedRequest(1.0, "POST", "/connect/token", (secret,), form, {}, "", 401, response_json=refused)
    message = _public_clients_secret_failure([authorize, redeem], finished=False, raised=NonConformance)
    assert "GET /connect/authorize (in its URL, 2 times)" in message
    assert "POST /connect/token (in its URL, 2 times, the stand-in refused it: invalid_client)" in message
    assert "blocked by this one" in message

    def unchecked():
        step = {"step": "Then x", "own_check": False, "nothing_to_check": True}
        return {"status": "failed", "scenarios": [{"status": "failed", "reason": "r", "failed_step": step}]}

    rules = {"APPC-09": {"status": "failed", "scenarios": [{"status": "failed", "reason": message}]}}
    rules |= {rule_id: unchecked() for rule_id in ("APPC-21", "APPC-23", "APPC-26", "APPC-28")}
    resolve_blocked(rules, lambda rule_id: ApplicationRecorder.needs(None, rule_id))
    assert {
        rule_id: rule.get("blocked_by") for rule_id, rule in rules.items() if rule_id != "APPC-09"
    } == dict.fromkeys(("APPC-21", "APPC-23", "APPC-26", "APPC-28"), "APPC-09")


def test_a_spas_secret_its_sign_ins_got_through_with_blocks_nothing_and_its_counts_name_their_sign_ins():
    """@badgateway/oauth2-client with a clientSecret: IdentityServer skips a public client's secret, so every
    redemption was answered 200 and the sign-ins finished. APPC-21, which found no ID token there, was reported
    "blocked by APPC-09", a cause that kept it from nothing; and "2 times" read as all the application did."""
    from appside.record import ApplicationRecorder
    from suite.verdict.blocking import resolve_blocked
    from suite.verdict.checks import Delivered

    basic = {"Authorization": "Basic " + base64.b64encode(b"acme-spa:s3cret-in-the-bundle").decode()}
    form = (("grant_type", "authorization_code"), ("code", "c"))
    authorize = RecordedRequest(0.0, "GET", "/connect/authorize", (("response_type", "code"),), (), {}, "", 302)
    redeem = RecordedRequest(1.0, "POST", "/connect/token", (), form, basic, "", 200, response_json={})
    message = _public_clients_secret_failure([authorize, redeem], finished=True, raised=Delivered)
    assert "counted over the 2 sign-ins this rule made" in message
    assert "POST /connect/token (in an HTTP Basic header, 2 times)" in message and "blocked by" not in message

    step = {"step": "Then the stand-in's token response carried the fault", "own_check": False}
    unchecked = {"status": "failed", "reason": "no ID token", "failed_step": {**step, "nothing_to_check": True}}
    rules = {
        "APPC-09": {
            "status": "failed",
            "scenarios": [
                {
                    "status": "failed",
                    "reason": message,
                    "failed_step": {
                        "step": "Then the application sends no client secret, in no request",
                        "own_check": True,
                        "delivered": True,
                    },
                }
            ],
        },
        "APPC-21": {"status": "failed", "scenarios": [unchecked]},
    }
    resolve_blocked(rules, lambda rule_id: ApplicationRecorder.needs(None, rule_id))
    assert rules["APPC-21"]["status"] != "blocked" and "blocked_by" not in rules["APPC-21"]


@pytest.mark.parametrize(
    ("asked", "judged"),
    [
        ("vismanet_erp_interactive_api:read", False),  # OAuth only: not applicable, whatever it registered
        ("openid vismanet_erp_interactive_api:read", True),
    ],
)
def test_id_token_validation_applies_only_to_an_application_that_asks_for_openid(asked, judged):
    """@badgateway/oauth2-client's SPA asks for its API scope alone: no ID token was issued, and APPC-21 said
    "could not be checked", so an OAuth-only application could never be complete (exit 5). One that registers
    openid and asks without it gets no ID token either: APPC-34 warns it, APPC-21 does not apply."""
    from types import SimpleNamespace

    from appside.steps.refusals import asks_for_openid
    from appside.steps.sign_ins import AppRun

    authorize = RecordedRequest(0.0, "GET", "/connect/authorize", (("scope", asked),), (), {}, "", 302)
    run = AppRun(baseline=(SimpleNamespace(finished=True), Observed([authorize])))
    if judged:
        asks_for_openid(run)
    else:
        with pytest.raises(pytest.skip.Exception, match=r"^not applicable: .*openid.*APPC-34 warns"):
            asks_for_openid(run)


def test_a_relative_command_path_is_one_line_naming_the_folder_commands_run_from(tmp_path):
    (tmp_path / "run-app.sh").write_text("#!/bin/sh\n")
    (tmp_path / "application.yaml").write_text(
        textwrap.dedent("""\
        name: relative
        application: {type: service, client_id: c, client_secret: "${REL_SECRET}", scope: visma_api:read}
        drive: {mode: command, command: ./run-app.sh}
        """)
    )
    completed = _certify(tmp_path / "application.yaml", {"REL_SECRET": "a-secret-of-some-length"}, tmp_path)
    assert completed.returncode == 4, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr
    assert f"drive.command: ./run-app.sh does not exist from {ROOT}" in completed.stderr
    assert f"it is at {tmp_path / 'run-app.sh'}" in completed.stderr


def test_a_launch_that_fails_is_one_line_and_exit_4_not_a_traceback(tmp_path):
    (tmp_path / "application.yaml").write_text(
        textwrap.dedent("""\
        name: exits
        application: {type: web, client_id: c, client_secret: "${REL_SECRET}", redirect_uris: ["http://127.0.0.1:9/cb"],
                      scope: openid}
        drive: {launch: /bin/false, sign_in_url: "http://127.0.0.1:9/login", signed_in: {text: x}}
        """)
    )
    completed = _certify(tmp_path / "application.yaml", {"REL_SECRET": "a-secret-of-some-length"}, tmp_path)
    assert completed.returncode == 4 and "Traceback" not in completed.stderr, completed.stderr[-2000:]
    assert "drive.launch: the application exited with 1" in completed.stderr


def _certify(application, variables: dict, tmp_path, *options) -> subprocess.CompletedProcess:
    return certify_application(application, tmp_path, variables, *options)


def _outcomes(tmp_path) -> tuple[dict, dict]:
    record = json.loads((tmp_path / "record.json").read_text())
    return record, {rule["rule_id"]: rule for rule in record["rules"]}


def _certify_web(tmp_path, switch: str, *options, application="examples/web_app/application.yaml"):
    """The reference web app (or `application`, a file for it) certified with a secret of every character
    class and its `switch` on: (the completed run, the record, its rules by id)."""
    variables = {
        "WEB_APP_CLIENT_SECRET": special_secret(),
        "WEB_APP_PORT": str(free_port()),
        "REFERENCE_APP_DEFECTS": switch,
    }
    completed = _certify(application, variables, tmp_path, *options)
    # a run that wrote no record says why (exit code and its last output), not only that the file is missing
    assert (tmp_path / "record.json").exists(), (completed.returncode, (completed.stderr or completed.stdout)[-3000:])
    return (completed, *_outcomes(tmp_path))


def _shared(row: AppRow) -> tuple[str, dict, dict]:
    """A reference certification's (what to show when a check fails, its record, its rules by id)."""
    assert row.record, render([row])  # a run that wrote no record: the table says why
    return render([row]), row.record, {rule["rule_id"]: rule for rule in row.record["rules"]}


def _web_judged(tmp_path, tmp_path_factory, switch: str, *rules: str) -> tuple[str, dict, dict]:
    """The reference web app's record with `switch` on, judged on `rules`: the application matrix's full run where
    it makes one with that switch (every rule judged, those too: tests/reference_certifications.py), else a run of
    this test's own on `rules` alone. (What to show when a check fails, the record, its rules by id.)"""
    if is_matrix_switch("web", switch):
        return _shared(reference_certification(tmp_path_factory, "web", switch or None))
    completed, record, by_id = _certify_web(tmp_path, switch, *(f"--rule={rule}" for rule in rules))
    return completed.stdout[-3000:], record, by_id


# The reference service's certifications, each run once for the test that judges it, side by side: a
# service run mostly waits (its stand-in, its command), so four at once take little more than one.
SERVICE_SWITCHES = (
    "",
    "json-body",
    "get-request",
    "params-in-query",
    "basic-not-encoded",
    "secret-in-url",
    "cache-token",
    "cache-token,ignore-expiry",
)
SERVICE_CHANGES = {
    "tenant": {"tenant_id": "0d0e5b1a-0000-4000-8000-00000000beef"},
    "scope": {"scope": "visma_api:write"},
}


def _changed_service_file(folder, change: dict):
    application = (ROOT / "examples/service_app/application.yaml").read_text()
    for key, value in change.items():
        application = "\n".join(
            f"  {key}: {value}" if line.startswith(f"  {key}:") else line for line in application.splitlines()
        )
    (folder / "application.yaml").write_text(application)
    return folder / "application.yaml"


def _service_run_key(item) -> object:
    """Which of service_runs' runs a collected test judges."""
    params = item.callspec.params
    if "change" in params:
        return next(name for name, change in SERVICE_CHANGES.items() if change == params["change"])
    return ("APPC-20", params["switch"]) if "appc_20_alone" in item.name else params["switch"]


@pytest.fixture(scope="module")
def service_runs(request, tmp_path_factory):
    """The service certifications this module's selected tests judge, keyed by what the test parametrizes
    (the switch, ("APPC-20", switch), or the file's change), started at once, four at a time: each test
    waits for its own run and reads (what to show when a check fails, the record, its rules by id). A switch's
    full run is the application matrix's (tests/reference_certifications.py): made once for both."""
    wanted = {
        _service_run_key(item)
        for item in request.session.items
        if item.module is request.module and "service_runs" in getattr(item, "fixturenames", ())
    }

    def certify(folder, application, switch: str | None, *options):
        if isinstance(application, dict):
            application = _changed_service_file(folder, application)
        variables = {"SERVICE_APP_CLIENT_SECRET": special_secret()}
        if switch is not None:
            variables["REFERENCE_APP_DEFECTS"] = switch
        completed = _certify(application, variables, folder, *options)
        return (completed.stdout[-3000:], *_outcomes(folder))

    def matrix_run(switch: str):
        return _shared(reference_certification(tmp_path_factory, "service", switch or None))

    service = "examples/service_app/application.yaml"
    runs: list[tuple] = [(("APPC-20", switch), service, switch, "--rule=APPC-20") for switch in SERVICE_SWITCHES[-2:]]
    runs += [(name, change, None) for name, change in SERVICE_CHANGES.items()]
    tmp_path_factory.getbasetemp()  # made here, not in a pool thread
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {switch: pool.submit(matrix_run, switch) for switch in SERVICE_SWITCHES if switch in wanted}
        futures |= {
            run[0]: pool.submit(certify, tmp_path_factory.mktemp("service"), *run[1:])
            for run in runs
            if run[0] in wanted
        }
        yield futures
        for future in futures.values():
            future.cancel()


@pytest.mark.timeout(300)
@pytest.mark.xdist_group("reference-service-runs")  # one worker starts the runs they share (service_runs)
@pytest.mark.parametrize(
    "switch, fails, reason, blocked",
    [
        ("", (), "", ()),
        # refused: no token to let expire (APPC-20), to put in a URL (APPC-26), nor to look for in its output (APPC-28)
        ("json-body", ("APPC-12",), "the token request was JSON", ("APPC-13", "APPC-20", "APPC-26", "APPC-28")),
        (
            "get-request",
            ("APPC-12",),
            "a token request was sent with GET",
            ("APPC-13", "APPC-20", "APPC-26", "APPC-28"),
        ),
        # tenant_id and scope are no credentials: section 4.4.2's form body is the sentence, not 2.3.1's request URI
        (
            "params-in-query",
            ("APPC-12",),
            "in the URL query with an empty form body: RFC 6749 section 4.4.2 has the client add its parameters",
            ("APPC-13", "APPC-20", "APPC-26", "APPC-28"),
        ),
        ("basic-not-encoded", ("APPC-12",), "RFC 6749 section 2.3.1", ("APPC-20", "APPC-26", "APPC-28")),
        # one cause, one failure: APPC-12's credentials in the URL and its unauthenticated request are APPC-11's
        (
            "secret-in-url",
            ("APPC-11",),
            "the client secret was sent in the URL of POST",
            ("APPC-12", "APPC-20", "APPC-26", "APPC-28"),
        ),
        # keeps its token between runs until it expires (RFC 6749 section 1.5): clean; after it expired: APPC-20
        ("cache-token", (), "", ()),
        ("cache-token,ignore-expiry", ("APPC-20",), "with an access token that had expired", ()),
    ],
)
def test_the_reference_service_with_a_secret_of_every_character_class(service_runs, switch, fails, reason, blocked):
    why, record, rules = service_runs[switch].result()
    # a warning-level rule's failure (APPC-20) is warned: listed apart, the verdict stands
    failed = sorted(record["failed_rules"] + record["warned_rules"])
    assert (failed, record["blocked_rules"]) == (list(fails), list(blocked)), why
    if fails:
        assert reason in rules[fails[0]]["scenarios"][0]["reason"]
        if switch == "params-in-query":
            assert "section 2.3.1" not in rules["APPC-12"]["scenarios"][0]["reason"]
    else:
        assert record["verdict"] == "conformant"
        assert rules["APPC-12"]["scenarios"][0]["client_authentication"] == (
            "HTTP Basic, form-urlencoded (RFC 6749 section 2.3.1)"
        )


@pytest.mark.timeout(300)
@pytest.mark.xdist_group("reference-service-runs")  # one worker starts the runs they share (service_runs)
@pytest.mark.parametrize("switch, fails", [("cache-token", ()), ("cache-token,ignore-expiry", ("APPC-20",))])
def test_appc_20_alone_judges_a_service_that_keeps_its_token(service_runs, switch, fails):
    why, _, rules = service_runs["APPC-20", switch].result()
    assert rules["APPC-20"]["status"] == ("warned" if fails else "passed"), why


@pytest.mark.timeout(300)
@pytest.mark.xdist_group("reference-service-runs")  # one worker starts the runs they share (service_runs)
@pytest.mark.parametrize(
    "change, fails, quoted",
    [
        (
            SERVICE_CHANGES["tenant"],
            "APPC-13",
            [
                'HTTP 400 invalid_tenant "the tenant has not approved this application"',
                "tenant_id 'af1140c1-52e0-46c7-b684-df894d4b8a5a', not the application file's "
                "'0d0e5b1a-0000-4000-8000-00000000beef'",
            ],
        ),
        (
            SERVICE_CHANGES["scope"],
            "APPC-12",
            ["HTTP 400 invalid_scope", "scope visma_api:read, which the application file does not register"],
        ),
    ],
    ids=["tenant", "scope"],
)
def test_a_service_refused_for_a_tenant_or_scope_its_file_does_not_name_fails_the_owning_rule_quoting_the_answer(
    service_runs, change, fails, quoted
):
    """No --alluredir, no attachments: the rule's own message names the cause; APPC-20 is blocked by it."""
    why, record, rules = service_runs["tenant" if "tenant_id" in change else "scope"].result()
    assert record["failed_rules"] == [fails], why
    assert "APPC-20" in record["blocked_rules"]
    reason = rules[fails]["scenarios"][0]["reason"]
    assert all(text in reason for text in quoted), reason


@pytest.mark.timeout(400)
def test_the_reference_web_app_with_a_secret_of_every_character_class_is_conformant(tmp_path, tmp_path_factory):
    why, record, rules = _web_judged(tmp_path, tmp_path_factory, "")
    assert record["verdict"] == "conformant", why
    assert rules["APPC-10"]["scenarios"][0]["client_authentication"].endswith(
        "form-urlencoded (RFC 6749 section 2.3.1)"
    )


@pytest.mark.timeout(400)
@pytest.mark.parametrize(
    "switch, rule, reason, blocked",
    [
        (
            "response-type-token",
            "APPC-01",
            "asked for response_type token, not code",
            {"APPC-08", "APPC-10", *SIGN_IN_NEEDED, *NO_CODE, *SECRET_NEEDED, *LEAKS_NEEDED},
        ),
        # its redemptions are refused (the stand-in reads "%41" as "A"), but attempted: the callback faults'
        # rules weigh that attempt and pass; what needs a token is blocked (APPC-26: no token to put in a URL;
        # APPC-23: a code refused for client authentication is no reuse, and none redeemed is blocked by the cause)
        (
            "basic-not-encoded",
            "APPC-10",
            "RFC 6749 section 2.3.1",
            {*TOKEN_NEEDED, "APPC-26", "APPC-23", *LEAKS_NEEDED},
        ),
    ],
)
def test_a_broken_sign_in_fails_its_own_rule_and_blocks_the_rest(
    tmp_path, tmp_path_factory, switch, rule, reason, blocked
):
    """One cause, one failure: not 18 rules failing "the application did not show the text ..."."""
    why, record, rules = _web_judged(tmp_path, tmp_path_factory, switch)
    assert (record["failed_rules"], set(record["blocked_rules"])) == ([rule], blocked), why
    assert reason in rules[rule]["scenarios"][0]["reason"]
    assert rules["APPC-09"]["status"] == rules["APPC-14"]["status"] == "skipped"  # spa and native only
    assert all(rules[b]["blocked_by"] == rule for b in blocked)


@pytest.mark.timeout(400)
@pytest.mark.parametrize(
    "switch, failed", [("greeting-only", []), ("greeting-only,id-token-not-validated", ["APPC-21"])]
)
def test_an_app_that_calls_nothing_at_sign_in_is_judged_by_its_signed_in_page(
    tmp_path, tmp_path_factory, switch, failed
):
    """It greets the user from the ID token and calls neither the API nor userinfo: no missing call
    can show a refusal, its signed-in page does (shown after a good ID token, and after a faulty one
    only when it accepted it)."""
    why, record, rules = _web_judged(tmp_path, tmp_path_factory, switch, "APPC-21")
    assert record["failed_rules"] == failed, why
    statuses = {s["status"] for s in rules["APPC-21"]["scenarios"]}
    assert statuses == ({"failed"} if failed else {"passed"})
    if failed:
        assert "showed the text 'Signed in.'" in rules["APPC-21"]["scenarios"][0]["reason"]


@pytest.mark.timeout(400)
def test_userinfo_asked_before_the_id_token_is_checked_is_no_acceptance_of_a_faulty_one(tmp_path, tmp_path_factory):
    """django-allauth's order: userinfo with the new access token, then the ID token checked and
    refused. OpenID Connect Core 3.1.3.7 forbids using what failed to validate, not asking userinfo:
    APPC-21 passes; its signed-in page after a faulty ID token is what fails it (the matrix's
    userinfo-first,id-token-not-validated)."""
    why, record, rules = _web_judged(tmp_path, tmp_path_factory, "userinfo-first", "APPC-21")
    assert record["failed_rules"] == [], why
    assert {s["status"] for s in rules["APPC-21"]["scenarios"]} == {"passed"}, why


@pytest.mark.parametrize(
    "switch, outcome",
    [
        ("nonce-presence-not-checked", {"id-token-nonce-missing": "failed"}),
        ("no-nonce", {"id-token-nonce-wrong": "skipped", "id-token-nonce-missing": "skipped"}),
    ],
)
def test_an_id_token_without_the_nonce_sent_is_refused_and_one_sent_without_nonce_is_not_judged(
    tmp_path, tmp_path_factory, switch, outcome
):
    """OpenID Connect Core 3.1.3.7 step 11: "If a nonce value was sent in the Authentication Request, a
    nonce Claim MUST be present". An application that compares the nonce only when the ID token carries
    one fails APPC-21 on the fault id-token-nonce-missing alone; one that sent no nonce is judged on
    neither nonce fault (not applicable, no incomplete run)."""
    why, record, rules = _web_judged(tmp_path, tmp_path_factory, switch, "APPC-21")
    statuses = {s["injected_fault"]: s for s in rules["APPC-21"]["scenarios"]}
    assert {fault: statuses[fault]["status"] for fault in outcome} == outcome, why
    assert {s["status"] for fault, s in statuses.items() if fault not in outcome} == {"passed"}
    if "failed" in outcome.values():
        assert record["failed_rules"] == ["APPC-21"]
        assert "after the fault id-token-nonce-missing" in statuses["id-token-nonce-missing"]["reason"]
    else:
        assert record["failed_rules"] == [] and "APPC-21" not in record["unchecked_rules"]
        assert all(statuses[f]["reason"].startswith("not applicable: the application sent no nonce") for f in outcome)


@pytest.mark.parametrize(
    "switch, failed, said",
    [
        ("", set(), ""),
        ("aud-through-azp", {"id-token-aud-other-azp"}, "only its azp this one"),
        ("aud-substring", {"id-token-aud-suffixed", "id-token-aud-prefixed"}, "it contains the client_id"),
        ("id-token-leeway", {"id-token-expired-recently"}, "usually no more than a few minutes"),
    ],
    ids=["clean", "aud-through-azp", "aud-substring", "id-token-leeway"],
)
def test_an_id_token_for_another_audience_or_expired_beyond_a_small_leeway_is_refused(
    tmp_path, tmp_path_factory, switch, failed, said
):
    """OpenID Connect Core 3.1.3.7 step 3: the aud must list the client's id: one that merely contains it, and
    another client's with an azp naming this one (Authlib's client checks aud only through azp), do not; step 9
    with section 2's "small leeway, usually no more than a few minutes": an exp 15 minutes old is refused. The
    reference web application asks Authlib for the aud itself, and passes every fault."""
    why, record, rules = _web_judged(tmp_path, tmp_path_factory, switch, "APPC-21")
    assert record["failed_rules"] == (["APPC-21"] if failed else []), why
    statuses = {s["injected_fault"]: s for s in rules["APPC-21"]["scenarios"]}
    assert {fault for fault, s in statuses.items() if s["status"] == "failed"} == failed, why
    assert {s["status"] for fault, s in statuses.items() if fault not in failed} == {"passed"}
    for fault in failed:
        assert said in statuses[fault]["reason"], statuses[fault]["reason"]


@pytest.mark.timeout(400)
def test_a_state_not_checked_fails_appc16_and_17_naming_openid_connect_core_and_rfc_6749_4_1_2(
    tmp_path, tmp_path_factory
):
    """The web application sends a state, a new S256 challenge and a new nonce (so APPC-03 to APPC-05 do
    not apply) and does not compare the response's state: OpenID Connect Core 1.0 section 3.1.2.7 still
    binds it, and the failures say so."""
    why, record, rules = _web_judged(tmp_path, tmp_path_factory, "state-not-checked", "APPC-16", "APPC-17")
    assert record["failed_rules"] == ["APPC-16", "APPC-17"], why
    for rule_id in ("APPC-16", "APPC-17"):
        reason = rules[rule_id]["scenarios"][0]["reason"]
        assert "it accepted a response it must refuse (OpenID Connect Core 1.0 section 3.1.2.7" in reason, reason
        assert "RFC 6749 section 4.1.2" in reason


@pytest.mark.timeout(400)
def test_a_refusal_nothing_can_show_could_not_be_checked_and_leaves_the_certification_incomplete(tmp_path):
    """Its signed-in marker never shows and it calls nothing at sign-in: no refusal of a faulty ID
    token can be told from an acceptance. Not a pass: skipped with why, and the run is incomplete."""
    text = (ROOT / "examples/web_app/application.yaml").read_text()
    (tmp_path / "application.yaml").write_text(
        text.replace('signed_in: {text: "Signed in."}', 'signed_in: {selector: "#never-there"}')
    )
    completed, record, rules = _certify_web(
        tmp_path, "greeting-only", "--rule=APPC-21", application=tmp_path / "application.yaml"
    )
    assert completed.returncode == 5, completed.stdout[-3000:]
    assert record["unchecked_rules"] == ["APPC-21"] and record["verdict"].startswith("incomplete")
    for scenario in rules["APPC-21"]["scenarios"]:
        assert scenario["status"] == "skipped"
        assert scenario["reason"].startswith("could not be checked for this application: its normal sign-in")
    # said once for the whole run, not only in the rules it left unjudged
    assert [n[:35] for n in record["notices"]] == ["no normal sign-in finished: the app"], record["notices"]
    assert "NOTE: no normal sign-in finished" in completed.stdout, completed.stdout[-3000:]


def test_a_code_redemption_sent_as_json_or_with_get_is_named_with_its_section():
    from appside.observed import token_request_shape

    def sent(method, content_type):
        return RecordedRequest(0.0, method, "/connect/token", (), (), {"Content-Type": content_type})

    assert "sent with GET: RFC 6749 section 3.2" in token_request_shape(sent("GET", ""), "4.1.3")
    assert "was JSON, not form-encoded" in token_request_shape(sent("POST", "application/json"), "4.1.3")
    assert "RFC 6749 section 4.1.3" in token_request_shape(sent("POST", "application/json"), "4.1.3")
    assert token_request_shape(sent("POST", "application/x-www-form-urlencoded; charset=UTF-8"), "4.1.3") == ""


def test_the_summary_of_a_rule_names_every_fault_that_failed_it():
    """APPC-21 failed on two of its five faults: what failed (compliance.md, the certificate, the
    terminal's warnings) names both, not only the first."""
    accepted = "after the fault {} the application showed the text 'Welcome': it accepted a response it must refuse"
    scenarios = [
        {"status": "passed", "reason": ""},
        {"status": "failed", "reason": accepted.format("id-token-nonce-wrong")},
        {"status": "passed", "reason": ""},
        {"status": "failed", "reason": accepted.format("id-token-nonce-missing")},
        {"status": "failed", "reason": accepted.format("id-token-nonce-missing")},
    ]
    summary = reason_of({"rule_id": "APPC-21", "status": "failed", "scenarios": scenarios})
    assert summary == f"{accepted.format('id-token-nonce-wrong')}; {accepted.format('id-token-nonce-missing')}"


def test_the_record_names_each_kind_of_token_requests_client_authentication():
    """social-auth-core redeems its code with HTTP Basic and refreshes with client_secret in the form
    body: the record names both, each with its kind; one method for every request is named alone."""
    from types import SimpleNamespace

    from appside.steps.sign_ins import note_client_authentication

    def noted(*requests: RecordedRequest) -> str:
        scenario = SimpleNamespace(node=SimpleNamespace(stash=pytest.Stash(), user_properties=[]))
        for token_request in requests:
            authentication = client_authentication(token_request, CLIENT_ID, EVERY_CLASS)
            note_client_authentication(scenario, token_request, authentication)  # type: ignore[arg-type]
        return dict(scenario.node.user_properties)["client_authentication"]

    basic = (quote_plus(CLIENT_ID), quote_plus(EVERY_CLASS))
    redemption = _token_request(*basic, form=(("grant_type", "authorization_code"), ("code", "c")))
    refresh_in_form = RecordedRequest(
        0.0,
        "POST",
        "/connect/token",
        (),
        (("grant_type", "refresh_token"), ("client_id", CLIENT_ID), ("client_secret", EVERY_CLASS)),
        {"Content-Type": "application/x-www-form-urlencoded"},
    )
    refresh_basic = _token_request(*basic, form=(("grant_type", "refresh_token"),))
    in_basic = "HTTP Basic, form-urlencoded (RFC 6749 section 2.3.1)"
    assert noted(redemption, refresh_in_form) == (
        f"code redemption: {in_basic}; refresh: client_secret in the form body"
    )
    assert noted(redemption, refresh_basic, redemption) == in_basic
    # x/oauth2's auto-detection: HTTP Basic first, then the form after a 401
    redemption_in_form = RecordedRequest(
        0.0, "POST", "/connect/token", (), (("grant_type", "authorization_code"), *refresh_in_form.form[1:]), {}
    )
    assert noted(redemption, redemption_in_form) == (
        f"code redemption: {in_basic}, then client_secret in the form body"
    )


def _public_clients_secret_verdict(sent: list) -> None:
    """APPC-09's verdict for a native app whose two sign-ins each sent the requests `sent`."""
    from types import SimpleNamespace

    from appside.steps.requests_sent import no_secret_from_public_app
    from appside.steps.sign_ins import AppRun

    native = SimpleNamespace(app_type="native", client_id="google-native-app", is_interactive=True)
    no_secret_from_public_app(
        native, AppRun(sign_ins=[SimpleNamespace(finished=True)] * 2, observed=[Observed(sent)] * 2)
    )


_AUTHORIZE = RecordedRequest(0.0, "GET", "/connect/authorize", (("response_type", "code"),), (), {}, "", 302)


def _redemption(basic: bytes) -> RecordedRequest:
    header = {"Authorization": "Basic " + base64.b64encode(basic).decode()}
    form = (("grant_type", "authorization_code"), ("code", "c"), ("code_verifier", "v" * 43))
    return RecordedRequest(1.0, "POST", "/connect/token", (), form, header, "", 200, response_json={})


def test_a_native_apps_basic_header_with_an_empty_password_sends_no_secret():
    """requests-oauthlib's default for google-auth-oauthlib's InstalledAppFlow: Basic "client_id:"."""
    _public_clients_secret_verdict([_AUTHORIZE, _redemption(b"google-native-app:")])


def test_a_native_apps_embedded_secret_in_basic_fails_app_09():
    """An outsider's InstalledAppFlow with a Google-style installed config (client_secret "GOCSPX-...")."""
    from suite.verdict.checks import Delivered

    with pytest.raises(Delivered, match=r"POST /connect/token \(in an HTTP Basic header, 2 times\)"):
        _public_clients_secret_verdict([_AUTHORIZE, _redemption(b"google-native-app:GOCSPX-a%2Bb%2541")])


def test_no_token_request_seen_is_no_evidence_that_no_secret_is_sent():
    """The outsider's app crashed before any token request (UnicodeEncodeError on its secret): APPC-09 passed."""
    from suite.verdict.checks import NothingToCheck

    with pytest.raises(NothingToCheck, match="sent no token request, so whether it sends a client secret"):
        _public_clients_secret_verdict([_AUTHORIZE])
