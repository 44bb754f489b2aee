"""The certificate (python -m suite.reports.certificate): one page, HTML and PDF printed by Debian's
Chromium, for a conformant and intact record only, naming the run, the CI job, every rule's
status and the record's digest."""

import json
import os
import re
import subprocess
import sys

import pytest
import yaml
from run import ROOT, run_suite

from suite.wire.browser import chromium_path

GITLAB_JOB = {
    "GITLAB_CI": "true",
    "GITLAB_USER_LOGIN": "qa.lead",
    "CI_PROJECT_PATH": "acme/visma-app",
    "CI_JOB_NAME": "conformance",
    "CI_JOB_URL": "https://gitlab.example/acme/visma-app/-/jobs/42",
}


def _record(tmp_path, name, *args, environ=None, every_rule=False):
    """A record of three rules; of every rule where the verdict must be "conformant" (a run that
    leaves out a blocker or critical rule is "incomplete", and gets no certificate)."""
    path = tmp_path / name / "compliance.json"
    rules = () if every_rule else ("--rule=SVC-01", "--rule=SVC-07", "--rule=DISC-01")
    result = run_suite(*rules, f"--compliance={path}", *args, environ=environ)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    return path


def _certificate(record, out):
    return subprocess.run(
        [sys.executable, "-m", "suite.reports.certificate", str(record), "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.skipif(chromium_path() is None and not os.environ.get("CI"), reason="needs Debian's chromium")
def test_a_conformant_run_gets_a_one_page_certificate_in_html_and_pdf(tmp_path):
    record_path = _record(tmp_path, "conformant", environ=GITLAB_JOB, every_rule=True)
    record = json.loads(record_path.read_text())
    result = _certificate(record_path, tmp_path / "out")
    assert result.returncode == 0, result.stderr
    page = (tmp_path / "out" / "certificate.html").read_text()
    for fact in (
        "CONFORMANT",
        record["environment"],
        record["issuer"],
        "sandbox-service",
        record["suite_version"],
        record["started"],
        "GitLab CI job acme/visma-app / conformance (https://gitlab.example/acme/visma-app/-/jobs/42), "
        "started by qa.lead",
        record["seal"]["digest"],
        "SVC-01",
        "A token request in the documented form is granted",  # titles, not only ids
        "Each app redeems its code with the right verifier",  # an outline's title without its <role>
        "DISC-01",
        "Waivers",
        f"{sum(r['status'] in ('passed', 'warned', 'waived') for r in record['rules'])} rules held",
        "Service Integrations and Interactive Integrations",
        "single-page applications, native applications",
        # the embedded sandbox: a demonstration, and it says so at the top
        "Demonstration: not a certificate",
        "DEMONSTRATION: a run against the embedded sandbox",
        "it certifies no authorization server",
    ):
        assert fact in page, fact
    assert "<role>" not in page and "&lt;role&gt;" not in page and "break-all" not in page  # no mid-word breaks
    pdf = (tmp_path / "out" / "certificate.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == 1


def test_no_certificate_for_a_run_that_is_not_conformant(tmp_path):
    record_path = _record(tmp_path, "broken", "--defect=no-store-missing")
    result = _certificate(record_path, tmp_path / "out")
    assert result.returncode == 1
    assert "no certificate: the run is not conformant (SVC-07)" in result.stderr
    assert not (tmp_path / "out").exists()


def test_no_certificate_for_an_edited_record(tmp_path):
    record_path = _record(tmp_path, "edited")
    record = json.loads(record_path.read_text())
    record["issuer"] = "https://connect.visma.com"
    record_path.write_text(json.dumps(record))
    result = _certificate(record_path, tmp_path / "out")
    assert result.returncode == 4
    assert "seal does not hold" in result.stderr and "issuer" in result.stderr


def test_a_waived_run_gets_a_certificate_that_names_its_waivers(tmp_path):
    """The record of a run whose failure a waiver accepts (as the CI command writes it)."""
    from suite.reports.certificate import render_html
    from suite.reports.record_seal import seal

    record = json.loads(_record(tmp_path, "waived").read_text())
    rule = next(r for r in record["rules"] if r["rule_id"] == "SVC-07")
    rule["status"], record["verdict"] = "waived", "conformant with 1 waiver"
    # and what repeats the rules' statuses, as a run with the waiver writes it (verify checks they agree)
    record["waived_rules"], record["not_run_rules"] = ["SVC-07"], []
    record["counts"]["passed"], record["counts"]["waived"] = record["counts"]["passed"] - 1, 1
    record["waivers"] = [
        {
            "rule": "SVC-07",
            "scenario": None,
            "reason": "gateway strips Cache-Control",
            "reference": "JIRA-12",
            "accepted_by": "qa.lead",
            "expires": "2027-01-31",
        }
    ]
    path = tmp_path / "waived.json"
    path.write_text(json.dumps(seal(record, environ={})))
    page = render_html(record)
    for fact in (
        "CONFORMANT WITH 1 WAIVER",
        "W SVC-07",
        "gateway strips Cache-Control",
        "ref. JIRA-12",
        "accepted by qa.lead",
        "until 2027-01-31",
    ):
        assert fact in page, fact
    issued = _certificate(path, tmp_path / "out")
    assert issued.returncode == (0 if chromium_path() else 4), issued.stderr  # 4: the HTML without a PDF
    assert "gateway strips Cache-Control" in (tmp_path / "out" / "certificate.html").read_text()


def _service_only_record(tmp_path):
    """A run of an environment with a service client only (a partner without interactive apps)."""
    from run import SANDBOX_YAML, write_environment

    environment = yaml.safe_load(SANDBOX_YAML)
    environment["name"], environment["clients"] = "service-only", {"service": environment["clients"]["service"]}
    text = yaml.safe_dump(environment)
    return _record(tmp_path, "service-only", f"--env={write_environment(tmp_path, text)}", every_rule=True)


def _resealed(record, path, **changes):
    from suite.reports.record_seal import seal

    record = {**json.loads(json.dumps(record)), **changes}
    record.pop("seal", None)
    path.write_text(json.dumps(seal(record, environ={})))
    return path


def test_a_service_only_run_certifies_service_integrations_and_says_what_it_does_not(tmp_path):
    from suite.reports.certificate import render_html

    record = json.loads(_service_only_record(tmp_path).read_text())
    assert record["verdict"] == "conformant" and record["counts"]["skipped"] > 30
    page = render_html(record)
    assert re.search(
        r"<b>\d+ rules held</b> \([^)]*blocker[^)]*\) of the Visma Connect contract for "
        r"<b>Service Integrations</b>, for <b>service applications",
        page,
    ), page[:3000]
    assert "Interactive Integrations</b>" not in page
    assert (
        "Not certified: server-side web applications, single-page applications, native applications (the "
        "environment has no client of that type)"
    ) in page
    # each rule id on one line ("RT-01", never "RT-" then "01")
    assert f"{record['counts']['skipped']} rules did not apply (<span class=id>APP-01</span>, " in page
    assert "span.id { white-space: nowrap; }" in page.replace("code, span.id", "span.id")
    assert "PKCE-01" not in page.split("Rules that held")[1]  # only what held is listed as held


def test_no_certificate_when_a_blocker_rule_of_the_scope_did_not_run(tmp_path):
    """Skipped for want of a client role is outside the scope; skipped for any other reason (here a
    declared capability) leaves the scope uncertified: no certificate, and why."""
    record = json.loads(_service_only_record(tmp_path).read_text())
    rule = next(r for r in record["rules"] if r["rule_id"] == "SVC-01")
    assert rule["severity"] == "blocker"
    rule["status"] = "skipped"
    for scenario in rule["scenarios"]:
        scenario["status"], scenario["reason"] = (
            "skipped",
            "service-only declares no tenants (capabilities.tenants: false)",
        )
    record["counts"]["passed"] -= 1  # the counts repeat the rules' statuses (suite.reports.verify checks)
    record["counts"]["skipped"] += 1
    path = _resealed(record, tmp_path / "skipped.json", embedded_sandbox=False)
    result = _certificate(path, tmp_path / "out")
    assert result.returncode == 1, result.stderr
    assert (
        "no certificate: blocker and critical rules of the certified scope did not run: SVC-01 (blocker): "
        "service-only declares no tenants"
    ) in result.stderr
    assert not (tmp_path / "out").exists()


def test_a_run_against_a_real_server_is_a_certificate_and_names_who_ran_it(tmp_path):
    from suite.reports.certificate import render_html, run_by
    from suite.reports.run_context import who_ran

    record = json.loads(_record(tmp_path, "real").read_text())
    record["embedded_sandbox"], record["sandbox_defects"] = False, []
    page = render_html(record)
    assert "<h1>Certificate of conformance</h1>" in page and "DEMONSTRATION" not in page
    outside_ci = who_ran({})
    assert run_by({"run_by": outside_ci}) == f"{outside_ci['user']}@{outside_ci['host']}, not in CI"
    with_defect = render_html({**record, "sandbox_defects": ["ui-locales-ignored"]})
    assert "DEMONSTRATION: a run against the embedded sandbox with deliberate defects switched on " in with_defect
    assert "(ui-locales-ignored)" in with_defect


def test_rule_titles_read_without_outline_placeholders():
    """A rule's title (record, certificate, the HTML report's story) stands for every row of its
    outline: no raw <role> or <kind>, the rest of the sentence as written."""
    from suite.configuration.rules import FEATURES, rule_title

    names = [
        line.strip().split(": ", 1)[1]
        for path in sorted(FEATURES.glob("*.feature"))
        for line in path.read_text().splitlines()
        if line.strip().startswith("Scenario")
    ]
    assert sum("<" in name for name in names) >= 13
    assert [name for name in names if "<" in rule_title(name)] == []
    assert rule_title("PKCE-01 The <role> app redeems its code") == "PKCE-01 Each app redeems its code"
    assert rule_title("AUTH-02 The callback returns the state exactly as sent (<kind>)") == (
        "AUTH-02 The callback returns the state exactly as sent"
    )
