"""Answers the documents allow pass. Each variant switches the sandbox to an answer a real server
gave, which the suite once failed; every rule must still pass (or, where the answer shows nothing
about the rule, be skipped with the reason)."""

import json

import pytest
from once_per_run import once_per_run
from run import SANDBOX_YAML, run_suite, write_environment

from sandbox.defects import VARIANTS
from suite.verdict.exit_codes import EXIT_CONFORMANT, exit_code
from suite.wire.server import oauth_metadata_url


@pytest.fixture(scope="module")
def variant_records(request, tmp_path_factory) -> tuple[dict, str]:
    """({variant: its compliance record}, the run's last lines) for the variants this module's selected
    tests judge: every scenario against each of them, in one run of the suite's matrix mode (one
    sandbox serving each variant under an issuer of its own, each judged by a record computed as a
    normal run's is, suite.matrix.defect_matrix), where a run of its own each cost a pytest start and the
    waits for a code and a token to expire, eleven times over."""
    wanted = sorted(
        item.callspec.params["variant"]
        for item in request.session.items
        if item.module is request.module and "variant_records" in getattr(item, "fixturenames", ())
    )

    def run() -> tuple[dict, str]:
        record = tmp_path_factory.mktemp("variants") / "matrix.json"
        result = run_suite(
            f"--defect-matrix={','.join(wanted)}",
            "--defect-matrix-without-clean",
            f"--compliance={record}",
            "-q",
            "-p",
            "no:cacheprovider",
            "--tb=native",
            timeout=540,
        )
        return (json.loads(record.read_text()) if record.exists() else {}), result.stdout[-3000:]

    # once for the whole test run, whichever workers its tests go to (the xdist group alone does not hold them
    # together with pytest 9: pytest-xdist 3.8 marks a group in an attribute the node id no longer reads)
    return once_per_run(tmp_path_factory, "allowed-variants", run)


