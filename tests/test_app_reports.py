"""The application's certification record and report: the same record as the suite's, whose
header names the application and the suite version, each negative scenario naming the fault it
injected, the requests the stand-in recorded attached per scenario, and no secret anywhere: not
the application's client secret (sent in a URL on purpose here, so failures show it), not the
test user's password, no code, verifier or token the stand-in received or issued."""

import json
import re

from outputs import every_output, leaked
from run import certify_web_app_verbosely

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


def test_appc23_quotes_invalid_grant_and_no_visma_sentence_that_forbids_nothing():
    """APPC-23 quoted RFC 6749 section 5.2's invalid_client, which says nothing of a code used twice; the sentence
    that does is invalid_grant. And it cited II-26 ("Use the received authorization code ... to request access
    tokens"), which forbids no second use: its sentences are RFC 6749's, beyond the pages, though its link names
    the step of Visma's flow where the code is redeemed."""
    from appside.record import application_rule_sources, application_rule_statements

    quotes = [
        s.get("quote", "") for s in application_rule_sources("APPC-23") if s.get("source") == "RFC 6749 section 5.2"
    ]
    assert [q.split(":")[0] for q in quotes] == ["invalid_grant"], quotes
    assert "is invalid, expired, revoked, does not match the redirection URI" in quotes[0]
    assert application_rule_statements("APPC-23") == ([], "RFC 6749 section 4.1.2, RFC 6749 section 5.2")
