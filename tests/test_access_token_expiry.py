"""UINFO-08's access token is got at the start of the run and its scenario runs last
(steps/access_token_expiry.py): it is accepted fresh, asked again no sooner than its lifetime after it
came back, a server that accepts it then fails, and an environment that cannot wait for one leaves the
rule not checked without making the run incomplete."""

import json
import re

import pytest
from run import SANDBOX_YAML, run_suite, write_environment

SHORT_LIVED = re.search(r"\n  short_lived:\n(    .*\n)+", SANDBOX_YAML)


def _rules(record) -> dict:
    return {r["rule_id"]: r for r in json.loads(record.read_text())["rules"]}


def test_the_expired_token_scenario_runs_last_after_a_fresh_token_was_accepted(tmp_path):
    results = tmp_path / "allure"
    run = run_suite("--rule=UINFO-08", "--rule=SVC-01", f"--alluredir={results}", "-q", "-p", "no:cacheprovider")
    assert run.returncode == 0, run.stdout[-3000:]
    scenarios = {
        r["name"].split()[0]: r for r in map(json.loads, (p.read_text() for p in results.glob("*-result.json")))
    }
    expiry = scenarios["UINFO-08"]
    assert expiry["status"] == "passed" and expiry["start"] > scenarios["SVC-01"]["stop"], "UINFO-08 did not run last"
    first, control, wait, *_ = expiry["steps"]
    signed_in = [a["name"] for a in first["attachments"]]
    assert "authorization -> callback" in signed_in and any("userinfo" in name for name in signed_in), signed_in
    assert control["name"] == "Then userinfo accepted the access token when it was fresh"
    [age] = wait["attachments"]
    text = (results / age["source"]).read_text()
    came_back = float(text.split("The access token came back ")[1].split(" s ago")[0])
    # environments/sandbox.yaml: tokens of 5 s, no leeway; the sandbox said so in expires_in; a second of margin
    assert "with expires_in 5;" in text and came_back >= 5 + 0 + 1, text


def test_a_server_that_accepts_expired_tokens_fails_the_rule_alone(tmp_path):
    record = tmp_path / "compliance.json"
    run = run_suite("--rule=UINFO-08", "--rule=UINFO-01", "--defect=userinfo-accepts-expired", f"--compliance={record}")
    assert run.returncode == 1, run.stdout[-3000:]
    rules = _rules(record)
    assert {rule: r["status"] for rule, r in rules.items()} == {"UINFO-01": "passed", "UINFO-08": "failed"}, run.stdout
    [scenario] = rules["UINFO-08"]["scenarios"]
    assert scenario["failed_step"]["own_check"] and "ensure that it has not expired" in scenario["reason"], scenario


def test_an_expired_token_accepted_blocks_the_form_of_its_refusal_by_the_refusal_rule(tmp_path):
    """One cause, one failure: a token accepted fails UINFO-08; UINFO-09 has no refusal to judge the form
    of, so it is blocked by UINFO-08, and run alone it says the token was accepted, not refused."""
    record = tmp_path / "compliance.json"
    run_suite("--rule=UINFO-08", "--rule=UINFO-09", "--defect=userinfo-accepts-expired", f"--compliance={record}")
    rules = _rules(record)
    assert {rule: r["status"] for rule, r in rules.items()} == {"UINFO-08": "failed", "UINFO-09": "blocked"}
    [scenario] = rules["UINFO-09"]["scenarios"]
    # its cause and the first line of the cause's failure at most (suite.verdict.blocking.HEADLINE): accepted, HTTP 200
    assert scenario["reason"].startswith("blocked by UINFO-08: userinfo answered HTTP 200"), scenario
    assert "userinfo refused the access token" not in scenario["reason"], scenario
    alone = tmp_path / "alone.json"
    run_suite("--rule=UINFO-09", "--defect=userinfo-accepts-expired", f"--compliance={alone}")
    [scenario] = _rules(alone)["UINFO-09"]["scenarios"]
    assert scenario["status"] == "warned" and "userinfo accepted the access token (HTTP 200" in scenario["reason"]


def test_an_expired_token_refused_as_a_bad_request_is_a_warning_of_its_own_rule(tmp_path):
    """HTTP 400 with Bearer error="invalid_request": refused with a challenge (UINFO-08 passes), but not
    the 401 and invalid_token RFC 6750 section 3.1 says an expired token SHOULD get (UINFO-09 warns)."""
    record = tmp_path / "compliance.json"
    run = run_suite(
        "--rule=UINFO-08", "--rule=UINFO-09", "--defect=userinfo-expired-error-code", f"--compliance={record}"
    )
    rules = _rules(record)
    assert {rule: r["status"] for rule, r in rules.items()} == {"UINFO-08": "passed", "UINFO-09": "warned"}, run.stdout
    [scenario] = rules["UINFO-09"]["scenarios"]
    assert "HTTP 400" in scenario["reason"] and "'invalid_request'" in scenario["reason"], scenario


@pytest.mark.parametrize(
    "change, reason",
    [
        (lambda text: text.replace(SHORT_LIVED.group(0), "\n"), "missing environment data (clients.short_lived)"),
        (
            lambda text: text.replace(
                "access_token_expiry_leeway: 0", "access_token_expiry_leeway: 0\n  longest_wait_for_expiry: 5"
            ),
            "not checked: the 'short_lived' client's access tokens would take up to 6 s to expire",
        ),
    ],
    ids=["no short-lived client", "its token takes longer than the run may wait"],
)
def test_where_no_token_can_be_waited_for_the_rule_is_not_checked_and_the_run_not_incomplete_for_it(
    tmp_path, change, reason
):
    environment = write_environment(tmp_path, change(SANDBOX_YAML))
    record = tmp_path / "compliance.json"
    run = run_suite(f"--env={environment}", "--rule=UINFO-08", "--rule=UINFO-09", f"--compliance={record}", "-q")
    written = json.loads(record.read_text())
    for rule in ("UINFO-08", "UINFO-09"):
        [scenario] = _rules(record)[rule]["scenarios"]
        assert scenario["status"] == "skipped" and scenario["reason"].startswith(reason), run.stdout[-3000:]
        # severity normal: a rule left unchecked is no gap in the certification
        assert rule not in written["not_run_rules"] and rule not in written["missing_data"], written
