"""python -m appside --help shows the command's options and exits 0: it said "configuration problem:
--app missing" and exited 4, as if help were a certification without its application file."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from records import application_record

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("option", ["--help", "-h"])
def test_help_lists_the_options_and_exits_0(option):
    completed = subprocess.run(
        [sys.executable, "-m", "appside", option], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert completed.stdout.startswith("python -m appside --app=PATH [options]")
    assert "--app=PATH" in completed.stdout and "--compliance" in completed.stdout
    assert "configuration problem" not in completed.stdout + completed.stderr


def test_without_app_it_is_still_a_configuration_problem():
    completed = subprocess.run([sys.executable, "-m", "appside"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 4
    assert "--app: missing" in completed.stdout + completed.stderr


def test_a_busy_reports_folder_names_the_application_sides_command(tmp_path):
    """A second certification into a folder another run holds said to use `python -m suite.run
    --reports DIR`, the server side's command."""
    import fcntl
    import os

    handle = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as a first certification into tmp_path holds it
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "appside.certify", f"--reports={tmp_path}", "--app=any.yaml"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        os.close(handle)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 4, output[-2000:]
    assert "is writing its reports here" in output and "python -m appside.certify --reports=DIR" in output, output
    assert "suite.run" not in output, output


@pytest.mark.parametrize("command", ["appside", "appside.certify"])
def test_an_unknown_rule_is_a_usage_error_that_leaves_the_reports_folder_as_it_was(tmp_path, command):
    """--rule NOPE-99 ran nothing, exited 5 and replaced the previous record with an "incomplete" one."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "compliance.json").write_text("{}")  # the previous run's
    options = [f"--compliance={reports / 'compliance.json'}"] if command == "appside" else [f"--reports={reports}"]
    completed = subprocess.run(
        [sys.executable, "-m", command, *options, "--app=examples/service_app/application.yaml", "--rule", "APPC-999"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 4, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "--rule APPC-999: no such rule. Did you mean APPC-" in completed.stderr, completed.stderr
    if command == "appside.certify":  # its last line, as python -m suite.run's (docs/reference-exit-codes.md)
        assert completed.stdout.splitlines()[-1] == (
            "exit code 4: no verdict: configuration problem or usage error (the lines above say which)"
        ), completed.stdout
    assert [p.name for p in reports.iterdir()] == ["compliance.json"] and (
        reports / "compliance.json"
    ).read_text() == "{}"


@pytest.mark.parametrize(
    "command, options, line",
    [
        # pytest-xdist's workers each launched the application and a stand-in: an INTERNALERROR traceback
        ("appside.certify", ["-n", "2"], "-n 2: the application side certifies one application with one stand-in"),
        ("appside", ["-n2"], "-n 2: the application side certifies one application"),
        # the last one was certified, silently
        ("appside", ["--app=examples/web_app/application.yaml"], "--app given 2 times (examples/service_app/"),
        ("appside.certify", ["--reports=elsewhere"], "--reports given 2 times ("),
    ],
)
def test_xdist_or_a_repeated_option_is_one_usage_error_that_leaves_the_reports_folder_as_it_was(
    tmp_path, command, options, line
):
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "compliance.json").write_text("{}")  # the previous run's
    where = [f"--compliance={reports / 'compliance.json'}"] if command == "appside" else [f"--reports={reports}"]
    completed = subprocess.run(
        [sys.executable, "-m", command, *where, "--app=examples/service_app/application.yaml", *options],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "SERVICE_APP_CLIENT_SECRET": "a-secret-of-some-length"},
    )
    assert completed.returncode == 4, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert "Traceback" not in completed.stdout + completed.stderr and "INTERNALERROR" not in completed.stdout
    assert completed.stderr.startswith("ERROR: usage error\n") and line in completed.stderr, completed.stderr
    assert [p.name for p in reports.iterdir()] == ["compliance.json"]
    assert (reports / "compliance.json").read_text() == "{}"


def test_appside_certify_says_its_code_and_the_records_verdict_last(tmp_path):
    from appside.certify import _meaning

    record = tmp_path / "compliance.json"
    record.write_text('{"verdict": "conformant with 2 warnings"}')
    assert _meaning(0, record) == "conformant with 2 warnings"
    assert _meaning(5, record) != "conformant with 2 warnings"  # not this run's verdict: the code's meaning
    assert _meaning(6, None) == "no verdict: the reports could not be written (the line above says why)"


def test_a_configuration_problem_creates_no_reports_folder_and_no_allure_results(tmp_path):
    """An exit-4 run left an empty allure-results/ in the new --reports folder, though such a run changes nothing."""
    app = tmp_path / "application.yaml"
    app.write_text("name: x\napplication:\n  type: SPA\n  client_id: acme\n  scope: openid\ndrive: {}\n")
    reports = tmp_path / "new-reports"
    completed = subprocess.run(
        [sys.executable, "-m", "appside.certify", f"--reports={reports}", f"--app={app}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 4, completed.stdout[-2000:] + completed.stderr[-2000:]
    assert not reports.exists(), list(reports.rglob("*"))
    kept = tmp_path / "kept"
    (kept / "allure-results").mkdir(parents=True)
    (kept / "allure-results" / "old-result.json").write_text("{}")  # the previous run's
    subprocess.run(
        [sys.executable, "-m", "appside.certify", f"--reports={kept}", f"--app={app}"], cwd=ROOT, timeout=120
    )
    assert [p.name for p in (kept / "allure-results").iterdir()] == ["old-result.json"]


def test_compliance_md_shows_the_client_authentication_the_record_keeps():
    from suite.reports.record_markdown import render_markdown

    how = "HTTP Basic, form-urlencoded or as they are (the encoding leaves their characters alone)"
    rule = {
        "rule_id": "APPC-10",
        "severity": "blocker",
        "status": "passed",
        "title": "A web application authenticates at the token endpoint",
        "scenarios": [{"reason": "", "status": "passed", "client_authentication": how}],
    }
    record = application_record(
        {
            "verdict": "conformant",
            "rules": [rule],
            "counts": {"passed": 1, "failed": 0, "blocked": 0, "error": 0, "skipped": 0},
        }
    )
    assert f"client authentication: {how}" in render_markdown(record)
