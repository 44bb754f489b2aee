"""The application's certification record and report: the same record as the suite's, whose
header names the application and the suite version, each negative scenario naming the fault it
injected, the requests the stand-in recorded attached per scenario, and no secret anywhere: not
the application's client secret (sent in a URL on purpose here, so failures show it), not the
test user's password, no code, verifier or token the stand-in received or issued."""

import json
import re

from outputs import every_output, leaked
from run import ROOT, certify_web_app_verbosely

SECRET = "App-Secret-4c9e1f7b-DO-NOT-LEAK"


def test_the_record_names_the_application_and_the_faults_and_no_secret_reaches_any_output(tmp_path):
    completed, reports, witness = certify_web_app_verbosely(tmp_path, SECRET, "secret-in-url", "APPC-11", "APPC-16")
    terminal = completed.stdout + completed.stderr
    assert completed.returncode == 1, terminal[-3000:]

    record = json.loads((reports / "compliance.json").read_text())
    assert record["application"] == {
        "client_id": "reference-web",
        "type": "web",
        "name": "Reference web app (Authlib Flask client)",
    }
    assert record["suite_version"] and record["failed_rules"] == ["APPC-11"]
    faults = {s["name"]: s.get("injected_fault") for rule in record["rules"] for s in rule["scenarios"]}
    assert faults["APPC-16 A callback with a different state is refused"] == "callback-state-wrong"
    assert faults["APPC-11 The client secret is never put in a URL"] is None
    [appc11] = [rule for rule in record["rules"] if rule["rule_id"] == "APPC-11"]
    assert "MUST NOT be included in the request URI" in appc11["sources"][0]["quote"]  # the sentence it broke

    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    attachments = {
        a["name"]
        for result in results
        for step in [result, *result.get("steps", [])]
        for a in step.get("attachments", [])
    }
    assert any(re.search(r"requests the stand-in received", name) for name in attachments), attachments

    outputs = every_output(terminal, reports, tmp_path)
    secrets = set(witness.read_text().split()) | {SECRET}
    assert len(secrets) > 10, f"only {len(secrets)} secrets witnessed"
    leaks = leaked(outputs, secrets)
    assert not leaks, f"secrets found in output: {leaks[:10]}"


def test_a_conformant_run_with_a_warning_exits_0_and_its_record_speaks_of_the_application(tmp_path):
    """The application side exits by its verdict as python -m suite.run does (it exited 1, pytest's
    code for the warned rule's test); the record's warnings are the application's, and a warned
    refusal claims no obligation RFC 9207 puts only on the clients that support it."""
    completed, reports, _ = certify_web_app_verbosely(tmp_path, SECRET, "iss-missing-accepted")
    record = json.loads((reports / "compliance.json").read_text())
    assert record["verdict"] == "conformant with 1 warning", completed.stdout[-3000:]
    assert completed.returncode == 0, completed.stdout[-3000:]
    markdown = (reports / "compliance.md").read_text()
    assert "## Warnings: warning-level rules the application does not keep" in markdown
    [appc25] = [rule for rule in record["rules"] if rule["rule_id"] == "APPC-25"]
    reasons = " ".join(s["reason"] for s in appc25["scenarios"])
    assert "a response that a client supporting RFC 9207 must refuse" in reasons, reasons
    assert "a response it must refuse" not in reasons, reasons


def test_compliance_md_labels_each_rule_by_where_its_sentence_comes_from():
    """compliance.md said "beyond the pages" of every APPC rule, APPC-01 to 03 too, which quote Visma's
    own pages: the record names the statements an APPC rule quotes (features/coverage_map.yaml), and
    its other sources where it quotes none, as the server side's record does."""
    from appside.record import application_rule_statements
    from suite.reports.record_markdown import render_markdown

    rules = []
    for rule_id in ("APPC-01", "APPC-02", "APPC-03", "APPC-28"):
        statements, beyond = application_rule_statements(rule_id)
        rules.append(
            {
                "rule_id": rule_id,
                "title": "t",
                "severity": "critical",
                "status": "passed",
                "documentation": "",
                "scenarios": [{"status": "passed", "reason": ""}],
                "statements": statements,
                "beyond_documentation": beyond,
            }
        )
    counts = {"passed": 4, "failed": 0, "error": 0, "skipped": 0}
    record = {
        "verdict": "conformant",
        "environment": "application x",
        "issuer": "http://127.0.0.1:1",
        "counts": counts,
        "client_ids": {"spa": "x"},
        "suite_version": "0",
        "started": "",
        "finished": "",
        "sandbox_defects": [],
        "tls_verification": "",
        "failed_rules": [],
        "rules": rules,
    }
    rows = {
        line.split(" | ")[0]: line.split(" | ")[2] for line in render_markdown(record).splitlines() if "APPC-" in line
    }
    row = {
        next(r for r in ("APPC-01", "APPC-02", "APPC-03", "APPC-28") if r in key): value for key, value in rows.items()
    }
    assert row["APPC-01"] == "II-17, II-14" and row["APPC-02"] == "II-18" and row["APPC-03"] == "II-20"
    assert row["APPC-28"] == "beyond the pages: RFC 6749 section 10.1, RFC 6749 section 10.3, RFC 6749 section 10.4"


