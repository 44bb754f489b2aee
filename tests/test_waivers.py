"""Waivers (suite/configuration/waivers.py): a failure accepted for a while is shown as waived on the terminal,
in the HTML report's own category and in the record ("conformant with N waivers"); an expired or
stale waiver fails the run and says what to do; a malformed one is a configuration problem."""

import datetime
import json

import pytest
from run import SANDBOX_YAML, run_ci, run_suite, write_environment

from suite.configuration.waivers import Waiver, apply_waivers
from suite.reports.html_report import ALLURE

# The defect no-store-missing drops Cache-Control from token responses: three rules say no-store.
CACHE_RULES = ("SVC-07", "CODE-06", "RT-07")


def _waiver(rule, expires="2099-12-31", **more):
    fields = {
        "rule": rule,
        "reason": "the gateway strips Cache-Control until its upgrade",
        "reference": "JIRA-12",
        "accepted_by": "qa.lead",
        "expires": expires,
        **more,
    }
    return "  - {" + ", ".join(f"{key}: {value}" for key, value in fields.items()) + "}\n"


def _environment(tmp_path, *waivers):
    return write_environment(tmp_path, SANDBOX_YAML + "waivers:\n" + "".join(waivers))


@pytest.mark.timeout(300)  # the ini's limit, declared so that this whole run is handed out early (tests/conftest.py)
def test_waived_failures_are_shown_as_waived_and_the_run_is_conformant_with_waivers(tmp_path):
    # The waivers in a file of their own, which the environment names (relative to itself).
    (tmp_path / "waivers.yaml").write_text("waivers:\n" + "".join(_waiver(rule) for rule in CACHE_RULES))
    environment = write_environment(tmp_path, SANDBOX_YAML + "waivers: waivers.yaml\n")
    reports = tmp_path / "reports"
    result = run_ci(f"--reports={reports}", f"--env={environment}", "--defect=no-store-missing", "-q", "-rx")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "exit code 0: conformant with 3 waivers" in output
    assert "3 xfailed" in output and "XFAIL features/test_features.py::test_svc07" in output
    assert (
        "waived: SVC-07: the gateway strips Cache-Control until its upgrade (ref. JIRA-12, accepted by "
        "qa.lead, until 2099-12-31)" in output
    )
    record = json.loads((reports / "compliance.json").read_text())
    assert record["verdict"] == "conformant with 3 waivers" and record["waived_rules"] == sorted(CACHE_RULES)
    assert {w["rule"] for w in record["waivers"]} == set(CACHE_RULES) and record["counts"]["waived"] == 3
    markdown = (reports / "compliance.md").read_text()
    assert markdown.startswith("# Verdict: CONFORMANT WITH 3 WAIVERS")
    assert "## Waived: failures accepted until their expiry" in markdown and "WAIVED (failed, accepted)" in markdown
    waived = [
        r
        for r in map(json.loads, map(lambda p: p.read_text(), (reports / "allure-results").glob("*-result.json")))
        if r["name"].startswith("SVC-07")
    ]
    assert waived[0]["status"] == "skipped" and waived[0]["statusDetails"]["message"].startswith("Waived: SVC-07")
    if ALLURE.exists():
        from suite.reports.html_report import embedded_files

        categories = json.loads(embedded_files(reports / "allure-report")["widgets/categories.json"])
        names = {n["name"]: n["statistic"]["total"] for n in categories["nodes"].values() if n["type"] == "category"}
        assert names["Waived: a failure accepted until its expiry date (see the record's waivers)"] == 3


