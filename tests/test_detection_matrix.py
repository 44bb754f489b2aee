"""The suite catches every defect switch: the broken rules fail, all other rules still pass,
and the clean sandbox passes everything, scenario by scenario. The matrix (suite.matrix.detection: a
suite run per core) is made once and shared by these tests, across pytest-xdist workers too."""

import fcntl
import json
import os
import pickle

import pytest

from sandbox.defects import DEFECTS
from suite.configuration.rules import warning_level_rules
from suite.matrix.detection import CLEAN, run_matrix, scenarios_never_failing, unproven_rules

pytestmark = pytest.mark.timeout(900)  # the whole matrix runs in the first test that needs it


@pytest.fixture(scope="session")
def matrix(tmp_path_factory):
    """{defect (CLEAN for none): its row}. The first worker to get here runs the matrix; the
    others wait on the lock and read its result."""
    # an xdist worker's temporary folder is inside its run's, which every worker shares; without
    # xdist the run's own folder (its parent is every earlier run's too, with their stale matrices)
    basetemp = tmp_path_factory.getbasetemp()
    shared = basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp
    with open(shared / "detection-matrix.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = shared / "detection-matrix.pickle"
        if not result.exists():
            result.write_bytes(pickle.dumps(_matrix_judging_each_stray_failure_twice()))
        rows = pickle.loads(result.read_bytes())
    return {row.defect: row for row in rows}


def _matrix_judging_each_stray_failure_twice():
    """On a loaded 2-core machine (make test runs this beside the application matrix) a code can
    now and then be redeemed past its deadline (the sandbox's 2 s lifetime less a second): its
    refusal is then no verdict (steps.authorization.redeem), and the rule under test an error. A
    switch, or the clean sandbox, with a stray result is run again, alone, before it is blamed; a
    switch that really breaks another rule breaks it again."""
    rows = run_matrix()
    again = [row.defect for row in rows[1:] if not row.caught]
    if again or not rows[0].caught:
        rerun = {row.defect: row for row in run_matrix(again)}  # the clean sandbox always runs too
        rows = [rerun.get(row.defect, row) for row in rows]
    return rows


def test_every_scenario_fails_under_some_switch(matrix):
    """Rule-level detection can hide an outline row whose check never fails; this looks row by row."""
    assert scenarios_never_failing(list(matrix.values())) == []


def test_every_rule_is_seen_failing_on_its_own_under_a_switch_that_is_caught(matrix):
    """A rule only ever blocked, or failing only under switches the matrix does not catch cleanly,
    has no proof that its own check can fail."""
    assert unproven_rules(list(matrix.values())) == []


def test_clean_sandbox_passes_every_rule(matrix):
    row = matrix[CLEAN]
    assert row.exit_code == 0 and not row.failed and row.scenarios, row


@pytest.mark.parametrize("defect", sorted(DEFECTS))
def test_defect_is_caught_by_exactly_its_rules(defect, matrix):
    row = matrix[defect]
    # a switch that breaks only warning-level rules leaves the run conformant, with warnings
    warnings_only = set(row.expected) <= warning_level_rules() and not row.expected_blocked
    assert row.exit_code == (0 if warnings_only else 1), f"wrong exit code with {defect} on: {row}"
    assert not row.missed, (
        f"{defect} should break {row.expected} and block {row.expected_blocked}, but {row.missed} "
        f"did not (failed: {row.failed}, blocked: {row.blocked})"
    )
    assert not row.unexpected, (
        f"{defect} should break only {row.expected} and block only {row.expected_blocked}, "
        f"yet {row.failed} failed and {row.blocked} were blocked"
    )
    assert not row.missing_scenarios, f"under {defect} these scenarios did not run: {sorted(row.missing_scenarios)}"
    assert set(row.warned) == set(row.expected) & warning_level_rules(), f"{defect}: warned {row.warned}"


@pytest.mark.parametrize("rule", ["PKCE-07", "PKCE-08"])
def test_plain_pkce_accepted_scenario_fails_against_a_server_that_refuses_plain(tmp_path, rule):
    """The "accepted" scenarios of PKCE-07 and PKCE-08 only run where an environment declares plain
    accepted; the sandbox refuses plain, so declaring it accepted there must fail, and the switch
    that makes the sandbox accept plain must make it pass. Judged by the record, as a user is: the
    terminal's last lines are the verdict, not pytest's counts."""
    from run import SANDBOX_YAML, run_suite, write_environment

    path = write_environment(tmp_path, SANDBOX_YAML.replace("plain_pkce: refused", "plain_pkce: accepted"))
    record = tmp_path / "compliance.json"
    refused = run_suite(f"--env={path}", f"--rule={rule}", f"--compliance={record}", "-q", "-p", "no:cacheprovider")
    assert refused.returncode == 1, refused.stdout[-3000:]
    statuses, reasons = _scenarios_of(record, rule)
    assert sorted(statuses.values()) == ["failed", "skipped"], statuses
    failed = next(name for name, status in statuses.items() if status == "failed")
    assert "works where" in failed, statuses
    # the reason shows the server's refusal and the sentence a code is owed by
    assert "error=invalid_request" in reasons[failed] and "RFC 6749 section 4.1.2" in reasons[failed], reasons[failed]
    accepted = run_suite(
        f"--env={path}",
        f"--rule={rule}",
        "--defect=pkce-plain-accepted",
        f"--compliance={record}",
        "-q",
        "-p",
        "no:cacheprovider",
    )
    assert accepted.returncode == 0, accepted.stdout[-3000:]
    assert sorted(_scenarios_of(record, rule)[0].values()) == ["passed", "skipped"]


def _scenarios_of(record, rule) -> tuple[dict, dict]:
    """{scenario name: status}, {scenario name: reason} of one rule in a compliance record."""
    [entry] = [r for r in json.loads(record.read_text())["rules"] if r["rule_id"] == rule]
    return (
        {s["name"]: s["status"] for s in entry["scenarios"]},
        {s["name"]: s.get("reason") or "" for s in entry["scenarios"]},
    )
