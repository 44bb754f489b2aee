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


def _reasons(record) -> dict[str, str]:
    return {s["name"]: s["reason"] for r in json.loads(record.read_text())["rules"] for s in r["scenarios"]}


def test_a_used_refresh_token_accepted_again_is_said_to_be_accepted_not_refused_without_a_code(tmp_path):
    """idpyoidc keeps a rotated refresh token working: RT-02 said "got HTTP 200, error code missing",
    which reads as a refusal without an error code."""
    record = tmp_path / "compliance.json"
    run = run_suite("--defect=refresh-reuse-grace", "--rule=RT-02", f"--compliance={record}")
    assert record.exists(), run.stdout[-3000:]
    reason = _reasons(record)["RT-02 Refresh tokens rotate as the environment declares"]
    assert reason.startswith(
        "the used refresh token was accepted again 1 s after its use: HTTP 200, tokens issued ("
    ), reason
    assert "access_token" in reason and "code missing" not in reason, reason


def test_a_revocation_blocked_by_http_basic_quotes_the_revocations_refusal(tmp_path):
    """REV-01 and REV-02 blocked by SVC-02 repeated SVC-02's own account (the service client's token request
    refused), where what stopped them was the revocation request's refusal of the same HTTP Basic credentials."""
    record = tmp_path / "compliance.json"
    run = run_suite(
        "--defect=basic-auth-refused", "--rule=SVC-02", "--rule=REV-01", "--rule=REV-02", f"--compliance={record}"
    )
    assert record.exists(), run.stdout[-3000:]
    revocations = [reason for name, reason in _reasons(record).items() if name.startswith("REV-")]
    assert len(revocations) == 2, revocations
    for reason in revocations:
        assert reason.startswith(
            "blocked by SVC-02: the revocation endpoint refused the client's HTTP Basic authentication (HTTP 401"
        ), reason
        assert "the token request was refused" not in reason, reason


def test_a_percent_encoded_redirect_uri_taken_says_why_it_is_another_uri(tmp_path):
    """https://app/%63allback decodes to https://app/callback: the failure says why it is another URI all the
    same (RFC 6749 section 3.1.2.3's simple string comparison, RFC 9700 section 2.1's exact matching)."""
    record = tmp_path / "compliance.json"
    run = run_suite("--defect=open-redirect", "--rule=AUTH-05", "-k", "percent", f"--compliance={record}")
    assert record.exists(), run.stdout[-3000:]
    [reason] = [r for name, r in _reasons(record).items() if "percent-encoded" in name]
    assert (
        "'https://web.app.local/%63allback': the browser was redirected to an unregistered redirect_uri (it "
        "decodes to the registered 'https://web.app.local/callback', yet it is another URI" in reason
    ), reason
    assert '"simple string comparison as defined in [RFC3986] Section 6.2.1" (RFC 6749 section 3.1.2.3)' in reason
    assert 'RFC 9700 section 2.1 requires "exact string matching"' in reason
