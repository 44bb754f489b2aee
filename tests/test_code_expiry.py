"""CODE-04's code is got at the start of the run and its scenario runs last (steps/code_expiry.py):
the report still shows that sign-in in the scenario, the code is as old as the rule wants when it
is redeemed, and a server whose codes never expire still fails."""

import json

from run import run_suite


def test_the_expiry_scenario_runs_last_and_reports_its_early_sign_in(tmp_path):
    results = tmp_path / "allure"
    run = run_suite("--rule=CODE-04", "--rule=SVC-01", f"--alluredir={results}", "-q", "-p", "no:cacheprovider")
    assert run.returncode == 0, run.stdout[-3000:]
    scenarios = {r["name"].split()[0]: r for r in map(json.loads, (p.read_text() for p in results.glob("*-result.json")))}
    expiry = scenarios["CODE-04"]
    assert expiry["start"] > scenarios["SVC-01"]["stop"], "CODE-04 did not run last"
    first, control, wait, *_ = expiry["steps"]
    assert first["name"].endswith("at the start of the run")
    assert control["name"].endswith("after the client got and redeemed a newer one") and control["status"] == "passed"
    signed_in = [a["name"] for a in first["attachments"]]
    assert "POST /account/login -> 302" in signed_in and "authorization -> callback" in signed_in, signed_in
    [age] = wait["attachments"]
    text = (results / age["source"]).read_text()
    came_back = float(text.split("The code came back ")[1].split(" s ago")[0])
    assert came_back >= 3 + 1, text  # environments/sandbox.yaml's lifetime and the margin


def test_codes_that_never_expire_fail_the_expiry_rule_alone(tmp_path):
    record = tmp_path / "compliance.json"
    run = run_suite("--rule=CODE-04", "--defect=code-never-expires", f"--compliance={record}", "-q")
    assert run.returncode == 1, run.stdout[-3000:]
    assert {r["rule_id"]: r["status"] for r in json.loads(record.read_text())["rules"]} == {"CODE-04": "failed"}


def test_a_refusal_explained_by_newer_codes_is_inconclusive_not_passed(tmp_path):
    """A server whose codes never expire, but which cancels a client's unused codes when it issues
    a newer one, refuses CODE-04's aged code once CODE-05 has signed in with the same client: for
    the wrong reason. Without the control step CODE-04 passed here."""
    record = tmp_path / "compliance.json"
    run = run_suite("--rule=CODE-04", "--rule=CODE-05", "--defect=code-never-expires", "--defect=older-codes-cancelled",
                    f"--compliance={record}", "-q")
    assert run.returncode == 0, run.stdout[-3000:]
    rules = {r["rule_id"]: r for r in json.loads(record.read_text())["rules"]}
    assert rules["CODE-05"]["status"] == "passed" and rules["CODE-04"]["status"] == "skipped", rules
    [scenario] = rules["CODE-04"]["scenarios"]
    assert scenario["reason"].startswith("inconclusive: the server refused a code of the client"), scenario
