"""Warning-level rules (@level:warning, suite/configuration/rules.py): a server that breaks one is shown as warned
wherever a failure shows (terminal, record, JUnit, Allure, banner, comparison, merged table,
certificate) with the sentence it breaks, while the verdict stays conformant (exit code 0). AUTH-09
(the login page in the ui_locales language) is one; a rule of any other level still fails the run,
and no blocker or critical rule can be declared warning-level."""

import json
import xml.etree.ElementTree as ET

import pytest
from once_per_run import once_per_run
from run import run_suite

from suite.configuration.rules import RuleMetadataProblem, declared_rules, rule_of, warning_level_rules
from suite.reports.certificate import certifiable, render_html
from suite.reports.merge_records import merge
from suite.reports.record_seal import verify
from suite.reports.report_page import banner

CITATION = "OpenID Connect Core section 3.1.2.1"


@pytest.fixture(scope="module")
def warned_run(tmp_path_factory):
    """Every rule, with the sandbox's login page always in English, after a run where AUTH-09 passed: one run
    however many pytest-xdist workers its tests are spread over (a module's fixture is made once per worker)."""
    return once_per_run(tmp_path_factory, "warned-run", lambda: _warned_run(tmp_path_factory))


def _warned_run(tmp_path_factory):
    reports = tmp_path_factory.mktemp("reports")
    (reports / "run-history.jsonl").write_text(
        json.dumps(
            {
                "environment": "sandbox",
                "finished": "2026-11-01T02:00:00Z",
                "verdict": "conformant",
                "sandbox_defects": [],
                "rules": {"AUTH-09": "passed", "SVC-07": "passed"},
            }
        )
        + "\n"
    )
    result = run_suite(
        f"--alluredir={reports / 'allure-results'}",
        f"--compliance={reports / 'compliance.json'}",
        f"--junitxml={reports / 'junit.xml'}",
        "--defect=ui-locales-ignored",
        "-p",
        "no:cacheprovider",
    )
    return reports, json.loads((reports / "compliance.json").read_text()), result


def test_a_server_ignoring_ui_locales_is_conformant_with_one_warning(warned_run):
    _, record, result = warned_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert record["verdict"] == "conformant with 1 warning"
    assert record["warned_rules"] == ["AUTH-09"] and record["failed_rules"] == [] and record["counts"]["warned"] == 1
    [rule] = [r for r in record["rules"] if r["rule_id"] == "AUTH-09"]
    assert rule["status"] == "warned" and rule["level"] == "warning"
    [scenario] = rule["scenarios"]
    assert scenario["status"] == "warned" and CITATION in scenario["reason"] and "lang='en'" in scenario["reason"]
    assert verify(record) == []  # the seal holds over the new status
    lines = result.stdout.splitlines()
    assert "1 warned" in result.stdout and "failed" not in next(line for line in lines if " passed" in line)
    verdict_at = lines.index("VERDICT: CONFORMANT WITH 1 WARNING")
    assert lines[verdict_at + 1].startswith("warned (warning-level, the verdict stands): AUTH-09 (minor): ")
    assert CITATION in lines[verdict_at + 1]


def test_the_warning_is_in_every_report(warned_run):
    reports, record, _ = warned_run
    markdown = (reports / "compliance.md").read_text()
    assert markdown.startswith("# Verdict: CONFORMANT WITH 1 WARNING")
    assert "## Warnings: warning-level rules the server does not keep (the verdict stands)" in markdown
    assert "| minor | WARNED (failed, warning-level) | 1 warned |" in markdown
    [case] = [c for c in ET.parse(reports / "junit.xml").iter("testcase") if "auth09" in c.get("name")]
    skipped = case.find("skipped")
    assert skipped.get("type") == "warning" and CITATION in skipped.get("message") and case.find("failure") is None
    [allure] = [
        json.loads(p.read_text())
        for p in (reports / "allure-results").glob("*-result.json")
        if json.loads(p.read_text())["name"].startswith("AUTH-09 ")
    ]
    assert allure["status"] == "failed"  # the check failed: see suite/reports/allure_results.py for why not skipped
    assert allure["statusDetails"]["message"].startswith("Warning: a warning-level rule, the verdict stands. AUTH-09")
    page = banner(record)
    assert "CONFORMANT WITH 1 WARNING" in page and "Warnings (warning-level rules that failed" in page
    assert "AUTH-09 (minor)" in page


@pytest.mark.timeout(300)  # the ini's limit, declared so that this whole run is handed out early (tests/conftest.py)
def test_a_rule_going_from_passed_to_warned_is_a_change(warned_run):
    reports, record, result = warned_run
    assert record["changes"]["newly_warned"] == ["AUTH-09"] and record["changes"]["fixed"] == []
    assert "  newly warned: AUTH-09" in result.stdout
    assert "| newly warned | AUTH-09 |" in (reports / "changes.md").read_text()
    table, worst = merge([reports / "compliance.json"])
    assert worst == 0 and "| conformant with 1 warning | 0 |" in table and "| AUTH-09 | - |" in table


def test_the_certificate_lists_the_warnings(warned_run):
    _, record, _ = warned_run
    certifiable(record)  # a conformant verdict with a warning is certified, warnings listed
    page = render_html(record)
    warnings = page.split("<h2>Warnings</h2>")[1].split("<h2>")[0]
    assert "<th>AUTH-09</th>" in warnings and CITATION in warnings
    assert "⚠ AUTH-09" in page