@pytest.mark.timeout(600)  # the run of every variant, for the first of them
@pytest.mark.xdist_group("allowed-variants")  # with the run they share, made once (variant_records)
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_an_allowed_answer_fails_no_rule(variant, variant_records, tmp_path):
    records, output = variant_records
    record = records.get(variant)
    # the exit code a run of its own would have ended with (suite.run), and no rule failed
    if record and exit_code(record["verdict"]) == EXIT_CONFORMANT and record["failed_rules"] == []:
        return
    # A stray result on a loaded machine (a code redeemed past the sandbox's 2 s lifetime, as the detection
    # matrix sees now and then) is judged again in a run of the variant's own, as each was before: an answer
    # the suite fails fails there too.
    first = (record or {}).get("verdict"), (record or {}).get("failed_rules"), (record or {}).get("error_rules")
    alone = tmp_path / "compliance.json"
    result = run_suite(f"--defect={variant}", f"--compliance={alone}", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0, (first, output if record is None else "", result.stdout[-3000:])
    assert json.loads(alone.read_text())["failed_rules"] == [], first


def test_a_service_client_judged_by_its_made_up_refresh_token_is_inconclusive_not_failed(tmp_path):
    result = run_suite("--defect=refresh-token-judged-first", "--rule=SVC-13", "-q", "-rs", "-p", "no:cacheprovider")
    assert result.returncode == 0 and "1 skipped" in result.stdout, result.stdout
    assert "not checked: the server judged the made-up refresh token" in result.stdout


def test_rfc8414_metadata_is_read_at_the_path_rule_of_section_3():
    assert (
        oauth_metadata_url("https://connect.example")
        == "https://connect.example/.well-known/oauth-authorization-server"
    )
    assert (
        oauth_metadata_url("https://idp.example/realms/visma/")
        == "https://idp.example/.well-known/oauth-authorization-server/realms/visma"
    )


def test_a_declared_grace_period_is_waited_out_before_the_used_refresh_token_must_fail(tmp_path):
    """Visma's one-time rotation keeps the old refresh token for 5-60 s: undeclared, that fails RT-02
    (the matrix shows it); declared, the suite waits past it and then requires invalid_grant."""
    path = write_environment(
        tmp_path,
        SANDBOX_YAML.replace(
            "refresh_token_rotation: one_time", "refresh_token_rotation: one_time\n  refresh_token_reuse_grace: 3"
        ),
    )
    result = run_suite(f"--env={path}", "--rule=RT-02", "--defect=refresh-reuse-grace", "-q", "-p", "no:cacheprovider")
    assert result.returncode == 0 and "1 passed" in result.stdout, result.stdout[-2000:]


def test_a_web_app_refused_its_pkce_code_without_secret_passes_where_the_environment_says_so(tmp_path):
    path = write_environment(
        tmp_path, SANDBOX_YAML.replace("plain_pkce: refused", "plain_pkce: refused\n  web_pkce_without_secret: refused")
    )
    refusing = run_suite(
        f"--env={path}", "--rule=APP-04", "--defect=web-pkce-without-secret-refused", "-q", "-p", "no:cacheprovider"
    )
    assert refusing.returncode == 0 and "1 passed, 1 skipped" in refusing.stdout, refusing.stdout[-2000:]
    accepting = run_suite(f"--env={path}", "--rule=APP-04", "-q", "-p", "no:cacheprovider")
    assert accepting.returncode == 1 and "1 failed, 1 skipped" in accepting.stdout, accepting.stdout[-2000:]


def test_opaque_access_tokens_declared_make_the_jwt_rule_not_applicable_with_the_reason(tmp_path):
    """Issue 10: the token format is a rule of its own for every server; an environment whose tokens
    are opaque says so, and the record then shows the JWT rule not applicable and why, not passed."""
    path = write_environment(
        tmp_path, SANDBOX_YAML.replace("plain_pkce: refused", "plain_pkce: refused\n  access_token_format: opaque")
    )
    record = tmp_path / "compliance.json"
    result = run_suite(
        f"--env={path}", "--defect=access-token-opaque", f"--compliance={record}", "-q", "-p", "no:cacheprovider"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    rules = {rule["rule_id"]: rule for rule in json.loads(record.read_text())["rules"]}
    assert rules["AT-01"]["status"] == "skipped"
    assert all(
        s["reason"].startswith("not applicable: ") and "access_token_format: opaque" in s["reason"]
        for s in rules["AT-01"]["scenarios"]
    )
    undeclared = run_suite(
        "--defect=access-token-opaque", "--rule=AT-01", f"--compliance={record}", "-q", "-p", "no:cacheprovider"
    )
    assert undeclared.returncode == 1, undeclared.stdout[-3000:]


def test_an_endpoint_declared_not_offered_passes_and_the_report_shows_why(tmp_path):
    """Issue 10: the environment file may say an optional endpoint is not offered; DISC-02 then
    passes without it, and the HTML report's step says which endpoint and why."""
    reason = "tokens here live five minutes and are never revoked"
    path = write_environment(
        tmp_path,
        SANDBOX_YAML.replace(
            "plain_pkce: refused", f'plain_pkce: refused\n  endpoints_not_offered:\n    revocation_endpoint: "{reason}"'
        ),
    )
    results = tmp_path / "allure-results"
    passing = run_suite(
        f"--env={path}",
        "--defect=discovery-missing-endpoint",
        "--rule=DISC-02",
        f"--alluredir={results}",
        f"--compliance={tmp_path / 'compliance.json'}",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    assert passing.returncode == 0, passing.stdout[-3000:]
    attachments = [p.read_text(errors="replace") for p in results.glob("*-attachment*")]
    assert any("revocation_endpoint: not offered" in text and reason in text for text in attachments)
    undeclared = run_suite("--defect=discovery-missing-endpoint", "--rule=DISC-02", "-q", "-p", "no:cacheprovider")
    assert undeclared.returncode == 1 and "revocation_endpoint is missing" in undeclared.stdout, undeclared.stdout[
        -3000:
    ]


def test_jwt_access_tokens_without_typ_pass_where_the_environment_declares_none(tmp_path):
    """Spring Authorization Server's JwtGenerator writes only alg (and kid) in the header, no client_id
    claim, and scope as a JSON array. RFC 9068's typ and its REQUIRED claims bind a server of that
    profile, the default: undeclared, AT-01 fails and says the typ is missing; declared
    (expectations.access_token_typ: none), the server is held to the claims its tokens carry."""
    undeclared = run_suite("--rule=AT-01", "--defect=access-token-without-typ", "-q", "-p", "no:cacheprovider")
    assert undeclared.returncode == 1 and "2 failed" in undeclared.stdout, undeclared.stdout[-3000:]
    assert "its typ header is missing" in undeclared.stdout and "None" not in undeclared.stdout.split("FAILURES")[-1]
    path = write_environment(
        tmp_path, SANDBOX_YAML.replace("plain_pkce: refused", "plain_pkce: refused\n  access_token_typ: none")
    )
    declared = run_suite(
        f"--env={path}",
        "--rule=AT-01",
        "--rule=RT-01",  # the refreshed token is held to the same profile
        "--defect=access-token-without-typ",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    assert declared.returncode == 0 and "3 passed" in declared.stdout, declared.stdout[-3000:]
    expired = run_suite(
        f"--env={path}", "--rule=AT-01", "--defect=access-token-expired", "-q", "-p", "no:cacheprovider"
    )
    assert expired.returncode == 1 and "2 failed" in expired.stdout, "the times are still checked: " + expired.stdout


def test_revocation_rules_are_skipped_not_blocked_where_the_endpoint_is_declared_not_offered(tmp_path):
    """LemonLDAP::NG 2.16 has no revocation endpoint, declared so, and gave no refresh token: REV-02 and
    REV-03 were "blocked by RT-01", where a rule the environment declares nothing to judge for is skipped
    (docs/reference-environment-keys.md, endpoints_not_offered): the endpoint is asked for first."""
    reason = "no RFC 7009 revocation endpoint"
    path = write_environment(
        tmp_path,
        SANDBOX_YAML.replace(
            "plain_pkce: refused", f'plain_pkce: refused\n  endpoints_not_offered:\n    revocation_endpoint: "{reason}"'
        ),
    )
    record = tmp_path / "compliance.json"
    result = run_suite(
        f"--env={path}",
        "--defect=discovery-missing-endpoint",
        "--defect=no-refresh-token",
        "--rule=RT-01",
        "--rule=REV-02",
        "--rule=REV-03",
        f"--compliance={record}",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    rules = {r["rule_id"]: r for r in json.loads(record.read_text())["rules"]}
    statuses = {rule: rules[rule]["status"] for rule in ("RT-01", "REV-02", "REV-03")}
    assert statuses == {"RT-01": "failed", "REV-02": "skipped", "REV-03": "skipped"}, result.stdout[-3000:]
    assert reason in rules["REV-02"]["scenarios"][0]["reason"]
