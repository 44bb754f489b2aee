"""A refusal rule's failure names what required the refusal and cites the sentence it breaks: the
cause of a request granted (the scenario's rule and its sources), and for a refusal with another error
code, the sentence that names the expected one (RFC 6749 section 5.2 for invalid_grant)."""

import json

import pytest
from run import run_suite


@pytest.fixture(scope="module")
def reasons(tmp_path_factory) -> dict[str, str]:
    """{scenario: its reason} under switches that grant or misname the refusals of CODE-02, CODE-05, PKCE-05, -06."""
    record = tmp_path_factory.mktemp("refusals") / "compliance.json"
    defects = (
        "redirect-uri-mismatch-invalid-request",
        "redirect-uri-optional-at-token",
        "pkce-verifier-format-unchecked",
        "pkce-downgrade-accepted",
    )
    rules = ("CODE-02", "CODE-05", "PKCE-05", "PKCE-06")
    run = run_suite(*(f"--defect={d}" for d in defects), *(f"--rule={r}" for r in rules), f"--compliance={record}")
    assert record.exists(), run.stdout[-3000:]
    return {s["name"]: s["reason"] for r in json.loads(record.read_text())["rules"] for s in r["scenarios"]}


def test_a_redirect_uri_mismatch_refused_with_another_code_cites_the_sentence_naming_invalid_grant(reasons):
    reason = reasons["CODE-02 A code redeemed with another redirect_uri is refused"]
    assert "error='invalid_request'" in reason, reason
    assert "does not match the redirection URI used in the authorization request" in reason, reason
    assert "RFC 6749 section 5.2" in reason, reason


@pytest.mark.parametrize(
    "scenario, cause, section",
    [
        (
            "CODE-05 A code redeemed without the redirect_uri its authorization request named is refused",
            "a code redeemed without the redirect_uri its authorization request named",
            "RFC 6749 section 4.1.3",
        ),
        (
            "PKCE-05 A verifier that breaks RFC 7636's form is refused (129 characters)",
            "a verifier that breaks RFC 7636's form (129 characters)",
            "RFC 7636 section 4.1",
        ),
        (
            "PKCE-06 A verifier sent when no challenge was sent is refused",
            "a verifier sent when no challenge was sent",
            "RFC 9700 section 2.1.1",
        ),
    ],
)
def test_a_refusal_rule_granted_names_the_cause_that_required_the_refusal(reasons, scenario, cause, section):
    reason = reasons[scenario]
    assert "the token request was granted (HTTP 200) to " + cause in reason, reason
    assert section in reason and "expected a refusal with invalid_" in reason, reason


def test_a_missing_error_is_said_in_words_never_as_pythons_none(tmp_path):
    """CONS-01 said "the callback's error is None" for a code issued to a user who denied consent, and
    UINFO-05 "a Bearer challenge whose error is None" (an outsider's Spring Authorization Server run)."""
    record = tmp_path / "compliance.json"
    run = run_suite(
        "--defect=consent-denial-ignored",
        "--defect=userinfo-error-code-missing",
        "--rule=CONS-01",
        "--rule=UINFO-05",
        f"--compliance={record}",
    )
    assert record.exists(), run.stdout[-3000:]
    reasons = {
        r["rule_id"]: " ".join(s["reason"] for s in r["scenarios"]) for r in json.loads(record.read_text())["rules"]
    }
    assert "the callback carries no error: a code was issued, not error access_denied" in reasons["CONS-01"], reasons
    assert "its Bearer challenge carries no error attribute" in reasons["UINFO-05"], reasons
    assert "None" not in reasons["CONS-01"] + reasons["UINFO-05"], reasons


def test_a_pkce04_failure_names_the_app_it_failed_for(tmp_path):
    """PKCE-04 runs for the SPA and the native app; its failure said only "the server issued an
    authorization code", which left the reader to find which row of the outline it was."""
    record = tmp_path / "compliance.json"
    run = run_suite("--defect=pkce-not-required", "--rule=PKCE-04", f"--compliance={record}")
    assert record.exists(), run.stdout[-3000:]
    (rule,) = json.loads(record.read_text())["rules"]
    reasons = sorted(s["reason"] for s in rule["scenarios"])
    assert "authorization code to the native app (sandbox-native)" in reasons[0], reasons
    assert "authorization code to the spa app (sandbox-spa)" in reasons[1], reasons
