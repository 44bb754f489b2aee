"""The certificate (python -m suite.reports.certificate): one page, HTML and PDF printed by Debian's
Chromium, for a conformant and intact record only, naming the run, the CI job, every rule's
status and the record's digest."""

import json
import os
import re
import subprocess
import sys

import pytest
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
        "qa.lead",
        "GitLab CI",
        "acme/visma-app / conformance",
        "https://gitlab.example/acme/visma-app/-/jobs/42",
        record["seal"]["digest"],
        "SVC-01",
        "SVC-07",
        "DISC-01",
        "Waivers",
    ):
        assert fact in page, fact
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
