"""An environment that certifies service integrations only (clients.service, no login) against a
server whose discovery honestly lists only what it supports: the interactive parts of the discovery
rules do not apply (RFC 8414 section 2: the values "this authorization server supports")."""

import json
import re

from run import SANDBOX_YAML, run_suite, write_environment

# The sandbox's file with its service client alone: no interactive client, no login section.
SERVICE_ONLY_YAML = re.sub(r"\n  web:\n.*?\n(?=login:)", "\n\n", SANDBOX_YAML, flags=re.S)
SERVICE_ONLY_YAML = re.sub(r"\nlogin:\n.*?\n(?=expectations:)", "\n", SERVICE_ONLY_YAML, flags=re.S)


def _rules(tmp_path, *options):
    path = write_environment(tmp_path, SERVICE_ONLY_YAML)
    record = tmp_path / "compliance.json"
    result = run_suite(f"--env={path}", "--rule=DISC", f"--compliance={record}", "-q", "-rs", *options)
    return result, {rule["rule_id"]: rule for rule in json.loads(record.read_text())["rules"]}


def test_a_service_only_environment_has_no_interactive_client():
    assert "clients:\n  service:" in SERVICE_ONLY_YAML
    assert "\n  web:" not in SERVICE_ONLY_YAML and "\n  spa:" not in SERVICE_ONLY_YAML
    assert "\nlogin:" not in SERVICE_ONLY_YAML


def test_a_service_only_discovery_passes_a_service_only_environment(tmp_path):
    result, rules = _rules(tmp_path, "--defect=discovery-service-only", "-p", "no:cacheprovider")
    assert result.returncode == 0, result.stdout[-3000:]
    assert rules["DISC-03"]["status"] == "skipped"
    # worded as every skip for want of a client role, which the certificate leaves outside its scope
    assert "no 'web', 'spa' or 'native' client is configured" in result.stdout
    assert "would use 'S256' in code_challenge_methods_supported" in result.stdout
    assert {s["status"] for s in rules["DISC-04"]["scenarios"]} == {"passed", "skipped"}
    assert all(rules[r]["status"] == "passed" for r in ("DISC-01", "DISC-02", "DISC-05", "DISC-06")), rules


def test_a_service_only_discovery_still_lists_client_credentials(tmp_path):
    result, rules = _rules(tmp_path, "--defect=discovery-missing-grant-types", "-p", "no:cacheprovider")
    assert rules["DISC-04"]["status"] == "failed", result.stdout[-3000:]
    assert "'client_credentials'" in result.stdout


def test_a_service_only_discovery_still_holds_rfc8414s_required_members(tmp_path):
    """Without response_types_supported the metadata falls short of RFC 8414 section 2; the OpenID
    members about ID tokens (subject types, signing algorithms) are not asked of it."""
    result, rules = _rules(tmp_path, "--defect=discovery-required-members-missing", "-p", "no:cacheprovider")
    assert rules["DISC-06"]["status"] == "failed", result.stdout[-3000:]
    assert "response_types_supported is missing (REQUIRED)" in result.stdout
    assert "subject_types_supported" not in result.stdout and "(RFC 8414 section 2)" in result.stdout