def test_appc23_quotes_invalid_grant_and_the_visma_section_its_link_names():
    """APPC-23 quoted RFC 6749 section 5.2's invalid_client, which says nothing of a code used twice; the sentence
    that does is invalid_grant. And its link named Interactive Integrations' Step 4 while its Statements column said
    "beyond the pages": the catalogue quotes that section's sentence on the code a redemption uses."""
    from appside.record import application_rule_sources, application_rule_statements
    from suite.configuration.rules import rule_of

    quotes = [
        s.get("quote", "") for s in application_rule_sources("APPC-23") if s.get("source") == "RFC 6749 section 5.2"
    ]
    assert [q.split(":")[0] for q in quotes] == ["invalid_grant"], quotes
    assert "is invalid, expired, revoked, does not match the redirection URI" in quotes[0]
    statements, _ = application_rule_statements("APPC-23")
    feature = (ROOT / "appside/features/interactive_requests.feature").read_text()
    tags = next(line.split() for line in feature.splitlines() if "@rule:APPC-23 " in line)
    rule = rule_of([tag.removeprefix("@") for tag in tags])
    assert rule is not None and [(s["page"], s["section"]) for s in statements] == [tuple(rule.doc.split("#"))]


def test_compliance_md_writes_an_ampersand_as_itself_where_it_begins_no_character_reference():
    """A Rust service's client id rust-svc+id&1 read "rust-svc+id&amp;1" in compliance.md's raw Markdown: an & that
    begins no character reference is text as it stands, one that would (&lt;) is still written &amp;."""
    from suite.reports.record_markdown import _text

    assert _text("rust-svc+id&1") == "rust-svc+id&1"
    assert _text("a&b c & d") == "a&b c & d"
    assert _text("&lt;script&gt; &#60; &#x3C;") == "&amp;lt;script&amp;gt; &amp;#60; &amp;#x3C;"


def test_a_token_request_is_named_with_its_article():
    """APPC-11 said "(a authorization_code request)"."""
    from appside.observed import Observed
    from appside.steps.client_secret import _grant
    from sandbox.app import PATHS
    from sandbox.recording import RecordedRequest

    def named(grant_type: str) -> str:
        request = RecordedRequest(0.0, "POST", PATHS["token_endpoint"], (), (("grant_type", grant_type),), {}, "", 200)
        return _grant(request, Observed([request]))

    assert named("authorization_code") == " (an authorization_code request)"
    assert named("refresh_token") == " (a refresh_token request)"


def test_a_service_leak_names_the_run_it_was_found_in_not_the_flow_of_two_runs():
    """A service that printed its token in its first run was said to have done so "in the run 'short-lived access
    token, API used after expiry'", the flow of two runs around the expiry (its first run its normal one): each run
    is a flow of its own, with the requests from its start to the next run's."""
    from appside.concurrent import EXPIRY
    from appside.observed import Observed
    from appside.service_driver import ServiceRun
    from appside.steps.leaks import _each_run
    from sandbox.recording import RecordedRequest

    first, second = ServiceRun(True, "ok", started=10.0), ServiceRun(True, "ok", started=20.0)
    requests = [RecordedRequest(at, "POST", "/connect/token", (), (), {}, "", 200) for at in (10.5, 20.5)]
    flows = _each_run(EXPIRY, [first, second], Observed(requests))
    assert [(title, runs, [o.entries for o in observed]) for title, runs, observed in flows] == [
        (f"{EXPIRY}, run 1 of 2", [first], [[requests[0]]]),
        (f"{EXPIRY}, run 2 of 2", [second], [[requests[1]]]),
    ]
