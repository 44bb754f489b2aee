"""`python -m appside.certify --compliance=DIR/NAME.json`: the whole set follows the record (JUnit,
Allure results and the HTML report into DIR), so no folder holds a report of this run next to
another run's record (docs/certify-application.md)."""

import os
import subprocess
import sys

from run import ROOT

APPLICATION = ROOT / "examples" / "service_app" / "application.yaml"
ENVIRON = {**os.environ, "SERVICE_APP_CLIENT_SECRET": "Service-Secret-5a1c7e"}


def _certify(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "appside.certify", f"--app={APPLICATION}", *arguments],
        cwd=ROOT,
        env=ENVIRON,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_record_outside_the_reports_folder_is_a_configuration_problem(tmp_path):
    reports, elsewhere = tmp_path / "reports", tmp_path / "elsewhere"
    reports.mkdir()
    (reports / "compliance.json").write_text('{"verdict": "conformant"}')
    result = _certify(f"--reports={reports}", f"--compliance={elsewhere / 'y.json'}")
    assert result.returncode == 4, result.stdout[-2000:] + result.stderr[-2000:]
    assert result.stderr.splitlines()[0] == "ERROR: configuration problem"
    assert f"--compliance={elsewhere / 'y.json'} is outside --reports={reports}" in result.stderr
    assert sorted(p.name for p in reports.iterdir()) == ["compliance.json"] and not elsewhere.exists()


def test_the_whole_set_follows_the_record(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    result = _certify(f"--compliance={elsewhere / 'y.json'}", "--rule=APPC-01")
    assert result.returncode in (0, 5), result.stdout[-2000:] + result.stderr[-2000:]
    written = {p.name for p in elsewhere.iterdir()}
    assert {"y.json", "y.md", "junit.xml", "allure-results"} <= written, written
