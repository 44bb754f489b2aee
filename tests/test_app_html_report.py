"""`make certify-app`'s HTML report (appside.certify.html_report): made whatever the application's name, and a
report that could not be made is said in one line (exit 6), never left out in silence."""

import json

import pytest

from appside.certify import html_report
from suite.reports.html_report import ALLURE

HOSTILE_CLIENT_ID = "hx$(touch$IFS/work/outsiders/hostileapp/PWNED-cid)';<b>x</b>"


def _record(reports, client_id: str) -> None:
    (reports / "allure-results").mkdir()
    record = {"environment": f"application {client_id} (web)", "verdict": "conformant", "rules": []}
    (reports / "compliance.json").write_text(json.dumps(record))


@pytest.mark.skipif(not ALLURE.exists(), reason="the Allure command line (package.json) is not installed")
def test_a_client_id_of_shell_metacharacters_and_html_still_gets_its_html_report(tmp_path):
    """Allure 3 refuses an environment id over 64 characters ("Internal Error", exit 0): an outsider's client id
    made one, and the run ended with no HTML report and no line saying so (exit 1)."""
    _record(tmp_path, HOSTILE_CLIENT_ID)
    problem = html_report(tmp_path, tmp_path / "compliance.json")
    assert (tmp_path / "allure-report" / "index.html").exists(), problem
    assert "allure generate" not in problem


@pytest.mark.skipif(not ALLURE.exists(), reason="the Allure command line (package.json) is not installed")
def test_a_report_that_could_not_be_made_is_said_in_one_line(tmp_path):
    _record(tmp_path, "my-web")
    (tmp_path / "allure-report").write_text("a file where the report's folder goes")
    problem = html_report(tmp_path, tmp_path / "compliance.json")
    assert problem.startswith("allure generate made no report") and "\n" not in problem
    assert "\x1b" not in problem
