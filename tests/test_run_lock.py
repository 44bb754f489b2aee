"""Two runs into one reports folder: the second stops at once with one line, and the first
keeps its results whole, whether each is started with pytest or with the CI command."""

import json
import os
import subprocess
import sys
import time

import pytest
from run import ROOT, start


def _command(kind, reports, *rules):
    if kind == "pytest":
        return [
            "pytest",
            f"--compliance={reports / 'compliance.json'}",
            f"--alluredir={reports / 'allure-results'}",
            "--clean-alluredir",
            f"--junitxml={reports / 'junit.xml'}",
            *rules,
        ]
    return ["suite.run", f"--reports={reports}", *rules]


@pytest.mark.parametrize("first, second", [("pytest", "pytest"), ("suite.run", "suite.run"), ("pytest", "suite.run")])
def test_a_second_run_into_the_same_folder_stops_and_the_first_keeps_its_results(tmp_path, first, second):
    reports = tmp_path / "reports"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # CODE-04 waits for a code to expire: a run that lasts a few seconds.
    running = start([sys.executable, "-m", *_command(first, reports, "--rule=CODE-04", "--rule=SVC-01")], env)
    try:
        deadline = time.monotonic() + 60
        while not (reports / "allure-results").is_dir():  # made after the folder was locked
            assert time.monotonic() < deadline and running.poll() is None, "the first run never started"
            time.sleep(0.05)
        began = time.monotonic()
        refused = subprocess.run(
            [sys.executable, "-m", *_command(second, reports, "--rule=SVC-01")],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        waited = time.monotonic() - began
        output, _ = running.communicate(timeout=240)
    finally:
        running.kill()
    output_lines = (refused.stderr + refused.stdout).splitlines()
    lines = [line.removeprefix("ERROR: ") for line in output_lines if line.strip()]
    if second == "suite.run":  # the CI command's last line names its code, as for any configuration problem
        assert lines.pop() == "exit code 4: no verdict: configuration problem", lines
    assert refused.returncode == 4 and lines[0] == "configuration problem" and len(lines) == 2, lines
    assert f"the run of process {running.pid}" in lines[1] and "give this run its own folder" in lines[1]
    assert waited < 20
    record = json.loads((reports / "compliance.json").read_text())
    assert {r["rule_id"]: r["status"] for r in record["rules"]} == {"CODE-04": "passed", "SVC-01": "passed"}, output
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    assert len(results) == sum(len(r["scenarios"]) for r in record["rules"]), "the first run's results were touched"
    assert (reports / "junit.xml").exists()


def _alive(pid: int) -> bool:
    try:
        return "zombie" not in open(f"/proc/{pid}/status").read()
    except FileNotFoundError:
        return False


def test_sigterm_ends_the_run_with_its_pytest_and_then_releases_the_folder(tmp_path):
    """kill PID on `python -m suite.run`: its pytest stops too (writing the record of what ran),
    and the folder stays locked until both have ended; a run after it into the folder works."""
    import signal

    reports = tmp_path / "reports"
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    running = subprocess.Popen(
        [sys.executable, "-m", *_command("suite.run", reports, "--rule=CODE-04", "--rule=SVC-01")],
        cwd=ROOT,
        env=env,
        stdout=(tmp_path / "output.txt").open("w"),  # a pipe would also wait for pytest, which inherits it
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (reports / "allure-results").is_dir():
            assert time.monotonic() < deadline and running.poll() is None, "the run never started"
            time.sleep(0.05)
        with open(f"/proc/{running.pid}/task/{running.pid}/children") as listing:
            children = listing.read().split()
        assert children, "no pytest under the CI command"
        running.send_signal(signal.SIGTERM)
        running.wait(timeout=60)
        went_on = [pid for pid in children if _alive(int(pid))]
    finally:
        running.kill()
    output = (tmp_path / "output.txt").read_text()
    assert not went_on, "pytest went on after the CI command ended"
    assert json.loads((reports / "compliance.json").read_text())["verdict"], output[-2000:]
    again = subprocess.run(
        [sys.executable, "-m", *_command("suite.run", reports, "--rule=DISC-01")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert again.returncode == 5 and "configuration problem" not in again.stderr, (again.stdout + again.stderr)[-2000:]


def test_a_users_folder_named_like_a_previous_runs_is_never_deleted(tmp_path):
    reports = tmp_path / "reports"
    mine = reports / ".previous-run-mine"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("mine")
    completed = subprocess.run(
        [sys.executable, "-m", *_command("suite.run", reports, "--rule=DISC-01")],
        cwd=ROOT,
        env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 5, (completed.stdout + completed.stderr)[-2000:]  # one rule: incomplete
    assert (mine / "notes.txt").read_text() == "mine"
    assert [p.name for p in reports.glob(".previous-run-*")] == [mine.name]


def _locked(folder) -> bool:
    import fcntl

    handle = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(handle)
    return False


def test_make_certify_app_holds_its_folder_until_its_html_report_is_written(tmp_path):
    """The HTML report of an application's certification is made while its folder is still locked:
    from before pytest starts until the report has its verdict banner, no other run can write there."""
    if not (ROOT / "node_modules" / ".bin" / "allure").exists() and not os.environ.get("CI"):
        pytest.skip("needs the Allure command line (npm ci); CI installs it")
    reports = tmp_path / "app"
    environ = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "SERVICE_APP_CLIENT_SECRET": "Svc-App-Secret-4c9e1f7b"}
    # -o: the virtual environment as it is (a worktree's is shared, and make would build it again)
    make = ["make", "-s", "-o", ".venv/.installed", f"PY={sys.executable}", f"APP_REPORTS={reports}"]
    certifying = start([*make, "certify-app", "APP=examples/service_app/application.yaml"], environ)
    seen = {"results": False, "report": False}
    try:
        index = reports / "allure-report" / "index.html"
        deadline = time.monotonic() + 240
        while certifying.poll() is None and time.monotonic() < deadline:
            if (reports / "compliance.json").exists() and not seen["results"]:
                seen["results"] = _locked(reports)  # pytest's record written: the report is next
            if index.exists():
                seen["report"] = _locked(reports)  # the report under way (its banner follows)
                break
            time.sleep(0.005)
        output, _ = certifying.communicate(timeout=240)
    finally:
        certifying.kill()
    assert certifying.returncode == 0 and index.exists(), output[-3000:]
    assert seen == {"results": True, "report": True}, output[-3000:]
    assert "HTML report:" in output and not _locked(reports), "the lock ends with the certification"
    assert (reports / "history.jsonl").exists(), "the report's history is the application's, in its folder"
