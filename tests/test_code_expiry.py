"""CODE-04's code is got at the start of the run and its scenario runs last (steps/code_expiry.py):
the report still shows that sign-in in the scenario, the code is as old as the rule wants when it
is redeemed, and a server whose codes never expire still fails."""

import json
import re

from run import SANDBOX_YAML, run_suite, write_environment


def test_the_expiry_scenario_runs_last_and_reports_its_early_sign_in(tmp_path):
    results = tmp_path / "allure"
    run = run_suite("--rule=CODE-04", "--rule=SVC-01", f"--alluredir={results}", "-q", "-p", "no:cacheprovider")
    assert run.returncode == 0, run.stdout[-3000:]
    scenarios = {
        r["name"].split()[0]: r for r in map(json.loads, (p.read_text() for p in results.glob("*-result.json")))
    }
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
    lifetime = int(re.search(r"authorization_code_lifetime: (\d+)", SANDBOX_YAML).group(1))
    assert came_back >= lifetime + 1, text  # environments/sandbox.yaml's lifetime and the margin


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
    run = run_suite(
        "--rule=CODE-04",
        "--rule=CODE-05",
        "--defect=code-never-expires",
        "--defect=older-codes-cancelled",
        f"--compliance={record}",
        "-q",
    )
    assert run.returncode == 0, run.stdout[-3000:]
    rules = {r["rule_id"]: r for r in json.loads(record.read_text())["rules"]}
    assert rules["CODE-05"]["status"] == "passed" and rules["CODE-04"]["status"] == "skipped", rules
    [scenario] = rules["CODE-04"]["scenarios"]
    assert scenario["reason"].startswith("inconclusive: the server refused a code of the client"), scenario


def test_a_refusal_of_a_code_redeemed_past_its_deadline_is_no_verdict(tmp_path):
    """With a declared lifetime of 1 s, less the second a whole-second clock may take, every code is
    past its deadline when redeemed: PKCE-02's refusal of the wrong verifier could mean only that the
    code expired, so it is an environment problem, not a pass; PKCE-01's granted code still passes."""
    assert "authorization_code_lifetime: 4" in SANDBOX_YAML
    environment = write_environment(
        tmp_path, SANDBOX_YAML.replace("authorization_code_lifetime: 4", "authorization_code_lifetime: 1")
    )
    record = tmp_path / "compliance.json"
    run = run_suite(f"--env={environment}", "--rule=PKCE-01", "--rule=PKCE-02", f"--compliance={record}", "-q")
    rules = {r["rule_id"]: r for r in json.loads(record.read_text())["rules"]}
    assert rules["PKCE-01"]["status"] == "passed" and rules["PKCE-02"]["status"] == "error", run.stdout[-3000:]
    # its plain row does not apply: the sandbox refuses plain
    [scenario] = [s for s in rules["PKCE-02"]["scenarios"] if s["status"] != "skipped"]
    assert "past its deadline" in scenario["reason"] and "may only mean that it expired" in scenario["reason"], scenario


def test_a_long_wait_is_announced_with_what_it_waits_for_and_how_long(tmp_path):
    """With a lifetime of 12 s the run says, before it starts and when it waits, what CODE-04 waits for."""
    declared = SANDBOX_YAML.replace("authorization_code_lifetime: 4 ", "authorization_code_lifetime: 12 ")
    assert declared != SANDBOX_YAML
    path = write_environment(tmp_path, declared)
    run = run_suite(f"--env={path}", "--rule=CODE-04", "-p", "no:xdist", f"--compliance={tmp_path / 'c.json'}")
    assert run.returncode == 0, run.stdout[-3000:]
    assert "CODE-04 redeems a code got at the start of the run once its declared lifetime has passed" in run.stdout
    assert "waits up to 13 s for it (expectations.authorization_code_lifetime: 12)" in run.stdout
    assert re.search(r"CODE-04: waiting 1[0-3] s more for the code from the start of the run", run.stdout), run.stdout


def test_code04s_wait_is_announced_only_where_it_runs_and_a_lifetime_above_ten_minutes_is_a_warning(tmp_path):
    """A service-only file (no spa app, so no CODE-04) was told "CODE-04 ... waits up to 3601 s"; a
    lifetime above RFC 6749 section 4.1.2's recommended 10 minutes is said before the run, as a
    warning, with the wait it makes."""
    service_only = write_environment(
        tmp_path,
        "name: service-only\nsandbox: {}\nclients:\n  service:\n    client_id: sandbox-service\n"
        "    client_secret: sandbox-service-secret\n    scope: connect_api:read\ncapabilities: {tenants: false}\n"
        "expectations:\n  authorization_code_lifetime: 3600\n",
        "service.yaml",
    )
    run = run_suite(f"--env={service_only}", f"--compliance={tmp_path / 's.json'}")
    assert "CODE-04 redeems" not in run.stdout, run.stdout[:3000]
    assert "WARNING: expectations.authorization_code_lifetime: 3600 s is above the 10 minutes" in run.stdout
    assert "this run waits" not in run.stdout and run.returncode == 0, run.stdout[-3000:]
    long = write_environment(
        tmp_path, SANDBOX_YAML.replace("authorization_code_lifetime: 4 ", "authorization_code_lifetime: 900 ")
    )
    run = run_suite(f"--env={long}", "--rule=SVC-01", f"--compliance={tmp_path / 'l.json'}")
    assert "CODE-04 redeems" not in run.stdout, "--rule leaves CODE-04 out: " + run.stdout[:3000]
    run = run_suite(f"--env={long}", "--collect-only", f"--compliance={tmp_path / 'c.json'}")
    assert "waits up to 901 s for it" in run.stdout, run.stdout[:3000]
    assert "this run waits 901 s (15 minutes) for CODE-04" in run.stdout, run.stdout[:3000]
