"""A rule whose client or capability the environment lacks is skipped with a reason, never failed."""

import json

import pytest
from run import SANDBOX_YAML, run_suite, write_environment


def _without_block(text: str, header: str) -> str:
    """The environment text without one client block (its header line and the indented lines under it)."""
    lines, out, skipping = text.splitlines(), [], False
    for line in lines:
        if line == header:
            skipping = True
            continue
        if skipping and line.startswith("    "):
            continue
        skipping = False
        out.append(line)
    return "\n".join(out) + "\n"


@pytest.mark.timeout(300)  # the ini's limit, declared so that this whole run is handed out early (tests/conftest.py)
def test_scenarios_of_a_missing_role_are_skipped_with_role_and_file(tmp_path):
    path = write_environment(tmp_path, _without_block(SANDBOX_YAML, "  spa:"))
    record = tmp_path / "compliance.json"
    result = run_suite(f"--env={path}", f"--compliance={record}", "-q", "-rs")
    assert result.returncode == 0, result.stdout + result.stderr
    scenarios = [s for rule in json.loads(record.read_text())["rules"] for s in rule["scenarios"]]
    spa_scenarios = [s for s in scenarios if "spa" in s["id"] or "[spa" in s["name"]]
    skipped = [s for s in scenarios if s["status"] == "skipped"]
    reason = f"no 'spa' client is configured in {path} (clients.spa); add one to run this rule"
    assert skipped and all(
        s["reason"] == reason or "plain PKCE" in s["reason"] or "web_pkce_without_secret" in s["reason"]
        for s in skipped
    ), skipped
    assert len([s for s in skipped if s["reason"] == reason]) >= 15
    assert not [s for s in scenarios if s["status"] == "failed"]
    assert reason in result.stdout
    assert spa_scenarios  # the outline rows named after the role are among them


def test_rules_needing_tenants_are_skipped_when_the_environment_has_none(tmp_path):
    path = write_environment(tmp_path, SANDBOX_YAML + "\ncapabilities:\n  tenants: false\n")
    record = tmp_path / "compliance.json"
    result = run_suite(f"--env={path}", f"--compliance={record}", "-q", "-k", "SVC")
    assert result.returncode == 0, result.stdout + result.stderr
    rules = {r["rule_id"]: r for r in json.loads(record.read_text())["rules"]}
    for rule_id in ("SVC-06", "SVC-10", "SVC-11", "SVC-17"):  # SVC-17: not "missing non_tenant_scope"
        assert rules[rule_id]["status"] == "skipped"
        assert rules[rule_id]["scenarios"][0]["reason"] == "sandbox declares no tenants (capabilities.tenants: false)"
    assert rules["SVC-01"]["status"] == "passed"


@pytest.mark.timeout(300)  # the ini's limit, declared so that this whole run is handed out early (tests/conftest.py)
def test_a_run_where_a_rule_fails_exits_1_and_says_not_conformant(tmp_path):
    record = tmp_path / "compliance.json"
    result = run_suite("--defect=code-reusable", f"--compliance={record}", "-q")
    assert result.returncode == 1
    summary = json.loads(record.read_text())
    assert summary["verdict"] == "not conformant" and summary["failed_rules"] == ["CODE-01"]
    granted = (
        "the token request was granted (HTTP 200), yet CODE-01 says: an authorization code can be redeemed only once"
    )
    assert granted in result.stdout and "expected a refusal with invalid_grant" in result.stdout