def test_an_expired_waiver_fails_the_run_and_says_what_to_do(tmp_path):
    environment = _environment(tmp_path, _waiver("SVC-07", expires="2020-01-31"))
    result = run_ci(
        f"--reports={tmp_path / 'reports'}", f"--env={environment}", "--defect=no-store-missing", "--rule=SVC-07", "-q"
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    assert (
        "WAIVER PROBLEM: waiver for SVC-07 expired on 2020-01-31 (ref. JIRA-12): the failure counts again. "
        "Fix it, or renew the waiver (a new expires date and accepted_by)" in result.stdout
    )
    assert "failed: SVC-07 (critical)" in result.stdout
    assert "**Waiver problem:** waiver for SVC-07 expired" in (tmp_path / "reports" / "compliance.md").read_text()


def test_a_stale_waiver_fails_the_run_and_says_to_remove_it(tmp_path):
    environment = _environment(tmp_path, _waiver("SVC-07"))
    result = run_ci(f"--reports={tmp_path / 'reports'}", f"--env={environment}", "--rule=SVC-07", "-q")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    assert (
        "WAIVER PROBLEM: waiver for SVC-07 is stale: SVC-07 did not fail in this run (ref. JIRA-12). "
        "Remove it from" in result.stdout
    )


@pytest.mark.parametrize(
    "waiver, says",
    [
        (_waiver("NOPE-01"), "waivers[0]: unknown rule id NOPE-01"),
        (
            "  - {rule: SVC-07, reference: JIRA-12, accepted_by: qa.lead, expires: 2099-12-31}\n",
            "waivers[0] (SVC-07): reason is missing",
        ),
        (
            "  - {rule: SVC-07, reason: why, reference: JIRA-12, accepted_by: qa.lead}\n",
            "waivers[0] (SVC-07): expires is missing",
        ),
        (_waiver("SVC-07", expires="next week"), "waivers[0] (SVC-07): expires: next week is not a date ("),
        (_waiver("SVC-07", expires="2027-13-01"), "expires: 2027-13-01 is not a date (month must be in 1..12)"),
        (_waiver("SVC-07", ticket="JIRA-13"), "waivers[0] (SVC-07): ticket: unknown key. Did you mean reference?"),
        # YAML's own date, impossible: the key and the waiver named, not only the line
        (_waiver("SVC-07", expires="2027-02-30"), "waivers[0].expires: 2027-02-30 is not a date"),
    ],
)
def test_a_malformed_waiver_is_a_configuration_problem(tmp_path, waiver, says):
    result = run_suite(f"--env={_environment(tmp_path, waiver)}", "--rule=DISC-01", "-q")
    assert result.returncode == 4, result.stdout + result.stderr
    assert says in result.stderr


def test_a_waiver_with_until_for_expires_is_one_line_naming_the_waiver_and_both_keys(tmp_path):
    """`until:` said "waivers[0]: unknown key until" and, apart, "expires is missing": two lines for one
    cause, the first without the waiver's rule."""
    waiver = _waiver("SVC-07").replace("expires:", "until:")
    result = run_suite(f"--env={_environment(tmp_path, waiver)}", "--rule=DISC-01", "-q")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "waivers[0] (SVC-07): until: unknown key. Did you mean expires? Rename until to expires" in result.stderr
    assert "expires is missing" not in result.stderr


def test_an_impossible_date_in_a_waivers_file_is_one_line(tmp_path):
    (tmp_path / "waivers.yaml").write_text("waivers:\n" + _waiver("SVC-07", expires="2027-02-30"))
    environment = write_environment(tmp_path, SANDBOX_YAML + "waivers: waivers.yaml\n")
    result = run_suite(f"--env={environment}", "--rule=DISC-01", "-q")
    assert result.returncode == 4 and "2027-02-30 is not a date" in result.stderr, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_a_missing_waivers_file_is_a_configuration_problem(tmp_path):
    environment = write_environment(tmp_path, SANDBOX_YAML + "waivers: nowhere.yaml\n")
    result = run_suite(f"--env={environment}", "--rule=DISC-01", "-q")
    assert result.returncode == 4 and "waivers: no such file" in result.stderr, result.stdout + result.stderr


def test_a_waiver_for_one_scenario_leaves_the_rules_other_failures_failing():
    scenarios = [
        {
            "id": "f.py::test_svc08[the form body]",
            "name": "SVC-08 A wrong client secret is refused",
            "status": "failed",
        },
        {"id": "f.py::test_svc08[HTTP Basic]", "name": "SVC-08 A wrong client secret is refused", "status": "failed"},
    ]
    rules = [{"rule_id": "SVC-08", "status": "failed", "scenarios": scenarios}]
    waiver = Waiver("SVC-08", "basic auth is off", "JIRA-1", "qa.lead", datetime.date(2099, 1, 1), "HTTP Basic")
    used, problems = apply_waivers(rules, [waiver], today=datetime.date(2026, 1, 1))
    assert used == [waiver] and problems == []
    assert [s["status"] for s in scenarios] == ["failed", "waived"] and rules[0]["status"] == "failed"


@pytest.mark.timeout(300)  # the ini's limit, declared so that this whole run is handed out early (tests/conftest.py)
def test_a_waiver_covers_a_warning_level_rule_too(tmp_path):
    """A warning accepted for a while is waived like a failure, not reported as a stale waiver."""
    environment = _environment(tmp_path, _waiver("AUTH-09", reason="the login page is English-only until Q3"))
    reports = tmp_path / "reports"
    result = run_ci(f"--reports={reports}", f"--env={environment}", "--defect=ui-locales-ignored", "-q")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert "stale" not in output and "exit code 0: conformant with 1 waiver" in output, output[-3000:]
    assert "1 xfailed" in output and "warned" not in output, output[-3000:]  # the terminal says waived, as the record
    record = json.loads((reports / "compliance.json").read_text())
    assert record["waived_rules"] == ["AUTH-09"] and not record.get("warned_rules"), record["verdict"]


@pytest.mark.timeout(300)  # the ini's limit, declared so that this whole run is handed out early (tests/conftest.py)
def test_a_waived_failure_that_blocks_other_rules_leaves_the_run_incomplete_not_failed(tmp_path):
    """A waiver accepts PKCE-01's known failure; CODE-01, which it blocks, was never checked: neither
    "not conformant" with no rule failed (exit 1) nor conformant, but incomplete (exit 5), naming
    the waived rule that blocks it, in the record, the verdict line and changes.md."""
    from suite.reports.record_consistency import verdict_problems

    environment = _environment(tmp_path, _waiver("PKCE-01"))
    reports = tmp_path / "reports"
    result = run_ci(
        f"--reports={reports}", f"--env={environment}", "--defect=pkce-s256-hex", "--rule=PKCE-01", "--rule=CODE-01"
    )
    output = result.stdout + result.stderr
    assert result.returncode == 5, output[-3000:]
    record = json.loads((reports / "compliance.json").read_text())
    assert (
        record["failed_rules"] == [] and record["waived_rules"] == ["PKCE-01"] and "CODE-01" in record["blocked_rules"]
    )
    assert record["verdict"].startswith("incomplete: 1 rule not checked (blocked by waived PKCE-01)"), record["verdict"]
    assert output.rstrip().splitlines()[-1] == f"exit code 5: {record['verdict']}"
    assert verdict_problems(record) == []
    assert "— 1 not checked (blocked by waived PKCE-01)" in (reports / "changes.md").read_text().splitlines()[0]