def test_a_failure_of_any_other_rule_still_fails_the_run(tmp_path):
    record_path = tmp_path / "compliance.json"
    result = run_suite(
        "--rule=AUTH-09",
        "--rule=SVC-07",
        "--defect=ui-locales-ignored",
        "--defect=no-store-missing",
        f"--compliance={record_path}",
        "-p",
        "no:cacheprovider",
    )
    record = json.loads(record_path.read_text())
    assert result.returncode == 1, result.stdout[-3000:]
    assert record["verdict"] == "not conformant"
    assert record["failed_rules"] == ["SVC-07"] and record["warned_rules"] == ["AUTH-09"]


@pytest.mark.parametrize("severity", ["blocker", "critical"])
def test_a_blocker_or_critical_rule_cannot_be_warning_level(severity, tmp_path):
    with pytest.raises(RuleMetadataProblem, match=f"a {severity} rule cannot be @level:warning"):
        rule_of(["rule:X-01", f"severity:{severity}", "level:warning"])
    (tmp_path / "x.feature").write_text(
        f"Feature: x\n  @rule:X-01 @severity:{severity} @level:warning\n  Scenario: X-01 something\n    Given a step\n"
    )
    with pytest.raises(RuleMetadataProblem):
        declared_rules(tmp_path)
    assert rule_of(["rule:X-01", "severity:normal", "level:warning"]).level == "warning"


def test_an_unknown_level_is_refused():
    with pytest.raises(RuleMetadataProblem, match="is no level"):
        rule_of(["rule:X-01", "severity:minor", "level:optional"])


def test_the_suites_warning_level_rules():
    """AUTH-09 (preferred languages); PKCE-05 and SVC-14, whose sentences bind the client, not the server;
    the SHOULDs of issue 23: UINFO-05 (RFC 6750 section 3.1), UINFO-07 (OpenID Connect Core section 5.4's
    Voluntary Claims), CODE-07 (RFC 6749 section 4.1.2's revocation of a replayed code's tokens), UINFO-09
    (RFC 6750 section 3.1's 401 and invalid_token for an expired token); AUTH-12 (OpenID Connect Core
    section 3.1.2.1's POST, which Visma Connect's pages never use and the OpenID Foundation's suite warns on);
    PKCE-09 (a missing verifier's error code, which no sentence names)."""
    expected = {"AUTH-09", "PKCE-05", "SVC-14", "UINFO-05", "UINFO-07", "CODE-07", "UINFO-09", "AUTH-12", "PKCE-09"}
    assert warning_level_rules() == expected


def test_the_merged_table_counts_the_rules_that_could_not_be_checked(tmp_path):
    """An application's record counts the rules that ran and found nothing to judge (counts.unchecked),
    apart from the skipped ones: the merged table has their column; a server's record has no such count."""
    counts = {"passed": 20, "failed": 0, "blocked": 0, "waived": 0, "warned": 0, "error": 0, "skipped": 3}
    application = {"environment": "application web", "verdict": "incomplete", "counts": {**counts, "unchecked": 2}}
    server = {"environment": "sandbox", "verdict": "conformant", "counts": counts}
    for name, record in (("app.json", application), ("server.json", server)):
        (tmp_path / name).write_text(json.dumps(record))
    table, worst = merge([tmp_path / "app.json", tmp_path / "server.json"])
    assert "| error | unchecked | skipped |" in table and worst == 5
    assert "| application web | incomplete | 5 | 20 | 0 | 0 | 0 | 0 | 0 | 2 | 3 |" in table
    assert "| sandbox | conformant | 0 | 20 | 0 | 0 | 0 | 0 | 0 | - | 3 |" in table


@pytest.mark.timeout(300)  # the ini's limit, declared so that this whole run is handed out early (tests/conftest.py)
def test_a_missing_verifier_refused_with_invalid_client_passes_pkce03_and_warns_pkce09(tmp_path):
    """Spring Authorization Server answers a code redeemed without its verifier with invalid_client,
    HTTP 401: a refusal, which is what PKCE-03 (a blocker) requires; no sentence names the error code
    for a missing verifier, so PKCE-09 warns. A verifier not required at all still fails PKCE-03, and
    PKCE-09 is blocked by it (no refusal whose code to judge)."""
    record = tmp_path / "compliance.json"
    rules = ("--rule=PKCE-01", "--rule=PKCE-03", "--rule=PKCE-09")
    run_suite("--defect=missing-verifier-invalid-client", *rules, f"--compliance={record}", "-q")
    statuses = {r["rule_id"]: r["status"] for r in json.loads(record.read_text())["rules"]}
    assert statuses == {"PKCE-01": "passed", "PKCE-03": "passed", "PKCE-09": "warned"}, statuses
    run_suite("--defect=pkce-verifier-optional", *rules, f"--compliance={record}", "-q")
    statuses = {r["rule_id"]: r["status"] for r in json.loads(record.read_text())["rules"]}
    assert statuses == {"PKCE-01": "passed", "PKCE-03": "failed", "PKCE-09": "blocked"}, statuses
