"""Two runs into one reports folder: the second stops at once with one line, and the first
keeps its results whole."""

import json
import os
import subprocess
import sys
import time

from run import ROOT, run_suite


def test_a_second_run_into_the_same_folder_stops_and_the_first_keeps_its_results(tmp_path):
    reports = tmp_path / "reports"
    outputs = (f"--compliance={reports / 'compliance.json'}", f"--alluredir={reports / 'allure-results'}",
               "--clean-alluredir", f"--junitxml={reports / 'junit.xml'}")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    # CODE-04 waits for a code to expire: a run that lasts a few seconds.
    first = subprocess.Popen([sys.executable, "-m", "pytest", "--rule=CODE-04", "--rule=SVC-01", *outputs], cwd=ROOT,
                             env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    try:
        lock = reports / ".run.lock"
        deadline = time.monotonic() + 60
        while f"process {first.pid}" not in (lock.read_text() if lock.exists() else ""):
            assert time.monotonic() < deadline and first.poll() is None, "the first run never took the lock"
            time.sleep(0.05)
        began = time.monotonic()
        second = run_suite("--rule=SVC-01", *outputs)
        waited = time.monotonic() - began
        output, _ = first.communicate(timeout=240)
    finally:
        first.kill()
    lines = [line for line in (second.stdout + second.stderr).splitlines() if line.strip()]
    assert second.returncode == 4 and lines[0] == "ERROR: configuration problem" and len(lines) == 2, lines
    assert f"the run of process {first.pid}" in lines[1] and "give this run its own folder" in lines[1]
    assert waited < 20
    assert first.returncode == 0, output[-3000:]
    record = json.loads((reports / "compliance.json").read_text())
    assert {r["rule_id"] for r in record["rules"]} == {"CODE-04", "SVC-01"}
    results = [json.loads(p.read_text()) for p in (reports / "allure-results").glob("*-result.json")]
    assert len(results) == sum(len(r["scenarios"]) for r in record["rules"]), "the first run's results were touched"
    assert (reports / "junit.xml").exists()
